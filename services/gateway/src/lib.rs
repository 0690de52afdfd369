//! The gateway: a lean hyper reverse proxy in front of arca's services. GET and HEAD go
//! to the download service, every other method to the upload service. Bodies stream both
//! ways untouched (a multi-GiB upload passes with flat memory); every response carries an
//! `X-Request-Id`; an upstream that is down gives a quick JSON 502, never a hang.

mod body;
mod console;
mod limiter;
mod proxy;
mod upstream;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arca_shared::config::{ConfigError, Source};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

pub use limiter::LimitConfig;
pub use proxy::Gateway;

/// How long in-flight requests may take to finish after SIGTERM.
const DRAIN_GRACE: Duration = Duration::from_secs(30);

#[derive(Clone, Debug)]
pub struct GatewayConfig {
    pub listen: SocketAddr,
    pub upload: Vec<String>,
    pub download: Vec<String>,
    pub auth_failures: LimitConfig,
}

impl GatewayConfig {
    pub fn from_source(src: &Source) -> Result<Self, ConfigError> {
        // `ARCA_UPLOAD_URLS` (several, balanced) or the singular `ARCA_UPLOAD_URL`.
        let pick = |plural: &str, singular: &str, default: &str| {
            if src.get(plural).is_some() { src.urls(plural, default) } else { src.urls(singular, default) }
        };
        Ok(Self {
            listen: src.addr("ARCA_GATEWAY_LISTEN", "127.0.0.1:8080")?,
            upload: pick("ARCA_UPLOAD_URLS", "ARCA_UPLOAD_URL", "http://127.0.0.1:8081")?,
            download: pick("ARCA_DOWNLOAD_URLS", "ARCA_DOWNLOAD_URL", "http://127.0.0.1:8082")?,
            auth_failures: LimitConfig::from_source(src)?,
        })
    }
}

/// Accepts connections until `shutdown`, then stops accepting and gives in-flight
/// requests [`DRAIN_GRACE`] to finish.
pub async fn serve(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(v) => v,
                    Err(e) => {
                        // Out of file descriptors and the like: back off, keep serving.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let gw = gateway.clone();
                let svc = service_fn(move |req| {
                    let gw = gw.clone();
                    async move { Ok::<_, std::convert::Infallible>(gw.handle(req, peer).await) }
                });
                let conn = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(30))
                    .serve_connection(TokioIo::new(stream), svc);
                let watched = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = watched.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!("gateway draining in-flight requests");
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("gateway drained"),
        _ = tokio::time::sleep(DRAIN_GRACE) => tracing::warn!("drain grace elapsed; closing remaining connections"),
    }
    Ok(())
}
