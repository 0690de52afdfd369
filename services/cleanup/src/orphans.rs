//! Objects in the bucket that no metadata points at (older than `ARCA_ORPHAN_GRACE`) are deleted.

use super::*;
use arca_shared::AppState;
use arca_shared::time::now_ms;

/// Where arca's blobs live in the bucket (anything else there is not ours to delete).
pub(crate) const BLOB_PREFIXES: [&str; 2] = ["packages/", "artifacts/"];

/// Deletes objects that no metadata references and that are older than
/// `ARCA_ORPHAN_GRACE` (so an upload between its last byte and its metadata commit is
/// safe). One worker sweeps at a time (a lease), at most once per grace period. The
/// referenced set is read before the bucket is listed: an object committed after that
/// read is younger than the grace period unless its commit took longer than the grace.
pub async fn sweep_orphans(app: &AppState) -> anyhow::Result<u64> {
    let now = now_ms();
    let grace = app.config.orphan_grace.as_millis() as u64;
    if app.meta.last_run("orphan-sweep").await?.is_some_and(|t| now.saturating_sub(t) < grace) {
        return Ok(0);
    }
    if !app.meta.claim("orphan-sweep", worker_id(), lease_ms(app)).await? {
        return Ok(0);
    }
    let referenced = app.meta.referenced_blob_keys().await?;
    let cutoff = now.saturating_sub(grace);
    let mut orphans = Vec::new();
    for prefix in BLOB_PREFIXES {
        let mut token = None;
        loop {
            let (objects, next) = app.blobs.list_page(prefix, token).await?;
            orphans.extend(
                objects
                    .into_iter()
                    .filter(|(key, modified)| *modified < cutoff && !referenced.contains(key))
                    .map(|(k, _)| k),
            );
            match next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
    }
    for batch in orphans.chunks(DELETE_BATCH) {
        app.blobs.delete_many(batch).await?;
        arca_shared::metrics::BLOBS_DELETED.with_label_values(&["orphan"]).inc_by(batch.len() as u64);
    }
    if !orphans.is_empty() {
        tracing::info!(count = orphans.len(), "orphan blobs deleted");
    }
    app.meta.set_last_run("orphan-sweep", now).await?;
    app.meta.release("orphan-sweep").await?;
    Ok(orphans.len() as u64)
}
