//! Generic packages in Redis.
//!
//! A package version is one HASH (`keys::package_version`) with its fields, its counters,
//! `f:<file name>` -> the id of the newest file of that name, `latest` -> the id of the
//! newest file, and an empty `i:<file id>` field per file. Every file is its own compact
//! record (`keys::package_file`, see [`file_record`]), written once and never changed.
//! Listed versions sit in three ZSETs (by creation time, by name, by version) so a page of
//! a listing is a range read, never a scan.
//!
//! The hash holds only short values and leaves out fields at their defaults, so Redis
//! keeps it in its compact listpack encoding. Because file records never change, [`Meta`]
//! remembers them in process: a warm download is still one HMGET.
//!
//! Earlier layouts still read: the first held copies of the file JSON in the pointer
//! fields ([`Pointer`]); the second kept every default field, full-JSON file records and
//! a file ZSET per version (`keys::package_version_files`). [`Meta::migrate_layout`]
//! rewrites both.

use redis::{AsyncCommands, Script};

/// Lua: the file id a pointer field holds; versions written by the first layout hold the
/// file's JSON there instead. A macro so that scripts can `concat!` it.
macro_rules! pointer_id_lua {
    () => {
        r"
local function pointer_id(v)
  if string.sub(v, 1, 1) == '{' then
    return tonumber(cjson.decode(v)['id'])
  end
  return tonumber(v)
end
"
    };
}

use super::error::{StoreError, StoreResult};
use super::{Meta, file_record, slot_batches, to_json};
use crate::keys;
use crate::model::{Package, PackageFile, PackageSettings, PackageStatus};

/// Creates the version when absent and adds the file, in one step: two first publishes
/// of a version at once agree on one package id, and a refused duplicate leaves nothing.
/// A new version's hash gets only the fields that differ from their defaults (no
/// `status` unless hidden, no empty `description`, no zero `disabled` or
/// `download_count`, no `updated_at` until a second file): readers take a missing field
/// as its default. Nor does it hold its name and version: its key and its ref do. KEYS: version hash, the project's package refs, file record, and the
/// three listing ZSETs. ARGV[9] is the file's compact record without its package id
/// (`file_record::encode`), which this script puts first. Returns `{package id, 1 created
/// | 0 existed | -1 duplicate | -2 precondition failed}`. ARGV[13], the precondition:
/// empty (none), `absent` (no file of that name yet) or the id the newest file of that
/// name must still have.
const ADD_FILE: &str = concat!(
    pointer_id_lua!(),
    r#"
if ARGV[13] ~= '' then
  local current = redis.call('HGET', KEYS[1], 'f:' .. ARGV[10])
  if ARGV[13] == 'absent' then
    if current then return {0, -2} end
  elseif not current or pointer_id(current) ~= tonumber(ARGV[13]) then
    return {0, -2}
  end
end
local id = redis.call('HGET', KEYS[1], 'id')
local created = 0
if not id then
  id = ARGV[1]
  redis.call('HSET', KEYS[1], 'id', id, 'created_at', ARGV[5], 'pushed_by', ARGV[6])
  if ARGV[4] ~= 'default' then redis.call('HSET', KEYS[1], 'status', ARGV[4]) end
  if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'description', ARGV[7]) end
  redis.call('HSET', KEYS[2], id, ARGV[2] .. '/' .. ARGV[3])
  if ARGV[4] == 'default' then
    redis.call('ZADD', KEYS[4], ARGV[5], id)
    redis.call('ZADD', KEYS[5], 0, ARGV[2] .. '\0' .. ARGV[3] .. '\0' .. id)
    redis.call('ZADD', KEYS[6], 0, ARGV[3] .. '\0' .. ARGV[2] .. '\0' .. id)
  end
  created = 1
elseif ARGV[11] == '1' and redis.call('HEXISTS', KEYS[1], 'f:' .. ARGV[10]) == 1 then
  return {id, -1}
else
  redis.call('HSET', KEYS[1], 'updated_at', ARGV[5])
end
redis.call('SET', KEYS[3], '{"p":' .. id .. ',' .. string.sub(ARGV[9], 2))
-- Ids are taken before the bytes stream, so publishes may commit out of id order: a
-- pointer only moves to a newer (higher) id, and newest means the same everywhere.
for _, field in ipairs({'f:' .. ARGV[10], 'latest'}) do
  local current = redis.call('HGET', KEYS[1], field)
  if not current or pointer_id(current) < tonumber(ARGV[8]) then
    redis.call('HSET', KEYS[1], field, ARGV[8])
  end
end
redis.call('HINCRBY', KEYS[1], 'size', ARGV[12])
redis.call('HSET', KEYS[1], 'i:' .. ARGV[8], '')
return {id, created}
"#
);

/// KEYS: the blob-delete queue, the claimed set. ARGV: count, lease end (ms).
const CLAIM_BLOB_DELETES: &str = r"
local taken = redis.call('LPOP', KEYS[1], ARGV[1])
if not taken then
  return {}
end
for _, key in ipairs(taken) do
  redis.call('ZADD', KEYS[2], ARGV[2], key)
end
return taken
";

/// KEYS: the blob-delete queue, the claimed set. ARGV: now (ms). Moves at most 1,000 per
/// call (Lua's `unpack` limit is near 8,000), so one call never holds Redis long.
const RECLAIM_BLOB_DELETES: &str = r"
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], 0, ARGV[1], 'LIMIT', 0, 1000)
if #stale == 0 then
  return 0
end
redis.call('RPUSH', KEYS[1], unpack(stale))
redis.call('ZREM', KEYS[2], unpack(stale))
return #stale
";

/// Removes one file. The version's pointers to it (`f:<name>`, `latest`) are moved to the
/// given replacement ids only if they still point at it, so a publish that raced ahead
/// keeps its newer file. KEYS: version hash, the version's file ZSET of the second
/// layout, file record.
const DELETE_FILE: &str = concat!(
    pointer_id_lua!(),
    r"
if redis.call('HDEL', KEYS[1], 'i:' .. ARGV[1]) + redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then
  return 0
end
redis.call('DEL', KEYS[3])
redis.call('HINCRBY', KEYS[1], 'size', -tonumber(ARGV[3]))
local function repoint(field, replacement)
  local current = redis.call('HGET', KEYS[1], field)
  if current and pointer_id(current) == tonumber(ARGV[1]) then
    if replacement == '' then
      redis.call('HDEL', KEYS[1], field)
    else
      redis.call('HSET', KEYS[1], field, replacement)
    end
  end
end
repoint('f:' .. ARGV[2], ARGV[4])
repoint('latest', ARGV[5])
return 1
"
);

/// Rewrites a version hash of an earlier layout into the current one: pointer fields
/// holding file JSON (the first layout) get the file's id, fields that hold their default
/// are dropped, and the version's file ZSET (the second layout) becomes `i:<file id>`
/// fields; a listed version's hash (ARGV[1] `pv`, not `bin`) loses its name and version.
/// The hash is rebuilt rather than edited, because Redis never turns a hash back into its
/// compact encoding once a long value made it a hashtable. KEYS: the hash, its file ZSET.
/// Returns the number of fields changed (0: already current).
const MIGRATE_VERSION: &str = concat!(
    pointer_id_lua!(),
    r"
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then
  return 0
end
local created
for i = 1, #fields, 2 do
  if fields[i] == 'created_at' then created = fields[i + 1] end
end
local keep, changed = {}, 0
for i = 1, #fields, 2 do
  local f, v = fields[i], fields[i + 1]
  if (f == 'latest' or string.sub(f, 1, 2) == 'f:') and string.sub(v, 1, 1) == '{' then
    v = string.format('%d', pointer_id(v))
    changed = changed + 1
  end
  if (f == 'status' and v == 'default') or (f == 'description' and v == '')
    or ((f == 'disabled' or f == 'download_count') and v == '0') or (f == 'updated_at' and v == created)
    or (ARGV[1] == 'pv' and (f == 'name' or f == 'version')) then
    changed = changed + 1
  else
    keep[#keep + 1] = f
    keep[#keep + 1] = v
  end
end
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  keep[#keep + 1] = 'i:' .. id
  keep[#keep + 1] = ''
  changed = changed + 1
end
if changed > 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
  -- unpack() takes a few thousand values at most.
  for i = 1, #keep, 1000 do
    redis.call('HSET', KEYS[1], unpack(keep, i, math.min(i + 999, #keep)))
  end
end
return changed
"
);

/// Moves a version's ref key of the second layout into the project's ref hash, unless
/// the hash already has a newer word on it. KEYS: the ref key, the hash. ARGV: the id.
const MIGRATE_REF: &str = r"
local v = redis.call('GET', KEYS[1])
if not v then
  return 0
end
redis.call('HSETNX', KEYS[2], ARGV[1], v)
redis.call('DEL', KEYS[1])
return 1
";

/// Replaces a file record if it is still the one read. KEYS: the record. ARGV: old, new.
const REPLACE_RECORD: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
";

/// KEYS: version hash. ARGV: now.
const COUNT_DOWNLOAD: &str = r"
if redis.call('HEXISTS', KEYS[1], 'id') == 0 then
  return 0
end
redis.call('HINCRBY', KEYS[1], 'download_count', ARGV[2])
local last = tonumber(redis.call('HGET', KEYS[1], 'last_downloaded_at') or '0') or 0
if tonumber(ARGV[1]) > last then
  redis.call('HSET', KEYS[1], 'last_downloaded_at', ARGV[1])
end
return 1
";

/// The fields of a version hash that make a [`Package`].
pub(super) const FIELDS: [&str; 16] = [
    "id",
    "name",
    "version",
    "status",
    "created_at",
    "updated_at",
    "pushed_by",
    "description",
    "disabled",
    "size",
    "download_count",
    "last_downloaded_at",
    "latest",
    "recycled_at",
    "recycled_by",
    "restored_at",
];

pub struct NewFile<'a> {
    pub project_id: u64,
    pub name: &'a str,
    pub version: &'a str,
    pub status: PackageStatus,
    pub description: &'a str,
    pub file: PackageFile,
    /// Refuse the file if the version already has one of that name.
    pub reject_duplicate: bool,
    /// What the version's newest file of that name must be when the file commits.
    pub precondition: Precondition,
}

/// A conditional publish's test, made when the file commits (so concurrent publishes
/// cannot both pass it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precondition {
    None,
    /// No file of that name in the version (`If-None-Match: *`).
    Absent,
    /// The newest file of that name is still this one (what `If-Match` matched).
    Is(u64),
}

impl Precondition {
    fn arg(self) -> String {
        match self {
            Self::None => String::new(),
            Self::Absent => "absent".to_owned(),
            Self::Is(id) => id.to_string(),
        }
    }
}

pub enum Added {
    /// The file is in; `created` when this publish created the version.
    File {
        package_id: u64,
        created: bool,
        file: PackageFile,
    },
    Duplicate,
    PreconditionFailed,
}

/// What [`Meta::migrate_layout`] did.
#[derive(Debug, Default)]
pub struct Migrated {
    pub versions_seen: u64,
    pub versions_rewritten: u64,
    pub refs_moved: u64,
    pub records_rewritten: u64,
}

/// What the download path needs, from one HMGET.
pub struct DownloadTarget {
    pub package_id: u64,
    pub disabled: bool,
    pub file: Option<PackageFile>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    CreatedAt,
    Name,
    Version,
}

pub struct ListQuery {
    /// Substring of the name, any case (GitLab's `package_name`).
    pub name: Option<String>,
    /// Exact version.
    pub version: Option<String>,
    pub order: Order,
    pub desc: bool,
    pub offset: u64,
    pub limit: u64,
}

/// What a version's `f:<file name>` or `latest` field holds.
enum Pointer {
    Id(u64),
    /// A version of the first layout: a copy of the file record.
    Record(PackageFile),
}

impl Pointer {
    fn parse(raw: &str) -> StoreResult<Self> {
        if raw.starts_with('{') {
            serde_json::from_str(raw).map(Pointer::Record).map_err(|e| StoreError::corrupt("package file record", e))
        } else {
            raw.parse().map(Pointer::Id).map_err(|e| StoreError::corrupt("package file pointer", e))
        }
    }
}

/// A version's hash as HMGET of [`FIELDS`] read it, its newest file not yet looked up.
pub(super) struct Row(Package, Option<Pointer>);

pub(super) fn parse_package(project_id: u64, values: Vec<Option<String>>) -> StoreResult<Option<Row>> {
    let get = |i: usize| values.get(i).cloned().flatten();
    let num = |i: usize| get(i).and_then(|v| v.parse::<u64>().ok());
    let Some(id) = num(0) else { return Ok(None) };
    let latest = get(12).as_deref().map(Pointer::parse).transpose()?;
    let package = Package {
        id,
        project_id,
        name: get(1).unwrap_or_default(),
        version: get(2).unwrap_or_default(),
        status: if get(3).as_deref() == Some("hidden") { PackageStatus::Hidden } else { PackageStatus::Default },
        created_at: num(4).unwrap_or(0),
        updated_at: num(5).or(num(4)).unwrap_or(0),
        pushed_by: get(6).unwrap_or_default(),
        description: get(7).unwrap_or_default(),
        disabled: get(8).as_deref() == Some("1"),
        size: num(9).unwrap_or(0),
        download_count: num(10).unwrap_or(0),
        last_downloaded_at: num(11),
        latest: None,
        recycled_at: num(13),
        recycled_by: get(14),
        restored_at: num(15),
    };
    Ok(Some(Row(package, latest)))
}

/// `abc` -> `[aA][bB][cC]`: a case-insensitive glob for ZSCAN MATCH. Callers pass only
/// package-name characters, none of which is a glob metacharacter.
fn case_insensitive_glob(needle: &str) -> String {
    needle
        .chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn is_id(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn member_id(member: &str) -> Option<u64> {
    member.rsplit('\0').next().and_then(|id| id.parse().ok())
}

impl Meta {
    pub async fn package_settings(&self, project_id: u64) -> StoreResult<PackageSettings> {
        Ok(self.get_json(&keys::package_settings(project_id)).await?.unwrap_or_default())
    }

    pub async fn save_package_settings(&self, project_id: u64, settings: &PackageSettings) -> StoreResult<()> {
        let _: () = self.conn().set(keys::package_settings(project_id), to_json(settings)?).await?;
        Ok(())
    }

    pub async fn next_file_id(&self) -> StoreResult<u64> {
        self.next_id(keys::PACKAGE_FILE_SEQ).await
    }

    pub async fn add_package_file(&self, new: NewFile<'_>) -> StoreResult<Added> {
        let candidate = self.next_id(keys::PACKAGE_SEQ).await?;
        let (pid, name, version) = (new.project_id, new.name, new.version);
        let (id, outcome): (u64, i64) = Script::new(ADD_FILE)
            .key(keys::package_version(pid, name, version))
            .key(keys::package_refs(pid))
            .key(keys::package_file(pid, new.file.id))
            .key(keys::packages_by_created(pid))
            .key(keys::packages_by_name(pid))
            .key(keys::packages_by_version(pid))
            .arg(candidate)
            .arg(name)
            .arg(version)
            .arg(new.status.as_str())
            .arg(new.file.created_at)
            .arg(&new.file.pushed_by)
            .arg(new.description)
            .arg(new.file.id)
            .arg(file_record::encode(&new.file).map_err(|e| StoreError::corrupt("package file record", e))?)
            .arg(&new.file.file_name)
            .arg(if new.reject_duplicate { "1" } else { "0" })
            .arg(new.file.size)
            .arg(new.precondition.arg())
            .invoke_async(&mut self.conn())
            .await?;
        match outcome {
            -1 => return Ok(Added::Duplicate),
            -2 => return Ok(Added::PreconditionFailed),
            _ => {}
        }
        let mut file = new.file;
        file.package_id = id;
        Ok(Added::File { package_id: id, created: outcome == 1, file })
    }

    /// The version and its newest file named `file_name`, in one read.
    pub async fn download_target(
        &self,
        project_id: u64,
        name: &str,
        version: &str,
        file_name: &str,
    ) -> StoreResult<Option<DownloadTarget>> {
        let (id, disabled, file): (Option<u64>, Option<String>, Option<String>) = redis::cmd("HMGET")
            .arg(keys::package_version(project_id, name, version))
            .arg("id")
            .arg("disabled")
            .arg(format!("f:{file_name}"))
            .query_async(&mut self.conn())
            .await?;
        let Some(package_id) = id else {
            return Ok(None);
        };
        let pointer = file.as_deref().map(Pointer::parse).transpose()?;
        let file = self.resolve(project_id, vec![pointer]).await?.pop().flatten();
        Ok(Some(DownloadTarget { package_id, disabled: disabled.as_deref() == Some("1"), file }))
    }

    /// Adds counted downloads to versions of one project, in one round trip (the
    /// versions share the project's cluster slot). Only a version that is still there is
    /// counted: an increment landing after the version was recycled must not leave a
    /// stray hash behind its name.
    pub async fn add_downloads(
        &self,
        project_id: u64,
        versions: &[(String, String, crate::downloads::Tally)],
    ) -> redis::RedisResult<()> {
        let mut pipe = redis::pipe();
        for (name, version, tally) in versions {
            pipe.cmd("EVAL")
                .arg(COUNT_DOWNLOAD)
                .arg(1)
                .arg(keys::package_version(project_id, name, version))
                .arg(tally.last_at)
                .arg(tally.count)
                .ignore();
        }
        pipe.query_async::<()>(&mut self.conn()).await
    }

    pub async fn package(&self, project_id: u64, package_id: u64) -> StoreResult<Option<Package>> {
        Ok(self.packages(project_id, &[package_id]).await?.into_iter().next())
    }

    /// Packages by id, in the order given; unknown ids are skipped.
    pub async fn packages(&self, project_id: u64, ids: &[u64]) -> StoreResult<Vec<Package>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let names = self.package_refs(project_id, ids).await?;
        let listed: Vec<(&str, &str)> = names
            .iter()
            .flatten()
            .filter(|n| *n != keys::BINNED)
            .map(|n| n.split_once('/').unwrap_or((n, "")))
            .collect();
        if listed.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for (name, version) in &listed {
            pipe.cmd("HMGET").arg(keys::package_version(project_id, name, version)).arg(&FIELDS[..]);
        }
        let mut rows: Vec<Vec<Option<String>>> = pipe.query_async(&mut self.conn()).await?;
        // A listed version's hash holds no name or version (its key and ref do).
        for (row, (name, version)) in rows.iter_mut().zip(&listed) {
            row[1].get_or_insert_with(|| (*name).to_owned());
            row[2].get_or_insert_with(|| (*version).to_owned());
        }
        self.packages_from_rows(project_id, rows).await
    }

    /// `<name>/<version>` (or [`keys::BINNED`]) of package ids, in their order. Versions of
    /// the second layout, not yet migrated, have a key each instead of a field.
    async fn package_refs(&self, project_id: u64, ids: &[u64]) -> StoreResult<Vec<Option<String>>> {
        let mut names: Vec<Option<String>> =
            redis::cmd("HMGET").arg(keys::package_refs(project_id)).arg(ids).query_async(&mut self.conn()).await?;
        let missing: Vec<usize> = (0..ids.len()).filter(|i| names[*i].is_none()).collect();
        if !missing.is_empty() {
            let old: Vec<String> = missing.iter().map(|i| keys::package_ref(project_id, ids[*i])).collect();
            let found: Vec<Option<String>> = redis::cmd("MGET").arg(&old).query_async(&mut self.conn()).await?;
            for (i, name) in missing.into_iter().zip(found) {
                names[i] = name;
            }
        }
        Ok(names)
    }

    /// Versions from HMGETs of [`FIELDS`], each with its newest file (one MGET for the
    /// records not in memory); rows of versions that are gone are skipped.
    pub(super) async fn packages_from_rows(
        &self,
        project_id: u64,
        rows: Vec<Vec<Option<String>>>,
    ) -> StoreResult<Vec<Package>> {
        let mut packages = Vec::with_capacity(rows.len());
        let mut pointers = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(Row(package, latest)) = parse_package(project_id, row)? {
                packages.push(package);
                pointers.push(latest);
            }
        }
        for (package, latest) in packages.iter_mut().zip(self.resolve(project_id, pointers).await?) {
            package.latest = latest;
        }
        Ok(packages)
    }

    /// The file records pointers name, in their order (`None` for a missing pointer or a
    /// record that is gone).
    async fn resolve(&self, project_id: u64, pointers: Vec<Option<Pointer>>) -> StoreResult<Vec<Option<PackageFile>>> {
        let ids: Vec<u64> =
            pointers.iter().filter_map(|p| if let Some(Pointer::Id(id)) = p { Some(*id) } else { None }).collect();
        let mut found: std::collections::HashMap<u64, PackageFile> =
            self.files_by_id(project_id, &ids).await?.into_iter().map(|f| (f.id, f)).collect();
        Ok(pointers
            .into_iter()
            .map(|p| match p? {
                Pointer::Record(file) => Some(file),
                Pointer::Id(id) => found.remove(&id),
            })
            .collect())
    }

    /// The files of a version, oldest first: `(total, page)`.
    pub async fn package_files(
        &self,
        package: &Package,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(u64, Vec<PackageFile>)> {
        let (pid, name, version) = (package.project_id, package.name.as_str(), package.version.as_str());
        let ids = self
            .file_ids(&keys::package_version(pid, name, version), &keys::package_version_files(pid, name, version))
            .await?;
        let page: Vec<u64> = ids.iter().skip(offset as usize).take(limit as usize).copied().collect();
        Ok((ids.len() as u64, self.files_by_id(pid, &page).await?))
    }

    /// The ids of a version's files, oldest first: its hash's `i:<file id>` fields, and
    /// the file ZSET that versions of the second layout kept instead (read until the
    /// cleanup worker's migration folds it into the hash).
    pub(super) async fn file_ids(&self, hash: &str, old_files: &str) -> StoreResult<Vec<u64>> {
        let (fields, old): (Vec<String>, Vec<u64>) =
            redis::pipe().hkeys(hash).zrange(old_files, 0, -1).query_async(&mut self.conn()).await?;
        let mut ids: Vec<u64> = fields.iter().filter_map(|f| f.strip_prefix("i:")?.parse().ok()).chain(old).collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    /// File records by id, in the order given; ids whose record is gone are skipped.
    /// Records never change once written, so those read before are taken from memory and
    /// the rest read with one MGET. For ids just read from a version (its pointers, its
    /// file ZSET): a remembered record may belong to a file deleted since.
    pub(super) async fn files_by_id(&self, project_id: u64, ids: &[u64]) -> StoreResult<Vec<PackageFile>> {
        let mut out: Vec<Option<PackageFile>> = ids.iter().map(|id| self.files.get(&(project_id, *id))).collect();
        let missing: Vec<usize> = (0..ids.len()).filter(|i| out[*i].is_none()).collect();
        if !missing.is_empty() {
            let keys: Vec<String> = missing.iter().map(|i| keys::package_file(project_id, ids[*i])).collect();
            let raw: Vec<Option<String>> = redis::cmd("MGET").arg(&keys).query_async(&mut self.conn()).await?;
            for (i, record) in missing.into_iter().zip(raw) {
                let Some(record) = record else { continue };
                let file = file_record::decode(project_id, &record)
                    .map_err(|e| StoreError::corrupt("package file record", e))?;
                self.files.insert((project_id, file.id), file.clone());
                out[i] = Some(file);
            }
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// A file by the id a request named: read from Redis, since a deleted file's record
    /// may still be remembered.
    pub async fn package_file(&self, project_id: u64, file_id: u64) -> StoreResult<Option<PackageFile>> {
        let raw: Option<String> = self.conn().get(keys::package_file(project_id, file_id)).await?;
        raw.map(|r| file_record::decode(project_id, &r).map_err(|e| StoreError::corrupt("package file record", e)))
            .transpose()
    }

    /// Removes a file's metadata (the caller then hands its blob to deletion). False when
    /// it was already gone.
    pub async fn delete_package_file(&self, package: &Package, file: &PackageFile) -> StoreResult<bool> {
        let (pid, name, version) = (package.project_id, package.name.as_str(), package.version.as_str());
        let files_key = keys::package_version_files(pid, name, version);
        let ids = self.file_ids(&keys::package_version(pid, name, version), &files_key).await?;
        let others: Vec<u64> = ids.into_iter().filter(|id| *id != file.id).collect();
        let remaining = self.files_by_id(pid, &others).await?;
        let same_name = remaining.iter().filter(|f| f.file_name == file.file_name).max_by_key(|f| f.id);
        let newest = remaining.iter().max_by_key(|f| f.id);
        let pointer = |f: Option<&PackageFile>| f.map(|f| f.id.to_string()).unwrap_or_default();
        let removed: i64 = Script::new(DELETE_FILE)
            .key(keys::package_version(pid, name, version))
            .key(files_key)
            .key(keys::package_file(pid, file.id))
            .arg(file.id)
            .arg(&file.file_name)
            .arg(file.size)
            .arg(pointer(same_name))
            .arg(pointer(newest))
            .invoke_async(&mut self.conn())
            .await?;
        self.files.remove(&(pid, file.id));
        Ok(removed == 1)
    }

    /// Brings data of earlier layouts to the current one: every version hash (listed,
    /// hidden and recycled; see MIGRATE_VERSION) and every file record still in full JSON
    /// (made compact, see [`file_record`]), and every version's ref key moved into its
    /// project's ref hash. Reads understand every layout, so this only
    /// gives memory back; it is idempotent and safe to run while the services write.
    /// Scans the key space, every master of a cluster. Returns what it rewrote.
    pub async fn migrate_layout(&self) -> StoreResult<Migrated> {
        let mut done = Migrated::default();
        for (kind, pattern) in [("pv", "arca:{p*}:pv:*"), ("bin", "arca:{p*}:bin:*")] {
            let names = self.scan_keys(pattern).await?;
            // Names and versions cannot hold ':', so these suffixes are the file ZSETs
            // and metadata hashes of versions, not versions.
            let hashes: Vec<&String> =
                names.iter().filter(|n| !n.ends_with(":files") && !n.ends_with(":meta")).collect();
            for chunk in slot_batches(hashes, 500) {
                let mut pipe = redis::pipe();
                for hash in &chunk {
                    pipe.cmd("EVAL").arg(MIGRATE_VERSION).arg(2).arg(hash).arg(format!("{hash}:files")).arg(kind);
                }
                let changed: Vec<u64> = pipe.query_async(&mut self.conn()).await?;
                done.versions_seen += chunk.len() as u64;
                done.versions_rewritten += changed.iter().filter(|c| **c > 0).count() as u64;
            }
        }
        let names = self.scan_keys("arca:{p*}:pkg:*").await?;
        // `pkg:<id>:shares` are a version's share links, not refs.
        let refs: Vec<&String> =
            names.iter().filter(|n| keys::project_of(n).is_some() && n.rsplit(':').next().is_some_and(is_id)).collect();
        for chunk in slot_batches(refs, 500) {
            let mut pipe = redis::pipe();
            for name in chunk {
                // Both parts were checked above: the pipeline is never empty.
                let (Some(project_id), Some(id)) = (keys::project_of(name), name.rsplit(':').next()) else {
                    continue;
                };
                pipe.cmd("EVAL").arg(MIGRATE_REF).arg(2).arg(name).arg(keys::package_refs(project_id)).arg(id);
            }
            let moved: Vec<u64> = pipe.query_async(&mut self.conn()).await?;
            done.refs_moved += moved.iter().sum::<u64>();
        }
        let names = self.scan_keys("arca:{p*}:file:*").await?;
        for chunk in slot_batches(names.iter().collect(), 500) {
            let raw: Vec<Option<String>> = redis::cmd("MGET").arg(&chunk).query_async(&mut self.conn()).await?;
            let mut pipe = redis::pipe();
            let mut queued = false;
            for (name, old) in chunk.iter().zip(raw) {
                let Some(old) = old.filter(|r| file_record::is_full(r)) else { continue };
                let Some(project_id) = keys::project_of(name) else { continue };
                let file = file_record::decode(project_id, &old).map_err(|e| StoreError::corrupt(name.as_str(), e))?;
                let compact = file_record::encode(&file).map_err(|e| StoreError::corrupt(name.as_str(), e))?;
                let new = file_record::with_package_id(&compact, file.package_id);
                pipe.cmd("EVAL").arg(REPLACE_RECORD).arg(1).arg(name).arg(old).arg(new);
                queued = true;
            }
            if !queued {
                continue;
            }
            let replaced: Vec<u64> = pipe.query_async(&mut self.conn()).await?;
            done.records_rewritten += replaced.iter().sum::<u64>();
        }
        Ok(done)
    }

    /// Queues S3 keys whose metadata is gone, for the cleanup worker.
    pub async fn queue_blob_deletes(&self, blob_keys: &[String]) -> StoreResult<()> {
        if !blob_keys.is_empty() {
            let _: () = self.conn().rpush(keys::BLOB_DELETE_QUEUE, blob_keys).await?;
        }
        Ok(())
    }

    /// Takes up to `count` keys off the blob-delete queue. LPOP with a count is atomic, so
    /// two cleanup workers never take the same keys; the taker re-queues what it fails to
    /// delete.
    /// Takes up to `count` queued blob deletes under a lease until `lease_until` (ms): they
    /// move from the queue to the claimed set in one script, so two replicas never take the
    /// same keys and a worker killed before [`Meta::blob_deletes_done`] loses nothing.
    pub async fn claim_blob_deletes(&self, count: usize, lease_until: u64) -> StoreResult<Vec<String>> {
        Ok(Script::new(CLAIM_BLOB_DELETES)
            .key(keys::BLOB_DELETE_QUEUE)
            .key(keys::BLOB_DELETES_CLAIMED)
            .arg(count)
            .arg(lease_until)
            .invoke_async(&mut self.conn())
            .await?)
    }

    /// The claimed blobs are deleted.
    pub async fn blob_deletes_done(&self, blob_keys: &[String]) -> StoreResult<()> {
        if !blob_keys.is_empty() {
            let _: () = self.conn().zrem(keys::BLOB_DELETES_CLAIMED, blob_keys).await?;
        }
        Ok(())
    }

    /// Puts claims whose lease ended (their worker died or failed) back in the queue;
    /// returns how many.
    pub async fn reclaim_blob_deletes(&self, now: u64) -> StoreResult<u64> {
        let mut total = 0;
        loop {
            let moved: u64 = Script::new(RECLAIM_BLOB_DELETES)
                .key(keys::BLOB_DELETE_QUEUE)
                .key(keys::BLOB_DELETES_CLAIMED)
                .arg(now)
                .invoke_async(&mut self.conn())
                .await?;
            total += moved;
            if moved < 1000 {
                return Ok(total);
            }
        }
    }

    /// Every version of the project that is not in the recycle bin, hidden ones included
    /// (they are in no listing index), read 500 at a time: the ids in the project's ref
    /// hash, and those of its listing index (which also names listed versions whose ref is
    /// still a key of the second layout, such as one an older replica published during an
    /// upgrade, after the migration). No SCAN: on a standalone Redis that walks every key.
    pub async fn project_versions(&self, project_id: u64) -> StoreResult<Vec<Package>> {
        let (mut ids, listed): (Vec<u64>, Vec<u64>) = redis::pipe()
            .hkeys(keys::package_refs(project_id))
            .zrange(keys::packages_by_created(project_id), 0, -1)
            .query_async(&mut self.conn())
            .await?;
        ids.extend(listed);
        ids.sort_unstable();
        ids.dedup();
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            out.extend(self.packages(project_id, chunk).await?);
        }
        Ok(out)
    }

    /// The version `@latest` stands for: of the package's listed versions (hidden and
    /// recycled ones are not listed) that are not disabled, the one first published last
    /// (greatest `created_at`, ties broken by the larger id). One range read of the name
    /// index and one pipelined read of the candidates.
    pub async fn latest_version(&self, project_id: u64, name: &str) -> StoreResult<Option<String>> {
        let members: Vec<String> = self
            .conn()
            .zrangebylex(keys::packages_by_name(project_id), format!("[{name}\0"), format!("({name}\x01"))
            .await?;
        let versions: Vec<&str> = members.iter().filter_map(|m| m.split('\0').nth(1)).collect();
        if versions.is_empty() {
            return Ok(None);
        }
        let mut pipe = redis::pipe();
        for v in &versions {
            pipe.cmd("HMGET")
                .arg(keys::package_version(project_id, name, v))
                .arg("id")
                .arg("created_at")
                .arg("disabled");
        }
        let rows: Vec<(Option<u64>, Option<u64>, Option<String>)> = pipe.query_async(&mut self.conn()).await?;
        Ok(versions
            .iter()
            .zip(rows)
            .filter_map(|(v, (id, created_at, disabled))| {
                (disabled.as_deref() != Some("1")).then_some(((created_at?, id?), *v))
            })
            .max_by_key(|(order, _)| *order)
            .map(|(_, v)| v.to_owned()))
    }

    pub async fn list_packages(&self, project_id: u64, q: &ListQuery) -> StoreResult<(u64, Vec<Package>)> {
        let lex_key = match q.order {
            Order::Version => keys::packages_by_version(project_id),
            _ => keys::packages_by_name(project_id),
        };
        if q.name.is_none() && q.version.is_none() {
            let key = if q.order == Order::CreatedAt { keys::packages_by_created(project_id) } else { lex_key };
            let total: u64 = self.conn().zcard(&key).await?;
            if q.limit == 0 || q.offset >= total {
                return Ok((total, Vec::new()));
            }
            let (start, stop) = (q.offset as isize, (q.offset + q.limit - 1) as isize);
            let members: Vec<String> = if q.desc {
                self.conn().zrevrange(&key, start, stop).await?
            } else {
                self.conn().zrange(&key, start, stop).await?
            };
            let ids: Vec<u64> = members.iter().filter_map(|m| member_id(m)).collect();
            return Ok((total, self.packages(project_id, &ids).await?));
        }
        // Filtered: match server-side with ZSCAN over the name index (members are
        // `name\0version\0id`; the pattern keeps the substring inside the name part).
        let needle = q.name.as_deref().map(case_insensitive_glob).unwrap_or_default();
        let version = q.version.as_deref().unwrap_or("*");
        let pattern = format!("*{needle}*\0{version}\0*");
        let mut matches: Vec<(String, String, u64)> = Vec::new();
        {
            let mut conn = self.conn();
            let mut iter: redis::AsyncIter<(String, f64)> =
                conn.zscan_match(keys::packages_by_name(project_id), &pattern).await?;
            while let Some(item) = iter.next_item().await {
                let (member, _) = item?;
                let mut parts = member.splitn(3, '\0');
                let (Some(n), Some(v), Some(id)) =
                    (parts.next(), parts.next(), parts.next().and_then(|i| i.parse().ok()))
                else {
                    continue;
                };
                matches.push((n.to_owned(), v.to_owned(), id));
            }
        }
        match q.order {
            Order::CreatedAt => matches.sort_by_key(|m| m.2),
            Order::Name => matches.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1))),
            Order::Version => matches.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0))),
        }
        if q.desc {
            matches.reverse();
        }
        let total = matches.len() as u64;
        let ids: Vec<u64> = matches.iter().skip(q.offset as usize).take(q.limit as usize).map(|m| m.2).collect();
        Ok((total, self.packages(project_id, &ids).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_ignore_case_and_members_end_in_ids() {
        assert_eq!(case_insensitive_glob("aB-1"), "[aA][bB]-1");
        assert_eq!(member_id("tool\u{0}1.0\u{0}42"), Some(42));
        assert_eq!(member_id("garbage"), None);
    }
}
