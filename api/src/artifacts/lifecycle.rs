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

/// `POST .../jobs/:job_id/artifacts/keep`: none of the job's artifacts expires any more.
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
    let now = now_ms();
    let mut live: Vec<_> =
        app.meta.job_artifacts(project.id, job_id).await?.into_iter().filter(|a| !a.expired(now)).collect();
    if live.is_empty() {
        return Err(ApiError::NotFound("Artifacts"));
    }
    for a in &mut live {
        a.expire_at = None;
        a.locked = true;
        app.meta.save_artifact(a).await?;
    }
    Ok(Json(views::Job::with_artifacts(&job, &live)))
}

/// `DELETE .../jobs/:job_id/artifacts` (maintainer): every artifact of the job, its archive
/// and its reports, is gone now; the worker deletes the blobs.
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
    let all = app.meta.job_artifacts(project.id, job_id).await?;
    if all.is_empty() {
        return Err(ApiError::NotFound("Artifacts"));
    }
    for a in &all {
        app.meta.delete_artifact(project.id, job_id, &a.file_type).await?;
    }
    let blobs: Vec<String> = all.iter().flat_map(|a| a.blob_keys()).collect();
    app.meta.queue_blob_deletes(&blobs).await?;
    tracing::info!(project_id = project.id, job_id, by = %who.username(), "job artifacts deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /projects/:id/artifacts` (maintainer): every artifact of the project expires
/// now, kept ones included, except the archives `.../jobs/artifacts/:ref_name/...?job=`
/// serves (and the reports of those jobs).
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
    let now = now_ms();
    let spared: std::collections::HashSet<u64> =
        app.meta.jobs_served_by_ref(project.id, now).await?.into_iter().collect();
    let mut expiring = 0u64;
    for job_id in app.meta.project_artifact_jobs(project.id).await? {
        if spared.contains(&job_id) {
            continue;
        }
        for mut a in app.meta.job_artifacts(project.id, job_id).await? {
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
