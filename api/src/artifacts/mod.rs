//! GitLab's Job Artifacts API: a job's archive and reports uploaded with its job token (as
//! the runner sends them), the archive read by job or by ref (whole, one file, or its
//! entries), kept or deleted.

mod download;
mod format;
mod lifecycle;
mod upload;

use arca_shared::AppState;
use utoipa_axum::router::OpenApiRouter;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().merge(upload::routes()).merge(download::routes()).merge(lifecycle::routes())
}
