//! The read routes, one file per group.

mod projects;

use arca_shared::AppState;
use axum::Router;
use axum::routing::get;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v4/projects", get(projects::list))
        .route("/api/v4/projects/{id}", get(projects::show))
}
