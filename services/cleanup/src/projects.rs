//! Deleted projects: everything under them goes, blobs first, then every Redis key and
//! every reference to them elsewhere.
//!
//! `DELETE /projects/:id` hides the project at once and queues it. The first pass runs at
//! the next interval; a final pass `ARCA_MULTIPART_MAX_AGE` later removes what an upload
//! that was in flight at the deletion committed after the first (no upload outlives that
//! age). Both passes are idempotent, under a lease: a crash leaves the entry queued and
//! the next pass does the work again.

use super::*;
use arca_shared::AppState;
use arca_shared::blobs::BlobKeys;
use arca_shared::time::now_ms;

/// Project deletions looked at per pass.
const PROJECT_BATCH: usize = 10;

/// Carries out due project deletions; returns how many passes were done.
pub async fn delete_projects(app: &AppState) -> anyhow::Result<u64> {
    let now = now_ms();
    let mut done = 0;
    for deletion in app.meta.due_project_deletions(now, PROJECT_BATCH).await? {
        let id = deletion.project_id;
        let work = format!("project-delete:{id}");
        if !app.meta.claim(&work, worker_id(), lease_ms(app)).await? {
            continue;
        }
        let blobs = delete_project_blobs(app, id).await?;
        let keys = app.meta.purge_project_keys(id).await?;
        if deletion.final_pass {
            app.meta.finish_project_deletion(id).await?;
        } else {
            app.meta.schedule_final_pass(id, now + app.config.multipart_max_age.as_millis() as u64).await?;
        }
        app.meta.release(&work).await?;
        tracing::info!(project_id = id, blobs, keys, final_pass = deletion.final_pass, "deleted project purged");
        done += 1;
    }
    Ok(done)
}

/// Lists and deletes every object under the project's prefixes.
async fn delete_project_blobs(app: &AppState, project_id: u64) -> anyhow::Result<u64> {
    let mut deleted = 0;
    for prefix in BlobKeys::project_prefixes(project_id) {
        loop {
            // Each page is deleted before the next is listed, so listing starts over.
            let (objects, _) = app.blobs.list_page(&prefix, None).await?;
            if objects.is_empty() {
                break;
            }
            let keys: Vec<String> = objects.into_iter().map(|(k, _)| k).collect();
            for batch in keys.chunks(DELETE_BATCH) {
                app.blobs.delete_many(batch).await?;
                arca_shared::metrics::BLOBS_DELETED.with_label_values(&["deleted_project"]).inc_by(batch.len() as u64);
            }
            deleted += keys.len() as u64;
        }
    }
    Ok(deleted)
}
