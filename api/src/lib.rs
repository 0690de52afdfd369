//! arca's HTTP API, one module per resource. Each module declares every route of its
//! paths, reads and writes together, so the folder tree answers "where is the handler of
//! this URL". The two API services mount the same table: the download service answers its
//! reads (`GET`, `HEAD`), the upload service everything else, as the gateway routes them;
//! a request that reaches the wrong one is refused, never served.

mod allowlist;
mod artifacts;
mod conditional;
mod generic;
mod hooks;
mod jobs;
mod members;
pub mod openapi;
mod packages;
mod paging;
mod pipelines;
mod projects;
mod session;
mod tokens;
mod upload;
mod users;
pub mod views;

use arca_shared::{ApiError, AppState};
use axum::Router;
use axum::extract::Request;
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Every route of the public API, each with its OpenAPI description.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(openapi::serve))
        .merge(session::routes())
        .merge(users::routes())
        .merge(tokens::routes())
        .merge(projects::routes())
        .merge(members::routes())
        .merge(allowlist::routes())
        .merge(pipelines::routes())
        .merge(jobs::routes())
        .merge(generic::routes())
        .merge(packages::routes())
        .merge(artifacts::routes())
        .merge(hooks::routes())
}

/// Which of the API's two halves a service answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Half {
    /// `GET` and `HEAD`: the download service.
    Reads,
    /// Every other method: the upload service.
    Writes,
}

impl Half {
    pub fn of(method: &Method) -> Self {
        if arca_shared::http::is_read(method) { Self::Reads } else { Self::Writes }
    }
}

/// The API as one service answers it: a request of the other half is refused with 421
/// (the gateway never sends one; a client talking to a service directly may). Methods no
/// route has still get 405 with an `Allow` that names every method of the path.
pub fn router(half: Half) -> Router<AppState> {
    let (router, _) = routes().split_for_parts();
    router.route_layer(middleware::from_fn(move |req: Request, next: Next| async move {
        let method = req.method();
        let declared = [Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];
        if declared.contains(method) && Half::of(method) != half {
            return misdirected(half);
        }
        next.run(req).await
    }))
}

fn misdirected(half: Half) -> Response {
    ApiError::Misdirected(match half {
        Half::Reads => "the download service answers GET and HEAD; send writes to the upload service",
        Half::Writes => "the upload service answers writes; send GET and HEAD to the download service",
    })
    .into_response()
}
