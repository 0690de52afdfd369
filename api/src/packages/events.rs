//! The audit trail of package changes: `GET /projects/:id/packages/events`.

use arca_shared::http::Path;
use arca_shared::pagination::PageParams;
use arca_shared::policy::Action;
use arca_shared::{ApiResult, AppState, Auth};
use axum::extract::State;
use axum::response::IntoResponse;

use crate::paging::Paging;
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
    paging: Paging,
) -> ApiResult<impl IntoResponse> {
    let project = app.project(&who, &id, Action::ManagePackages).await?;
    let page = paging.page;
    let (total, events) = app.meta.events(project.id, page.offset(), page.per_page).await?;
    // Entries the store cannot read as an event are left out (and were never written so).
    let events: Vec<views::Event> = events.into_iter().filter_map(|e| serde_json::from_value(e).ok()).collect();
    Ok(paging.answer(total, events))
}

/// The routes of this resource, every method of each path, with their descriptions.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}
