//! A job's artifacts archive, uploaded with its job token: `POST /jobs/:job_id/artifacts`.

use std::sync::Arc;

use crate::upload::{discard, store};
use crate::views;
use arca_shared::archive::{self, RangeReader};
use arca_shared::auth::Principal;
use arca_shared::blobs::BlobKeys;
use arca_shared::checksum::Expected;
use arca_shared::http::{Path, Query};
use arca_shared::model::Artifact;
use arca_shared::policy::Action;
use arca_shared::time::now_ms;
use arca_shared::{ApiError, ApiResult, AppState, Auth, expire_in};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The runner's multipart form: the archive in the field `file`. It describes the form;
/// the handler reads the field as a stream (multer), never as this struct.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct ArchiveForm {
    #[schema(content_media_type = "application/zip")]
    file: Vec<u8>,
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    expire_in: Option<String>,
    artifact_format: Option<String>,
    artifact_type: Option<String>,
}

/// Only the archive of a job, as a zip, is kept (GitLab's reports are out of scope).
fn check_format(params: &UploadParams) -> ApiResult<()> {
    if params.artifact_format.as_deref().is_some_and(|f| f != "zip") {
        return Err(ApiError::invalid("artifact_format"));
    }
    if params.artifact_type.as_deref().is_some_and(|t| t != "archive") {
        return Err(ApiError::invalid("artifact_type"));
    }
    Ok(())
}

/// `POST /api/v4/jobs/:job_id/artifacts` with the job's own token, as the runner sends it:
/// a multipart body whose `file` field is the zip (the other fields may come first), or
/// the zip as the raw body.
#[utoipa::path(
    post, path = "/api/v4/jobs/{job_id}/artifacts", tag = "job artifacts",
    params(UploadParams),
    request_body(content(
        (Vec<u8> = "application/zip"),
        (ArchiveForm = "multipart/form-data"),
    )),
    responses(
        (status = 201, description = "The job, with its artifacts.", body = views::Job),
        (status = 413, description = "Larger than `ARCA_MAX_ARTIFACTS_SIZE`.", body = views::Error),
    )
)]
pub async fn upload(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(job_id): Path<u64>,
    Query(mut params): Query<UploadParams>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<views::Job>)> {
    // The route names only the job; the permission table decides on the job's project
    // (only that job's own token may upload).
    let Some(project_id) = app.meta.job_project(job_id).await? else {
        return Err(if matches!(who, Principal::Anonymous) {
            ApiError::Unauthorized
        } else {
            ApiError::NotFound("Job")
        });
    };
    app.project(&who, &project_id.to_string(), Action::UploadArtifacts { job_id }).await?;
    let Principal::Job(job) = who else { return Err(ApiError::Forbidden) };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let max = app.config.max_artifacts_size;
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max + 64 * 1024) {
        return Err(ApiError::PayloadTooLarge);
    }
    let key = BlobKeys::job_artifacts(job.project_id, job.id, &uuid::Uuid::new_v4().to_string());
    let digests = if content_type.starts_with("multipart/form-data") {
        let boundary = multer::parse_boundary(&content_type)
            .map_err(|_| ApiError::bad_request("multipart body without a boundary"))?;
        let mut multipart = multer::Multipart::new(body.into_data_stream(), boundary);
        let mut stored = None;
        while let Some(field) =
            multipart.next_field().await.map_err(|e| ApiError::bad_request(format!("multipart: {e}")))?
        {
            match field.name() {
                Some("file") if stored.is_none() => {
                    check_format(&params)?;
                    stored = Some(
                        store(app.blobs.upload(key.clone(), None), field, max, &Expected::default(), false).await?,
                    );
                }
                Some(name @ ("expire_in" | "artifact_format" | "artifact_type")) => {
                    let name = name.to_owned();
                    let text = field.text().await.map_err(|e| ApiError::bad_request(format!("multipart: {e}")))?;
                    match name.as_str() {
                        "expire_in" => params.expire_in = Some(text),
                        "artifact_format" => params.artifact_format = Some(text),
                        _ => params.artifact_type = Some(text),
                    }
                }
                _ => {}
            }
        }
        stored.ok_or_else(|| ApiError::bad_request("multipart body without a file field"))?
    } else {
        check_format(&params)?;
        store(app.blobs.upload(key.clone(), declared), body.into_data_stream(), max, &Expected::default(), false)
            .await?
    };
    let on_error = |e: ApiError| {
        discard(&app, &key);
        e
    };
    check_format(&params).map_err(on_error)?;
    let expire_after = match params.expire_in.as_deref() {
        None => Some(app.config.artifacts_expire_in),
        Some(raw) => expire_in::parse(raw).map_err(|_| on_error(ApiError::invalid("expire_in")))?,
    };

    // The archive must be a valid zip: its end-of-central-directory and central directory
    // are parsed (from S3, with range reads) before it is accepted.
    let reader = RangeReader::new(app.blobs.clone(), key.clone(), digests.size, tokio::runtime::Handle::current());
    let parsed = tokio::task::spawn_blocking(move || archive::open(reader))
        .await
        .map_err(|e| on_error(ApiError::internal("zip check task", e)))?;
    let parsed = match parsed {
        Ok(a) => a,
        Err(e) => {
            tracing::info!(job_id, error = %e, "refusing an artifacts upload that is not a zip");
            return Err(on_error(ApiError::bad_request("the artifacts file is not a valid zip archive")));
        }
    };
    if let Err(reason) = arca_shared::zipcheck::check(&parsed) {
        tracing::info!(job_id, reason = %reason, "refusing an artifacts archive that is unsafe to read");
        return Err(on_error(ApiError::bad_request(format!("the artifacts archive is refused: {reason}"))));
    }
    // An index beside the archive makes a first read of one file a few small range reads
    // (see zipindex). Without one the archive still reads, through its central directory.
    let (parsed, index) = tokio::task::spawn_blocking(move || {
        let index = arca_shared::zipindex::entries(&parsed).map(arca_shared::zipindex::encode);
        (parsed, index)
    })
    .await
    .map_err(|e| on_error(ApiError::internal("zip index task", e)))?;
    let index_key = BlobKeys::archive_index(&key);
    let indexed = match index {
        Ok(bytes) => match app.blobs.put(&index_key, bytes.into()).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(job_id, error = %e, "archive index not stored; the archive reads without it");
                false
            }
        },
        Err(e) => {
            tracing::warn!(job_id, error = %e, "archive not indexed");
            false
        }
    };
    let artifact = Artifact {
        job_id: job.id,
        project_id: job.project_id,
        blob_key: key.clone(),
        size: digests.size,
        sha256: digests.sha256,
        entries: parsed.len() as u64,
        created_at: now_ms(),
        expire_at: expire_after.map(|d| now_ms() + d.as_millis() as u64),
        locked: false,
        indexed,
    };
    let previous = app.meta.save_artifact(&artifact).await.map_err(|e| {
        if indexed {
            discard(&app, &index_key);
        }
        on_error(e.into())
    })?;
    app.archives.put(&key, Arc::new(parsed));
    if let Some(old) = previous {
        app.meta.queue_blob_deletes(&old.blob_keys()).await?;
    }
    arca_shared::metrics::UPLOADED_BYTES.inc_by(artifact.size);
    tracing::info!(
        project_id = job.project_id,
        job_id,
        size = artifact.size,
        entries = artifact.entries,
        "job artifacts stored"
    );
    Ok((StatusCode::CREATED, Json(views::Job::with_artifacts(&job, Some(&artifact)))))
}

/// The routes of this resource, every method of each path, with their descriptions.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(upload))
}
