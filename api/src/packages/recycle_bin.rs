//! The recycle bin: `GET .../packages/recycle_bin`, `POST
//! .../packages/:package_id/restore`, `DELETE .../packages/recycle_bin/:package_id`.

use arca_shared::http::{Path, Query};
use arca_shared::meta::versions::{Event, Restored};
use arca_shared::pagination::{Page, PageParams};
use arca_shared::policy::Action;
use arca_shared::time::now_ms;
use arca_shared::{ApiError, ApiResult, AppState, Auth, views};
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::live_package;

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
    Ok(crate::paging::paged(page, total, packages.iter().map(views::binned_package).collect(), &uri, &headers))
}

/// `POST .../packages/:package_id/restore`: back exactly as it was. When the same name
/// and version was published again meanwhile, the restore is refused (409) and the
/// recycled version stays in the bin: it is never merged into, or overwrites, the newer one.
pub async fn restore(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, package_id)): Path<(String, u64)>,
) -> ApiResult<Json<Value>> {
    let project = app.project(&who, &id, Action::ManagePackages).await?;
    let binned = app.meta.binned_package(project.id, package_id).await?.ok_or(ApiError::NotFound("Package"))?;
    match app.meta.restore_package(&binned).await? {
        Restored::Yes => {}
        Restored::NotInBin => return Err(ApiError::NotFound("Package")),
        Restored::Republished => {
            return Err(ApiError::Conflict(format!(
                "{} {} was published again after it was recycled; delete that version first to restore this one",
                binned.name, binned.version
            )));
        }
    }
    let actor = who.actor();
    app.meta
        .record_event(
            project.id,
            Event { actor: &actor, action: "package.restored", package: Some((&binned).into()), detail: json!({}) },
        )
        .await;
    tracing::info!(project_id = project.id, package_id, by = %actor.username, "package version restored");
    let restored = live_package(&app, &project, package_id).await?;
    let metadata = app.meta.package_metadata(&restored).await?;
    Ok(Json(views::package_details(&restored, &metadata)))
}

/// `DELETE .../packages/recycle_bin/:package_id`: for good; the worker removes the blobs.
pub async fn purge(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, package_id)): Path<(String, u64)>,
) -> ApiResult<StatusCode> {
    let project = app.project(&who, &id, Action::ManagePackages).await?;
    let binned = app.meta.binned_package(project.id, package_id).await?.ok_or(ApiError::NotFound("Package"))?;
    if !app.meta.purge_package(project.id, package_id, now_ms()).await? {
        return Err(ApiError::NotFound("Package"));
    }
    let actor = who.actor();
    app.meta
        .record_event(
            project.id,
            Event { actor: &actor, action: "package.purged", package: Some((&binned).into()), detail: json!({}) },
        )
        .await;
    tracing::info!(project_id = project.id, package_id, by = %actor.username, "package version purged");
    Ok(StatusCode::NO_CONTENT)
}

/// The routes of this resource, every method of each path.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v4/projects/{id}/packages/recycle_bin", get(recycle_bin))
        .route("/api/v4/projects/{id}/packages/{package_id}/restore", post(restore))
        .route("/api/v4/projects/{id}/packages/recycle_bin/{package_id}", delete(purge))
}
