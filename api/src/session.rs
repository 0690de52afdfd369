//! POST and DELETE /session: the web console's sign-in and sign-out.

use crate::views;
use arca_shared::auth::{CSRF_COOKIE, SESSION_COOKIE, cookie as cookie_value, new_token};
use arca_shared::http::Params;
use arca_shared::pagination::base_url;
use arca_shared::{ApiError, ApiResult, AppState};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// A console session lasts a working day; signing in again opens a new one.
const SESSION_SECS: u64 = 12 * 60 * 60;

#[derive(Deserialize, ToSchema)]
pub struct SignIn {
    token: String,
}

/// `Secure` when the request came over TLS, as the gateway says (it passes on a client's
/// `X-Forwarded-Proto` only from a trusted proxy).
fn secure(headers: &HeaderMap) -> &'static str {
    if base_url(headers, "").starts_with("https:") { "; Secure" } else { "" }
}

fn cookie(name: &str, value: &str, max_age: u64, http_only: bool, secure: &str) -> Result<HeaderValue, ApiError> {
    let http_only = if http_only { "; HttpOnly" } else { "" };
    HeaderValue::from_str(&format!("{name}={value}; Path=/; Max-Age={max_age}; SameSite=Strict{http_only}{secure}"))
        .map_err(|_| ApiError::invalid("token"))
}

/// A sign-in must come from the console itself: a page of another site can make a browser
/// post a form here (and the answer's cookie would be stored, `SameSite` or not), signing
/// the victim into the attacker's account. Browsers say where a request comes from in
/// `Sec-Fetch-Site` and `Origin`; the console's `fetch` sends JSON, which no cross-site form
/// can without a CORS preflight that arca never grants.
fn from_the_console(headers: &HeaderMap) -> ApiResult<()> {
    let cross_site = ApiError::ForbiddenBecause("cross-site sign-in refused");
    if let Some(site) = headers.get("sec-fetch-site")
        && !matches!(site.to_str(), Ok("same-origin" | "none"))
    {
        return Err(cross_site);
    }
    if let Some(origin) = headers.get(header::ORIGIN)
        && origin.to_str().ok() != Some(base_url(headers, "").as_str())
    {
        return Err(cross_site);
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return Err(ApiError::bad_request("sign in with a JSON body (Content-Type: application/json)"));
    }
    Ok(())
}

/// `POST /api/v4/session` `{token}`: a personal access token (or the administrator's)
/// opens a session. Deploy and job tokens are for machines and are refused.
#[utoipa::path(
    post, path = "/api/v4/session", tag = "session",
    request_body = SignIn,
    responses((status = 201, description = "Signed in; `Set-Cookie` carries the session and the CSRF cookie.", body = views::User))
)]
pub async fn create(
    State(app): State<AppState>,
    headers: HeaderMap,
    Params(body): Params<SignIn>,
) -> ApiResult<Response> {
    from_the_console(&headers)?;
    let token = body.token.trim();
    if token.is_empty() || token.len() > 512 || !token.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ApiError::Unauthorized);
    }
    let (who, session_id) = app.auth.open_session(token, SESSION_SECS).await?;
    let user =
        views::User::signed_in(&who).ok_or(ApiError::ForbiddenBecause("sign in with a personal access token"))?;
    let secure = secure(&headers);
    let mut resp = (StatusCode::CREATED, Json(user)).into_response();
    let h = resp.headers_mut();
    h.append(header::SET_COOKIE, cookie(SESSION_COOKIE, &session_id, SESSION_SECS, true, secure)?);
    h.append(header::SET_COOKIE, cookie(CSRF_COOKIE, &new_token(""), SESSION_SECS, false, secure)?);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    tracing::info!(user = %who.username(), "console session started");
    Ok(resp)
}

/// `DELETE /api/v4/session`: signs out. The session is deleted on the server, so a copy
/// of the cookie is worth nothing from now on; the cookies are cleared too.
#[utoipa::path(
    delete, path = "/api/v4/session", tag = "session",
    responses((status = 204, description = "Signed out; the cookies are cleared."))
)]
pub async fn delete(State(app): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(id) = cookie_value(&headers, SESSION_COOKIE).filter(|id| !id.is_empty()) {
        app.auth.close_session(&id).await?;
    }
    let secure = secure(&headers);
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let h = resp.headers_mut();
    h.append(header::SET_COOKIE, cookie(SESSION_COOKIE, "", 0, true, secure)?);
    h.append(header::SET_COOKIE, cookie(CSRF_COOKIE, "", 0, false, secure)?);
    Ok(resp)
}

/// The routes of this resource, every method of each path, with their descriptions.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create, delete))
}
