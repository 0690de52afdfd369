//! Lingering close for writes answered before their body was read.

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// How long an early-answered request's body is still read and discarded.
pub(super) const LINGER: std::time::Duration = std::time::Duration::from_secs(30);

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
