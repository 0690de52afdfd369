//! The job-token allowlist: which other projects' job tokens may read this project
//! (`/projects/:id/job_token_scope/allowlist`).

use arca_shared::http::{Params, Path, number};
use arca_shared::policy::Action;
use arca_shared::{ApiError, ApiResult, AppState, Auth, views};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

/// `GET /projects/:id/job_token_scope/allowlist` (maintainer): the projects whose job
/// tokens may read this one's packages and artifacts.
pub async fn allowlist(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Value>>> {
    let project = app.project(&who, &id, Action::AdministerProject).await?;
    let ids = app.meta.allowlist(project.id).await?;
    Ok(Json(app.meta.projects(&ids).await?.iter().map(views::project).collect()))
}

#[derive(Deserialize)]
pub struct AllowlistEntry {
    #[serde(deserialize_with = "number")]
    target_project_id: u64,
}

/// `POST /projects/:id/job_token_scope/allowlist` `{target_project_id}` (maintainer): the
/// job tokens of the target project may read this one from now on. The caller must be
/// able to see the target: an id they cannot see answers as one that does not exist.
pub async fn allowlist_add(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Params(body): Params<AllowlistEntry>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let project = app.project(&who, &id, Action::AdministerProject).await?;
    let target = app.project(&who, &body.target_project_id.to_string(), Action::View).await?;
    if !app.meta.allowlist_add(project.id, target.id).await? {
        return Err(ApiError::Conflict("target project is already in the job token scope".into()));
    }
    tracing::info!(project_id = project.id, target_project_id = target.id, by = %who.username(), "job token allowlist entry added");
    Ok((StatusCode::CREATED, Json(json!({"source_project_id": project.id, "target_project_id": target.id}))))
}

/// `DELETE /projects/:id/job_token_scope/allowlist/:target_project_id` (maintainer): the
/// target's job tokens lose access at once (every request reads the allowlist).
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

/// The routes of this resource, every method of each path.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v4/projects/{id}/job_token_scope/allowlist", get(allowlist).post(allowlist_add))
        .route("/api/v4/projects/{id}/job_token_scope/allowlist/{target_project_id}", delete(allowlist_remove))
}
