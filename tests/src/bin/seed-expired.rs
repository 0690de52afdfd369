//! Seeds expired job artifacts (tiny objects and their records) so that `make bench` can
//! time the cleanup worker, or, with `SEED_EXPIRE_IN_DAYS` set, live ones expiring then (to
//! weigh an artifact's Redis records). Reads the same environment as the services.
//! Usage: seed-expired <project id> <first job id> <count>

use arca_shared::blobs::BlobKeys;
use arca_shared::config::{Config, Source};
use arca_shared::model::Artifact;
use arca_shared::time::now_ms;
use futures_util::StreamExt;
use sha2::Digest;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<u64> = std::env::args().skip(1).map(|a| a.parse()).collect::<Result<_, _>>()?;
    let [project_id, first, count] = args.as_slice() else {
        anyhow::bail!("usage: seed-expired <project id> <first job id> <count>");
    };
    let app = arca_shared::App::connect(Config::from_source(&Source::env())?).await?;
    let app = &app;
    let expire_in_days: Option<u64> = std::env::var("SEED_EXPIRE_IN_DAYS").ok().map(|d| d.parse()).transpose()?;
    let expire_at = match expire_in_days {
        Some(days) => now_ms() + days * 24 * 60 * 60 * 1000,
        None => now_ms() - 1000,
    };
    futures_util::stream::iter(*first..*first + *count)
        .map(|job_id| async move {
            let key = BlobKeys::job_artifacts(*project_id, job_id, &uuid::Uuid::new_v4().to_string());
            app.blobs.put(&key, bytes::Bytes::from_static(b"PK")).await?;
            let artifact = Artifact {
                job_id,
                project_id: *project_id,
                file_type: "archive".into(),
                file_format: "zip".into(),
                filename: Some("artifacts.zip".into()),
                blob_key: key,
                size: 2,
                sha256: hex::encode(sha2::Sha256::digest(b"PK")),
                entries: 0,
                created_at: now_ms(),
                expire_at: Some(expire_at),
                locked: false,
                indexed: false,
            };
            app.meta.save_artifact(&artifact).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            anyhow::Ok(())
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<Vec<()>>>()?;
    Ok(())
}
