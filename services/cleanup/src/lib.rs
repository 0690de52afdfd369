//! The cleanup worker: expiry, recycle-bin purge, deletions and orphan blobs
//! (docs/ARCHITECTURE.md, "The cleanup worker"), and webhook deliveries beside them. It
//! serves only `/healthz`, `/readyz` and `/metrics`; its passes run every
//! `ARCA_CLEANUP_INTERVAL`, deliveries as soon as they are due.

mod artifacts;
mod blob_deletes;
mod migrate;
mod multipart;
mod orphans;
mod projects;
mod recycle_bin;
mod retention;
mod webhooks;

use artifacts::ARTIFACT_BATCH;
pub use artifacts::expire_artifacts;
use blob_deletes::{DELETE_BATCH, delete_queued_blobs};
use migrate::migrate_layout;
pub use multipart::abort_stale_multiparts;
pub use orphans::sweep_orphans;
pub use projects::delete_projects;
use recycle_bin::{PURGE_BATCH, purge_packages, schedule_expired_recycle_bin};
pub use retention::apply_version_retention;

use std::future::Future;
use std::time::Duration;

use arca_shared::AppState;
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
    migrate_layout(app).await?;
    delete_queued_blobs(app).await?;
    schedule_expired_recycle_bin(app).await?;
    let purged = purge_packages(app).await?;
    let expired = expire_artifacts(app).await?;
    delete_projects(app).await?;
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
    let deliveries = tokio::spawn(webhooks::delivery_loop(state.clone(), stop_rx.clone()));
    let result = arca_shared::http::serve(listener, router(state), async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    })
    .await;
    let _ = worker.await;
    let _ = deliveries.await;
    result
}
