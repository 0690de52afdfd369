//! Extractors whose rejections are JSON errors like every other: `Query`, `Path`, and
//! `Params` (GitLab's parameters as JSON, a form or the query string).

use axum::extract::{FromRequest, FromRequestParts, Request};

use crate::error::ApiError;

/// `axum::extract::Query` whose rejection is a JSON 400 like every other error.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// Request parameters as GitLab accepts them: a JSON body, a form body, or the query
/// string (`curl -X POST ".../projects?name=x"`). Rejections are JSON 400s.
pub struct Params<T>(pub T);

/// `axum::extract::Path` whose rejection is a JSON 404 (a non-numeric id is a 404, as in
/// GitLab).
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

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
        // A JSON `null` is no body: the parameters, all optional then, come from the query.
        let body = if body.trim_ascii() == b"null" { bytes::Bytes::new() } else { body };
        let parsed = if body.is_empty() {
            serde_urlencoded::from_str(&query).map_err(|e| e.to_string())
        } else if content_type.starts_with("application/json") || body.first() == Some(&b'{') {
            // Parameters are an object; serde would also take a struct from an array.
            if body.trim_ascii_start().first() != Some(&b'{') {
                return Err(ApiError::bad_request("the body must be a JSON object"));
            }
            serde_json::from_slice(&body).map_err(|e| e.to_string())
        } else {
            serde_urlencoded::from_bytes(&body).map_err(|e| e.to_string())
        };
        parsed.map(Self).map_err(ApiError::BadRequest)
    }
}
