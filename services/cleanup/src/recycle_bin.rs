//! The recycle bin: versions past `ARCA_RECYCLE_RETENTION` are scheduled for purge, and
//! purged versions lose their metadata and blobs.

use super::*;
use arca_shared::AppState;
use arca_shared::auth::Actor;
use arca_shared::meta::versions::{Event, EventAction, PackageRef};
use arca_shared::time::now_ms;

/// Schedules for purging every recycled version older than `ARCA_RECYCLE_RETENTION`.
pub(crate) async fn schedule_expired_recycle_bin(app: &AppState) -> anyhow::Result<()> {
    let now = now_ms();
    let cutoff = now.saturating_sub(app.config.recycle_retention.as_millis() as u64);
    for project_id in app.meta.all_project_ids().await? {
        for package_id in app.meta.binned_before(project_id, cutoff).await? {
            if app.meta.purge_package(project_id, package_id, now).await? {
                let detail = serde_json::json!({ "reason": "recycle bin retention" });
                let package = app.meta.binned_package(project_id, package_id).await?;
                let package_ref = package.as_ref().map(PackageRef::from);
                app.meta
                    .record_event(
                        project_id,
                        Event {
                            actor: &Actor::system("cleanup"),
                            action: EventAction::PackagePurged,
                            package: package_ref,
                            detail,
                        },
                    )
                    .await;
                tracing::info!(project_id, package_id, "recycled version past retention scheduled for purge");
            }
        }
    }
    Ok(())
}

/// Purges the versions whose purge is due: their blobs first, then their metadata (the
/// version is invisible already, so nothing visible ever points at a missing blob). Each
/// is claimed with a lease; a worker that dies mid-way leaves the purge to be redone by
/// another once the lease expires, and every step is idempotent.
pub(crate) async fn purge_packages(app: &AppState) -> anyhow::Result<u64> {
    let mut purged = 0;
    for (project_id, package_id) in app.meta.due_purges(now_ms(), PURGE_BATCH).await? {
        let work = format!("purge:{project_id}:{package_id}");
        if !app.meta.claim(&work, worker_id(), lease_ms(app)).await? {
            continue;
        }
        let files = app.meta.binned_files(project_id, package_id).await?;
        let blob_keys: Vec<String> = files.iter().map(|f| f.blob_key.clone()).collect();
        for batch in blob_keys.chunks(DELETE_BATCH) {
            app.blobs.delete_many(batch).await?;
            arca_shared::metrics::BLOBS_DELETED.with_label_values(&["purged_version"]).inc_by(batch.len() as u64);
        }
        let bytes: u64 = files.iter().map(|f| f.size).sum();
        arca_shared::metrics::CLEANUP_BYTES_DELETED.with_label_values(&["purged_version"]).inc_by(bytes);
        let file_ids: Vec<u64> = files.iter().map(|f| f.id).collect();
        app.meta.finish_purge(project_id, package_id, &file_ids).await?;
        app.meta.release(&work).await?;
        purged += 1;
        tracing::info!(project_id, package_id, blobs = blob_keys.len(), "package version purged");
    }
    Ok(purged)
}

/// Versions purged per pass.
pub(crate) const PURGE_BATCH: usize = 100;
