//! The web console's session cookie and its CSRF check.

use http::HeaderMap;
use subtle::ConstantTimeEq;

use crate::error::{ApiError, ApiResult};

/// The web console's session cookie (`HttpOnly`, `SameSite=Strict`): a random session id
/// whose hash names the session in Redis (see `meta::sessions`). It is not a token: it
/// works only for as long as the session and the token behind it do.
pub const SESSION_COOKIE: &str = "arca_session";

/// The console's CSRF cookie, readable by its script, which echoes it in `X-CSRF-Token`.
pub const CSRF_COOKIE: &str = "arca_csrf";

/// The value of cookie `name`, from every `Cookie` header of the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The console session id of a request, when it carries no token. A request that can
/// change something must also echo the CSRF cookie in `X-CSRF-Token` (double submit, on top
/// of `SameSite=Strict`): another site can make a browser send the cookie, never read it.
pub fn session_id(headers: &HeaderMap, method: &http::Method) -> ApiResult<Option<String>> {
    let Some(id) = cookie(headers, SESSION_COOKIE).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if !matches!(*method, http::Method::GET | http::Method::HEAD | http::Method::OPTIONS) {
        let expected = cookie(headers, CSRF_COOKIE).unwrap_or_default();
        let sent = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or_default();
        if expected.len() < 16 || !bool::from(expected.as_bytes().ct_eq(sent.as_bytes())) {
            return Err(ApiError::ForbiddenBecause("missing or wrong CSRF token"));
        }
    }
    Ok(Some(id))
}
