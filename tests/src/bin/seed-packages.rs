//! Seeds single-file package versions straight into the metadata store (the same calls a
//! publish makes, without the bytes), so that `make bench` can time listings of a project
//! with a million package files. Reads the same environment as the services.
//! Usage: seed-packages <project id> <count>

use arca_shared::config::{Config, Source};
use arca_shared::meta::packages::{NewFile, Precondition};
use arca_shared::model::{PackageFile, PackageStatus};
use arca_shared::time::now_ms;
use futures_util::StreamExt;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<u64> = std::env::args().skip(1).map(|a| a.parse()).collect::<Result<_, _>>()?;
    let [project_id, count] = args.as_slice() else {
        anyhow::bail!("usage: seed-packages <project id> <count>");
    };
    let app = arca_shared::App::connect(Config::from_source(&Source::env())?).await?;
    let app = &app;
    let digest = "0".repeat(64);
    let digest = &digest;
    futures_util::stream::iter(0..*count)
        .map(|i| async move {
            let name = format!("pkg-{}", i % 1000);
            let version = format!("{}.{}.0", i / 1000, i % 7);
            let file = PackageFile {
                id: app.meta.next_file_id().await.map_err(|e| anyhow::anyhow!("{e}"))?,
                package_id: 0,
                project_id: *project_id,
                file_name: "artifact.tar.gz".into(),
                size: 1024,
                md5: digest[..32].to_owned(),
                sha1: digest[..40].to_owned(),
                sha256: digest.clone(),
                blob_key: format!("projects/{project_id}/packages/seed-{i}"),
                created_at: now_ms(),
                pushed_by: "seed".into(),
            };
            let new = NewFile {
                project_id: *project_id,
                name: &name,
                version: &version,
                status: PackageStatus::Default,
                description: "",
                file,
                reject_duplicate: false,
                precondition: Precondition::None,
            };
            app.meta.add_package_file(new).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            anyhow::Ok(())
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<Vec<()>>>()?;
    Ok(())
}
