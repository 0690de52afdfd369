//! Keeping and deleting job artifacts: `POST .../jobs/:job_id/artifacts/keep`, `DELETE
//! .../jobs/:job_id/artifacts`, `DELETE /projects/:id/artifacts`.

use crate::views;
use arca_shared::http::Path;
use arca_shared::policy::Action;
use arca_shared::time::now_ms;
use arca_shared::{ApiError, ApiResult, AppState, Auth};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `POST .../jobs/:job_id/artifacts/keep`: the artifacts no longer expire.
#[utoipa::path(
    post, path = "/api/v4/projects/{id}/jobs/{job_id}/artifacts/keep", tag = "job artifacts",
    responses((status = 200, description = "The job; its artifacts no longer expire.", body = views::Job))
)]
pub async fn keep(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, job_id)): Path<(String, u64)>,
) -> ApiResult<Json<views::Job>> {
    let project = app.project(&who, &id, Action::AdministerCi).await?;
    let job = app.meta.job(project.id, job_id).await?.ok_or(ApiError::NotFound("Job"))?;
    let mut artifact = app.meta.artifact(project.id, job_id).await?.filter(|a| !a.expired(now_ms()));
    let Some(a) = artifact.as_mut() else { return Err(ApiError::NotFound("Artifacts")) };
    a.expire_at = None;
    a.locked = true;
    app.meta.save_artifact(a).await?;
    Ok(Json(views::Job::with_artifacts(&job, artifact.as_ref())))
}

/// `DELETE .../jobs/:job_id/artifacts` (maintainer): gone now; the worker deletes the blob.
#[utoipa::path(
    delete, path = "/api/v4/projects/{id}/jobs/{job_id}/artifacts", tag = "job artifacts",
    responses((status = 204, description = "Deleted."))
)]
pub async fn delete_job(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, job_id)): Path<(String, u64)>,
) -> ApiResult<StatusCode> {
    let project = app.project(&who, &id, Action::DeleteArtifacts).await?;
    let artifact = app.meta.artifact(project.id, job_id).await?.ok_or(ApiError::NotFound("Artifacts"))?;
    app.meta.delete_artifact(project.id, job_id).await?;
    app.meta.queue_blob_deletes(&artifact.blob_keys()).await?;
    tracing::info!(project_id = project.id, job_id, by = %who.username(), "job artifacts deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /projects/:id/artifacts` (maintainer): every artifact of the project expires
/// now, kept ones included, except those of the latest successful pipeline of each ref.
/// The cleanup worker deletes them within a pass or two.
#[utoipa::path(
    delete, path = "/api/v4/projects/{id}/artifacts", tag = "job artifacts",
    responses((status = 202, description = "Every artifact but what a ref serves expires; the cleanup worker deletes them.", body = views::Message))
)]
pub async fn delete_project(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<views::Message>)> {
    let project = app.project(&who, &id, Action::DeleteArtifacts).await?;
    let spared: std::collections::HashSet<u64> = app.meta.latest_artifact_jobs(project.id).await?.into_iter().collect();
    let now = now_ms();
    let mut expiring = 0u64;
    for job_id in app.meta.project_artifact_jobs(project.id).await? {
        if spared.contains(&job_id) {
            continue;
        }
        if let Some(mut a) = app.meta.artifact(project.id, job_id).await? {
            a.expire_at = Some(now);
            a.locked = false;
            app.meta.save_artifact(&a).await?;
            expiring += 1;
        }
    }
    tracing::info!(project_id = project.id, expiring, spared = spared.len(), by = %who.username(), "project artifacts deletion requested");
    Ok((StatusCode::ACCEPTED, Json(views::Message { message: "202 Accepted" })))
}

/// The routes of this resource, every method of each path, with their descriptions.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(keep)).routes(routes!(delete_job)).routes(routes!(delete_project))
}
