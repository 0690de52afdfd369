//! Where a request carries its token: GitLab's headers, HTTP Basic and Bearer, and the
//! `private_token` / `job_token` query parameters.

use base64::Engine;
use http::HeaderMap;

use crate::error::{ApiError, ApiResult};

/// The token of a request, from the first transport that has one: `PRIVATE-TOKEN`,
/// `JOB-TOKEN`, `DEPLOY-TOKEN`, `Authorization: Bearer`, `Authorization: Basic` (any user,
/// the token as password), then the `private_token` / `job_token` query parameters.
pub fn extract_token(headers: &HeaderMap, query: Option<&str>) -> ApiResult<Option<String>> {
    for name in ["private-token", "job-token", "deploy-token"] {
        if let Some(v) = headers.get(name) {
            let v = v.to_str().map_err(|_| ApiError::Unauthorized)?.trim();
            if v.is_empty() {
                return Err(ApiError::Unauthorized);
            }
            return Ok(Some(v.to_owned()));
        }
    }
    if let Some(v) = headers.get(http::header::AUTHORIZATION) {
        let v = v.to_str().map_err(|_| ApiError::Unauthorized)?.trim();
        let (scheme, rest) = v.split_once(' ').ok_or(ApiError::Unauthorized)?;
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
            return Ok(Some(rest.to_owned()));
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD.decode(rest).map_err(|_| ApiError::Unauthorized)?;
            let decoded = String::from_utf8(decoded).map_err(|_| ApiError::Unauthorized)?;
            let (_, password) = decoded.split_once(':').ok_or(ApiError::Unauthorized)?;
            if password.is_empty() {
                return Err(ApiError::Unauthorized);
            }
            return Ok(Some(password.to_owned()));
        }
        return Err(ApiError::Unauthorized);
    }
    if let Some(q) = query {
        for (k, v) in form_urlencoded_pairs(q) {
            if (k == "private_token" || k == "job_token") && !v.is_empty() {
                return Ok(Some(v));
            }
        }
    }
    Ok(None)
}

pub(super) fn form_urlencoded_pairs(q: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(q).unwrap_or_default()
}
