use std::process::ExitCode;

/// mimalloc on the redirect path: the profile spent ~13% of the download service's CPU in
/// glibc malloc and ~6% waiting on its arena lock (docs/BENCHMARKS.md). The upload
/// service keeps glibc's: mimalloc held twice the memory there for no gain.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    arca_shared::service::run("arca-download", "ARCA_DOWNLOAD_LISTEN", "127.0.0.1:8082", arca_download::serve).await
}
