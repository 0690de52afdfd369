//! Version management (Alibaba Cloud generic artifacts): editing a version, its custom
//! metadata, the recycle bin, and the per-project audit trail.
//!
//! Recycling renames a version's keys (hash, file set, metadata) to `bin:<package id>`
//! in one script: the version vanishes from listings and downloads at once, its name and
//! version are free to be published again, and a restore renames everything back, so
//! files, metadata, counters and the disabled flag return exactly as they were.

use std::collections::BTreeMap;

use redis::{AsyncCommands, Script};
use serde_json::Value;

use super::Meta;
use super::error::{StoreError, StoreResult};
use super::packages::FIELDS;
use crate::keys;
use crate::model::{Package, PackageFile};
use crate::time::now_ms;
use crate::webhooks::{FilePart, HookEvent, Occurrence, PackagePart};

/// At most this many metadata entries per version.
pub const MAX_METADATA_ENTRIES: usize = 100;
/// The audit trail keeps this many events per project.
const MAX_EVENTS: isize = 10_000;

/// KEYS: version hash, files (second layout), metadata, bin hash, bin files, bin metadata,
/// the project's package refs, the version's ref key of the second layout, the three
/// listing ZSETs, the recycle bin. ARGV: id, name, version, now, by.
const RECYCLE: &str = r"
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then
  return 0
end
-- In the bin, the hash's key no longer says its name and version: it keeps them.
redis.call('HSET', KEYS[1], 'recycled_at', ARGV[4], 'recycled_by', ARGV[5], 'name', ARGV[2], 'version', ARGV[3])
redis.call('RENAME', KEYS[1], KEYS[4])
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('RENAME', KEYS[2], KEYS[5]) end
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('RENAME', KEYS[3], KEYS[6]) end
redis.call('HSET', KEYS[7], ARGV[1], '#bin')
redis.call('DEL', KEYS[8])
redis.call('ZREM', KEYS[9], ARGV[1])
redis.call('ZREM', KEYS[10], ARGV[2] .. '\0' .. ARGV[3] .. '\0' .. ARGV[1])
redis.call('ZREM', KEYS[11], ARGV[3] .. '\0' .. ARGV[2] .. '\0' .. ARGV[1])
redis.call('ZADD', KEYS[12], ARGV[4], ARGV[1])
return 1
";

/// Same KEYS as RECYCLE. Returns 1 restored, 0 not in the bin, -1 the name + version has
/// been published again meanwhile (the binned version stays in the bin).
const RESTORE: &str = r"
if redis.call('EXISTS', KEYS[4]) == 0 or redis.call('HEXISTS', KEYS[4], 'purging') == 1 then
  return 0
end
if redis.call('HEXISTS', KEYS[1], 'id') == 1 then
  return -1
end
redis.call('RENAME', KEYS[4], KEYS[1])
redis.call('HDEL', KEYS[1], 'recycled_at', 'recycled_by', 'name', 'version')
redis.call('HSET', KEYS[1], 'restored_at', ARGV[4])
if redis.call('EXISTS', KEYS[5]) == 1 then redis.call('RENAME', KEYS[5], KEYS[2]) end
if redis.call('EXISTS', KEYS[6]) == 1 then redis.call('RENAME', KEYS[6], KEYS[3]) end
redis.call('HSET', KEYS[7], ARGV[1], ARGV[2] .. '/' .. ARGV[3])
redis.call('DEL', KEYS[8])
if redis.call('HGET', KEYS[1], 'status') ~= 'hidden' then
  local created = redis.call('HGET', KEYS[1], 'created_at')
  redis.call('ZADD', KEYS[9], created, ARGV[1])
  redis.call('ZADD', KEYS[10], 0, ARGV[2] .. '\0' .. ARGV[3] .. '\0' .. ARGV[1])
  redis.call('ZADD', KEYS[11], 0, ARGV[3] .. '\0' .. ARGV[2] .. '\0' .. ARGV[1])
end
redis.call('ZREM', KEYS[12], ARGV[1])
return 1
";

/// Takes a version out of the bin for purging. KEYS: bin hash, recycle bin.
const MARK_PURGING: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'purging') == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'purging', '1')
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
";

/// Writes fields of a version only if it is still the one with this id (not recycled,
/// not replaced). KEYS: version hash. ARGV: id, then field/value pairs.
const UPDATE_IF_SAME: &str = r"
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then
  return 0
end
for i = 2, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
return 1
";

/// KEYS: metadata hash, version hash. ARGV: id, key, value, max entries.
const SET_METADATA: &str = r"
if redis.call('HGET', KEYS[2], 'id') ~= ARGV[1] then
  return -1
end
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
return 1
";

/// KEYS: metadata hash, version hash. ARGV: id, key.
const DELETE_METADATA: &str = r"
if redis.call('HGET', KEYS[2], 'id') ~= ARGV[1] then
  return -1
end
return redis.call('HDEL', KEYS[1], ARGV[2])
";

pub enum Restored {
    Yes,
    NotInBin,
    /// The name + version was published again while this one was in the bin.
    Republished,
}

/// One entry of the audit trail.
pub struct Event<'a> {
    pub actor: &'a crate::auth::Actor,
    pub action: EventAction,
    pub package: Option<PackageRef<'a>>,
    pub detail: Value,
}

impl<'a> Event<'a> {
    /// An event about one version that needs no detail beyond the action.
    pub fn about(actor: &'a crate::auth::Actor, action: EventAction, package: PackageRef<'a>) -> Self {
        Self { actor, action, package: Some(package), detail: Value::Object(Default::default()) }
    }

    /// Whether webhooks are told of this change, and as what: a published file, a version
    /// recycled (by a user or by retention) or a file name deleted from it, a version
    /// disabled or restored.
    fn hook_event(&self) -> Option<HookEvent> {
        match self.action {
            EventAction::PackageFileCreated => Some(HookEvent::PackagePublished),
            EventAction::PackageRecycled | EventAction::PackageFileDeleted => Some(HookEvent::PackageDeleted),
            EventAction::PackageDisabled => Some(HookEvent::PackageDisabled),
            EventAction::PackageRestored => Some(HookEvent::PackageRestored),
            _ => None,
        }
    }

    /// What webhooks are told of this change, as `event`.
    fn occurrence(&self, event: HookEvent) -> Occurrence {
        let detail = |k: &str| self.detail.get(k);
        let file = detail("file_name").and_then(Value::as_str).map(|name| FilePart {
            file_name: name.to_owned(),
            size: detail("size").and_then(Value::as_u64),
            sha256: detail("sha256").and_then(Value::as_str).map(str::to_owned),
        });
        Occurrence {
            event,
            actor: self.actor.clone(),
            package: self.package.map(|p| PackagePart {
                id: p.id,
                name: p.name.to_owned(),
                version: p.version.to_owned(),
            }),
            file,
            job: None,
        }
    }
}

/// What an audit event records; written as `package.recycled`, `package_file.created`, ...
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventAction {
    PackageFileCreated,
    PackageFileDeleted,
    PackageDescriptionChanged,
    PackageDisabled,
    PackageEnabled,
    PackageMetadataSet,
    PackageMetadataDeleted,
    PackageRecycled,
    PackageRestored,
    PackagePurged,
    PackageSettingsUpdated,
}

impl EventAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PackageFileCreated => "package_file.created",
            Self::PackageFileDeleted => "package_file.deleted",
            Self::PackageDescriptionChanged => "package.description_changed",
            Self::PackageDisabled => "package.disabled",
            Self::PackageEnabled => "package.enabled",
            Self::PackageMetadataSet => "package.metadata_set",
            Self::PackageMetadataDeleted => "package.metadata_deleted",
            Self::PackageRecycled => "package.recycled",
            Self::PackageRestored => "package.restored",
            Self::PackagePurged => "package.purged",
            Self::PackageSettingsUpdated => "package_settings.updated",
        }
    }
}

/// Which version an event is about.
#[derive(Clone, Copy)]
pub struct PackageRef<'a> {
    pub id: u64,
    pub name: &'a str,
    pub version: &'a str,
}

impl<'a> From<&'a Package> for PackageRef<'a> {
    fn from(p: &'a Package) -> Self {
        Self { id: p.id, name: &p.name, version: &p.version }
    }
}

/// An invocation of RECYCLE or RESTORE (they share their keys) for `package`.
fn recycle_invocation<'a>(script: &'a Script, package: &Package) -> redis::ScriptInvocation<'a> {
    let (pid, id, name, version) = (package.project_id, package.id, package.name.as_str(), package.version.as_str());
    let mut inv = script.prepare_invoke();
    inv.key(keys::package_version(pid, name, version))
        .key(keys::package_version_files(pid, name, version))
        .key(keys::package_version_metadata(pid, name, version))
        .key(keys::binned_package(pid, id))
        .key(keys::binned_package_files(pid, id))
        .key(keys::binned_package_metadata(pid, id))
        .key(keys::package_refs(pid))
        .key(keys::package_ref(pid, id))
        .key(keys::packages_by_created(pid))
        .key(keys::packages_by_name(pid))
        .key(keys::packages_by_version(pid))
        .key(keys::recycle_bin(pid))
        .arg(id)
        .arg(name)
        .arg(version);
    inv
}

impl Meta {
    /// Edits a version's description and disabled flag. False if it is gone.
    pub async fn update_package(
        &self,
        package: &Package,
        description: Option<&str>,
        disabled: Option<bool>,
    ) -> StoreResult<bool> {
        let script = Script::new(UPDATE_IF_SAME);
        let mut inv = script.prepare_invoke();
        inv.key(keys::package_version(package.project_id, &package.name, &package.version)).arg(package.id);
        if let Some(d) = description {
            inv.arg("description").arg(d);
        }
        if let Some(d) = disabled {
            inv.arg("disabled").arg(if d { "1" } else { "0" });
        }
        inv.arg("updated_at").arg(now_ms());
        let done: i64 = inv.invoke_async(&mut self.conn()).await?;
        Ok(done == 1)
    }

    pub async fn package_metadata(&self, package: &Package) -> StoreResult<BTreeMap<String, String>> {
        let key = keys::package_version_metadata(package.project_id, &package.name, &package.version);
        Ok(self.conn().hgetall(key).await?)
    }

    /// Sets one entry. `Err(Conflict)` when the version already has the most entries.
    pub async fn set_package_metadata(&self, package: &Package, key: &str, value: &str) -> StoreResult<()> {
        let (pid, name, version) = (package.project_id, &package.name, &package.version);
        let done: i64 = Script::new(SET_METADATA)
            .key(keys::package_version_metadata(pid, name, version))
            .key(keys::package_version(pid, name, version))
            .arg(package.id)
            .arg(key)
            .arg(value)
            .arg(MAX_METADATA_ENTRIES)
            .invoke_async(&mut self.conn())
            .await?;
        match done {
            1 => Ok(()),
            0 => Err(StoreError::Limit(format!("a version holds at most {MAX_METADATA_ENTRIES} metadata entries"))),
            _ => Err(StoreError::NotFound("Package")),
        }
    }

    /// Removes one entry; false when there was none.
    pub async fn delete_package_metadata(&self, package: &Package, key: &str) -> StoreResult<bool> {
        let (pid, name, version) = (package.project_id, &package.name, &package.version);
        let done: i64 = Script::new(DELETE_METADATA)
            .key(keys::package_version_metadata(pid, name, version))
            .key(keys::package_version(pid, name, version))
            .arg(package.id)
            .arg(key)
            .invoke_async(&mut self.conn())
            .await?;
        match done {
            -1 => Err(StoreError::NotFound("Package")),
            n => Ok(n == 1),
        }
    }

    /// Moves a version to the recycle bin. False if it was no longer there to move.
    pub async fn recycle_package(&self, package: &Package, by: &str) -> StoreResult<bool> {
        let script = Script::new(RECYCLE);
        let mut inv = recycle_invocation(&script, package);
        inv.arg(now_ms()).arg(by);
        let done: i64 = inv.invoke_async(&mut self.conn()).await?;
        Ok(done == 1)
    }

    pub async fn restore_package(&self, package: &Package) -> StoreResult<Restored> {
        let script = Script::new(RESTORE);
        let mut invocation = recycle_invocation(&script, package);
        invocation.arg(crate::time::now_ms());
        let done: i64 = invocation.invoke_async(&mut self.conn()).await?;
        Ok(match done {
            1 => Restored::Yes,
            -1 => Restored::Republished,
            _ => Restored::NotInBin,
        })
    }

    /// A version in the recycle bin (with `recycled_at` / `recycled_by`).
    pub async fn binned_package(&self, project_id: u64, package_id: u64) -> StoreResult<Option<Package>> {
        let values: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(keys::binned_package(project_id, package_id))
            .arg(&FIELDS[..])
            .query_async(&mut self.conn())
            .await?;
        Ok(self.packages_from_rows(project_id, vec![values]).await?.pop())
    }

    /// A page of the recycle bin, most recently recycled first: `(total, page)`.
    pub async fn recycle_bin(&self, project_id: u64, offset: u64, limit: u64) -> StoreResult<(u64, Vec<Package>)> {
        let key = keys::recycle_bin(project_id);
        let total: u64 = self.conn().zcard(&key).await?;
        if limit == 0 || offset >= total {
            return Ok((total, Vec::new()));
        }
        let ids: Vec<u64> = self.conn().zrevrange(&key, offset as isize, (offset + limit - 1) as isize).await?;
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.cmd("HMGET").arg(keys::binned_package(project_id, *id)).arg(&FIELDS[..]);
        }
        let rows: Vec<Vec<Option<String>>> = pipe.query_async(&mut self.conn()).await?;
        Ok((total, self.packages_from_rows(project_id, rows).await?))
    }

    /// Hands a binned version to the cleanup worker for good. False if it is not in the
    /// bin. The purge is scheduled before the version leaves the bin, so a crash in
    /// between leaves it purged twice (harmless), never forgotten.
    pub async fn purge_package(&self, project_id: u64, package_id: u64, due_ms: u64) -> StoreResult<bool> {
        let bin_key = keys::binned_package(project_id, package_id);
        let exists: bool = self.conn().exists(&bin_key).await?;
        if !exists {
            return Ok(false);
        }
        let member = format!("{project_id}:{package_id}");
        let _: () = self.conn().zadd(keys::PACKAGE_PURGES, &member, due_ms).await?;
        let done: i64 = Script::new(MARK_PURGING)
            .key(&bin_key)
            .key(keys::recycle_bin(project_id))
            .arg(package_id)
            .invoke_async(&mut self.conn())
            .await?;
        Ok(done == 1)
    }

    /// Ids of binned versions recycled before `cutoff_ms`.
    pub async fn binned_before(&self, project_id: u64, cutoff_ms: u64) -> StoreResult<Vec<u64>> {
        Ok(self.conn().zrangebyscore(keys::recycle_bin(project_id), 0, cutoff_ms).await?)
    }

    /// Purges that are due: `(project id, package id)`.
    pub async fn due_purges(&self, now: u64, limit: usize) -> StoreResult<Vec<(u64, u64)>> {
        let members: Vec<String> =
            self.conn().zrangebyscore_limit(keys::PACKAGE_PURGES, 0, now, 0, limit as isize).await?;
        Ok(members
            .iter()
            .filter_map(|m| m.split_once(':').and_then(|(p, i)| Some((p.parse().ok()?, i.parse().ok()?))))
            .collect())
    }

    /// The files of a binned version (for deleting their blobs).
    pub async fn binned_files(&self, project_id: u64, package_id: u64) -> StoreResult<Vec<PackageFile>> {
        let ids = self
            .file_ids(
                &keys::binned_package(project_id, package_id),
                &keys::binned_package_files(project_id, package_id),
            )
            .await?;
        self.files_by_id(project_id, &ids).await
    }

    /// Removes a purged version's metadata, once its blobs are gone.
    pub async fn finish_purge(&self, project_id: u64, package_id: u64, file_ids: &[u64]) -> StoreResult<()> {
        // Its share links go with it.
        self.delete_package_shares(project_id, package_id).await?;
        let mut pipe = redis::pipe();
        pipe.atomic();
        for fid in file_ids {
            pipe.del(keys::package_file(project_id, *fid));
        }
        pipe.del(keys::binned_package(project_id, package_id))
            .del(keys::binned_package_files(project_id, package_id))
            .del(keys::binned_package_metadata(project_id, package_id))
            .hdel(keys::package_refs(project_id), package_id)
            .del(keys::package_ref(project_id, package_id))
            .zrem(keys::recycle_bin(project_id), package_id);
        pipe.query_async::<()>(&mut self.conn()).await?;
        let _: () = self.conn().zrem(keys::PACKAGE_PURGES, format!("{project_id}:{package_id}")).await?;
        Ok(())
    }

    /// Claims `work` for `ttl_ms`; false when another worker holds it.
    pub async fn claim(&self, work: &str, owner: &str, ttl_ms: u64) -> StoreResult<bool> {
        let set: Option<String> = redis::cmd("SET")
            .arg(keys::lease(work))
            .arg(owner)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms)
            .query_async(&mut self.conn())
            .await?;
        Ok(set.is_some())
    }

    pub async fn release(&self, work: &str) -> StoreResult<()> {
        let _: () = self.conn().del(keys::lease(work)).await?;
        Ok(())
    }

    /// Appends to the project's audit trail. Never fails the change it records: an error
    /// is logged.
    pub async fn record_event(&self, project_id: u64, event: Event<'_>) {
        // Stored tersely (a trail holds up to 10,000 of these per project) and read back in
        // full by `expand_event`.
        let actor = event.actor;
        let mut value = serde_json::json!({
            "t": now_ms(),
            "a": event.action.as_str(),
            "u": [actor.kind, actor.id, actor.username],
            "d": event.detail,
        });
        if let Some(p) = event.package {
            value["p"] = serde_json::json!([p.id, p.name, p.version]);
        }
        let key = keys::package_events(project_id);
        let hook_event = event.hook_event();
        // The project's hooks are read in the same round trip (one slot).
        let mut pipe = redis::pipe();
        pipe.atomic().lpush(&key, value.to_string()).ignore().ltrim(&key, 0, MAX_EVENTS - 1).ignore();
        if hook_event.is_some() {
            pipe.hvals(keys::hooks(project_id));
        }
        let res = pipe.query_async::<Vec<Vec<String>>>(&mut self.conn()).await;
        match res {
            Err(e) => {
                tracing::error!(project_id, action = event.action.as_str(), error = %e, "audit event not recorded");
            }
            Ok(hooks) => {
                // Most projects have no hooks: the occurrence is built only for those that do.
                if let (Some(kind), Some(hooks)) = (hook_event, hooks.first())
                    && !hooks.is_empty()
                {
                    self.queue_deliveries(project_id, hooks, event.occurrence(kind)).await;
                }
            }
        }
    }

    /// A page of the audit trail, newest first: `(total, page)`.
    pub async fn events(&self, project_id: u64, offset: u64, limit: u64) -> StoreResult<(u64, Vec<Value>)> {
        let (total, page) = self.list_page(&keys::package_events(project_id), offset, limit).await?;
        Ok((total, page.into_iter().map(expand_event).collect()))
    }
}

/// An audit event as the API shows it: `created_at`, `author`, `actor {kind, id,
/// username}`, `action`, `package_id`, `package_name`, `package_version`, `details`.
/// Events are stored as `{"t": ms, "a": action, "u": [kind, id, username], "p": [id,
/// name, version], "d": details}`; those stored before December 2026 are already whole.
fn expand_event(stored: Value) -> Value {
    let Some(at) = stored.get("t").and_then(Value::as_u64) else {
        return stored;
    };
    let part = |key: &str, i: usize| stored.get(key).and_then(|v| v.get(i)).cloned().unwrap_or(Value::Null);
    serde_json::json!({
        "created_at": crate::time::rfc3339(at),
        "author": part("u", 2),
        "actor": {"kind": part("u", 0), "id": part("u", 1), "username": part("u", 2)},
        "action": stored.get("a").cloned().unwrap_or(Value::Null),
        "package_id": part("p", 0),
        "package_name": part("p", 1),
        "package_version": part("p", 2),
        "details": stored.get("d").cloned().unwrap_or(Value::Null),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_events_read_back_whole() {
        let stored = serde_json::json!({
            "t": 1_796_247_601_826u64, "a": "package.recycled", "u": ["pat", 4, "alice"],
            "p": [7, "tool", "1.0"], "d": {"by": "retention"},
        });
        assert_eq!(
            expand_event(stored),
            serde_json::json!({
                "created_at": crate::time::rfc3339(1_796_247_601_826), "author": "alice",
                "actor": {"kind": "pat", "id": 4, "username": "alice"}, "action": "package.recycled",
                "package_id": 7, "package_name": "tool", "package_version": "1.0", "details": {"by": "retention"},
            })
        );
        let settings = expand_event(
            serde_json::json!({"t": 1, "a": "package_settings.updated", "u": ["admin", null, "root"], "d": {}}),
        );
        assert_eq!((settings["package_id"].clone(), settings["actor"]["id"].clone()), (Value::Null, Value::Null));
        let old = serde_json::json!({"created_at": "2026-12-01T00:00:00.000Z", "author": "root", "action": "x"});
        assert_eq!(expand_event(old.clone()), old, "events stored whole pass through");
    }
}
