use std::process::ExitCode;

/// mimalloc: the redirect profile spent ~13% of its CPU in glibc malloc and another ~6%
/// waiting on its arena lock (docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    arca_shared::service::run("arca-download", "ARCA_DOWNLOAD_LISTEN", "127.0.0.1:8082", arca_download::serve).await
}
