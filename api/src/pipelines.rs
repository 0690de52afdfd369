//! Pipelines: `POST /projects/:id/pipelines`, `PUT .../pipelines/:pipeline_id` and `POST
//! .../pipelines/:pipeline_id/jobs` (a job and its token).

use arca_shared::http::{Params, Path, opt_number};
use arca_shared::meta::NewJob;
use arca_shared::model::{CiStatus, Job, Pipeline};
use arca_shared::policy::Action;
use arca_shared::time::now_ms;
use arca_shared::{ApiError, ApiResult, AppState, Auth, views};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

/// A job token lives at most this long; finishing the job ends it sooner.
const JOB_TOKEN_TTL_SECS: u64 = 24 * 60 * 60;

fn text_field(field: &str, value: &str) -> ApiResult<()> {
    if value.trim().is_empty() || value.len() > 255 || value.chars().any(char::is_control) {
        return Err(ApiError::invalid(field));
    }
    Ok(())
}

/// Git's ref rules, the parts that matter here: no `..`, no leading `/` or `-`, no spaces.
fn ref_name(value: &str) -> ApiResult<()> {
    text_field("ref", value)?;
    if value.contains("..")
        || value.starts_with(['/', '-'])
        || value.ends_with('/')
        || value.contains(|c: char| c.is_whitespace() || "~^:?*[\\".contains(c))
    {
        return Err(ApiError::invalid("ref"));
    }
    Ok(())
}

#[derive(Deserialize)]
pub struct NewPipeline {
    #[serde(rename = "ref")]
    ref_name: String,
    sha: Option<String>,
    #[serde(default, deserialize_with = "opt_number")]
    parent_pipeline_id: Option<u64>,
}

pub async fn create_pipeline(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Params(body): Params<NewPipeline>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let project = app.project(&who, &id, Action::AdministerCi).await?;
    ref_name(&body.ref_name)?;
    if let Some(sha) = &body.sha
        && (sha.len() > 64 || !sha.chars().all(|c| c.is_ascii_hexdigit()))
    {
        return Err(ApiError::invalid("sha"));
    }
    if let Some(parent) = body.parent_pipeline_id
        && app.meta.pipeline(project.id, parent).await?.is_none()
    {
        return Err(ApiError::invalid("parent_pipeline_id"));
    }
    let pipeline = Pipeline {
        id: app.meta.next_pipeline_id().await?,
        project_id: project.id,
        ref_name: body.ref_name,
        sha: body.sha,
        parent_pipeline_id: body.parent_pipeline_id,
        status: CiStatus::Running,
        created_at: now_ms(),
    };
    app.meta.create_pipeline(&pipeline).await?;
    Ok((StatusCode::CREATED, Json(views::pipeline(&pipeline))))
}

#[derive(Deserialize)]
pub(crate) struct StatusChange {
    pub(crate) status: CiStatus,
}

pub(crate) fn final_status(s: CiStatus) -> ApiResult<CiStatus> {
    match s {
        CiStatus::Running => Err(ApiError::invalid("status")),
        other => Ok(other),
    }
}

pub async fn update_pipeline(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, pipeline_id)): Path<(String, u64)>,
    Params(body): Params<StatusChange>,
) -> ApiResult<Json<Value>> {
    let project = app.project(&who, &id, Action::AdministerCi).await?;
    let status = final_status(body.status)?;
    let mut pipeline = app.meta.pipeline(project.id, pipeline_id).await?.ok_or(ApiError::NotFound("Pipeline"))?;
    pipeline.status = status;
    app.meta.save_pipeline(&pipeline).await?;
    Ok(Json(views::pipeline(&pipeline)))
}

const NOT_RUNNING: &str = "pipeline is not running";

#[derive(Deserialize)]
pub struct JobRequest {
    name: String,
    stage: Option<String>,
}

pub async fn create_job(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, pipeline_id)): Path<(String, u64)>,
    Params(body): Params<JobRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let project = app.project(&who, &id, Action::AdministerCi).await?;
    text_field("name", &body.name)?;
    let stage = body.stage.unwrap_or_else(|| "test".to_owned());
    text_field("stage", &stage)?;
    let pipeline = app.meta.pipeline(project.id, pipeline_id).await?.ok_or(ApiError::NotFound("Pipeline"))?;
    let job = Job {
        id: app.meta.next_job_id().await?,
        project_id: project.id,
        pipeline_id: pipeline.id,
        name: body.name,
        stage,
        ref_name: pipeline.ref_name,
        status: CiStatus::Running,
        created_at: now_ms(),
        user: who.username(),
    };
    // Decided atomically at commit (the pipeline may finish meanwhile), and a name is taken
    // once, so what a finished pipeline serves by ref never changes.
    match app.meta.create_job(&job).await? {
        NewJob::Created => {}
        NewJob::PipelineNotRunning => return Err(ApiError::ConflictPlain(NOT_RUNNING.into())),
        NewJob::NameTaken => {
            return Err(ApiError::Conflict(format!("pipeline already has a job named {:?}", job.name)));
        }
    }
    let token = app.auth.jwt.sign(&job, JOB_TOKEN_TTL_SECS)?;
    Ok((StatusCode::CREATED, Json(views::job(&job, Some(&token)))))
}

/// The routes of this resource, every method of each path.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v4/projects/{id}/pipelines", post(create_pipeline))
        .route("/api/v4/projects/{id}/pipelines/{pipeline_id}", put(update_pipeline))
        .route("/api/v4/projects/{id}/pipelines/{pipeline_id}/jobs", post(create_job))
}
