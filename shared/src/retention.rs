//! Version retention: which versions a project's `keep_n_versions` and
//! `delete_unused_after` move to the recycle bin. One function decides it, for the cleanup
//! worker's run and for `GET .../packages/retention_preview` alike, so the preview is what
//! the run does.

use std::collections::BTreeMap;

use crate::meta::Meta;
use crate::meta::StoreResult;
use crate::model::{Package, PackageSettings};

/// Why retention moves a version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Older than the newest `n` versions of its name.
    KeepNVersions(u32),
    /// Not used (downloaded, restored, created) for this long (ms).
    Unused(u64),
}

impl Reason {
    pub fn describe(&self) -> String {
        match self {
            Self::KeepNVersions(n) => format!("keep_n_versions: older than the newest {n} of its name"),
            Self::Unused(ms) => {
                format!(
                    "delete_unused_after: not used for {}",
                    humantime::format_duration(std::time::Duration::from_millis(*ms))
                )
            }
        }
    }
}

/// What retention moves now: `versions` are every version of the project that is not in
/// the recycle bin (hidden and disabled ones included). Newest first by `created_at`, ties
/// by the larger id, as `@latest` orders them.
pub fn plan(settings: &PackageSettings, versions: Vec<Package>, now: u64) -> Vec<(Package, Reason)> {
    let keep = settings.keep_n_versions.filter(|n| *n > 0);
    let unused = settings.unused_after_ms().filter(|ms| *ms > 0);
    if keep.is_none() && unused.is_none() {
        return Vec::new();
    }
    let mut by_name: BTreeMap<String, Vec<Package>> = BTreeMap::new();
    for v in versions {
        by_name.entry(v.name.clone()).or_default().push(v);
    }
    let mut moves = Vec::new();
    for (_, mut versions) in by_name {
        versions.sort_by_key(|v| std::cmp::Reverse((v.created_at, v.id)));
        for (rank, v) in versions.into_iter().enumerate() {
            let reason = match (keep, unused) {
                (Some(n), _) if rank >= n as usize => Some(Reason::KeepNVersions(n)),
                (_, Some(ms)) if now.saturating_sub(v.last_used_at()) > ms => Some(Reason::Unused(ms)),
                _ => None,
            };
            if let Some(reason) = reason {
                moves.push((v, reason));
            }
        }
    }
    moves
}

/// What a retention run starting now would move in this project.
pub async fn preview(meta: &Meta, project_id: u64, now: u64) -> StoreResult<Vec<(Package, Reason)>> {
    let settings = meta.package_settings(project_id).await?;
    if !settings.has_retention() {
        return Ok(Vec::new());
    }
    let versions = meta.project_versions(project_id).await?;
    Ok(plan(&settings, versions, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PackageStatus;

    const DAY: u64 = 86_400_000;

    fn version(id: u64, name: &str, created_at: u64, downloaded: Option<u64>) -> Package {
        Package {
            id,
            project_id: 1,
            name: name.into(),
            version: format!("v{id}"),
            status: PackageStatus::Default,
            created_at,
            updated_at: created_at,
            pushed_by: String::new(),
            description: String::new(),
            disabled: false,
            size: 0,
            download_count: 0,
            last_downloaded_at: downloaded,
            latest: None,
            recycled_at: None,
            recycled_by: None,
            restored_at: None,
        }
    }

    fn ids(moves: &[(Package, Reason)]) -> Vec<u64> {
        let mut ids: Vec<u64> = moves.iter().map(|(p, _)| p.id).collect();
        ids.sort_unstable();
        ids
    }

    #[test]
    fn keep_n_keeps_the_newest_of_each_name() {
        let settings = PackageSettings { keep_n_versions: Some(2), ..Default::default() };
        let versions = vec![
            version(1, "a", 10, None),
            version(2, "a", 20, None),
            version(3, "a", 30, None),
            version(4, "b", 5, None),
            // A tie on created_at: the larger id is newer.
            version(5, "a", 30, None),
        ];
        let moves = plan(&settings, versions, 100);
        assert_eq!(ids(&moves), vec![1, 2]);
        assert!(moves.iter().all(|(_, r)| *r == Reason::KeepNVersions(2)));
    }

    #[test]
    fn unused_counts_downloads_restores_and_creation() {
        let settings = PackageSettings { delete_unused_after_ms: Some(10 * DAY), ..Default::default() };
        let now = 100 * DAY;
        let mut restored = version(4, "d", 0, None);
        restored.restored_at = Some(95 * DAY);
        let versions = vec![
            version(1, "a", 0, None),
            version(2, "b", 0, Some(95 * DAY)),
            version(3, "c", 92 * DAY, None),
            restored,
            version(5, "e", 0, Some(80 * DAY)),
        ];
        assert_eq!(ids(&plan(&settings, versions, now)), vec![1, 5]);
    }

    #[test]
    fn days_are_the_old_spelling_and_off_is_off() {
        let days = PackageSettings { delete_versions_not_downloaded_for_days: Some(10), ..Default::default() };
        assert_eq!(days.unused_after_ms(), Some(10 * DAY));
        assert_eq!(ids(&plan(&days, vec![version(1, "a", 0, None)], 11 * DAY)), vec![1]);
        let off = PackageSettings { keep_n_versions: Some(0), ..Default::default() };
        assert!(plan(&off, vec![version(1, "a", 0, None), version(2, "a", 1, None)], 11 * DAY).is_empty());
    }
}
