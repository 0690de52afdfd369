//! The audit trail of package changes: `GET /projects/:id/packages/events`.

use arca_shared::http::{Path, Query};
use arca_shared::pagination::{Page, PageParams};
use arca_shared::policy::Action;
use arca_shared::{ApiResult, AppState, Auth};
use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::get;

/// The project's audit trail of package changes, newest first (maintainers).
pub async fn events(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Query(params): Query<PageParams>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let project = app.project(&who, &id, Action::ManagePackages).await?;
    let page = Page::from_params(&params)?;
    let (total, events) = app.meta.events(project.id, page.offset(), page.per_page).await?;
    Ok(crate::paging::paged(page, total, events, &uri, &headers))
}

/// The routes of this resource, every method of each path.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/api/v4/projects/{id}/packages/events", get(events))
}
