//! Generic package files (GitLab's Generic Packages API): `PUT|GET|HEAD
//! /projects/:id/packages/generic/:name/:version/*file_name`.
//!
//! A download does the minimum: one metadata read for the file (who may read it is
//! mostly remembered, see `authcache`), a presign computed locally (no S3 round trip), a
//! 302. The download is counted in memory and written to Redis in batches
//! (`downloads`), so counting never slows or fails the redirect.

use crate::conditional::{Conditions, Tags};
use crate::packages::files::remove_file;
use crate::upload::{discard, store};
use crate::views;
use arca_shared::auth::Actor;
use arca_shared::blobs::{BlobKeys, PresignOptions};
use arca_shared::checksum::Expected;
use arca_shared::http::{Path, Query};
use arca_shared::meta::packages::{Added, NewFile, Precondition};
use arca_shared::meta::versions::{Event, EventAction, PackageRef};
use arca_shared::model::{PackageFile, PackageSettings, PackageStatus};
use arca_shared::policy::Action;
use arca_shared::time::now_ms;
use arca_shared::{ApiError, ApiResult, AppState, Auth, metrics, validate};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
enum PublishStatus {
    Default,
    Hidden,
}

#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
enum Select {
    PackageFile,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// `hidden` keeps the package out of listings.
    #[param(value_type = Option<PublishStatus>)]
    status: Option<String>,
    /// `package_file`: answer with the stored file.
    #[param(value_type = Option<Select>)]
    select: Option<String>,
    /// The version's description.
    #[param(max_length = 4096, pattern = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$")]
    description: Option<String>,
}

/// A version's description from the request (empty when none), checked.
pub fn description(raw: Option<&str>) -> ApiResult<String> {
    let d = raw.unwrap_or("");
    validate::description(d)?;
    Ok(d.to_owned())
}

/// Does the duplicate setting refuse a second file of the same name in this version?
fn rejects_duplicates(settings: &PackageSettings, name: &str, version: &str) -> bool {
    if settings.generic_duplicates_allowed {
        return false;
    }
    let exception = settings.generic_duplicate_exception_regex.as_str();
    if exception.is_empty() {
        return true;
    }
    // The regex was checked when it was saved; one that no longer compiles excepts nothing.
    match regex::Regex::new(exception) {
        Ok(re) => !(re.is_match(name) || re.is_match(version)),
        Err(_) => true,
    }
}

/// `PUT /projects/:id/packages/generic/:name/:version/*file_name`: publishes the body as a
/// file of that version, checked against the integrity headers it carries. Conditional
/// with `If-None-Match: *` (only if no file of that name exists) or `If-Match:
/// "<sha256>"` (only while the newest file of that name has that SHA-256; it then
/// replaces the older copies), decided atomically when the file commits.
#[utoipa::path(
    put, path = "/api/v4/projects/{id}/packages/generic/{package_name}/{package_version}/{*file_name}", tag = "generic packages",
    params(UploadParams),
    request_body(content = Option<Vec<u8>>, description = "The file's bytes (no body is an empty file).", content_type = "application/octet-stream"),
    responses(
        (status = 201, description = "Stored: `{\"message\": \"201 Created\"}`, or the file with `select=package_file`.", body = views::Published),
        (status = 409, description = "Duplicates are refused by the project's settings.", body = views::Error),
        (status = 412, description = "`If-Match` or `If-None-Match` did not hold (or was malformed); nothing was stored.", body = views::Message),
        (status = 413, description = "Larger than `ARCA_MAX_FILE_SIZE`.", body = views::Error),
    )
)]
pub async fn upload(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, name, version, file_name)): Path<(String, String, String, String)>,
    Query(params): Query<UploadParams>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let project = app.project(&who, &id, Action::PublishPackages).await?;
    validate::package_name(&name)?;
    validate::package_version(&version)?;
    validate::file_name(&file_name)?;
    let status = match params.status.as_deref() {
        None | Some("default") => PackageStatus::Default,
        Some("hidden") => PackageStatus::Hidden,
        Some(_) => return Err(ApiError::invalid("status")),
    };
    let select_file = match params.select.as_deref() {
        None => false,
        Some("package_file") => true,
        Some(_) => return Err(ApiError::invalid("select")),
    };
    let description = description(params.description.as_deref())?;
    let max = app.config.max_file_size;
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max) {
        return Err(ApiError::PayloadTooLarge);
    }
    let expected = Expected::from_headers(&headers)?;
    let conditions = Conditions::from_headers(&headers)?;
    let settings = app.meta.package_settings(project.id).await?;
    // A matched `If-Match` replaces the file even where duplicates are refused.
    let reject_duplicate = rejects_duplicates(&settings, &name, &version) && !conditions.replaces();
    let mut precondition = Precondition::None;
    if reject_duplicate || !conditions.is_empty() {
        let target = app.meta.download_target(project.id, &name, &version, &file_name).await?;
        let current = target.and_then(|t| t.file);
        precondition = conditions.evaluate(current.as_ref())?;
        if reject_duplicate && current.is_some() {
            return Err(ApiError::ForbiddenBecause("Duplicate package is not allowed"));
        }
    }

    let upload_id = uuid::Uuid::new_v4().to_string();
    let upload = app.blobs.upload(BlobKeys::package_file(project.id, &upload_id), declared);
    let blob_key = upload.key().to_owned();
    let digests = store(upload, body.into_data_stream(), max, &expected, true, None).await?;

    let file = PackageFile {
        id: app.meta.next_file_id().await.inspect_err(|_| discard(&app, &blob_key))?,
        package_id: 0,
        project_id: project.id,
        file_name: file_name.clone(),
        size: digests.size,
        md5: digests.md5,
        sha1: digests.sha1.unwrap_or_default(),
        sha256: digests.sha256,
        blob_key: blob_key.clone(),
        created_at: now_ms(),
        pushed_by: who.username(),
    };
    let new = NewFile {
        project_id: project.id,
        name: &name,
        version: &version,
        status,
        description: &description,
        file,
        reject_duplicate,
        precondition,
    };
    let added = app.meta.add_package_file(new).await.inspect_err(|_| discard(&app, &blob_key))?;
    let file = match added {
        Added::File { package_id, created, file } => {
            tracing::info!(project_id = project.id, package = %name, version = %version, package_id, file_id = file.id, size = file.size, created, "package file published");
            let package = PackageRef { id: package_id, name: &name, version: &version };
            let detail =
                json!({ "file_id": file.id, "file_name": file.file_name, "size": file.size, "sha256": file.sha256 });
            let event =
                Event { actor: &who.actor(), action: EventAction::PackageFileCreated, package: Some(package), detail };
            app.meta.record_event(project.id, event).await;
            file
        }
        Added::Duplicate => {
            discard(&app, &blob_key);
            return Err(ApiError::ForbiddenBecause("Duplicate package is not allowed"));
        }
        Added::PreconditionFailed => {
            discard(&app, &blob_key);
            return Err(ApiError::PreconditionFailed);
        }
    };
    arca_shared::metrics::UPLOADED_BYTES.inc_by(file.size);
    if conditions.replaces() {
        // What `If-Match` named is replaced: the older copies of that name go.
        keep_newest_duplicates(&app, project.id, file.package_id, &file.file_name, 1).await;
    } else if let Some(keep) = settings.keep_n_duplicated_package_files {
        keep_newest_duplicates(&app, project.id, file.package_id, &file.file_name, keep as usize).await;
    }
    let answer = if select_file {
        views::Published::File(Box::new(views::PackageFile::of(&file, (&name, &version))))
    } else {
        views::Published::Message(views::Message { message: "201 Created" })
    };
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// Applies `keep_n_duplicated_package_files` to one file name of a version: the oldest
/// files beyond the newest `keep` are deleted like `DELETE .../package_files/:id`. A
/// failure is logged; the publish itself has succeeded.
async fn keep_newest_duplicates(app: &AppState, project_id: u64, package_id: u64, file_name: &str, keep: usize) {
    let result: ApiResult<usize> = async {
        let Some(package) = app.meta.package(project_id, package_id).await? else { return Ok(0) };
        let (_, files) = app.meta.package_files(&package, 0, u64::MAX / 2).await?;
        let same: Vec<&PackageFile> = files.iter().filter(|f| f.file_name == file_name).collect();
        let surplus = same.len().saturating_sub(keep);
        let mut removed = 0;
        for old in same.into_iter().take(surplus) {
            if remove_file(app, &package, old, &Actor::system("retention"), Some("keep_n_duplicated_package_files"))
                .await?
            {
                removed += 1;
            }
        }
        Ok(removed)
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(project_id, package_id, error = %e, "duplicate retention not applied");
    }
}

/// `DELETE /projects/:id/packages/generic/:name/:version/*file_name` (maintainer): every
/// file of that name in the version; the cleanup worker deletes the blobs, the audit trail
/// records one event.
#[utoipa::path(
    delete, path = "/api/v4/projects/{id}/packages/generic/{package_name}/{package_version}/{*file_name}", tag = "generic packages",
    responses((status = 204, description = "Deleted."))
)]
pub async fn delete(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, name, version, file_name)): Path<(String, String, String, String)>,
) -> ApiResult<StatusCode> {
    let project = app.project(&who, &id, Action::ManagePackages).await?;
    validate::package_name(&name)?;
    validate::package_version(&version)?;
    validate::file_name(&file_name)?;
    let target = app
        .meta
        .download_target(project.id, &name, &version, &file_name)
        .await?
        .ok_or(ApiError::NotFound("Package"))?;
    let package = app.meta.package(project.id, target.package_id).await?.ok_or(ApiError::NotFound("Package"))?;
    let (_, files) = app.meta.package_files(&package, 0, u64::MAX / 2).await?;
    let mut removed = Vec::new();
    for file in files.iter().filter(|f| f.file_name == file_name) {
        if app.meta.delete_package_file(&package, file).await? {
            removed.push(file);
        }
    }
    if removed.is_empty() {
        return Err(ApiError::NotFound("Package File"));
    }
    let blobs: Vec<String> = removed.iter().map(|f| f.blob_key.clone()).collect();
    app.meta.queue_blob_deletes(&blobs).await?;
    let ids: Vec<u64> = removed.iter().map(|f| f.id).collect();
    let detail = json!({ "file_name": file_name, "file_ids": ids, "count": ids.len() });
    let event = Event {
        actor: &who.actor(),
        action: EventAction::PackageFileDeleted,
        package: Some(PackageRef { id: package.id, name: &name, version: &version }),
        detail,
    };
    app.meta.record_event(project.id, event).await;
    tracing::info!(project_id = project.id, package_id = package.id, file = %file_name, count = ids.len(), by = %who.username(), "package files deleted by name");
    Ok(StatusCode::NO_CONTENT)
}

/// The version segment that stands for the newest eligible version of a package.
pub(crate) const LATEST: &str = "@latest";

/// `GET|HEAD /projects/:id/packages/generic/:name/:version/*file_name`: the newest file of
/// that name in the version, a 302 to a presigned S3 URL (or the bytes in proxy mode).
/// `:version` may be `@latest`: the package's version first published last that is
/// neither hidden, disabled nor recycled, named in `X-Package-Version`.
#[utoipa::path(
    method(get, head), path = "/api/v4/projects/{id}/packages/generic/{package_name}/{package_version}/{*file_name}", tag = "generic packages",
    responses(
        (status = 302, description = "To the bytes on S3 (the default).", headers(("Location" = String, description = "A presigned S3 URL."), ("X-Package-Version" = String, description = "With `@latest`: the version it resolved to."))),
        (status = 200, description = "The bytes, with `ARCA_PROXY_DOWNLOAD=true`.", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 206, description = "A range of them.", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 304, description = "Unchanged (`If-None-Match`)."),
        (status = 416, description = "The range is not satisfiable.", body = views::Error),
    )
)]
pub async fn download(
    State(app): State<AppState>,
    Auth(who): Auth,
    method: Method,
    Path((id, name, version, file_name)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let project = app.project(&who, &id, Action::ReadPackages).await?;
    validate::package_name(&name)?;
    validate::file_name(&file_name)?;
    // `@latest` (no version may contain `@`) stands for the newest eligible version.
    let latest = version == LATEST;
    let version = if latest {
        app.meta.latest_version(project.id, &name).await?.ok_or(ApiError::NotFound("Package"))?
    } else {
        validate::package_version(&version)?;
        version
    };
    let target = app
        .meta
        .download_target(project.id, &name, &version, &file_name)
        .await?
        .ok_or(ApiError::NotFound("Package"))?;
    if target.disabled {
        return Err(ApiError::ForbiddenBecause("package version is disabled"));
    }
    let file = target.file.ok_or(ApiError::NotFound("Package File"))?;
    let mut extra = HeaderMap::new();
    if latest {
        // The version was checked when it was published: a valid header value.
        if let Ok(v) = HeaderValue::from_str(&version) {
            extra.insert("x-package-version", v);
        }
    }
    serve_file(&app, &method, &headers, (project.id, &name, &version), &file, extra).await
}

/// Answers a download of one package file: a 302 to a presigned URL, or the bytes in proxy
/// mode (ranges, `If-None-Match`), with its checksums, ETag and `extra`; a `GET` is counted
/// on the version. Shared by the file URL, `@latest` and share links.
pub(crate) async fn serve_file(
    app: &AppState,
    method: &Method,
    headers: &HeaderMap,
    (project_id, name, version): (u64, &str, &str),
    file: &PackageFile,
    extra: HeaderMap,
) -> ApiResult<Response> {
    let etag = format!("\"{}\"", file.sha256);
    let mut out = extra;
    for (name, value) in [("x-checksum-sha256", &file.sha256), ("x-checksum-md5", &file.md5), ("etag", &etag)] {
        if let Ok(v) = HeaderValue::from_str(value) {
            out.insert(name, v);
        }
    }
    let counts = method == Method::GET;

    let resp = if app.config.proxy_download {
        if if_none_match(headers, &file.sha256) {
            return Ok((StatusCode::NOT_MODIFIED, out).into_response());
        }
        let range = range_header(headers)?;
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
        app.downloads.record(project_id, name, version, now_ms());
    }
    Ok(resp)
}

/// Does `If-None-Match` name the file (weak comparison, as RFC 9110 has it for GET)? A
/// malformed value names nothing.
fn if_none_match(headers: &HeaderMap, sha256: &str) -> bool {
    let lines: Vec<&str> = headers.get_all(header::IF_NONE_MATCH).iter().filter_map(|v| v.to_str().ok()).collect();
    !lines.is_empty() && Tags::parse(&lines.join(",")).is_some_and(|t| t.matches_weakly(sha256))
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

/// The routes of this resource, every method of each path, with their descriptions.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(download, upload, delete))
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
        let etag = "abc";
        assert!(if_none_match(&with(header::IF_NONE_MATCH, "\"abc\""), etag));
        assert!(if_none_match(&with(header::IF_NONE_MATCH, "W/\"abc\", \"x\""), etag));
        assert!(if_none_match(&with(header::IF_NONE_MATCH, "*"), etag));
        assert!(!if_none_match(&with(header::IF_NONE_MATCH, "\"abd\""), etag));
    }
}
