//! The read routes, one file per group.

mod artifacts;
mod packages;
mod projects;

use arca_shared::AppState;
use arca_shared::pagination::{Page, base_url};
use axum::extract::OriginalUri;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v4/openapi.json", get(openapi))
        .route("/api/v4/user", get(projects::current_user))
        .route("/api/v4/projects", get(projects::list))
        .route("/api/v4/projects/{id}", get(projects::show))
        .route("/api/v4/projects/{id}/job_token_scope/allowlist", get(projects::allowlist))
        .route(
            "/api/v4/projects/{id}/packages/generic/{package_name}/{package_version}/{*file_name}",
            get(packages::download),
        )
        .route("/api/v4/projects/{id}/packages", get(packages::list))
        .route("/api/v4/projects/{id}/packages/settings", get(packages::settings))
        .route("/api/v4/projects/{id}/packages/{package_id}", get(packages::show))
        .route("/api/v4/projects/{id}/packages/{package_id}/package_files", get(packages::files))
        .route("/api/v4/projects/{id}/packages/{package_id}/metadata", get(packages::metadata))
        .route("/api/v4/projects/{id}/packages/recycle_bin", get(packages::recycle_bin))
        .route("/api/v4/projects/{id}/packages/events", get(packages::events))
        .route("/api/v4/projects/{id}/jobs", get(artifacts::jobs))
        .route("/api/v4/projects/{id}/jobs/{job_id}/artifacts_entries", get(artifacts::entries))
        .route("/api/v4/projects/{id}/jobs/{job_id}/artifacts", get(artifacts::archive_by_job))
        .route("/api/v4/projects/{id}/jobs/{job_id}/artifacts/{*artifact_path}", get(artifacts::file_by_job))
        .route("/api/v4/projects/{id}/jobs/artifacts/{ref_name}/download", get(artifacts::archive_by_ref))
        .route("/api/v4/projects/{id}/jobs/artifacts/{ref_name}/raw/{*artifact_path}", get(artifacts::file_by_ref))
}

/// The OpenAPI description of the whole public API (built once; it does not change).
async fn openapi() -> axum::Json<&'static serde_json::Value> {
    static DOCUMENT: std::sync::LazyLock<serde_json::Value> = std::sync::LazyLock::new(arca_shared::openapi::document);
    axum::Json(&DOCUMENT)
}

/// A page of a listing with GitLab's pagination headers. The request's other parameters
/// are carried into `Link`, its token parameters never are.
pub(crate) fn paged(
    page: Page,
    total: u64,
    items: Vec<Value>,
    uri: &OriginalUri,
    headers: &HeaderMap,
) -> impl IntoResponse + use<> {
    let query: Vec<(String, String)> = serde_urlencoded::from_str::<Vec<(String, String)>>(uri.query().unwrap_or(""))
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k != "private_token" && k != "job_token")
        .collect();
    (page.headers(total, &base_url(headers, uri.path()), &query), Json(items))
}
