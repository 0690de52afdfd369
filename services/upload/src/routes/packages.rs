//! Publishing generic packages (GitLab's Generic Packages API), deleting package files and
//! the project's package settings.
//!
//! A publish streams the body to S3 as it arrives, hashing it on the way; the file becomes
//! visible only when every byte is in S3, the client's checksums match and the metadata is
//! committed in one Redis script. Whatever fails before that leaves nothing visible, and
//! the blob written so far is removed.

use arca_shared::auth::Actor;
use arca_shared::blobs::BlobKeys;
use arca_shared::checksum::Expected;
use arca_shared::http::{Params, Path, Query};
use arca_shared::meta::packages::{Added, NewFile};
use arca_shared::meta::versions::{Event, PackageRef};
use arca_shared::model::{Package, PackageFile, PackageSettings, PackageStatus, Project};
use arca_shared::policy::Action;
use arca_shared::time::now_ms;
use arca_shared::{ApiError, ApiResult, AppState, Auth, validate, views};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::store::{discard, store};
use serde_json::{Value, json};

#[derive(Deserialize)]
pub struct UploadParams {
    status: Option<String>,
    select: Option<String>,
    description: Option<String>,
}

/// Longest description arca keeps.
pub const MAX_DESCRIPTION: usize = 4096;

pub fn description(raw: Option<&str>) -> ApiResult<String> {
    let d = raw.unwrap_or("");
    if d.len() > MAX_DESCRIPTION || d.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(ApiError::invalid("description"));
    }
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
    let settings = app.meta.package_settings(project.id).await?;
    let reject_duplicate = rejects_duplicates(&settings, &name, &version);
    if reject_duplicate
        && app.meta.download_target(project.id, &name, &version, &file_name).await?.is_some_and(|t| t.file.is_some())
    {
        return Err(ApiError::ForbiddenBecause("Duplicate package is not allowed"));
    }

    let upload_id = uuid::Uuid::new_v4().to_string();
    let upload = app.blobs.upload(BlobKeys::package_file(project.id, &upload_id), declared);
    let blob_key = upload.key().to_owned();
    let digests = store(upload, body.into_data_stream(), max, &expected, true).await?;

    let file = PackageFile {
        id: app.meta.next_file_id().await.inspect_err(|_| discard(&app, &blob_key))?,
        package_id: 0,
        project_id: project.id,
        file_name: file_name.clone(),
        size: digests.size,
        md5: digests.md5,
        sha1: digests.sha1,
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
    };
    let added = app.meta.add_package_file(new).await.inspect_err(|_| discard(&app, &blob_key))?;
    let file = match added {
        Added::File { package_id, created, file } => {
            tracing::info!(project_id = project.id, package = %name, version = %version, package_id, file_id = file.id, size = file.size, created, "package file published");
            let package = PackageRef { id: package_id, name: &name, version: &version };
            let detail =
                json!({ "file_id": file.id, "file_name": file.file_name, "size": file.size, "sha256": file.sha256 });
            let event = Event { actor: &who.actor(), action: "package_file.created", package: Some(package), detail };
            app.meta.record_event(project.id, event).await;
            file
        }
        Added::Duplicate => {
            discard(&app, &blob_key);
            return Err(ApiError::ForbiddenBecause("Duplicate package is not allowed"));
        }
    };
    arca_shared::metrics::UPLOADED_BYTES.inc_by(file.size);
    if let Some(keep) = settings.keep_n_duplicated_package_files {
        keep_newest_duplicates(&app, project.id, file.package_id, &file.file_name, keep as usize).await;
    }
    if select_file {
        Ok((StatusCode::CREATED, Json(views::package_file(&file, (&name, &version)))).into_response())
    } else {
        Ok((StatusCode::CREATED, Json(json!({"message": "201 Created"}))).into_response())
    }
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

/// Deletes one file of a version: its metadata first, then its blob goes to the cleanup
/// worker (so no visible record ever points at a missing blob), and the audit trail
/// records who did it and why. False when the file was already gone.
async fn remove_file(
    app: &AppState,
    package: &Package,
    file: &PackageFile,
    actor: &Actor,
    reason: Option<&str>,
) -> ApiResult<bool> {
    if !app.meta.delete_package_file(package, file).await? {
        return Ok(false);
    }
    app.meta.queue_blob_deletes(std::slice::from_ref(&file.blob_key)).await?;
    let mut detail = json!({ "file_id": file.id, "file_name": file.file_name });
    if let Some(reason) = reason {
        detail["reason"] = json!(reason);
    }
    let event = Event { actor, action: "package_file.deleted", package: Some(package.into()), detail };
    app.meta.record_event(package.project_id, event).await;
    Ok(true)
}

pub async fn delete_file(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, package_id, file_id)): Path<(String, u64, u64)>,
) -> ApiResult<StatusCode> {
    let project = app.project(&who, &id, Action::ManagePackages).await?;
    let package = app.meta.package(project.id, package_id).await?.ok_or(ApiError::NotFound("Package"))?;
    let file = app.meta.package_file(project.id, file_id).await?.filter(|f| f.package_id == package.id);
    let file = file.ok_or(ApiError::NotFound("Package File"))?;
    if remove_file(&app, &package, &file, &who.actor(), None).await? {
        tracing::info!(project_id = project.id, package_id, file_id, by = %who.username(), "package file deleted");
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct SettingsChange {
    #[serde(default, deserialize_with = "arca_shared::http::opt_boolean")]
    generic_duplicates_allowed: Option<bool>,
    generic_duplicate_exception_regex: Option<String>,
    /// `1`, `10`, `20`, `30`, `40`, `50` (GitLab's choices) or `all`.
    #[serde(default, deserialize_with = "arca_shared::http::opt_string_or_number")]
    keep_n_duplicated_package_files: Option<String>,
    /// Days, `0` to switch off.
    #[serde(default, deserialize_with = "arca_shared::http::opt_number")]
    delete_versions_not_downloaded_for_days: Option<u32>,
}

pub async fn update_settings(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Params(change): Params<SettingsChange>,
) -> ApiResult<Json<Value>> {
    let project: Project = app.project(&who, &id, Action::ManagePackages).await?;
    let mut settings = app.meta.package_settings(project.id).await?;
    if let Some(allowed) = change.generic_duplicates_allowed {
        settings.generic_duplicates_allowed = allowed;
    }
    if let Some(re) = change.generic_duplicate_exception_regex {
        // Rust's regex runs in linear time, like GitLab's RE2, so a user's pattern cannot
        // stall a publish; the size limit bounds its compiled form.
        let ok = re.len() <= 255 && regex::RegexBuilder::new(&re).size_limit(1 << 20).build().is_ok();
        if !ok {
            return Err(ApiError::invalid("generic_duplicate_exception_regex"));
        }
        settings.generic_duplicate_exception_regex = re;
    }
    if let Some(keep) = change.keep_n_duplicated_package_files {
        settings.keep_n_duplicated_package_files = match keep.as_str() {
            "all" => None,
            "1" | "10" | "20" | "30" | "40" | "50" => keep.parse().ok(),
            _ => return Err(ApiError::invalid("keep_n_duplicated_package_files")),
        };
    }
    if let Some(days) = change.delete_versions_not_downloaded_for_days {
        if days > 36_500 {
            return Err(ApiError::invalid("delete_versions_not_downloaded_for_days"));
        }
        settings.delete_versions_not_downloaded_for_days = (days > 0).then_some(days);
    }
    app.meta.save_package_settings(project.id, &settings).await?;
    let event = Event {
        actor: &who.actor(),
        action: "package_settings.updated",
        package: None,
        detail: views::package_settings(&settings),
    };
    app.meta.record_event(project.id, event).await;
    tracing::info!(project_id = project.id, by = %who.username(), allowed = settings.generic_duplicates_allowed, "package settings changed");
    Ok(Json(views::package_settings(&settings)))
}
