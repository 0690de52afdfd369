//! Jobs: `GET /projects/:id/jobs` (every job, newest first, by status), `GET
//! /projects/:id/jobs/:job_id` and `PUT /projects/:id/jobs/:job_id` (a job ends).

use crate::paging::Paging;
use crate::views;
use arca_shared::http::{Params, Path};
use std::collections::HashMap;

use arca_shared::model::{Job, Pipeline};
use arca_shared::pagination::PageParams;
use arca_shared::policy::Action;
use arca_shared::time::now_ms;
use arca_shared::{ApiError, ApiResult, AppState, Auth};
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::IntoResponse;

use crate::pipelines::{Status, StatusChange, final_status, query_pairs, statuses};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `GET /projects/:id/jobs`: every job of the project, newest first, each with its
/// artifacts; `scope[]` (or `scope`) keeps the jobs of the statuses given.
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/jobs", tag = "ci",
    params(
        ("scope[]" = Option<Vec<Status>>, Query, description = "Only jobs of these statuses (several are ORed)."),
        ("scope" = Option<Status>, Query, description = "One status, as `scope[]`."),
        PageParams,
    ),
    responses((status = 200, description = "A page of the jobs, newest first.", body = [views::Job]))
)]
pub async fn jobs(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    paging: Paging,
) -> ApiResult<impl IntoResponse> {
    let project = app.project(&who, &id, Action::ReadCi).await?;
    let scopes = statuses(&query_pairs(query.as_deref())?, &["scope", "scope[]"], "scope")?;
    let mut all = Vec::new();
    for pipeline_id in app.meta.project_pipeline_ids(project.id).await? {
        all.extend(app.meta.pipeline_jobs(project.id, pipeline_id).await?);
    }
    all.retain(|j| scopes.as_ref().is_none_or(|s| s.contains(&j.status)));
    all.sort_unstable_by_key(|j| std::cmp::Reverse(j.id));
    let total = all.len() as u64;
    let mut items = Vec::new();
    // A page's jobs mostly share a few pipelines: each is read once, in one MGET.
    let mut ids: Vec<u64> = paging.window(&all).map(|j| j.pipeline_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let pipelines: HashMap<u64, Pipeline> =
        app.meta.pipelines(project.id, &ids).await?.into_iter().map(|p| (p.id, p)).collect();
    for job in paging.window(&all) {
        items.push(job_view(&app, job, pipelines.get(&job.pipeline_id)).await?);
    }
    Ok(paging.answer(total, items))
}

/// A job with its live artifacts and its pipeline (as read by the caller; `None` if it is
/// gone), as GitLab shows one.
pub(crate) async fn job_view(app: &AppState, job: &Job, pipeline: Option<&Pipeline>) -> ApiResult<views::Job> {
    let now = now_ms();
    let mut artifacts = app.meta.job_artifacts(job.project_id, job.id).await?;
    artifacts.retain(|a| !a.expired(now));
    Ok(views::Job::full(job, &artifacts, pipeline))
}

/// `GET /projects/:id/jobs/:job_id`: one job, with its artifacts and its pipeline (the
/// first call of python-gitlab's artifacts recipe).
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/jobs/{job_id}", tag = "ci",
    responses((status = 200, description = "The job.", body = views::Job))
)]
pub async fn show(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, job_id)): Path<(String, u64)>,
) -> ApiResult<Json<views::Job>> {
    let project = app.project(&who, &id, Action::ReadCi).await?;
    let job = app.meta.job(project.id, job_id).await?.ok_or(ApiError::NotFound("Job"))?;
    let pipeline = app.meta.pipeline(project.id, job.pipeline_id).await?;
    Ok(Json(job_view(&app, &job, pipeline.as_ref()).await?))
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
    job.finished_at = Some(now_ms());
    app.meta.save_job(&job).await?;
    Ok(Json(views::Job::of(&job, None)))
}

/// The routes of this resource, every method of each path, with their descriptions.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(jobs)).routes(routes!(show, update_job))
}
