//! The upload service: every write of arca's API goes through here (uploads, deletes,
//! settings, tokens, metadata edits). Stateless; any number of replicas.

use std::future::Future;

use arca_shared::AppState;
use axum::Router;
use tokio::net::TcpListener;

pub const SERVICE: &str = "upload";

pub fn router(state: AppState) -> Router {
    let ready_state = state.clone();
    let api = arca_api::router(arca_api::Half::Writes)
        .with_state(state)
        .layer(axum::middleware::from_fn(arca_shared::http::drain_unread_body));
    arca_shared::http::finish(
        api.merge(arca_shared::http::ops_routes(move || {
            let s = ready_state.clone();
            async move { s.ready().await }
        })),
        SERVICE,
    )
}

pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    arca_shared::http::serve(listener, router(state), shutdown).await
}
