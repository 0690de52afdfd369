use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    arca_shared::service::run("arca-download", "ARCA_DOWNLOAD_LISTEN", "127.0.0.1:8082", arca_download::serve).await
}
