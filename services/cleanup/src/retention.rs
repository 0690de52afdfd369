//! Versions not downloaded within their project's `delete_versions_not_downloaded_for_days`
//! go to the recycle bin.

use super::*;
use arca_shared::AppState;
use arca_shared::auth::Actor;
use arca_shared::meta::packages::{ListQuery, Order};
use arca_shared::meta::versions::{Event, EventAction};
use arca_shared::time::now_ms;

/// How often the per-project version retention is applied.
pub(crate) const RETENTION_EVERY_MS: u64 = 60 * 60 * 1000;

pub(crate) const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// Moves to the recycle bin the versions of projects whose settings carry
/// `delete_versions_not_downloaded_for_days` that nobody downloaded within that many days
/// (or, never downloaded, that were created before). Reversible: they can be restored
/// until the recycle bin's own retention purges them. At most hourly, by one worker.
pub async fn apply_version_retention(app: &AppState) -> anyhow::Result<u64> {
    let now = now_ms();
    if app.meta.last_run("version-retention").await?.is_some_and(|t| now.saturating_sub(t) < RETENTION_EVERY_MS) {
        return Ok(0);
    }
    if !app.meta.claim("version-retention", worker_id(), lease_ms(app)).await? {
        return Ok(0);
    }
    let mut recycled = 0;
    for project_id in app.meta.all_project_ids().await? {
        let Some(days) = app.meta.package_settings(project_id).await?.delete_versions_not_downloaded_for_days else {
            continue;
        };
        let cutoff = now.saturating_sub(u64::from(days) * DAY_MS);
        let mut stale = Vec::new();
        let mut offset = 0;
        loop {
            let q = ListQuery { name: None, version: None, order: Order::CreatedAt, desc: false, offset, limit: 500 };
            let (_, page) = app.meta.list_packages(project_id, &q).await?;
            if page.is_empty() {
                break;
            }
            offset += page.len() as u64;
            stale.extend(page.into_iter().filter(|p| p.last_downloaded_at.unwrap_or(p.created_at) < cutoff));
        }
        for package in &stale {
            if app.meta.recycle_package(package, "retention").await? {
                let detail = serde_json::json!({ "reason": format!("not downloaded for {days} days") });
                let event = Event {
                    actor: &Actor::system("retention"),
                    action: EventAction::PackageRecycled,
                    package: Some(package.into()),
                    detail,
                };
                app.meta.record_event(project_id, event).await;
                recycled += 1;
            }
        }
    }
    app.meta.set_last_run("version-retention", now).await?;
    app.meta.release("version-retention").await?;
    if recycled > 0 {
        tracing::info!(recycled, "versions not downloaded within their project's retention moved to the recycle bin");
    }
    Ok(recycled)
}
