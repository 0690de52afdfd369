//! Version retention: each pass, the versions a project's `keep_n_versions` and
//! `delete_unused_after` rule out go to the recycle bin (restorable until the bin's own
//! retention purges them). `arca_shared::retention::plan` decides, for this run and for
//! `GET .../packages/retention_preview` alike.

use super::*;
use arca_shared::AppState;
use arca_shared::auth::Actor;
use arca_shared::meta::versions::{Event, EventAction};
use arca_shared::retention::{self, Reason};
use arca_shared::time::now_ms;

/// Applies every project's retention rules; each project under its own lease, so replicas
/// share the projects and a worker killed half way leaves the rest to the next pass (the
/// plan is made again from what is there). Returns the versions moved.
pub async fn apply_version_retention(app: &AppState) -> anyhow::Result<u64> {
    let mut moved = 0;
    for project_id in app.meta.all_project_ids().await? {
        let settings = app.meta.package_settings(project_id).await?;
        if !settings.has_retention() {
            continue;
        }
        let work = format!("retention:{project_id}");
        if !app.meta.claim(&work, worker_id(), lease_ms(app)).await? {
            continue;
        }
        let started = std::time::Instant::now();
        let plan = retention::preview(&app.meta, project_id, now_ms()).await?;
        let planned = started.elapsed();
        let mut here = 0;
        for (package, reason) in &plan {
            if !app.meta.recycle_package(package, "retention").await? {
                continue;
            }
            let rule = match reason {
                Reason::KeepNVersions(_) => "keep_n_versions",
                Reason::Unused(_) => "delete_unused_after",
            };
            arca_shared::metrics::RETENTION_MOVED.with_label_values(&[rule]).inc();
            let event = Event {
                actor: &Actor::system("retention"),
                action: EventAction::PackageRecycled,
                package: Some(package.into()),
                detail: serde_json::json!({ "reason": reason.describe(), "rule": rule }),
            };
            app.meta.record_event(project_id, event).await;
            here += 1;
        }
        app.meta.release(&work).await?;
        if here > 0 || planned.as_millis() > 1000 {
            tracing::info!(project_id, moved = here, plan_ms = planned.as_millis() as u64, "retention applied");
        }
        moved += here;
    }
    Ok(moved)
}
