//! The cleanup worker: expiry, recycle-bin purge, deletions and orphan blobs (SPEC
//! section 9). It serves only `/healthz`, `/readyz` and `/metrics`; its work runs in a loop
//! every `ARCA_CLEANUP_INTERVAL`.

use std::future::Future;
use std::time::Duration;

use arca_shared::AppState;
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

/// One pass over every kind of work. Each kind is added by the issue that introduces the
/// data it cleans up; a pass with nothing to do still counts as a successful run.
pub async fn run_once(_app: &AppState) -> anyhow::Result<()> {
    arca_shared::metrics::CLEANUP_LAST_RUN.set(arca_shared::time::now_ms() as i64 / 1000);
    Ok(())
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
