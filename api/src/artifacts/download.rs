//! Reading job artifacts: the archive or one file of it, by job or by ref, and the
//! archive's entries.

use std::io::Read;
use std::sync::Arc;

use crate::paging::Paging;
use crate::views;
use arca_shared::archive::{self, Archive, RangeReader};
use arca_shared::blobs::PresignOptions;
use arca_shared::http::{Path, Query};
use arca_shared::model::{Artifact, Project};
use arca_shared::pagination::PageParams;
use arca_shared::policy::Action;
use arca_shared::time::now_ms;
use arca_shared::{ApiError, ApiResult, App, AppState, Auth, metrics, zipindex};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Chunks of decompressed output handed to the client.
const CHUNK: usize = 64 * 1024;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobName {
    /// The job's name.
    #[param(required = true, min_length = 1)]
    job: Option<String>,
}

async fn live_artifact(app: &App, project: &Project, job_id: u64) -> ApiResult<Artifact> {
    app.meta.artifact(project.id, job_id).await?.filter(|a| !a.expired(now_ms())).ok_or(ApiError::NotFound("Artifacts"))
}

/// The archive the by-ref rule serves for the job named `job` on `ref_name`: the newest
/// successful job of that name with live artifacts in the ref's successful pipelines (see
/// `Meta::job_by_ref`).
async fn artifact_by_ref(app: &App, project: &Project, ref_name: &str, job: Option<String>) -> ApiResult<Artifact> {
    let name = job.filter(|j| !j.is_empty()).ok_or(ApiError::invalid("job"))?;
    let found = app.meta.job_by_ref(project.id, ref_name, &name, now_ms()).await?;
    found.map(|(_, artifact)| artifact).ok_or(ApiError::NotFound("Job"))
}

async fn redirect(app: &App, artifact: &Artifact) -> ApiResult<Response> {
    let file_name = artifact.file_name();
    let opts = PresignOptions { file_name: &file_name, content_type: "application/zip", ttl: app.config.presign_ttl };
    let url = app.blobs.presign_get(&artifact.blob_key, opts).await?;
    let location = HeaderValue::from_str(&url).map_err(|e| ApiError::internal("presigned url header", e))?;
    metrics::DOWNLOADS.with_label_values(&["artifacts_redirect"]).inc();
    Ok((
        StatusCode::FOUND,
        [(header::LOCATION, location), (header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"))],
    )
        .into_response())
}

/// `GET /projects/:id/jobs/:job_id/artifacts`: the job's archive, a 302 to the zip on S3.
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/jobs/{job_id}/artifacts", tag = "job artifacts",
    responses((status = 302, description = "To the zip on S3.", headers(("Location" = String, description = "A presigned S3 URL."))))
)]
pub async fn archive_by_job(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, job_id)): Path<(String, u64)>,
) -> ApiResult<Response> {
    let project = app.project(&who, &id, Action::ReadCi).await?;
    let artifact = live_artifact(&app, &project, job_id).await?;
    redirect(&app, &artifact).await
}

/// `GET /jobs/:job_id/artifacts`: the archive of a job named by its id alone, as the GitLab
/// Runner fetches an earlier job's artifacts with a later job's `JOB-TOKEN`; with or
/// without `direct_download=true`, a 302 to the zip on S3 (ranges work there, for parallel
/// chunked downloads).
#[utoipa::path(
    get, path = "/api/v4/jobs/{job_id}/artifacts", tag = "job artifacts",
    params(("direct_download" = Option<bool>, Query, description = "The runner's way of asking for the redirect arca always answers.")),
    responses((status = 302, description = "To the zip on S3.", headers(("Location" = String, description = "A presigned S3 URL."))))
)]
pub async fn archive_by_job_id(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(job_id): Path<u64>,
) -> ApiResult<Response> {
    let project_id = app.meta.job_project(job_id).await?.ok_or(ApiError::NotFound("Job"))?;
    let project = app.project(&who, &project_id.to_string(), Action::ReadCi).await?;
    let artifact = live_artifact(&app, &project, job_id).await?;
    redirect(&app, &artifact).await
}

/// `GET /projects/:id/jobs/artifacts/:ref_name/download?job=`: the archive of the named job
/// of the ref's latest successful pipeline that has it, a 302 to the zip on S3.
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/jobs/artifacts/{ref_name}/download", tag = "job artifacts",
    params(JobName),
    responses((status = 302, description = "To the zip on S3.", headers(("Location" = String, description = "A presigned S3 URL."))))
)]
pub async fn archive_by_ref(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, ref_name)): Path<(String, String)>,
    Query(q): Query<JobName>,
) -> ApiResult<Response> {
    let project = app.project(&who, &id, Action::ReadCi).await?;
    let artifact = artifact_by_ref(&app, &project, &ref_name, q.job).await?;
    redirect(&app, &artifact).await
}

/// `GET /projects/:id/jobs/:job_id/artifacts/*artifact_path`: one file from inside the job's
/// archive, read from S3 with range requests.
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/jobs/{job_id}/artifacts/{*artifact_path}", tag = "job artifacts",
    responses((status = 200, description = "The file, read from S3 with range requests.", body = Vec<u8>, content_type = "application/octet-stream"))
)]
pub async fn file_by_job(
    State(app): State<AppState>,
    Auth(who): Auth,
    method: Method,
    Path((id, job_id, path)): Path<(String, u64, String)>,
) -> ApiResult<Response> {
    let project = app.project(&who, &id, Action::ReadCi).await?;
    arca_shared::validate::artifact_path(&path)?;
    let artifact = live_artifact(&app, &project, job_id).await?;
    serve_entry(&app, &artifact, &path, "application/octet-stream", method == Method::HEAD).await
}

/// `GET /projects/:id/jobs/:job_id/artifacts/keep`: the file named `keep` at the root of
/// the job's archive. Its path is also the route of `POST .../artifacts/keep`, which the
/// router matches before `*artifact_path`, so it is served from here.
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/jobs/{job_id}/artifacts/keep", tag = "job artifacts",
    responses((status = 200, description = "The file `keep`, read from S3 with range requests.", body = Vec<u8>, content_type = "application/octet-stream"))
)]
async fn file_named_keep(
    State(app): State<AppState>,
    Auth(who): Auth,
    method: Method,
    Path((id, job_id)): Path<(String, u64)>,
) -> ApiResult<Response> {
    file_by_job(State(app), Auth(who), method, Path((id, job_id, "keep".to_owned()))).await
}

/// `GET /projects/:id/jobs/artifacts/:ref_name/raw/*artifact_path?job=`: one file from the
/// archive `archive_by_ref` would serve, as `text/plain` when it is text.
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/jobs/artifacts/{ref_name}/raw/{*artifact_path}", tag = "job artifacts",
    params(JobName),
    responses((status = 200, description = "The file, as text when it is text.", body = Vec<u8>, content_type = "application/octet-stream"))
)]
pub async fn file_by_ref(
    State(app): State<AppState>,
    Auth(who): Auth,
    method: Method,
    Path((id, ref_name, path)): Path<(String, String, String)>,
    Query(q): Query<JobName>,
) -> ApiResult<Response> {
    let project = app.project(&who, &id, Action::ReadCi).await?;
    arca_shared::validate::artifact_path(&path)?;
    let artifact = artifact_by_ref(&app, &project, &ref_name, q.job).await?;
    serve_entry(&app, &artifact, &path, "text/plain; charset=utf-8", method == Method::HEAD).await
}

/// The archive's parsed central directory: from the cache, or read with range requests.
async fn central_directory(app: &App, artifact: &Artifact) -> ApiResult<Arc<Archive>> {
    if let Some(a) = app.archives.get(&artifact.blob_key) {
        return Ok(a);
    }
    let reader = RangeReader::new(
        app.blobs.clone(),
        artifact.blob_key.clone(),
        artifact.size,
        tokio::runtime::Handle::current(),
    );
    let parsed = tokio::task::spawn_blocking(move || archive::open(reader))
        .await
        .map_err(|e| ApiError::internal("zip task", e))?
        .map_err(|e| ApiError::Unavailable(format!("reading the central directory: {e}")))?;
    let parsed = Arc::new(parsed);
    app.archives.put(&artifact.blob_key, parsed.clone());
    Ok(parsed)
}

/// Streams one entry, matched by its exact name (so entry names that try to climb out of
/// the archive are never interpreted), decompressed and cut at its declared size: an entry
/// that inflates beyond what it declares is an error, not a memory blow-up.
async fn serve_entry(
    app: &App,
    artifact: &Artifact,
    path: &str,
    content_type: &'static str,
    head: bool,
) -> ApiResult<Response> {
    if let Some(index_key) = artifact.index_key() {
        return serve_indexed(app, artifact, &index_key, path, content_type, head).await;
    }
    let cd = central_directory(app, artifact).await?;
    let index = cd.index_for_name(path).ok_or(ApiError::NotFound("File"))?;
    let mut archive = (*cd).clone();
    let base = path.rsplit('/').next().unwrap_or(path).to_owned();
    let (declared, is_dir) = {
        let meta = tokio::task::spawn_blocking({
            let mut archive = archive.clone();
            move || archive.by_index_raw(index).map(|f| (f.size(), f.is_dir()))
        })
        .await
        .map_err(|e| ApiError::internal("zip task", e))?;
        meta.map_err(|e| ApiError::bad_request(format!("the entry cannot be read: {e}")))?
    };
    if is_dir {
        return Err(ApiError::NotFound("File"));
    }
    let resp = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_LENGTH, declared)
        .header(header::CONTENT_DISPOSITION, arca_shared::blobs::content_disposition(&base));
    if head {
        return resp.body(Body::empty()).map_err(|e| ApiError::internal("response", e));
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let mut file = match archive.by_index(index) {
            Ok(f) => f,
            Err(e) => {
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
                return;
            }
        };
        let mut buf = vec![0u8; CHUNK];
        let mut sent = 0u64;
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "artifact entry unreadable mid-stream");
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            };
            sent += n as u64;
            if sent > declared {
                tracing::warn!(declared, "artifact entry inflates beyond its declared size; cut off");
                let _ = tx.blocking_send(Err(std::io::Error::other("entry larger than declared")));
                return;
            }
            if tx.blocking_send(Ok(Bytes::copy_from_slice(&buf[..n]))).is_err() {
                return; // the client went away
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    metrics::DOWNLOADS.with_label_values(&["artifact_file"]).inc();
    resp.body(Body::from_stream(stream)).map_err(|e| ApiError::internal("response", e))
}

/// Bytes `first..=last` of an archive's index, counted as read from S3.
async fn read_range(app: &App, key: &str, first: u64, last: u64) -> ApiResult<Bytes> {
    Ok(archive::read_range(&app.blobs, key, first, last).await?)
}

/// The page table of an archive's index: remembered, or read (one range read for almost
/// any archive, two when the table outgrows the first read).
async fn index_pages(app: &App, index_key: &str) -> ApiResult<Arc<Vec<zipindex::Page>>> {
    if let Some(pages) = app.archive_indexes.get(index_key) {
        return Ok(pages);
    }
    let damaged = |e: String| ApiError::internal("archive index", e);
    let mut head = read_range(app, index_key, 0, zipindex::HEAD_BYTES - 1).await?.to_vec();
    let len = zipindex::header_len(&head).map_err(damaged)?;
    if len > head.len() as u64 {
        head.extend_from_slice(&read_range(app, index_key, head.len() as u64, len - 1).await?);
    }
    let pages = Arc::new(zipindex::pages(&head).map_err(damaged)?);
    app.archive_indexes.insert(index_key.to_owned(), pages.clone());
    Ok(pages)
}

/// One entry through the archive's index: a page of the index, then the entry itself
/// from its local header on, each one range read (plus the page table on a first read).
async fn serve_indexed(
    app: &App,
    artifact: &Artifact,
    index_key: &str,
    path: &str,
    content_type: &'static str,
    head: bool,
) -> ApiResult<Response> {
    let pages = index_pages(app, index_key).await?;
    let page = zipindex::page_for(&pages, path).ok_or(ApiError::NotFound("File"))?;
    let bytes = read_range(app, index_key, page.offset, page.offset + u64::from(page.len).max(1) - 1).await?;
    let entry = zipindex::find(&bytes, path)
        .map_err(|e| ApiError::internal("archive index", e))?
        .filter(|e| !e.name.ends_with('/'))
        .ok_or(ApiError::NotFound("File"))?;
    let base = path.rsplit('/').next().unwrap_or(path).to_owned();
    let resp = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_LENGTH, entry.size)
        .header(header::CONTENT_DISPOSITION, arca_shared::blobs::content_disposition(&base));
    if head {
        return resp.body(Body::empty()).map_err(|e| ApiError::internal("response", e));
    }
    let stream = archive::EntryStream::open(&app.blobs, &artifact.blob_key, artifact.size, entry).await?;
    let body = futures_util::stream::unfold(stream, |mut s| async move {
        match s.next().await {
            Some(Err(e)) => {
                tracing::warn!(error = %e, "artifact entry unreadable mid-stream");
                Some((Err(e), s))
            }
            other => other.map(|item| (item, s)),
        }
    });
    metrics::DOWNLOADS.with_label_values(&["artifact_file"]).inc();
    resp.body(Body::from_stream(body)).map_err(|e| ApiError::internal("response", e))
}

/// `GET /projects/:id/jobs/:job_id/artifacts_entries`: the archive's entries, read from its
/// central directory (cached, or fetched with range requests), never the whole archive.
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/jobs/{job_id}/artifacts_entries", tag = "job artifacts",
    params(PageParams),
    responses((status = 200, description = "A page of the archive's entries, from its central directory.", body = [views::ArchiveEntry]))
)]
pub async fn entries(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, job_id)): Path<(String, u64)>,
    paging: Paging,
) -> ApiResult<impl IntoResponse> {
    let project = app.project(&who, &id, Action::ReadCi).await?;
    let page = paging.page;
    let artifact = live_artifact(&app, &project, job_id).await?;
    let cd = central_directory(&app, &artifact).await?;
    let total = cd.len() as u64;
    let start = (page.offset() as usize).min(cd.len());
    let end = (start + page.per_page as usize).min(cd.len());
    let mut items = Vec::with_capacity(end - start);
    for i in start..end {
        let entry = cd.by_index_data(i).map_err(|e| ApiError::internal("zip entry", e))?;
        let path = entry.name().map_err(|e| ApiError::internal("zip entry name", e))?.into_owned();
        items.push(views::ArchiveEntry {
            path,
            size: entry.size(),
            compressed_size: entry.compressed_size(),
            is_dir: entry.is_dir(),
        });
    }
    Ok(paging.answer(total, items))
}

/// The routes of this resource, every method of each path, with their descriptions.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(entries))
        .routes(routes!(archive_by_job))
        .routes(routes!(archive_by_job_id))
        .routes(routes!(file_by_job))
        .routes(routes!(archive_by_ref))
        .routes(routes!(file_by_ref))
        .routes(routes!(file_named_keep))
}
