//! Jobs: `GET /projects/:id/jobs` (jobs with artifacts, newest first) and `PUT
//! /projects/:id/jobs/:job_id` (a job ends).

use arca_shared::http::{Params, Path, Query};
use arca_shared::pagination::{Page, PageParams};
use arca_shared::policy::Action;
use arca_shared::time::now_ms;
use arca_shared::{ApiError, ApiResult, AppState, Auth, views};
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::Value;

use crate::pipelines::{StatusChange, final_status};

/// `GET /projects/:id/jobs`: the project's jobs that have artifacts, newest first, each
/// with its artifacts (what the console's job-artifacts page lists).
pub async fn jobs(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Query(params): Query<PageParams>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let project = app.project(&who, &id, Action::ReadCi).await?;
    let page = Page::from_params(&params)?;
    let mut ids = app.meta.project_artifact_jobs(project.id).await?;
    ids.sort_unstable_by(|a, b| b.cmp(a));
    let total = ids.len() as u64;
    let mut items = Vec::new();
    for job_id in ids.into_iter().skip(page.offset() as usize).take(page.per_page as usize) {
        let Some(job) = app.meta.job(project.id, job_id).await? else { continue };
        let artifact = app.meta.artifact(project.id, job_id).await?.filter(|a| !a.expired(now_ms()));
        items.push(views::job_with_artifacts(&job, artifact.as_ref()));
    }
    Ok(crate::paging::paged(page, total, items, &uri, &headers))
}

/// Ends a job; its token stops working at once (authentication reads the job's status).
pub async fn update_job(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, job_id)): Path<(String, u64)>,
    Params(body): Params<StatusChange>,
) -> ApiResult<Json<Value>> {
    let project = app.project(&who, &id, Action::EndJob { job_id }).await?;
    let status = final_status(body.status)?;
    let mut job = app.meta.job(project.id, job_id).await?.ok_or(ApiError::NotFound("Job"))?;
    job.status = status;
    app.meta.save_job(&job).await?;
    Ok(Json(views::job(&job, None)))
}

/// The routes of this resource, every method of each path.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v4/projects/{id}/jobs", get(jobs))
        .route("/api/v4/projects/{id}/jobs/{job_id}", put(update_job))
}
