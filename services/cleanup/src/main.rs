use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    arca_shared::service::run("arca-cleanup", "ARCA_CLEANUP_LISTEN", "127.0.0.1:8083", arca_cleanup::serve).await
}
