//! The write routes, one file per group.

mod artifacts;
mod ci;
mod packages;
mod projects;
mod session;
mod store;
mod users;
mod versions;

use arca_shared::AppState;
use axum::Router;
use axum::routing::{delete, patch, post, put};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v4/session", post(session::create).delete(session::delete))
        .route("/api/v4/users", post(users::create))
        .route("/api/v4/users/{user_id}/personal_access_tokens", post(users::create_token))
        .route("/api/v4/personal_access_tokens/{token_id}", delete(users::revoke_token))
        .route("/api/v4/projects", post(projects::create))
        .route("/api/v4/projects/{id}/members", post(projects::add_member))
        .route("/api/v4/projects/{id}/deploy_tokens", post(projects::create_deploy_token))
        .route("/api/v4/projects/{id}/deploy_tokens/{token_id}", delete(projects::revoke_deploy_token))
        .route("/api/v4/projects/{id}/job_token_scope/allowlist", post(projects::allowlist_add))
        .route(
            "/api/v4/projects/{id}/job_token_scope/allowlist/{target_project_id}",
            delete(projects::allowlist_remove),
        )
        .route("/api/v4/projects/{id}/pipelines", post(ci::create_pipeline))
        .route("/api/v4/projects/{id}/pipelines/{pipeline_id}", put(ci::update_pipeline))
        .route("/api/v4/projects/{id}/pipelines/{pipeline_id}/jobs", post(ci::create_job))
        .route("/api/v4/projects/{id}/jobs/{job_id}", put(ci::update_job))
        .route(
            "/api/v4/projects/{id}/packages/generic/{package_name}/{package_version}/{*file_name}",
            put(packages::upload),
        )
        .route("/api/v4/projects/{id}/packages/{package_id}/package_files/{file_id}", delete(packages::delete_file))
        .route("/api/v4/projects/{id}/packages/settings", put(packages::update_settings))
        .route("/api/v4/projects/{id}/packages/{package_id}", patch(versions::update).delete(versions::recycle))
        .route(
            "/api/v4/projects/{id}/packages/{package_id}/metadata/{key}",
            put(versions::set_metadata).delete(versions::delete_metadata),
        )
        .route("/api/v4/projects/{id}/packages/{package_id}/restore", post(versions::restore))
        .route("/api/v4/projects/{id}/packages/recycle_bin/{package_id}", delete(versions::purge))
        .route("/api/v4/jobs/{job_id}/artifacts", post(artifacts::upload))
        .route("/api/v4/projects/{id}/jobs/{job_id}/artifacts/keep", post(artifacts::keep))
        .route("/api/v4/projects/{id}/jobs/{job_id}/artifacts", delete(artifacts::delete))
        .route("/api/v4/projects/{id}/artifacts", delete(artifacts::delete_project))
}
