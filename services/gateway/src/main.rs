use std::process::ExitCode;

/// mimalloc on the redirect path: the profile spent ~13% of the download service's CPU in
/// glibc malloc and ~6% waiting on its arena lock (docs/BENCHMARKS.md). The upload
/// service keeps glibc's: mimalloc held twice the memory there for no gain.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use arca_gateway::{Gateway, GatewayConfig};
use arca_shared::config::{LogFormat, Source};
use arca_shared::service::config_error;

#[tokio::main]
async fn main() -> ExitCode {
    let src = Source::env();
    let config = match LogFormat::from_source(&src).and_then(|f| Ok((f, GatewayConfig::from_source(&src)?))) {
        Ok((format, config)) => {
            arca_shared::telemetry::init(format);
            config
        }
        Err(e) => return config_error("arca-gateway", e),
    };
    arca_shared::metrics::init();
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("arca-gateway: ARCA_GATEWAY_LISTEN: cannot listen on {}: {e}", config.listen);
            return ExitCode::from(1);
        }
    };
    tracing::info!(listen = %config.listen, upload = ?config.upload, download = ?config.download, "gateway listening");
    let gateway = Gateway::new(&config);
    match arca_gateway::serve(listener, gateway, arca_shared::http::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("arca-gateway: {e}");
            ExitCode::from(1)
        }
    }
}
