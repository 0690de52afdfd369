//! Forwarding one request: pick the pool by method, pass the request on with its body
//! streaming, hand back the upstream's answer with its body streaming.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arca_shared::http::{X_REQUEST_ID, is_read, request_id_from};
use arca_shared::metrics;
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::GatewayConfig;
use crate::body::reclaimable;
use crate::limiter::AuthLimiter;
use crate::upstream::{Pool, Upstream};

pub type Body = BoxBody<Bytes, hyper::Error>;

const SERVICE: &str = "gateway";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Reads answer quickly (a redirect, a listing); a stalled download service must not
/// hold a client forever.
const READ_HEADERS_TIMEOUT: Duration = Duration::from_secs(60);
/// Writes answer after the whole body has streamed, which for a large file takes long.
const WRITE_HEADERS_TIMEOUT: Duration = Duration::from_secs(6 * 60 * 60);

/// Headers that describe one connection, not the request (RFC 9110 section 7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

pub struct Gateway {
    client: Client<HttpConnector, Body>,
    upload: Pool,
    download: Pool,
    auth_failures: AuthLimiter,
}

impl Gateway {
    pub fn new(cfg: &GatewayConfig) -> Arc<Self> {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(256)
            .build(connector);
        Arc::new(Self {
            client,
            upload: Pool::new("upload", &cfg.upload),
            download: Pool::new("download", &cfg.download),
            auth_failures: AuthLimiter::new(cfg.auth_failures.clone()),
        })
    }

    pub async fn handle(&self, mut req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
        let started = Instant::now();
        let request_id = request_id_from(req.headers().get(&X_REQUEST_ID));
        let method = req.method().clone();
        // The path only: query strings may carry tokens.
        let path = req.uri().path().to_owned();
        let (route, mut resp) = match (method.clone(), path.as_str()) {
            (Method::GET, "/healthz") => ("/healthz", json(StatusCode::OK, r#"{"status":"ok"}"#)),
            (Method::GET, "/readyz") => ("/readyz", self.readiness().await),
            (Method::GET, "/metrics") => ("/metrics", metrics_response()),
            (Method::GET | Method::HEAD, p) if let Some(asset) = crate::console::asset(p) => ("/console", asset),
            _ => {
                let pool = if is_read(&method) { &self.download } else { &self.upload };
                let client = self.auth_failures.client(peer.ip(), req.headers());
                if let Some(wait) = self.auth_failures.check(client) {
                    metrics::AUTH_RATE_LIMITED.inc();
                    tracing::warn!(request_id = %request_id, client = %client, "refused: too many failed authentications");
                    (pool.name, too_many_failures(wait))
                } else {
                    if let Ok(v) = HeaderValue::from_str(&request_id) {
                        req.headers_mut().insert(X_REQUEST_ID.clone(), v);
                    }
                    let mut resp = self.forward(pool, req, peer, &request_id).await;
                    // A refused share-link token is a failed authentication too; the
                    // services mark it, and the mark stays inside.
                    let refused_secret = resp.headers_mut().remove(AUTH_FAILED).is_some();
                    if resp.status() == StatusCode::UNAUTHORIZED || refused_secret {
                        self.auth_failures.failed(client);
                    }
                    (pool.name, resp)
                }
            }
        };
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            resp.headers_mut().insert(X_REQUEST_ID.clone(), v);
        }
        // No answer of arca is meant to be sniffed into another type (a text artifact
        // rendered as HTML, say).
        resp.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        let status = resp.status();
        let elapsed = started.elapsed();
        metrics::HTTP_REQUESTS.with_label_values(&[SERVICE, route, method.as_str(), status.as_str()]).inc();
        metrics::HTTP_DURATION.with_label_values(&[SERVICE, route, method.as_str()]).observe(elapsed.as_secs_f64());
        tracing::info!(
            request_id = %request_id,
            method = %method,
            path = %path,
            upstream = route,
            status = status.as_u16(),
            duration_ms = elapsed.as_millis() as u64,
            client = %peer.ip(),
            "access"
        );
        resp
    }

    async fn forward(&self, pool: &Pool, req: Request<Incoming>, peer: SocketAddr, request_id: &str) -> Response<Body> {
        let (mut parts, body) = req.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        forwarded_headers(&mut parts.headers, peer, self.auth_failures.is_trusted(peer.ip()));
        let path_and_query = parts.uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "/".into());
        let read = is_read(&parts.method);
        let timeout = if read { READ_HEADERS_TIMEOUT } else { WRITE_HEADERS_TIMEOUT };
        // A replica that refuses the connection has not seen the request: try the next
        // one. A read has no body; a write's body is reclaimed if nobody read it yet.
        let mut pending = Some(if read { Empty::new().map_err(|never| match never {}).boxed() } else { body.boxed() });
        for upstream in pool.order() {
            let Some(body) = pending.take() else { break };
            let (this_body, reclaim) = if read {
                (body, None)
            } else {
                let (wrapped, reclaim) = reclaimable(body);
                (wrapped.boxed(), Some(reclaim))
            };
            let uri: Uri = match format!("{}{}", upstream.base, path_and_query).parse() {
                Ok(u) => u,
                Err(_) => {
                    return error(StatusCode::BAD_REQUEST, "400 Bad request - invalid request target");
                }
            };
            let mut out = Request::from_parts(parts.clone(), this_body);
            *out.uri_mut() = uri;
            match tokio::time::timeout(timeout, self.client.request(out)).await {
                Ok(Ok(resp)) => {
                    upstream.mark_up();
                    let (mut rparts, rbody) = resp.into_parts();
                    strip_hop_by_hop(&mut rparts.headers);
                    return Response::from_parts(rparts, rbody.boxed());
                }
                Ok(Err(e)) if e.is_connect() => {
                    upstream_failed(pool, upstream, "connect", request_id, &e);
                    pending = match reclaim {
                        None => Some(Empty::new().map_err(|never| match never {}).boxed()),
                        Some(r) => r.take(),
                    };
                    if pending.is_none() {
                        return error(StatusCode::BAD_GATEWAY, "502 Bad Gateway - upstream unavailable");
                    }
                }
                Ok(Err(e)) => {
                    upstream_failed(pool, upstream, "request", request_id, &e);
                    return error(StatusCode::BAD_GATEWAY, "502 Bad Gateway - upstream failed");
                }
                Err(_) => {
                    metrics::UPSTREAM_ERRORS.with_label_values(&[pool.name, "timeout"]).inc();
                    tracing::warn!(request_id, upstream = %upstream.base, "upstream timed out");
                    return error(StatusCode::GATEWAY_TIMEOUT, "504 Gateway Timeout - upstream did not answer in time");
                }
            }
        }
        error(StatusCode::BAD_GATEWAY, "502 Bad Gateway - upstream unavailable")
    }

    /// Ready when every pool has a replica that answers its health check.
    async fn readiness(&self) -> Response<Body> {
        for pool in [&self.upload, &self.download] {
            let mut any = false;
            for upstream in pool.all() {
                let Ok(uri) = format!("{}/healthz", upstream.base).parse::<Uri>() else {
                    continue;
                };
                let req = Request::get(uri).body(Empty::new().map_err(|never| match never {}).boxed());
                let Ok(req) = req else { continue };
                if let Ok(Ok(resp)) = tokio::time::timeout(Duration::from_secs(2), self.client.request(req)).await
                    && resp.status().is_success()
                {
                    any = true;
                    break;
                }
            }
            if !any {
                return json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!(r#"{{"status":"not ready","reason":"no {} replica answers"}}"#, pool.name),
                );
            }
        }
        json(StatusCode::OK, r#"{"status":"ready"}"#)
    }
}

fn upstream_failed(
    pool: &Pool,
    upstream: &Upstream,
    kind: &str,
    request_id: &str,
    e: &hyper_util::client::legacy::Error,
) {
    if kind == "connect" {
        upstream.mark_down();
    }
    metrics::UPSTREAM_ERRORS.with_label_values(&[pool.name, kind]).inc();
    tracing::warn!(request_id, upstream = %upstream.base, error = %e, "upstream {kind} failed");
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Headers named by `Connection` are hop-by-hop too.
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// The services' mark on a 404 that refused a secret (a share link's token).
const AUTH_FAILED: &str = "x-arca-auth-failed";

/// Headers a proxy adds to say who the client is and how it reached us.
const FORWARDED: [&str; 6] =
    ["forwarded", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "x-real-ip"];

/// What the services learn of the client. From a trusted proxy (`ARCA_TRUSTED_PROXIES`)
/// its `X-Forwarded-*` headers stand and the peer joins `X-Forwarded-For`; from anyone else
/// they are dropped, since a client could claim https (and have arca answer as if the
/// connection were encrypted) or another host (and steer the URLs arca builds). The gateway itself
/// speaks plain HTTP, so that is the protocol it reports.
fn forwarded_headers(headers: &mut HeaderMap, peer: SocketAddr, trusted: bool) {
    if !trusted {
        for name in FORWARDED {
            headers.remove(name);
        }
    }
    append_forwarded_for(headers, peer);
    if !headers.contains_key("x-forwarded-proto") {
        headers.insert("x-forwarded-proto", HeaderValue::from_static("http"));
    }
}

fn append_forwarded_for(headers: &mut HeaderMap, peer: SocketAddr) {
    let ip = peer.ip().to_string();
    let value = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(prev) => format!("{prev}, {ip}"),
        None => ip,
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.insert("x-forwarded-for", v);
    }
}

fn json(status: StatusCode, body: &str) -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_owned())).map_err(|never| match never {}).boxed());
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

fn error(status: StatusCode, message: &str) -> Response<Body> {
    json(status, &serde_json::json!({ "message": message }).to_string())
}

fn too_many_failures(wait_secs: u64) -> Response<Body> {
    let mut resp = error(
        StatusCode::TOO_MANY_REQUESTS,
        "429 Too Many Requests - too many failed authentication attempts from this client",
    );
    resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait_secs));
    resp
}

fn metrics_response() -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::from(metrics::render())).map_err(|never| match never {}).boxed());
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_and_the_ones_connection_names_are_dropped() {
        let mut h = HeaderMap::new();
        h.insert("connection", HeaderValue::from_static("close, x-secret-hop"));
        h.insert("x-secret-hop", HeaderValue::from_static("1"));
        h.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        h.insert("content-length", HeaderValue::from_static("5"));
        strip_hop_by_hop(&mut h);
        assert!(h.get("connection").is_none());
        assert!(h.get("x-secret-hop").is_none());
        assert!(h.get("transfer-encoding").is_none());
        assert_eq!(h["content-length"], "5");
    }

    #[test]
    fn forwarded_headers_stand_only_from_trusted_proxies() {
        let peer: SocketAddr = "203.0.113.7:5000".parse().expect("addr");
        let claimed = || {
            let mut h = HeaderMap::new();
            h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
            h.insert("x-forwarded-host", HeaderValue::from_static("evil.example"));
            h.insert("x-forwarded-for", HeaderValue::from_static("1.2.3.4"));
            h.insert("forwarded", HeaderValue::from_static("for=1.2.3.4;proto=https"));
            h
        };
        let mut h = claimed();
        forwarded_headers(&mut h, peer, false);
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-for"], "203.0.113.7");
        assert!(h.get("x-forwarded-host").is_none() && h.get("forwarded").is_none());

        let mut h = claimed();
        forwarded_headers(&mut h, peer, true);
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-host"], "evil.example");
        assert_eq!(h["x-forwarded-for"], "1.2.3.4, 203.0.113.7");
    }

    #[test]
    fn forwarded_for_is_appended() {
        let mut h = HeaderMap::new();
        let peer: SocketAddr = "10.0.0.2:5000".parse().expect("addr");
        append_forwarded_for(&mut h, peer);
        h.insert("x-forwarded-for", HeaderValue::from_static("1.2.3.4"));
        append_forwarded_for(&mut h, peer);
        assert_eq!(h["x-forwarded-for"], "1.2.3.4, 10.0.0.2");
    }
}
