//! The download service: every read of arca's API (GET and HEAD). File downloads are
//! answered with a 302 to a presigned S3 URL, so bytes never pass through arca.

use std::future::Future;

use arca_shared::AppState;
use axum::Router;
use tokio::net::TcpListener;

pub const SERVICE: &str = "download";

pub fn router(state: AppState) -> Router {
    let ready_state = state.clone();
    let api = arca_api::router(arca_api::Half::Reads).with_state(state);
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
    let served = arca_shared::http::serve(listener, router(state.clone()), shutdown).await;
    // The last requests are answered: their downloads reach Redis before the process ends.
    state.downloads.flush().await;
    served
}
