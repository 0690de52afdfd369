//! Pipelines: `POST /projects/:id/pipelines`, `PUT .../pipelines/:pipeline_id` and `POST
//! .../pipelines/:pipeline_id/jobs` (a job and its token).

use crate::jobs::job_view;
use crate::paging::Paging;
use crate::views;
use arca_shared::http::{Params, Path, opt_number};
use arca_shared::meta::NewJob;
use arca_shared::model::{CiStatus, Job, Pipeline};
use arca_shared::pagination::PageParams;
use arca_shared::policy::Action;
use arca_shared::time::now_ms;
use arca_shared::{ApiError, ApiResult, AppState, Auth, validate};
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// A job token lives at most this long; finishing the job ends it sooner.
const JOB_TOKEN_TTL_SECS: u64 = 24 * 60 * 60;

#[derive(Deserialize, ToSchema)]
pub struct NewPipeline {
    /// A branch or tag: no `..`, no leading `/` or `-`, no spaces or `~^:?*[\\`.
    #[serde(rename = "ref")]
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^(?!.*\.\.)[^/\-\s~^:?*\[\\\u0000-\u001f\u007f-\u009f](?:[^\s~^:?*\[\\\u0000-\u001f\u007f-\u009f]*[^/\s~^:?*\[\\\u0000-\u001f\u007f-\u009f])?$"
    )]
    ref_name: String,
    /// The commit, in hex.
    #[schema(max_length = 64, pattern = r"^[0-9A-Fa-f]*$")]
    sha: Option<String>,
    #[serde(default, deserialize_with = "opt_number")]
    #[schema(minimum = 1)]
    parent_pipeline_id: Option<u64>,
}

/// `POST /projects/:id/pipelines` (developer): starts a pipeline on a ref.
#[utoipa::path(
    post, path = "/api/v4/projects/{id}/pipelines", tag = "ci",
    request_body = NewPipeline,
    responses((status = 201, description = "The pipeline, running.", body = views::Pipeline))
)]
pub async fn create_pipeline(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Params(body): Params<NewPipeline>,
) -> ApiResult<(StatusCode, Json<views::Pipeline>)> {
    let project = app.project(&who, &id, Action::AdministerCi).await?;
    validate::ref_name(&body.ref_name)?;
    if let Some(sha) = &body.sha {
        validate::sha(sha)?;
    }
    if let Some(parent) = body.parent_pipeline_id
        && app.meta.pipeline(project.id, parent).await?.is_none()
    {
        return Err(ApiError::NotFound("Parent Pipeline"));
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
    Ok((StatusCode::CREATED, Json(views::Pipeline::from(&pipeline))))
}

/// The statuses a pipeline or a job ends with: what `StatusChange` is described as taking,
/// and what `final_status` lets through.
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub(crate) enum FinalStatus {
    Success,
    Failed,
    Canceled,
}

/// The statuses GitLab filters pipelines and jobs by. arca's runs are only ever `running`,
/// `success`, `failed` or `canceled`; the others are valid to ask for and match nothing.
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub(crate) enum Status {
    Created,
    WaitingForResource,
    Preparing,
    Pending,
    Running,
    Success,
    Failed,
    Canceling,
    Canceled,
    Skipped,
    Manual,
    Scheduled,
}

/// A query string as its pairs, repeated keys (`scope[]`) kept.
pub(crate) fn query_pairs(query: Option<&str>) -> ApiResult<Vec<(String, String)>> {
    serde_urlencoded::from_str(query.unwrap_or("")).map_err(|e| ApiError::bad_request(e.to_string()))
}

/// The statuses asked for in the query parameters `names` (`scope[]` may repeat), or
/// `None` when none is given. An unknown status is a 400 on `field`.
pub(crate) fn statuses(pairs: &[(String, String)], names: &[&str], field: &str) -> ApiResult<Option<Vec<CiStatus>>> {
    let mut asked = None;
    for (_, value) in pairs.iter().filter(|(k, _)| names.contains(&k.as_str())) {
        let wanted: &mut Vec<CiStatus> = asked.get_or_insert_with(Vec::new);
        match value.as_str() {
            "running" => wanted.push(CiStatus::Running),
            "success" => wanted.push(CiStatus::Success),
            "failed" => wanted.push(CiStatus::Failed),
            "canceled" => wanted.push(CiStatus::Canceled),
            "created"
            | "waiting_for_resource"
            | "preparing"
            | "pending"
            | "canceling"
            | "skipped"
            | "manual"
            | "scheduled" => {}
            _ => return Err(ApiError::invalid(field)),
        }
    }
    Ok(asked)
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct StatusChange {
    /// Read as any status, so that authorization is decided first (a refused caller learns
    /// nothing from a 400); only a final one is then accepted.
    #[schema(value_type = FinalStatus)]
    pub(crate) status: CiStatus,
}

pub(crate) fn final_status(s: CiStatus) -> ApiResult<CiStatus> {
    match s {
        CiStatus::Running => Err(ApiError::invalid("status")),
        other => Ok(other),
    }
}

/// `PUT /projects/:id/pipelines/:pipeline_id`: ends a running pipeline.
#[utoipa::path(
    put, path = "/api/v4/projects/{id}/pipelines/{pipeline_id}", tag = "ci",
    request_body = StatusChange,
    responses((status = 200, description = "The pipeline.", body = views::Pipeline), (status = 409, description = "The pipeline has ended.", body = views::Error))
)]
pub async fn update_pipeline(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, pipeline_id)): Path<(String, u64)>,
    Params(body): Params<StatusChange>,
) -> ApiResult<Json<views::Pipeline>> {
    let project = app.project(&who, &id, Action::AdministerCi).await?;
    let status = final_status(body.status)?;
    let mut pipeline = app.meta.pipeline(project.id, pipeline_id).await?.ok_or(ApiError::NotFound("Pipeline"))?;
    pipeline.status = status;
    app.meta.save_pipeline(&pipeline).await?;
    Ok(Json(views::Pipeline::from(&pipeline)))
}

const NOT_RUNNING: &str = "pipeline is not running";

#[derive(Deserialize, ToSchema)]
pub struct JobRequest {
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*\S[^\u0000-\u001f\u007f-\u009f]*$"
    )]
    name: String,
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*\S[^\u0000-\u001f\u007f-\u009f]*$"
    )]
    stage: Option<String>,
}

/// `POST /projects/:id/pipelines/:pipeline_id/jobs`: starts a job in a running pipeline; the
/// answer carries its job token.
#[utoipa::path(
    post, path = "/api/v4/projects/{id}/pipelines/{pipeline_id}/jobs", tag = "ci",
    request_body = JobRequest,
    responses((status = 201, description = "The job, running, with its job token.", body = views::Job), (status = 409, description = "The pipeline has ended, or has a job of that name.", body = views::Error))
)]
pub async fn create_job(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, pipeline_id)): Path<(String, u64)>,
    Params(body): Params<JobRequest>,
) -> ApiResult<(StatusCode, Json<views::Job>)> {
    let project = app.project(&who, &id, Action::AdministerCi).await?;
    validate::text("name", &body.name)?;
    let stage = body.stage.unwrap_or_else(|| "test".to_owned());
    validate::text("stage", &stage)?;
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
        finished_at: None,
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
    Ok((StatusCode::CREATED, Json(views::Job::of(&job, Some(&token)))))
}

/// `GET /projects/:id/pipelines`: the project's pipelines, child pipelines included,
/// newest first; `ref` and `status` narrow them.
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/pipelines", tag = "ci",
    params(
        ("ref" = Option<String>, Query, description = "Only pipelines of this branch or tag."),
        ("status" = Option<Status>, Query, description = "Only pipelines of this status."),
        PageParams,
    ),
    responses((status = 200, description = "A page of the pipelines, newest first.", body = [views::Pipeline]))
)]
pub async fn list_pipelines(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    paging: Paging,
) -> ApiResult<impl IntoResponse> {
    let project = app.project(&who, &id, Action::ReadCi).await?;
    let pairs = query_pairs(query.as_deref())?;
    let status = statuses(&pairs, &["status"], "status")?;
    let ref_name = pairs.iter().find(|(k, _)| k == "ref").map(|(_, v)| v);
    let mut pipelines = Vec::new();
    let ids = app.meta.project_pipeline_ids(project.id).await?;
    for p in app.meta.pipelines(project.id, &ids).await? {
        if ref_name.is_none_or(|r| *r == p.ref_name) && status.as_ref().is_none_or(|s| s.contains(&p.status)) {
            pipelines.push(p);
        }
    }
    let total = pipelines.len() as u64;
    let items: Vec<views::Pipeline> = paging.window(&pipelines).map(views::Pipeline::from).collect();
    Ok(paging.answer(total, items))
}

/// `GET /projects/:id/pipelines/:pipeline_id`: one pipeline.
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/pipelines/{pipeline_id}", tag = "ci",
    responses((status = 200, description = "The pipeline.", body = views::Pipeline))
)]
pub async fn show_pipeline(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, pipeline_id)): Path<(String, u64)>,
) -> ApiResult<Json<views::Pipeline>> {
    let project = app.project(&who, &id, Action::ReadCi).await?;
    let pipeline = app.meta.pipeline(project.id, pipeline_id).await?.ok_or(ApiError::NotFound("Pipeline"))?;
    Ok(Json(views::Pipeline::from(&pipeline)))
}

/// `GET /projects/:id/pipelines/:pipeline_id/jobs`: the pipeline's jobs, oldest first.
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/pipelines/{pipeline_id}/jobs", tag = "ci",
    params(PageParams),
    responses((status = 200, description = "A page of the pipeline's jobs.", body = [views::Job]))
)]
pub async fn pipeline_jobs(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, pipeline_id)): Path<(String, u64)>,
    paging: Paging,
) -> ApiResult<impl IntoResponse> {
    let project = app.project(&who, &id, Action::ReadCi).await?;
    let pipeline = app.meta.pipeline(project.id, pipeline_id).await?.ok_or(ApiError::NotFound("Pipeline"))?;
    let jobs = app.meta.pipeline_jobs(project.id, pipeline.id).await?;
    let mut items = Vec::new();
    for job in paging.window(&jobs) {
        items.push(job_view(&app, job, Some(&pipeline)).await?);
    }
    Ok(paging.answer(jobs.len() as u64, items))
}

/// The routes of this resource, every method of each path, with their descriptions.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_pipelines, create_pipeline))
        .routes(routes!(show_pipeline, update_pipeline))
        .routes(routes!(pipeline_jobs, create_job))
}
