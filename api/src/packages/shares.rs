//! Share links: `POST|GET .../packages/:package_id/shares`, `DELETE .../shares/:share_id`,
//! and the link itself, `GET|HEAD /api/v4/shares/:token`, which downloads one file without
//! a token.
//!
//! The link's token is an unguessable secret (`arca-share-` and 32 alphanumerics, about 190
//! bits) that arca stores only as its SHA-256. A link follows the newest file of its name in
//! its version and answers exactly as an authorized download would. An unknown, expired or
//! revoked token is a 404 that the gateway counts as a failed authentication; while the
//! version is disabled or recycled the link is a plain 404; it is deleted with the version.

use crate::generic::serve_file;
use crate::paging::Paging;
use crate::views;
use arca_shared::auth::{hash_token, hashes_equal, new_token};
use arca_shared::http::{Params, Path};
use arca_shared::model::{Package, Share};
use arca_shared::pagination::PageParams;
use arca_shared::policy::Action;
use arca_shared::time::now_ms;
use arca_shared::{ApiError, ApiResult, AppState, Auth, expire_in, validate};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const TOKEN_PREFIX: &str = "arca-share-";
const TOKEN_SECRET_LEN: usize = 32;

/// The header that tells the gateway a refused share token is a failed authentication
/// (it counts it and removes the header).
pub const AUTH_FAILED_HEADER: &str = "x-arca-auth-failed";

/// Could `token` be a share token at all (prefix, length, alphabet)?
fn well_formed(token: &str) -> bool {
    token
        .strip_prefix(TOKEN_PREFIX)
        .is_some_and(|s| s.len() == TOKEN_SECRET_LEN && s.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[derive(Deserialize, ToSchema)]
pub struct NewShare {
    /// A file of the version; the link serves the newest file of that name.
    #[schema(min_length = 1, max_length = 255)]
    file_name: String,
    /// How long the link works, as `expire_in` (`30 mins`, `2 days`); at most
    /// `ARCA_SHARE_MAX_TTL` (7 days by default), which is also the default.
    expires_in: Option<String>,
}

/// The base of the links arca hands out: `ARCA_PUBLIC_URL`, else the request's scheme and
/// host as the gateway passed them on (it drops what an untrusted client claims).
fn public_base(app: &AppState, headers: &HeaderMap) -> ApiResult<String> {
    if let Some(url) = &app.config.public_url {
        return Ok(url.clone());
    }
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let proto = match text("x-forwarded-proto").and_then(|p| p.split(',').next()).map(str::trim) {
        Some("https") => "https",
        _ => "http",
    };
    let host = text("x-forwarded-host").or_else(|| text(header::HOST.as_str())).unwrap_or("");
    let host_ok = !host.is_empty()
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        && host.len() <= 255;
    if !host_ok {
        return Err(ApiError::bad_request("no usable Host to build the link from; set ARCA_PUBLIC_URL"));
    }
    Ok(format!("{proto}://{host}"))
}

async fn version(app: &AppState, project_id: u64, package_id: u64) -> ApiResult<Package> {
    app.meta.package(project_id, package_id).await?.ok_or(ApiError::NotFound("Package"))
}

/// `POST /projects/:id/packages/:package_id/shares` (developer): a link that downloads one
/// file of the version without a token until it expires or is revoked. The answer is the
/// only time the link is shown.
#[utoipa::path(
    post, path = "/api/v4/projects/{id}/packages/{package_id}/shares", tag = "packages",
    request_body = NewShare,
    responses((status = 201, description = "The link, with its URL this once.", body = views::Share))
)]
pub async fn create(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, package_id)): Path<(String, u64)>,
    headers: HeaderMap,
    Params(body): Params<NewShare>,
) -> ApiResult<(StatusCode, Json<views::Share>)> {
    let project = app.project(&who, &id, Action::CreateShare).await?;
    validate::file_name(&body.file_name)?;
    let max = app.config.share_max_ttl;
    let ttl = match body.expires_in.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => max,
        Some(raw) => match expire_in::parse(raw) {
            Ok(Some(d)) if !d.is_zero() && d <= max => d,
            _ => return Err(ApiError::invalid("expires_in")),
        },
    };
    let package = version(&app, project.id, package_id).await?;
    let target = app.meta.download_target(project.id, &package.name, &package.version, &body.file_name).await?;
    if target.and_then(|t| t.file).is_none() {
        return Err(ApiError::NotFound("Package File"));
    }
    let base = public_base(&app, &headers)?;
    let token = new_token(TOKEN_PREFIX);
    let now = now_ms();
    let share = Share {
        id: app.meta.next_share_id().await?,
        project_id: project.id,
        package_id,
        file_name: body.file_name,
        token_hash: hash_token(&token),
        created_at: now,
        expires_at: now + ttl.as_millis() as u64,
        created_by: who.username(),
    };
    app.meta.create_share(&share).await?;
    tracing::info!(project_id = project.id, package_id, share_id = share.id, by = %share.created_by, "share link created");
    let url = format!("{base}/api/v4/shares/{token}");
    Ok((StatusCode::CREATED, Json(views::Share::of(&share, Some(url)))))
}

/// `GET /projects/:id/packages/:package_id/shares` (developer): the version's live links,
/// never their URLs.
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/packages/{package_id}/shares", tag = "packages",
    params(PageParams),
    responses((status = 200, description = "The version's links, oldest first.", body = [views::Share]))
)]
pub async fn list(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, package_id)): Path<(String, u64)>,
    paging: Paging,
) -> ApiResult<impl IntoResponse> {
    let project = app.project(&who, &id, Action::CreateShare).await?;
    version(&app, project.id, package_id).await?;
    let shares = app.meta.package_shares(project.id, package_id).await?;
    let items: Vec<views::Share> = paging.window(&shares).map(|s| views::Share::of(s, None)).collect();
    Ok(paging.answer(shares.len() as u64, items))
}

/// `DELETE /projects/:id/packages/:package_id/shares/:share_id`: revokes a link at once;
/// its creator (developer and up) or a maintainer.
#[utoipa::path(
    delete, path = "/api/v4/projects/{id}/packages/{package_id}/shares/{share_id}", tag = "packages",
    responses((status = 204, description = "Revoked."))
)]
pub async fn revoke(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, package_id, share_id)): Path<(String, u64, u64)>,
) -> ApiResult<StatusCode> {
    let project = app.project(&who, &id, Action::CreateShare).await?;
    let share = app.meta.share(project.id, share_id).await?.filter(|s| s.package_id == package_id);
    let share = share.ok_or(ApiError::NotFound("Share"))?;
    if share.created_by != who.username() {
        app.project(&who, &id, Action::ManagePackages).await?;
    }
    app.meta.delete_share(&share).await?;
    tracing::info!(project_id = project.id, package_id, share_id, by = %who.username(), "share link revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// A 404 for a token that names no live link: the gateway counts it as a failed
/// authentication.
fn refused() -> Response {
    let mut resp = (StatusCode::NOT_FOUND, Json(json!({"message": "404 Share Not Found"}))).into_response();
    resp.headers_mut().insert(AUTH_FAILED_HEADER, HeaderValue::from_static("1"));
    resp
}

/// `GET|HEAD /api/v4/shares/:token`: what the link shares, answered as an authorized
/// download of the newest file of that name (a 302, or the bytes in proxy mode); no token
/// needed. Counted like any download.
#[utoipa::path(
    method(get, head), path = "/api/v4/shares/{token}", tag = "packages",
    security(()),
    responses(
        (status = 302, description = "To the bytes on S3.", headers(("Location" = String, description = "A presigned S3 URL."))),
        (status = 200, description = "The bytes, with `ARCA_PROXY_DOWNLOAD=true`.", body = Vec<u8>, content_type = "application/octet-stream"),
    )
)]
pub async fn download(
    State(app): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> ApiResult<Response> {
    if !well_formed(&token) {
        return Ok(refused());
    }
    let hash = hash_token(&token);
    let Some(share) = app.meta.share_by_hash(&hash).await? else { return Ok(refused()) };
    if !hashes_equal(&share.token_hash, &hash) || share.expires_at <= now_ms() {
        return Ok(refused());
    }
    if app.meta.project(share.project_id).await?.is_none() {
        return Err(ApiError::NotFound("Share"));
    }
    let Some(package) = app.meta.package(share.project_id, share.package_id).await?.filter(|p| !p.disabled) else {
        return Err(ApiError::NotFound("Share"));
    };
    let target = app.meta.download_target(share.project_id, &package.name, &package.version, &share.file_name).await?;
    let file = target.and_then(|t| t.file).ok_or(ApiError::NotFound("Share"))?;
    serve_file(&app, &method, &headers, (share.project_id, &package.name, &package.version), &file, HeaderMap::new())
        .await
}

/// The routes of this resource, every method of each path, with their descriptions.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create, list)).routes(routes!(revoke)).routes(routes!(download))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tokens_of_the_right_shape_are_looked_up() {
        let token = new_token(TOKEN_PREFIX);
        assert!(well_formed(&token));
        for bad in [
            "",
            "arca-share-",
            "arca-share-short",
            &format!("{token}x"),
            &format!("arca-pat-{}", "a".repeat(32)),
            &format!("arca-share-{}", "é".repeat(16)),
            &format!("arca-share-{}!", "a".repeat(31)),
            "../../etc/passwd",
        ] {
            assert!(!well_formed(bad), "{bad:?}");
        }
    }
}
