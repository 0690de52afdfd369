use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    arca_shared::service::run("arca-upload", "ARCA_UPLOAD_LISTEN", "127.0.0.1:8081", arca_upload::serve).await
}
