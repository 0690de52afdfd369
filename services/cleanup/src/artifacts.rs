//! Job artifacts (archives and reports) past their expiry are deleted: blobs first, then
//! their records.

use std::collections::{HashMap, HashSet};

use super::*;
use arca_shared::AppState;
use arca_shared::time::now_ms;

/// Artifacts looked at per pass.
pub(crate) const ARTIFACT_BATCH: usize = 1000;

/// Deletes expired job artifacts. Those of the latest successful pipeline of each ref are
/// kept whatever their expiry (as GitLab keeps the latest artifacts) and looked at again a
/// minute later. Each artifact is claimed with a lease, its blob deleted (in batches),
/// then its record; a crash in between leaves work that the next pass redoes.
pub async fn expire_artifacts(app: &AppState) -> anyhow::Result<u64> {
    let now = now_ms();
    let mut spared: HashMap<u64, HashSet<u64>> = HashMap::new();
    let mut claimed = Vec::new();
    for due in app.meta.due_artifacts(now, ARTIFACT_BATCH).await? {
        let latest = match spared.get(&due.project_id) {
            Some(latest) => latest,
            None => {
                let latest: HashSet<u64> = app.meta.latest_artifact_jobs(due.project_id).await?.into_iter().collect();
                spared.entry(due.project_id).or_insert(latest)
            }
        };
        if latest.contains(&due.job_id) {
            app.meta.postpone_expiry(&due, now + 60_000).await?;
            continue;
        }
        let work = format!("artifact:{}:{}:{}", due.project_id, due.job_id, due.file_type);
        if !app.meta.claim(&work, worker_id(), lease_ms(app)).await? {
            continue;
        }
        match app.meta.job_artifact(due.project_id, due.job_id, &due.file_type).await? {
            // Kept or replaced meanwhile: its record already says when it expires.
            Some(a) if !a.expired(now) => app.meta.release(&work).await?,
            Some(a) => claimed.push((work, a)),
            None => {
                app.meta.delete_artifact(due.project_id, due.job_id, &due.file_type).await?;
                app.meta.release(&work).await?;
            }
        }
    }
    let keys: Vec<String> = claimed.iter().flat_map(|(_, a)| a.blob_keys()).collect();
    for batch in keys.chunks(DELETE_BATCH) {
        app.blobs.delete_many(batch).await?;
        arca_shared::metrics::BLOBS_DELETED.with_label_values(&["expired_artifacts"]).inc_by(batch.len() as u64);
    }
    for (work, a) in &claimed {
        app.meta.delete_artifact(a.project_id, a.job_id, &a.file_type).await?;
        app.meta.release(work).await?;
    }
    let bytes: u64 = claimed.iter().map(|(_, a)| a.size).sum();
    arca_shared::metrics::CLEANUP_BYTES_DELETED.with_label_values(&["expired_artifacts"]).inc_by(bytes);
    if !claimed.is_empty() {
        tracing::info!(count = claimed.len(), "expired job artifacts deleted");
    }
    Ok(claimed.len() as u64)
}
