//! The cleanup worker: expiry, recycle-bin purge, deletions and orphan blobs
//! (docs/ARCHITECTURE.md, "The cleanup worker"). It serves only `/healthz`, `/readyz` and
//! `/metrics`; its work runs in a loop every `ARCA_CLEANUP_INTERVAL`.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::Duration;

use arca_shared::AppState;
use arca_shared::auth::Actor;
use arca_shared::meta::packages::{ListQuery, Order};
use arca_shared::meta::versions::{Event, PackageRef};
use arca_shared::time::now_ms;
use axum::Router;
use tokio::net::TcpListener;

pub const SERVICE: &str = "cleanup";

pub fn router(state: AppState) -> Router {
    arca_shared::http::finish(
        arca_shared::http::ops_routes(move || {
            let s = state.clone();
            async move { s.ready().await }
        }),
        SERVICE,
    )
}

/// One pass over every kind of work; a pass with nothing to do still counts as a
/// successful run. Returns true when a batch was full, so more work is waiting now.
pub async fn run_once(app: &AppState) -> anyhow::Result<bool> {
    let started = std::time::Instant::now();
    migrate_file_pointers(app).await?;
    delete_queued_blobs(app).await?;
    schedule_expired_recycle_bin(app).await?;
    let purged = purge_packages(app).await?;
    let expired = expire_artifacts(app).await?;
    abort_stale_multiparts(app).await?;
    sweep_orphans(app).await?;
    apply_version_retention(app).await?;
    for (queue, depth) in app.meta.cleanup_queue_depths(now_ms()).await? {
        arca_shared::metrics::CLEANUP_QUEUE_DEPTH.with_label_values(&[queue]).set(depth);
    }
    arca_shared::metrics::CLEANUP_RUN_DURATION.observe(started.elapsed().as_secs_f64());
    arca_shared::metrics::CLEANUP_LAST_RUN.set(now_ms() as i64 / 1000);
    Ok(purged >= PURGE_BATCH as u64 || expired >= ARTIFACT_BATCH as u64)
}

fn lease_ms(app: &AppState) -> u64 {
    app.config.cleanup_lease.as_millis() as u64
}

/// Who this worker is, in its leases.
fn worker_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| format!("cleanup-{}-{}", std::process::id(), uuid::Uuid::new_v4()))
}

/// Once per Redis, under a lease: version hashes of the first layout get file ids in
/// their pointer fields instead of copies of the file records (see
/// `Meta::migrate_file_pointers`).
async fn migrate_file_pointers(app: &AppState) -> anyhow::Result<()> {
    const WORK: &str = "migrate-file-pointers";
    if app.meta.last_run(WORK).await?.is_some() || !app.meta.claim(WORK, worker_id(), lease_ms(app)).await? {
        return Ok(());
    }
    let (seen, rewritten) = app.meta.migrate_file_pointers().await?;
    app.meta.set_last_run(WORK, now_ms()).await?;
    app.meta.release(WORK).await?;
    tracing::info!(versions = seen, pointers = rewritten, "version hashes migrated to file-id pointers");
    Ok(())
}

/// Schedules for purging every recycled version older than `ARCA_RECYCLE_RETENTION`.
async fn schedule_expired_recycle_bin(app: &AppState) -> anyhow::Result<()> {
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
                            action: "package.purged",
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
async fn purge_packages(app: &AppState) -> anyhow::Result<u64> {
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
const PURGE_BATCH: usize = 100;

/// Artifacts looked at per pass.
const ARTIFACT_BATCH: usize = 1000;

/// Deletes expired job artifacts. Those of the latest successful pipeline of each ref are
/// kept whatever their expiry (as GitLab keeps the latest artifacts) and looked at again a
/// minute later. Each artifact is claimed with a lease, its blob deleted (in batches),
/// then its record; a crash in between leaves work that the next pass redoes.
pub async fn expire_artifacts(app: &AppState) -> anyhow::Result<u64> {
    let now = now_ms();
    let mut spared: HashMap<u64, HashSet<u64>> = HashMap::new();
    let mut claimed = Vec::new();
    for (project_id, job_id) in app.meta.due_artifacts(now, ARTIFACT_BATCH).await? {
        let latest = match spared.get(&project_id) {
            Some(latest) => latest,
            None => {
                let latest: HashSet<u64> = app.meta.latest_artifact_jobs(project_id).await?.into_iter().collect();
                spared.entry(project_id).or_insert(latest)
            }
        };
        if latest.contains(&job_id) {
            app.meta.postpone_expiry(project_id, job_id, now + 60_000).await?;
            continue;
        }
        let work = format!("artifact:{project_id}:{job_id}");
        if !app.meta.claim(&work, worker_id(), lease_ms(app)).await? {
            continue;
        }
        match app.meta.artifact(project_id, job_id).await? {
            // Kept or replaced meanwhile: its record already says when it expires.
            Some(a) if !a.expired(now) => app.meta.release(&work).await?,
            Some(a) => claimed.push((work, a)),
            None => {
                app.meta.delete_artifact(project_id, job_id).await?;
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
        app.meta.delete_artifact(a.project_id, a.job_id).await?;
        app.meta.release(work).await?;
    }
    let bytes: u64 = claimed.iter().map(|(_, a)| a.size).sum();
    arca_shared::metrics::CLEANUP_BYTES_DELETED.with_label_values(&["expired_artifacts"]).inc_by(bytes);
    if !claimed.is_empty() {
        tracing::info!(count = claimed.len(), "expired job artifacts deleted");
    }
    Ok(claimed.len() as u64)
}

/// Aborts multipart uploads that have run longer than `ARCA_MULTIPART_MAX_AGE`: those a
/// crashed upload service left behind (arca records each before sending its first part).
pub async fn abort_stale_multiparts(app: &AppState) -> anyhow::Result<u64> {
    let cutoff = now_ms().saturating_sub(app.config.multipart_max_age.as_millis() as u64);
    let mut aborted = 0;
    for (key, upload_id) in app.meta.stale_multiparts(cutoff, 1000).await? {
        app.blobs.abort_multipart(&key, &upload_id).await?;
        app.meta.untrack_multipart(&key, &upload_id).await?;
        aborted += 1;
        tracing::info!(blob = %key, "stale multipart upload aborted");
    }
    if aborted > 0 {
        arca_shared::metrics::BLOBS_DELETED.with_label_values(&["stale_multipart"]).inc_by(aborted);
    }
    Ok(aborted)
}

/// Where arca's blobs live in the bucket (anything else there is not ours to delete).
const BLOB_PREFIXES: [&str; 2] = ["packages/", "artifacts/"];

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

/// How often the per-project version retention is applied.
const RETENTION_EVERY_MS: u64 = 60 * 60 * 1000;
const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// Moves to the recycle bin the versions of projects whose settings carry
/// `delete_versions_not_downloaded_for_days` that nobody downloaded within that many days
/// (or, never downloaded, that were created before). Reversible: they can be restored
/// until the recycle bin's own retention purges them. At most hourly, by one worker.
pub async fn apply_version_retention(app: &AppState) -> anyhow::Result<u64> {
    let now = now_ms();
    if app.meta.last_run("version-retention").await?.is_some_and(|t| now.saturating_sub(t) < RETENTION_EVERY_MS) {
        return Ok(0);
    }
    if !app.meta.claim("version-retention", worker_id(), lease_ms(app)).await? {
        return Ok(0);
    }
    let mut recycled = 0;
    for project_id in app.meta.all_project_ids().await? {
        let Some(days) = app.meta.package_settings(project_id).await?.delete_versions_not_downloaded_for_days else {
            continue;
        };
        let cutoff = now.saturating_sub(u64::from(days) * DAY_MS);
        let mut stale = Vec::new();
        let mut offset = 0;
        loop {
            let q = ListQuery { name: None, version: None, order: Order::CreatedAt, desc: false, offset, limit: 500 };
            let (_, page) = app.meta.list_packages(project_id, &q).await?;
            if page.is_empty() {
                break;
            }
            offset += page.len() as u64;
            stale.extend(page.into_iter().filter(|p| p.last_downloaded_at.unwrap_or(p.created_at) < cutoff));
        }
        for package in &stale {
            if app.meta.recycle_package(package, "retention").await? {
                let detail = serde_json::json!({ "reason": format!("not downloaded for {days} days") });
                let event = Event {
                    actor: &Actor::system("retention"),
                    action: "package.recycled",
                    package: Some(package.into()),
                    detail,
                };
                app.meta.record_event(project_id, event).await;
                recycled += 1;
            }
        }
    }
    app.meta.set_last_run("version-retention", now).await?;
    app.meta.release("version-retention").await?;
    if recycled > 0 {
        tracing::info!(recycled, "versions not downloaded within their project's retention moved to the recycle bin");
    }
    Ok(recycled)
}

/// S3 allows 1,000 keys per DeleteObjects.
const DELETE_BATCH: usize = 1000;

/// Deletes the blobs whose metadata is already gone (queued by the API services). A batch
/// is popped atomically, so two replicas never take the same keys; a batch that fails is
/// pushed back for the next pass.
async fn delete_queued_blobs(app: &AppState) -> anyhow::Result<u64> {
    let mut deleted = 0u64;
    loop {
        let batch = app.meta.pop_blob_deletes(DELETE_BATCH).await?;
        if batch.is_empty() {
            return Ok(deleted);
        }
        if let Err(e) = app.blobs.delete_many(&batch).await {
            app.meta.queue_blob_deletes(&batch).await?;
            anyhow::bail!("deleting {} queued blobs: {e}", batch.len());
        }
        deleted += batch.len() as u64;
        arca_shared::metrics::BLOBS_DELETED.with_label_values(&["deleted_metadata"]).inc_by(batch.len() as u64);
        tracing::info!(count = batch.len(), "deleted blobs of removed files");
    }
}

/// Runs passes every `interval` until `shutdown` resolves; a failed pass is logged and
/// retried at the next tick.
pub async fn work_loop(app: AppState, interval: Duration, shutdown: impl Future<Output = ()>) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = ticker.tick() => {
                // Full batches mean a backlog: keep going without waiting for the next tick.
                loop {
                    match run_once(&app).await {
                        Ok(true) => continue,
                        Ok(false) => break,
                        Err(e) => {
                            arca_shared::metrics::CLEANUP_ERRORS.inc();
                            tracing::error!(error = %format!("{e:#}"), "cleanup pass failed");
                            break;
                        }
                    }
                }
            }
        }
    }
}

/// Serves the ops routes and runs the work loop until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let interval = state.config.cleanup_interval;
    let worker = tokio::spawn(work_loop(state.clone(), interval, {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    }));
    let result = arca_shared::http::serve(listener, router(state), async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    })
    .await;
    let _ = worker.await;
    result
}
