//! HTTP plumbing every axum service shares: request ids, the per-request span and access
//! log, metrics by route template, JSON 404/405, JSON extractors whose rejections are
//! JSON errors like every other, the ops routes, and graceful serving.

mod drain;
mod extract;
mod fields;
mod ops;

pub use drain::drain_unread_body;
pub use extract::{Params, Path, Query};
pub use fields::{boolean, list, number, opt_boolean, opt_number, opt_string_or_number, present};
pub use ops::ops_routes;

use std::future::Future;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use tokio::net::TcpListener;
use tracing::Instrument;

use crate::error::ApiError;
use crate::metrics;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Accepts a client's request id when it is short and printable, else makes one.
pub fn request_id_from(value: Option<&HeaderValue>) -> String {
    value
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// Wraps a service's routes with the shared layers and JSON fallbacks.
pub fn finish(router: Router, service: &'static str) -> Router {
    router
        .route_layer(middleware::from_fn(remember_route))
        .fallback(|| async { ApiError::NotFound("Route") })
        .method_not_allowed_fallback(|| async {
            (StatusCode::METHOD_NOT_ALLOWED, axum::Json(serde_json::json!({"message": "405 Method Not Allowed"})))
        })
        .layer(middleware::from_fn_with_state(service, track))
}

/// Runs inside the matched route, where the template is known, and hands it outward.
async fn remember_route(req: Request, next: Next) -> Response {
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let mut resp = next.run(req).await;
    if let Some(m) = matched {
        resp.extensions_mut().insert(m);
    }
    resp
}

async fn track(State(service): State<&'static str>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request_id_from(req.headers().get(&X_REQUEST_ID));
    let method = req.method().clone();
    // The path only: query strings may carry tokens.
    let path = req.uri().path().to_owned();
    // Scripts (the web console) say so: a 401 must not make their browser pop up a Basic
    // login dialog, as WWW-Authenticate would.
    let from_script = req.headers().contains_key("x-requested-with");
    let span = tracing::info_span!("request", service, request_id = %request_id, method = %method, path = %path);
    let in_flight = metrics::HTTP_IN_FLIGHT.with_label_values(&[service]);
    in_flight.inc();
    let mut resp = next.run(req).instrument(span.clone()).await;
    in_flight.dec();
    let route =
        resp.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let status = resp.status();
    let elapsed = started.elapsed();
    metrics::HTTP_REQUESTS.with_label_values(&[service, &route, method.as_str(), status.as_str()]).inc();
    metrics::HTTP_DURATION.with_label_values(&[service, &route, method.as_str()]).observe(elapsed.as_secs_f64());
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert(X_REQUEST_ID.clone(), v);
    }
    if from_script {
        resp.headers_mut().remove(axum::http::header::WWW_AUTHENTICATE);
    }
    resp.headers_mut().insert(axum::http::header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    span.in_scope(|| {
        tracing::info!(status = status.as_u16(), route = %route, duration_ms = elapsed.as_millis() as u64, "served");
    });
    resp
}

/// Serves until `shutdown` resolves, then stops accepting and lets in-flight requests
/// finish (an upload in progress completes). Every connection gets `TCP_NODELAY`: hyper
/// writes a response's head and its first body bytes in separate writes, and with Nagle's
/// algorithm the second waits for the peer's delayed ACK, up to 40 ms.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY could not be set on an accepted connection");
        }
    });
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received, draining in-flight requests");
}

/// Is this a read (routed to the download service) or a write?
pub fn is_read(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}
