//! A version's files: `GET .../packages/:package_id/package_files`, `DELETE
//! .../package_files/:file_id`.

use crate::paging::Paging;
use crate::views;
use arca_shared::auth::Actor;
use arca_shared::http::Path;
use arca_shared::meta::versions::{Event, EventAction};
use arca_shared::model::{Package, PackageFile};
use arca_shared::pagination::PageParams;
use arca_shared::policy::Action;
use arca_shared::{ApiError, ApiResult, AppState, Auth};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `GET /projects/:id/packages/:package_id/package_files`: the version's files, oldest first.
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/packages/{package_id}/package_files", tag = "packages",
    params(PageParams),
    responses((status = 200, description = "A page of the version's files, oldest first.", body = [views::PackageFile]))
)]
pub async fn files(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, package_id)): Path<(String, u64)>,
    paging: Paging,
) -> ApiResult<impl IntoResponse> {
    let project = app.project(&who, &id, Action::ReadPackages).await?;
    let page = paging.page;
    let package = app.meta.package(project.id, package_id).await?.ok_or(ApiError::NotFound("Package"))?;
    let (total, files) = app.meta.package_files(&package, page.offset(), page.per_page).await?;
    let body = files.iter().map(|f| views::PackageFile::of(f, (&package.name, &package.version))).collect();
    Ok(paging.answer(total, body))
}

/// Deletes one file of a version: its metadata first, then its blob goes to the cleanup
/// worker (so no visible record ever points at a missing blob), and the audit trail
/// records who did it and why. False when the file was already gone.
pub(crate) async fn remove_file(
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
    let event = Event { actor, action: EventAction::PackageFileDeleted, package: Some(package.into()), detail };
    app.meta.record_event(package.project_id, event).await;
    Ok(true)
}

/// `DELETE /projects/:id/packages/:package_id/package_files/:file_id`: one file; the worker
/// deletes its blob.
#[utoipa::path(
    delete, path = "/api/v4/projects/{id}/packages/{package_id}/package_files/{file_id}", tag = "packages",
    responses((status = 204, description = "Deleted."))
)]
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

/// The routes of this resource, every method of each path, with their descriptions.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(files)).routes(routes!(delete_file))
}
