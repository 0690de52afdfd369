//! The web console's sign-in: a personal access token checked once and kept in an
//! `HttpOnly`, `SameSite=Strict` cookie (`Secure` behind TLS), with a CSRF cookie the
//! console echoes on every change. Every other request of the console goes through the same
//! JSON API as curl does; only the token transport differs (`auth::session_token`).

use arca_shared::auth::{CSRF_COOKIE, SESSION_COOKIE, new_token};
use arca_shared::http::Params;
use arca_shared::{ApiError, ApiResult, AppState, views};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// A console session lasts a working day; signing in again renews it.
const SESSION_SECS: u64 = 12 * 60 * 60;

#[derive(Deserialize)]
pub struct SignIn {
    token: String,
}

fn secure(headers: &HeaderMap) -> &'static str {
    let tls = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|p| p == "https");
    if tls { "; Secure" } else { "" }
}

fn cookie(name: &str, value: &str, max_age: u64, http_only: bool, secure: &str) -> Result<HeaderValue, ApiError> {
    let http_only = if http_only { "; HttpOnly" } else { "" };
    HeaderValue::from_str(&format!("{name}={value}; Path=/; Max-Age={max_age}; SameSite=Strict{http_only}{secure}"))
        .map_err(|_| ApiError::invalid("token"))
}

/// `POST /api/v4/session` `{token}`: a personal access token (or the administrator's)
/// becomes a session. Deploy and job tokens are for machines and are refused.
pub async fn create(
    State(app): State<AppState>,
    headers: HeaderMap,
    Params(body): Params<SignIn>,
) -> ApiResult<Response> {
    let token = body.token.trim();
    if token.is_empty() || token.len() > 512 || !token.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ApiError::Unauthorized);
    }
    let who = app.auth.authenticate(Some(token)).await?;
    let user = views::signed_in(&who).ok_or(ApiError::ForbiddenBecause("sign in with a personal access token"))?;
    let secure = secure(&headers);
    let mut resp = (StatusCode::CREATED, Json(user)).into_response();
    let h = resp.headers_mut();
    h.append(header::SET_COOKIE, cookie(SESSION_COOKIE, token, SESSION_SECS, true, secure)?);
    h.append(header::SET_COOKIE, cookie(CSRF_COOKIE, &new_token(""), SESSION_SECS, false, secure)?);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    tracing::info!(user = %who.username(), "console session started");
    Ok(resp)
}

/// `DELETE /api/v4/session`: signs out (the cookies are cleared; the token itself stays
/// valid, as it is the user's).
pub async fn delete(headers: HeaderMap) -> ApiResult<Response> {
    let secure = secure(&headers);
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let h = resp.headers_mut();
    h.append(header::SET_COOKIE, cookie(SESSION_COOKIE, "", 0, true, secure)?);
    h.append(header::SET_COOKIE, cookie(CSRF_COOKIE, "", 0, false, secure)?);
    Ok(resp)
}
