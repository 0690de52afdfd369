//! Blobs whose metadata the API services already removed, handed over in a Redis queue.

use super::lease_ms;
use arca_shared::AppState;
use arca_shared::time::now_ms;

/// S3 allows 1,000 keys per DeleteObjects.
pub(crate) const DELETE_BATCH: usize = 1000;

/// Deletes the blobs whose metadata is already gone (queued by the API services). A batch
/// is taken under a lease (`ARCA_CLEANUP_LEASE`): it moves atomically from the queue to a
/// claimed set, so two replicas never take the same keys, and leaves the set only once S3
/// has deleted it. A worker killed in between leaves its batch claimed; when the lease ends
/// a pass puts it back in the queue for any worker. A batch that fails goes back at once.
pub(crate) async fn delete_queued_blobs(app: &AppState) -> anyhow::Result<u64> {
    let reclaimed = app.meta.reclaim_blob_deletes(now_ms()).await?;
    if reclaimed > 0 {
        tracing::warn!(count = reclaimed, "blob deletes of a worker that stopped are queued again");
    }
    let mut deleted = 0u64;
    loop {
        let batch = app.meta.claim_blob_deletes(DELETE_BATCH, now_ms() + lease_ms(app)).await?;
        if batch.is_empty() {
            return Ok(deleted);
        }
        if let Err(e) = app.blobs.delete_many(&batch).await {
            app.meta.queue_blob_deletes(&batch).await?;
            app.meta.blob_deletes_done(&batch).await?;
            anyhow::bail!("deleting {} queued blobs: {e}", batch.len());
        }
        app.meta.blob_deletes_done(&batch).await?;
        deleted += batch.len() as u64;
        arca_shared::metrics::BLOBS_DELETED.with_label_values(&["deleted_metadata"]).inc_by(batch.len() as u64);
        tracing::info!(count = batch.len(), "deleted blobs of removed files");
    }
}
