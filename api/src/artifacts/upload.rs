//! A job's artifacts, uploaded with its job token as the runner sends them: `POST
//! /jobs/:job_id/artifacts`, its archive (a zip) or one of its reports.

use arca_shared::webhooks::{FilePart, HookEvent, JobPart, Occurrence};
use std::sync::Arc;

use super::format::GzipCheck;
use crate::upload::{Inspect, discard, store};
use crate::views;
use arca_shared::archive::{self, RangeReader};
use arca_shared::artifact_type::{self, Format};
use arca_shared::auth::Principal;
use arca_shared::blobs::BlobKeys;
use arca_shared::checksum::{Digests, Expected};
use arca_shared::http::{Path, Query};
use arca_shared::meta::Added;
use arca_shared::model::{Artifact, Job};
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

/// The runner's multipart form: the artifact in the field `file` (an optional `metadata`
/// part is ignored). It describes the form; the handler reads the field as a stream
/// (multer), never as this struct.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct ArtifactForm {
    #[schema(content_media_type = "application/octet-stream")]
    file: Vec<u8>,
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// How long the artifact is kept (`30 mins`, `1 week`, `never`); default
    /// `ARCA_ARTIFACTS_EXPIRE_IN`.
    expire_in: Option<String>,
    /// `zip`, `gzip` or `raw`: the one the type requires. Default `zip`.
    artifact_format: Option<String>,
    /// `archive` (default) or a report type such as `junit`, `cobertura`, `dotenv`.
    artifact_type: Option<String>,
}

impl UploadParams {
    fn kind(&self) -> ApiResult<(String, Format)> {
        artifact_type::check(self.artifact_type.as_deref(), self.artifact_format.as_deref()).map_err(ApiError::invalid)
    }
}

/// The name the runner gave the file, when it is one arca can show and serve.
fn sent_file_name(name: Option<&str>) -> Option<String> {
    let name = name?.rsplit(['/', '\\']).next()?;
    arca_shared::validate::file_name(name).ok().map(|()| name.to_owned())
}

/// The body, stored: its digests and the name it came under.
struct Stored {
    digests: Digests,
    filename: Option<String>,
}

/// `POST /api/v4/jobs/:job_id/artifacts` with the job's own token, as the runner sends it:
/// a multipart body whose `file` field is the artifact (other fields may come first), or
/// the artifact as the raw body. One artifact per type and job.
#[utoipa::path(
    post, path = "/api/v4/jobs/{job_id}/artifacts", tag = "job artifacts",
    params(UploadParams),
    request_body(content(
        (Vec<u8> = "application/octet-stream"),
        (ArtifactForm = "multipart/form-data"),
    )),
    responses(
        (status = 201, description = "Stored. The body is the JSON string `\"201\"`, as GitLab answers.", body = String),
        (status = 400, description = "An unknown type, a format the type does not take, a body not in its format, or a second artifact of a type the job has.", body = views::Error),
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
) -> ApiResult<(StatusCode, Json<&'static str>)> {
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
    let actor = who.actor();
    let Principal::Job(job) = who else { return Err(ApiError::Forbidden) };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let max = app.config.max_artifacts_size;
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max + 64 * 1024) {
        return Err(ApiError::PayloadTooLarge);
    }
    let key = BlobKeys::job_artifacts(job.project_id, job.id, &uuid::Uuid::new_v4().to_string());
    let stored = if content_type.starts_with("multipart/form-data") {
        let boundary = multer::parse_boundary(&content_type)
            .map_err(|_| ApiError::bad_request("multipart body without a boundary"))?;
        let mut multipart = multer::Multipart::new(body.into_data_stream(), boundary);
        let mut stored = None;
        while let Some(field) =
            multipart.next_field().await.map_err(|e| ApiError::bad_request(format!("multipart: {e}")))?
        {
            match field.name() {
                Some("file") if stored.is_none() => {
                    let (file_type, format) = params.kind()?;
                    refuse_duplicate(&app, &job, &file_type).await?;
                    let filename = sent_file_name(field.file_name());
                    let digests = store_as(&app, &key, None, field, format).await?;
                    stored = Some(Stored { digests, filename });
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
                // `metadata` (GitLab Workhorse's index of an archive) and anything else.
                _ => {}
            }
        }
        stored.ok_or_else(|| ApiError::bad_request("multipart body without a file field"))?
    } else {
        let (file_type, format) = params.kind()?;
        refuse_duplicate(&app, &job, &file_type).await?;
        let digests = store_as(&app, &key, declared, body.into_data_stream(), format).await?;
        Stored { digests, filename: None }
    };
    let on_error = |e: ApiError| {
        discard(&app, &key);
        e
    };
    // Fields after the file may have changed the type: the stored body was checked as what
    // the query said, so a change is refused rather than trusted.
    let (file_type, format) = params.kind().map_err(on_error)?;
    let expire_after = match params.expire_in.as_deref() {
        None => Some(app.config.artifacts_expire_in),
        Some(raw) => expire_in::parse(raw).map_err(|_| on_error(ApiError::invalid("expire_in")))?,
    };
    let size = stored.digests.size;
    let (entries, indexed, parsed) = if format == Format::Zip {
        let (parsed, indexed) = check_zip(&app, &key, size, job_id, file_type == artifact_type::ARCHIVE).await?;
        (parsed.len() as u64, indexed, Some(parsed))
    } else {
        (0, false, None)
    };
    let now = now_ms();
    let artifact = Artifact {
        job_id: job.id,
        project_id: job.project_id,
        file_type,
        file_format: format.as_str().to_owned(),
        filename: stored.filename,
        blob_key: key.clone(),
        size,
        sha256: stored.digests.sha256,
        entries,
        created_at: now,
        expire_at: expire_after.map(|d| now + d.as_millis() as u64),
        locked: false,
        indexed,
    };
    let forget = |e: ApiError| {
        if indexed {
            discard(&app, &BlobKeys::archive_index(&key));
        }
        on_error(e)
    };
    match app.meta.add_artifact(&artifact).await.map_err(|e| forget(e.into()))? {
        Added::Exists => return Err(forget(duplicate())),
        Added::Stored { expired: Some(old) } => app.meta.queue_blob_deletes(&old.blob_keys()).await?,
        Added::Stored { expired: None } => {}
    }
    if let Some(parsed) = parsed.filter(|_| artifact.is_archive()) {
        app.archives.put(&key, Arc::new(parsed));
    }
    arca_shared::metrics::UPLOADED_BYTES.inc_by(artifact.size);
    tracing::info!(
        project_id = job.project_id,
        job_id,
        file_type = %artifact.file_type,
        size = artifact.size,
        entries = artifact.entries,
        "job artifact stored"
    );
    let occurrence = Occurrence {
        event: HookEvent::ArtifactsUploaded,
        actor,
        package: None,
        file: Some(FilePart {
            file_name: artifact.filename.clone().unwrap_or_else(|| artifact.file_type.clone()),
            size: Some(artifact.size),
            sha256: Some(artifact.sha256.clone()),
        }),
        job: Some(JobPart { id: job.id, name: job.name.clone(), ref_name: job.ref_name.clone() }),
    };
    app.meta.notify_hooks(job.project_id, occurrence).await;
    Ok((StatusCode::CREATED, Json("201")))
}

fn duplicate() -> ApiError {
    ApiError::BadRequestPlain("another artifact of the same type already exists")
}

/// A job holds one artifact per type: a second is refused before its body is read (and
/// again, atomically, when it is committed).
async fn refuse_duplicate(app: &AppState, job: &Job, file_type: &str) -> ApiResult<()> {
    match app.meta.job_artifact(job.project_id, job.id, file_type).await? {
        Some(a) if !a.expired(now_ms()) => Err(duplicate()),
        _ => Ok(()),
    }
}

/// Streams the body into the bucket, checking a gzip body as it passes.
async fn store_as<E: std::fmt::Display>(
    app: &AppState,
    key: &str,
    declared: Option<u64>,
    chunks: impl futures_util::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    format: Format,
) -> ApiResult<Digests> {
    let max = app.config.max_artifacts_size;
    let writer = app.blobs.upload(key.to_owned(), declared);
    let mut gzip = GzipCheck::default();
    let inspect: Option<&mut (dyn Inspect + '_)> = if format == Format::Gzip { Some(&mut gzip) } else { None };
    store(writer, chunks, max, &Expected::default(), false, inspect).await
}

/// A zip artifact must be a valid zip: its end-of-central-directory and central directory
/// are parsed (from S3, with range reads) before it is accepted. An archive must also be
/// safe to serve entries from, and gets an index beside it, so a first read of one file is
/// a few small range reads (see zipindex); without one the archive still reads, through its
/// central directory. Returns the parsed archive and whether the index was stored; on a
/// refusal the blob is discarded.
async fn check_zip(
    app: &AppState,
    key: &str,
    size: u64,
    job_id: u64,
    archive: bool,
) -> ApiResult<(archive::Archive, bool)> {
    let on_error = |e: ApiError| {
        discard(app, key);
        e
    };
    let reader = RangeReader::new(app.blobs.clone(), key.to_owned(), size, tokio::runtime::Handle::current());
    let parsed = tokio::task::spawn_blocking(move || archive::open(reader))
        .await
        .map_err(|e| on_error(ApiError::internal("zip check task", e)))?;
    let parsed = match parsed {
        Ok(a) => a,
        Err(e) => {
            tracing::info!(job_id, error = %e, "refusing a zip artifact that is not a zip");
            return Err(on_error(ApiError::bad_request("the artifacts file is not a valid zip archive")));
        }
    };
    if !archive {
        return Ok((parsed, false));
    }
    if let Err(reason) = arca_shared::zipcheck::check(&parsed) {
        tracing::info!(job_id, reason = %reason, "refusing an artifacts archive that is unsafe to read");
        return Err(on_error(ApiError::bad_request(format!("the artifacts archive is refused: {reason}"))));
    }
    let (parsed, index) = tokio::task::spawn_blocking(move || {
        let index = arca_shared::zipindex::entries(&parsed).map(arca_shared::zipindex::encode);
        (parsed, index)
    })
    .await
    .map_err(|e| on_error(ApiError::internal("zip index task", e)))?;
    let indexed = match index {
        Ok(bytes) => match app.blobs.put(&BlobKeys::archive_index(key), bytes.into()).await {
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
    Ok((parsed, indexed))
}

/// The routes of this resource, every method of each path, with their descriptions.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(upload))
}
