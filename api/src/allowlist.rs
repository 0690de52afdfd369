//! The job-token allowlist: which other projects' job tokens may read this project
//! (`/projects/:id/job_token_scope/allowlist`).

use crate::views;
use arca_shared::http::{Params, Path, number};
use arca_shared::policy::Action;
use arca_shared::{ApiError, ApiResult, AppState, Auth};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `GET /projects/:id/job_token_scope/allowlist` (maintainer): the projects whose job
/// tokens may read this one's packages and artifacts.
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/job_token_scope/allowlist", tag = "projects",
    responses((status = 200, description = "The allowlisted projects.", body = [views::Project]))
)]
pub async fn allowlist(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<views::Project>>> {
    let project = app.project(&who, &id, Action::AdministerProject).await?;
    let ids = app.meta.allowlist(project.id).await?;
    Ok(Json(app.meta.projects(&ids).await?.iter().map(views::Project::from).collect()))
}

#[derive(Deserialize, ToSchema)]
pub struct NewAllowlistEntry {
    #[serde(deserialize_with = "number")]
    #[schema(minimum = 1)]
    target_project_id: u64,
}

/// `POST /projects/:id/job_token_scope/allowlist` `{target_project_id}` (maintainer): the
/// job tokens of the target project may read this one from now on. The caller must be
/// able to see the target: an id they cannot see answers as one that does not exist.
#[utoipa::path(
    post, path = "/api/v4/projects/{id}/job_token_scope/allowlist", tag = "projects",
    request_body = NewAllowlistEntry,
    responses((status = 201, description = "Added.", body = views::AllowlistEntry), (status = 409, description = "Already listed.", body = views::Error))
)]
pub async fn allowlist_add(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Params(body): Params<NewAllowlistEntry>,
) -> ApiResult<(StatusCode, Json<views::AllowlistEntry>)> {
    let project = app.project(&who, &id, Action::AdministerProject).await?;
    let target = app.project(&who, &body.target_project_id.to_string(), Action::View).await?;
    if !app.meta.allowlist_add(project.id, target.id).await? {
        return Err(ApiError::Conflict("target project is already in the job token scope".into()));
    }
    tracing::info!(project_id = project.id, target_project_id = target.id, by = %who.username(), "job token allowlist entry added");
    Ok((
        StatusCode::CREATED,
        Json(views::AllowlistEntry { source_project_id: project.id, target_project_id: target.id }),
    ))
}

/// `DELETE /projects/:id/job_token_scope/allowlist/:target_project_id` (maintainer): the
/// target's job tokens lose access at once (every request reads the allowlist).
#[utoipa::path(
    delete, path = "/api/v4/projects/{id}/job_token_scope/allowlist/{target_project_id}", tag = "projects",
    responses((status = 204, description = "Removed."))
)]
pub async fn allowlist_remove(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, target_id)): Path<(String, u64)>,
) -> ApiResult<StatusCode> {
    let project = app.project(&who, &id, Action::AdministerProject).await?;
    if !app.meta.allowlist_remove(project.id, target_id).await? {
        return Err(ApiError::NotFound("Allowlist Entry"));
    }
    tracing::info!(project_id = project.id, target_project_id = target_id, by = %who.username(), "job token allowlist entry removed");
    Ok(StatusCode::NO_CONTENT)
}

/// The routes of this resource, every method of each path, with their descriptions.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(allowlist, allowlist_add)).routes(routes!(allowlist_remove))
}
