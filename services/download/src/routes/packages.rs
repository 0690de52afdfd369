//! Downloading generic package files (GitLab's Generic Packages API) and reading the
//! Packages API.
//!
//! A download does the minimum: one metadata read for the file (who may read it is
//! mostly remembered, see `authcache`), a presign computed locally (no S3 round trip), a
//! 302. The download is counted in memory and written to Redis in batches
//! (`downloads`), so counting never slows or fails the redirect.

use arca_shared::blobs::PresignOptions;
use arca_shared::http::{Path, Query};
use arca_shared::meta::packages::{ListQuery, Order};
use arca_shared::pagination::{Page, PageParams};
use arca_shared::policy::Action;
use arca_shared::time::now_ms;
use arca_shared::{ApiError, ApiResult, AppState, Auth, metrics, validate, views};
use axum::Json;
use axum::body::Body;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

pub async fn download(
    State(app): State<AppState>,
    Auth(who): Auth,
    method: Method,
    Path((id, name, version, file_name)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let project = app.project(&who, &id, Action::ReadPackages).await?;
    validate::package_name(&name)?;
    validate::package_version(&version)?;
    validate::file_name(&file_name)?;
    let target = app
        .meta
        .download_target(project.id, &name, &version, &file_name)
        .await?
        .ok_or(ApiError::NotFound("Package"))?;
    if target.disabled {
        return Err(ApiError::ForbiddenBecause("package version is disabled"));
    }
    let file = target.file.ok_or(ApiError::NotFound("Package File"))?;
    let etag = format!("\"{}\"", file.sha256);
    let mut out = HeaderMap::new();
    for (name, value) in [("x-checksum-sha256", &file.sha256), ("x-checksum-md5", &file.md5), ("etag", &etag)] {
        if let Ok(v) = HeaderValue::from_str(value) {
            out.insert(name, v);
        }
    }
    let counts = method == Method::GET;

    let resp = if app.config.proxy_download {
        if if_none_match(&headers, &etag) {
            return Ok((StatusCode::NOT_MODIFIED, out).into_response());
        }
        let range = range_header(&headers)?;
        let is_range = range.is_some();
        let object = app.blobs.get(&file.blob_key, range).await?;
        out.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
        if let Ok(v) = HeaderValue::from_str(&arca_shared::blobs::content_disposition(&file.file_name)) {
            out.insert(header::CONTENT_DISPOSITION, v);
        }
        out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        if let Some(len) = object.content_length {
            out.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
            metrics::PROXIED_BYTES.inc_by(len);
        }
        let status = match object.content_range.as_deref().map(HeaderValue::from_str) {
            Some(Ok(v)) if is_range => {
                out.insert(header::CONTENT_RANGE, v);
                StatusCode::PARTIAL_CONTENT
            }
            _ => StatusCode::OK,
        };
        let body = if method == Method::HEAD { Body::empty() } else { Body::new(object.body.into_inner()) };
        metrics::DOWNLOADS.with_label_values(&["proxy"]).inc();
        (status, out, body).into_response()
    } else {
        let url = app
            .blobs
            .presign_get(
                &file.blob_key,
                PresignOptions {
                    file_name: &file.file_name,
                    content_type: "application/octet-stream",
                    ttl: app.config.presign_ttl,
                },
            )
            .await?;
        let location = HeaderValue::from_str(&url).map_err(|e| ApiError::internal("presigned url header", e))?;
        out.insert(header::LOCATION, location);
        // Each answer carries a fresh, short-lived URL: caches must not keep it.
        out.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
        metrics::DOWNLOADS.with_label_values(&["redirect"]).inc();
        (StatusCode::FOUND, out).into_response()
    };
    if counts {
        app.downloads.record(project.id, &name, &version, now_ms());
    }
    Ok(resp)
}

fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == "*" || t.trim().trim_start_matches("W/") == etag))
}

/// A single `bytes=` range, passed to S3 as is; anything else is refused.
fn range_header(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(v) = headers.get(header::RANGE) else {
        return Ok(None);
    };
    let v = v.to_str().map_err(|_| ApiError::RangeNotSatisfiable)?.trim();
    let spec = v.strip_prefix("bytes=").ok_or(ApiError::RangeNotSatisfiable)?;
    let (a, b) = spec.split_once('-').ok_or(ApiError::RangeNotSatisfiable)?;
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if spec.contains(',') || !digits(a) || !digits(b) || (a.is_empty() && b.is_empty()) {
        return Err(ApiError::RangeNotSatisfiable);
    }
    Ok(Some(v.to_owned()))
}

#[derive(Deserialize, Default)]
pub struct ListParams {
    package_type: Option<String>,
    package_name: Option<String>,
    package_version: Option<String>,
    order_by: Option<String>,
    sort: Option<String>,
    #[serde(flatten)]
    page: PageParams,
}

pub async fn list(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Query(params): Query<ListParams>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let project = app.project(&who, &id, Action::ReadPackages).await?;
    let page = Page::from_params(&params.page)?;
    let order = match params.order_by.as_deref() {
        None | Some("created_at") => Order::CreatedAt,
        Some("name") => Order::Name,
        Some("version") => Order::Version,
        Some(_) => return Err(ApiError::invalid("order_by")),
    };
    let desc = match params.sort.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(ApiError::invalid("sort")),
    };
    if let Some(n) = params.package_name.as_deref().filter(|n| !n.is_empty()) {
        validate::package_name(n)?;
    }
    if let Some(v) = params.package_version.as_deref().filter(|v| !v.is_empty()) {
        validate::package_version(v)?;
    }
    let (total, packages) = match params.package_type.as_deref() {
        // Every package arca holds is generic.
        None | Some("") | Some("generic") => {
            let q = ListQuery {
                name: params.package_name.filter(|n| !n.is_empty()),
                version: params.package_version.filter(|v| !v.is_empty()),
                order,
                desc,
                offset: page.offset(),
                limit: page.per_page,
            };
            app.meta.list_packages(project.id, &q).await?
        }
        // GitLab's other package types: valid to ask for, and arca holds none of them.
        Some(t) if GITLAB_PACKAGE_TYPES.contains(&t) => (0, Vec::new()),
        Some(_) => return Err(ApiError::invalid("package_type")),
    };
    Ok(super::paged(page, total, packages.iter().map(views::package).collect(), &uri, &headers))
}

/// The package types GitLab knows (`generic` among them).
const GITLAB_PACKAGE_TYPES: [&str; 16] = [
    "maven",
    "npm",
    "conan",
    "nuget",
    "pypi",
    "composer",
    "generic",
    "golang",
    "debian",
    "rubygems",
    "helm",
    "terraform_module",
    "rpm",
    "ml_model",
    "cargo",
    "conda",
];

pub async fn show(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, package_id)): Path<(String, u64)>,
) -> ApiResult<Json<Value>> {
    let project = app.project(&who, &id, Action::ReadPackages).await?;
    let package = app.meta.package(project.id, package_id).await?.ok_or(ApiError::NotFound("Package"))?;
    let metadata = app.meta.package_metadata(&package).await?;
    Ok(Json(views::package_details(&package, &metadata)))
}

pub async fn metadata(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, package_id)): Path<(String, u64)>,
) -> ApiResult<Json<Value>> {
    let project = app.project(&who, &id, Action::ReadPackages).await?;
    let package = app.meta.package(project.id, package_id).await?.ok_or(ApiError::NotFound("Package"))?;
    Ok(Json(serde_json::json!(app.meta.package_metadata(&package).await?)))
}

/// The recycle bin, most recently recycled first, with when and by whom (maintainers).
pub async fn recycle_bin(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Query(params): Query<PageParams>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let project = app.project(&who, &id, Action::ManagePackages).await?;
    let page = Page::from_params(&params)?;
    let (total, packages) = app.meta.recycle_bin(project.id, page.offset(), page.per_page).await?;
    Ok(super::paged(page, total, packages.iter().map(views::binned_package).collect(), &uri, &headers))
}

/// The project's audit trail of package changes, newest first (maintainers).
pub async fn events(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Query(params): Query<PageParams>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let project = app.project(&who, &id, Action::ManagePackages).await?;
    let page = Page::from_params(&params)?;
    let (total, events) = app.meta.events(project.id, page.offset(), page.per_page).await?;
    Ok(super::paged(page, total, events, &uri, &headers))
}

pub async fn files(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, package_id)): Path<(String, u64)>,
    Query(params): Query<PageParams>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let project = app.project(&who, &id, Action::ReadPackages).await?;
    let page = Page::from_params(&params)?;
    let package = app.meta.package(project.id, package_id).await?.ok_or(ApiError::NotFound("Package"))?;
    let (total, files) = app.meta.package_files(&package, page.offset(), page.per_page).await?;
    let body = files.iter().map(|f| views::package_file(f, (&package.name, &package.version))).collect();
    Ok(super::paged(page, total, body, &uri, &headers))
}

pub async fn settings(State(app): State<AppState>, Auth(who): Auth, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let project = app.project(&who, &id, Action::ReadPackages).await?;
    Ok(Json(views::package_settings(&app.meta.package_settings(project.id).await?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: header::HeaderName, v: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_static(v));
        h
    }

    #[test]
    fn ranges_are_single_byte_ranges() {
        assert_eq!(range_header(&HeaderMap::new()).expect("none"), None);
        for ok in ["bytes=0-9", "bytes=5-", "bytes=-3"] {
            assert_eq!(range_header(&with(header::RANGE, ok)).expect(ok).as_deref(), Some(ok));
        }
        for bad in ["bytes=-", "items=0-1", "bytes=0-1,3-4", "bytes=a-b"] {
            assert!(range_header(&with(header::RANGE, bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn etags_match_strong_weak_and_star() {
        let etag = "\"abc\"";
        assert!(if_none_match(&with(header::IF_NONE_MATCH, "\"abc\""), etag));
        assert!(if_none_match(&with(header::IF_NONE_MATCH, "W/\"abc\", \"x\""), etag));
        assert!(if_none_match(&with(header::IF_NONE_MATCH, "*"), etag));
        assert!(!if_none_match(&with(header::IF_NONE_MATCH, "\"abd\""), etag));
    }
}
