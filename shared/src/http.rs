//! HTTP plumbing every axum service shares: request ids, the per-request span and access
//! log, metrics by route template, JSON 404/405, JSON extractors whose rejections are
//! JSON errors like every other, the ops routes, and graceful serving.

use std::future::Future;
use std::time::Instant;

use axum::Router;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use tokio::net::TcpListener;
use tracing::Instrument;

use crate::error::ApiError;
use crate::metrics;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served, for handlers that log or forward it.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

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

async fn track(State(service): State<&'static str>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request_id_from(req.headers().get(&X_REQUEST_ID));
    req.extensions_mut().insert(RequestId(request_id.clone()));
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

/// Serves until `shutdown` resolves, then stops accepting and lets in-flight requests
/// finish (an upload in progress completes).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
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

/// `axum::Json` whose rejections are JSON 400s like every other error.
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(rej) => Err(ApiError::bad_request(rej.body_text())),
        }
    }
}

/// `axum::extract::Query` with JSON rejections.
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    axum::extract::Query<T>: FromRequestParts<S, Rejection = QueryRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Self(v)),
            Err(rej) => Err(ApiError::bad_request(rej.body_text())),
        }
    }
}

/// Is this a read (routed to the download service) or a write?
pub fn is_read(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}

/// Request parameters as GitLab accepts them: a JSON body, a form body, or the query
/// string (`curl -X POST ".../projects?name=x"`). Rejections are JSON 400s.
pub struct Params<T>(pub T);

impl<S, T> FromRequest<S> for Params<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let query = req.uri().query().unwrap_or("").to_owned();
        let content_type = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let body = bytes::Bytes::from_request(req, state).await.map_err(|e| ApiError::bad_request(e.body_text()))?;
        let parsed = if content_type.starts_with("application/json") || body.first() == Some(&b'{') {
            serde_json::from_slice(&body).map_err(|e| e.to_string())
        } else if !body.is_empty() {
            serde_urlencoded::from_bytes(&body).map_err(|e| e.to_string())
        } else {
            serde_urlencoded::from_str(&query).map_err(|e| e.to_string())
        };
        parsed.map(Self).map_err(ApiError::BadRequest)
    }
}

/// Deserializes `["a","b"]` or `"a,b"` (the form and query-string spelling) into a list.
pub fn list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<String>),
        One(String),
    }
    Ok(match <OneOrMany as serde::Deserialize>::deserialize(d)? {
        OneOrMany::Many(v) => v,
        OneOrMany::One(s) => s.split(',').map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect(),
    })
}

/// Deserializes a number given as a JSON number or as a string (form and query values).
pub fn number<'de, D: serde::Deserializer<'de>, N: std::str::FromStr + serde::Deserialize<'de>>(
    d: D,
) -> Result<N, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum NumOrStr<N> {
        Num(N),
        Str(String),
    }
    match NumOrStr::<N>::deserialize(d)? {
        NumOrStr::Num(n) => Ok(n),
        NumOrStr::Str(s) => s.trim().parse().map_err(|_| serde::de::Error::custom(format!("not a number: {s:?}"))),
    }
}

/// Deserializes a boolean given as JSON or as `true`/`false` text.
pub fn boolean<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum BoolOrStr {
        Bool(bool),
        Str(String),
    }
    match <BoolOrStr as serde::Deserialize>::deserialize(d)? {
        BoolOrStr::Bool(b) => Ok(b),
        BoolOrStr::Str(s) => match s.as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(serde::de::Error::custom(format!("not a boolean: {s:?}"))),
        },
    }
}

/// `axum::extract::Path` with JSON rejections (a non-numeric id is a 404, as in GitLab).
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    axum::extract::Path<T>: FromRequestParts<S, Rejection = axum::extract::rejection::PathRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Self(v)),
            Err(_) => Err(ApiError::NotFound("Route")),
        }
    }
}

/// How long an early-answered request's body is still read and discarded.
const LINGER: std::time::Duration = std::time::Duration::from_secs(30);

/// Lingering close for writes answered before their body was read (a 401, a 413 on the
/// declared length, a refused duplicate): closing a socket with unread input makes the
/// kernel send a reset, which can destroy the answer in flight, so a proxy in front sees a
/// broken connection instead of the 413. The body is pumped to the handler through a
/// small channel; once the handler lets go of it, the rest is read and dropped for up to
/// [`LINGER`], and the connection ends cleanly.
pub async fn drain_unread_body(req: Request, next: Next) -> Response {
    let carries_body = req.headers().contains_key(axum::http::header::TRANSFER_ENCODING)
        || req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v != "0");
    if !carries_body {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, axum::Error>>(2);
    tokio::spawn(async move {
        use futures_util::StreamExt;
        let mut stream = body.into_data_stream();
        let mut lingering_since: Option<Instant> = None;
        while let Some(chunk) = stream.next().await {
            match lingering_since {
                None => {
                    if tx.send(chunk).await.is_err() {
                        lingering_since = Some(Instant::now());
                    }
                }
                Some(since) if since.elapsed() > LINGER => break,
                Some(_) => {}
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    next.run(Request::from_parts(parts, axum::body::Body::from_stream(stream))).await
}

/// Like [`number`], for an optional field: `null`, absent or an empty string are `None`.
pub fn opt_number<'de, D, N>(d: D) -> Result<Option<N>, D::Error>
where
    D: serde::Deserializer<'de>,
    N: std::str::FromStr + serde::Deserialize<'de>,
{
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum NumOrStr<N> {
        Num(N),
        Str(String),
    }
    match Option::<NumOrStr<N>>::deserialize(d)? {
        None => Ok(None),
        Some(NumOrStr::Num(n)) => Ok(Some(n)),
        Some(NumOrStr::Str(s)) if s.trim().is_empty() => Ok(None),
        Some(NumOrStr::Str(s)) => {
            s.trim().parse().map(Some).map_err(|_| serde::de::Error::custom(format!("not a number: {s:?}")))
        }
    }
}

/// An optional setting given as a number or a string (`10` or `"10"` or `"all"`).
pub fn opt_string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum NumOrStr {
        Num(u64),
        Str(String),
    }
    Ok(Option::<NumOrStr>::deserialize(d)?.map(|v| match v {
        NumOrStr::Num(n) => n.to_string(),
        NumOrStr::Str(s) => s,
    }))
}

/// Like [`boolean`], for an optional field.
pub fn opt_boolean<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    boolean(d).map(Some)
}
