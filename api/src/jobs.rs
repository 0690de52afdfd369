//! Jobs: `GET /projects/:id/jobs` (jobs with artifacts, newest first) and `PUT
//! /projects/:id/jobs/:job_id` (a job ends).

use crate::paging::Paging;
use crate::views;
use arca_shared::http::{Params, Path};
use arca_shared::pagination::PageParams;
use arca_shared::policy::Action;
use arca_shared::time::now_ms;
use arca_shared::{ApiError, ApiResult, AppState, Auth};
use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;

use crate::pipelines::{StatusChange, final_status};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `GET /projects/:id/jobs`: the project's jobs that have artifacts, newest first, each
/// with its artifacts (what the console's job-artifacts page lists).
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/jobs", tag = "ci",
    params(PageParams),
    responses((status = 200, description = "A page of the jobs that have artifacts, newest first.", body = [views::Job]))
)]
pub async fn jobs(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    paging: Paging,
) -> ApiResult<impl IntoResponse> {
    let project = app.project(&who, &id, Action::ReadCi).await?;
    let page = paging.page;
    let mut ids = app.meta.project_artifact_jobs(project.id).await?;
    ids.sort_unstable_by(|a, b| b.cmp(a));
    let total = ids.len() as u64;
    let mut items = Vec::new();
    for job_id in ids.into_iter().skip(page.offset() as usize).take(page.per_page as usize) {
        let Some(job) = app.meta.job(project.id, job_id).await? else { continue };
        let artifact = app.meta.artifact(project.id, job_id).await?.filter(|a| !a.expired(now_ms()));
        items.push(views::Job::with_artifacts(&job, artifact.as_ref()));
    }
    Ok(paging.answer(total, items))
}

/// `PUT /projects/:id/jobs/:job_id`: ends a job; its token stops working at once (authentication reads the job's status).
#[utoipa::path(
    put, path = "/api/v4/projects/{id}/jobs/{job_id}", tag = "ci",
    request_body = StatusChange,
    responses((status = 200, description = "The job.", body = views::Job), (status = 409, description = "The job has ended.", body = views::Error))
)]
pub async fn update_job(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, job_id)): Path<(String, u64)>,
    Params(body): Params<StatusChange>,
) -> ApiResult<Json<views::Job>> {
    let project = app.project(&who, &id, Action::EndJob { job_id }).await?;
    let status = final_status(body.status)?;
    let mut job = app.meta.job(project.id, job_id).await?.ok_or(ApiError::NotFound("Job"))?;
    job.status = status;
    app.meta.save_job(&job).await?;
    Ok(Json(views::Job::of(&job, None)))
}

/// The routes of this resource, every method of each path, with their descriptions.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(jobs)).routes(routes!(update_job))
}
