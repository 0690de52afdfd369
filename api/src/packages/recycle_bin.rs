//! The recycle bin: `GET .../packages/recycle_bin`, `POST
//! .../packages/:package_id/restore`, `DELETE .../packages/recycle_bin/:package_id`.

use crate::paging::Paging;
use crate::views;
use arca_shared::http::Path;
use arca_shared::meta::versions::{Event, EventAction, Restored};
use arca_shared::pagination::PageParams;
use arca_shared::policy::Action;
use arca_shared::time::now_ms;
use arca_shared::{ApiError, ApiResult, AppState, Auth};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::live_package;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `GET /projects/:id/packages/recycle_bin`: the recycle bin, most recently recycled first, with when and by whom (maintainers).
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/packages/recycle_bin", tag = "packages",
    params(PageParams),
    responses((status = 200, description = "A page of the recycled versions, most recently recycled first.", body = [views::Package]))
)]
pub async fn recycle_bin(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    paging: Paging,
) -> ApiResult<impl IntoResponse> {
    let project = app.project(&who, &id, Action::ManagePackages).await?;
    let page = paging.page;
    let (total, packages) = app.meta.recycle_bin(project.id, page.offset(), page.per_page).await?;
    Ok(paging.answer(total, packages.iter().map(views::Package::binned).collect()))
}

/// `POST .../packages/:package_id/restore`: back exactly as it was. When the same name
/// and version was published again meanwhile, the restore is refused (409) and the
/// recycled version stays in the bin: it is never merged into, or overwrites, the newer one.
#[utoipa::path(
    post, path = "/api/v4/projects/{id}/packages/{package_id}/restore", tag = "packages",
    responses((status = 200, description = "The version, back.", body = views::Package), (status = 409, description = "The name and version were published again.", body = views::Error))
)]
pub async fn restore(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, package_id)): Path<(String, u64)>,
) -> ApiResult<Json<views::Package>> {
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
    app.meta.record_event(project.id, Event::about(&actor, EventAction::PackageRestored, (&binned).into())).await;
    tracing::info!(project_id = project.id, package_id, by = %actor.username, "package version restored");
    let restored = live_package(&app, &project, package_id).await?;
    let metadata = app.meta.package_metadata(&restored).await?;
    Ok(Json(views::Package::details(&restored, metadata)))
}

/// `DELETE .../packages/recycle_bin/:package_id`: for good; the worker removes the blobs.
#[utoipa::path(
    delete, path = "/api/v4/projects/{id}/packages/recycle_bin/{package_id}", tag = "packages",
    responses((status = 204, description = "Deleted for good; the cleanup worker removes its blobs."))
)]
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
    app.meta.record_event(project.id, Event::about(&actor, EventAction::PackagePurged, (&binned).into())).await;
    tracing::info!(project_id = project.id, package_id, by = %actor.username, "package version purged");
    Ok(StatusCode::NO_CONTENT)
}

/// The routes of this resource, every method of each path, with their descriptions.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(recycle_bin)).routes(routes!(restore)).routes(routes!(purge))
}
