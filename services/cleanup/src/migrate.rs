//! Bringing Redis data of earlier layouts to the current one, once per Redis.

use super::*;
use arca_shared::AppState;
use arca_shared::time::now_ms;

/// Once per Redis, under a lease: version hashes and file records of earlier layouts are
/// rewritten in the current, compact one (see `Meta::migrate_layout`). Reads understand
/// every layout, so the services work before, during and after it.
pub(crate) async fn migrate_layout(app: &AppState) -> anyhow::Result<()> {
    const WORK: &str = "migrate-compact-layout";
    if app.meta.last_run(WORK).await?.is_some() || !app.meta.claim(WORK, worker_id(), lease_ms(app)).await? {
        return Ok(());
    }
    let done = app.meta.migrate_layout().await?;
    app.meta.set_last_run(WORK, now_ms()).await?;
    app.meta.release(WORK).await?;
    tracing::info!(
        versions = done.versions_seen,
        versions_rewritten = done.versions_rewritten,
        refs_moved = done.refs_moved,
        file_records_rewritten = done.records_rewritten,
        "Redis data migrated to the compact layout"
    );
    Ok(())
}
