//! Start-up shared by the API services: read the configuration (one clear line and exit 2
//! when it is wrong), connect, bind, serve until SIGTERM or Ctrl-C.

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;

use tokio::net::TcpListener;

use crate::app::{App, AppState};
use crate::config::{Config, LogFormat, Source};

/// Resolves when the service should stop accepting and drain.
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

pub async fn run<F, Fut>(name: &str, listen_var: &str, default_listen: &str, serve: F) -> ExitCode
where
    F: FnOnce(TcpListener, AppState, Shutdown) -> Fut,
    Fut: Future<Output = std::io::Result<()>>,
{
    let src = Source::env();
    let format = match LogFormat::from_source(&src) {
        Ok(f) => f,
        Err(e) => return config_error(name, e),
    };
    crate::telemetry::init(format);
    crate::metrics::init();
    let (config, listen) = match Config::from_source(&src).and_then(|c| Ok((c, src.addr(listen_var, default_listen)?)))
    {
        Ok(v) => v,
        Err(e) => return config_error(name, e),
    };
    let state = match App::connect(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{name}: {e:#}");
            return ExitCode::from(1);
        }
    };
    let listener = match TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{name}: {listen_var}: cannot listen on {listen}: {e}");
            return ExitCode::from(1);
        }
    };
    tracing::info!(service = name, %listen, "listening");
    match serve(listener, state, Box::pin(crate::http::shutdown_signal())).await {
        Ok(()) => {
            tracing::info!(service = name, "stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::from(1)
        }
    }
}

pub fn config_error(name: &str, e: crate::config::ConfigError) -> ExitCode {
    eprintln!("{name}: configuration error: {e}");
    ExitCode::from(2)
}
