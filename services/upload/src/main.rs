use std::process::ExitCode;

/// mimalloc: the redirect profile spent ~13% of its CPU in glibc malloc and another ~6%
/// waiting on its arena lock (docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    arca_shared::service::run("arca-upload", "ARCA_UPLOAD_LISTEN", "127.0.0.1:8081", arca_upload::serve).await
}
