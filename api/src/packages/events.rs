//! The audit trail of package changes: `GET /projects/:id/packages/events`.

use arca_shared::http::{Path, Query};
use arca_shared::pagination::{Page, PageParams};
use arca_shared::policy::Action;
use arca_shared::{ApiResult, AppState, Auth};
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;

use crate::views;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `GET /projects/:id/packages/events`: the project's audit trail of package changes, newest first (maintainers).
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/packages/events", tag = "packages",
    params(PageParams),
    responses((status = 200, description = "A page of the audit trail, newest first.", body = [views::Event]))
)]
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
    // Entries the store cannot read as an event are left out (and were never written so).
    let events: Vec<views::Event> = events.into_iter().filter_map(|e| serde_json::from_value(e).ok()).collect();
    Ok(crate::paging::paged(page, total, events, &uri, &headers))
}

/// The routes of this resource, every method of each path, with their descriptions.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}
