//! `/healthz`, `/readyz`, `/metrics`: what every service answers for operators.

use std::future::Future;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;

use crate::metrics;

/// `/healthz`, `/readyz` (the given check), `/metrics`.
pub fn ops_routes<F, Fut>(ready: F) -> Router
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    Router::new()
        .route("/healthz", get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }))
        .route(
            "/readyz",
            get(move || {
                let ready = ready.clone();
                async move {
                    match tokio::time::timeout(std::time::Duration::from_secs(3), ready()).await {
                        Ok(Ok(())) => (StatusCode::OK, axum::Json(serde_json::json!({"status": "ready"}))),
                        Ok(Err(why)) => {
                            tracing::warn!(reason = %why, "not ready");
                            (
                                StatusCode::SERVICE_UNAVAILABLE,
                                axum::Json(serde_json::json!({"status": "not ready", "reason": why})),
                            )
                        }
                        Err(_) => (
                            StatusCode::SERVICE_UNAVAILABLE,
                            axum::Json(
                                serde_json::json!({"status": "not ready", "reason": "readiness check timed out"}),
                            ),
                        ),
                    }
                }
            }),
        )
        .route(
            "/metrics",
            get(|| async {
                ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], metrics::render())
            }),
        )
}
