//! Rewriting version hashes of the first Redis layout (file records copied into pointer
//! fields) to the current one (file ids), once per Redis.

use super::*;
use arca_shared::AppState;
use arca_shared::time::now_ms;

/// Once per Redis, under a lease: version hashes of the first layout get file ids in
/// their pointer fields instead of copies of the file records (see
/// `Meta::migrate_file_pointers`).
pub(crate) async fn migrate_file_pointers(app: &AppState) -> anyhow::Result<()> {
    const WORK: &str = "migrate-file-pointers";
    if app.meta.last_run(WORK).await?.is_some() || !app.meta.claim(WORK, worker_id(), lease_ms(app)).await? {
        return Ok(());
    }
    let (seen, rewritten) = app.meta.migrate_file_pointers().await?;
    app.meta.set_last_run(WORK, now_ms()).await?;
    app.meta.release(WORK).await?;
    tracing::info!(versions = seen, pointers = rewritten, "version hashes migrated to file-id pointers");
    Ok(())
}
