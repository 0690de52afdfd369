//! The metadata store on Redis: typed reads and atomic writes over the key schema of
//! [`crate::keys`]. Records are JSON strings; writes that must not half-happen run in a
//! MULTI or a Lua script whose keys share one cluster slot.

mod ci;
mod error;
pub mod file_record;
pub mod hooks;
pub mod packages;
mod projects;
pub mod purge;
pub mod sessions;
pub mod shares;
pub mod sweep;
mod tokens;
mod users;
pub mod versions;

use std::sync::Arc;

use redis::AsyncCommands;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::db::Redis;
use crate::model::PackageFile;

pub use ci::{Added, ArtifactRef, NewJob};
pub use error::{StoreError, StoreResult};
pub use hooks::Delivery;
pub use purge::ProjectDeletion;
pub use tokens::TokenRef;

/// Package file records remembered per process (a few hundred bytes each).
const FILE_CACHE_CAPACITY: usize = 10_000;

#[derive(Clone)]
pub struct Meta {
    redis: Redis,
    /// `(project id, file id)` -> the file's record. Records are written once and never
    /// change, so a remembered one is right for as long as the file exists; looked up only
    /// by ids just read from a version (see `files_by_id`).
    files: Arc<quick_cache::sync::Cache<(u64, u64), PackageFile>>,
}

impl Meta {
    pub fn new(redis: Redis) -> Self {
        Self { redis, files: Arc::new(quick_cache::sync::Cache::new(FILE_CACHE_CAPACITY)) }
    }

    /// A connection handle; cheap to clone, multiplexed underneath.
    pub fn conn(&self) -> Redis {
        self.redis.clone()
    }

    pub async fn ping(&self) -> redis::RedisResult<()> {
        self.conn().ping().await
    }

    async fn get_json<T: DeserializeOwned>(&self, key: &str) -> StoreResult<Option<T>> {
        let raw: Option<String> = self.conn().get(key).await?;
        raw.map(|s| serde_json::from_str(&s).map_err(|e| StoreError::corrupt(key, e))).transpose()
    }

    /// The records under `keys`, in their order; keys without one are left out. One MGET, so
    /// the keys must share a cluster slot.
    async fn get_json_many<T: DeserializeOwned>(&self, keys: &[String], what: &str) -> StoreResult<Vec<T>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let raw: Vec<Option<String>> = redis::cmd("MGET").arg(keys).query_async(&mut self.conn()).await?;
        raw.into_iter().flatten().map(|r| serde_json::from_str(&r).map_err(|e| StoreError::corrupt(what, e))).collect()
    }

    /// Every record whose id `seq` handed out, oldest first: ids come from one counter, so
    /// they are read by id in MGET batches of 500 (`key` must keep them in one slot).
    async fn all_by_id<T: DeserializeOwned>(
        &self,
        seq: &str,
        key: fn(u64) -> String,
        what: &str,
    ) -> StoreResult<Vec<T>> {
        let last: Option<u64> = self.conn().get(seq).await?;
        let ids: Vec<u64> = (1..=last.unwrap_or(0)).collect();
        let mut out = Vec::new();
        for batch in ids.chunks(500) {
            let keys: Vec<String> = batch.iter().map(|id| key(*id)).collect();
            out.extend(self.get_json_many(&keys, what).await?);
        }
        Ok(out)
    }

    /// Every key matching `pattern`, by SCAN. On Redis Cluster this reads the node the
    /// connection reaches (docs/ARCHITECTURE.md, "The cleanup worker").
    /// Every key matching `pattern`, on every master of a cluster.
    async fn scan_keys(&self, pattern: &str) -> StoreResult<Vec<String>> {
        Ok(self.conn().scan_all(pattern).await?)
    }

    /// A page of a LIST of JSON records (kept newest first): `(total, page)`. Entries that do
    /// not read as `T` are left out.
    async fn list_page<T: DeserializeOwned>(&self, key: &str, offset: u64, limit: u64) -> StoreResult<(u64, Vec<T>)> {
        let total: u64 = self.conn().llen(key).await?;
        if limit == 0 {
            return Ok((total, Vec::new()));
        }
        let raw: Vec<String> = self.conn().lrange(key, offset as isize, (offset + limit - 1) as isize).await?;
        Ok((total, raw.iter().filter_map(|r| serde_json::from_str(r).ok()).collect()))
    }

    async fn next_id(&self, seq_key: &str) -> StoreResult<u64> {
        Ok(self.conn().incr(seq_key, 1u64).await?)
    }
}

/// Key names in batches of at most `size` whose keys share a hash tag, so that a pipeline
/// of one batch stays in one cluster slot (Redis Cluster refuses a pipeline that crosses
/// slots). Names keep their order within a tag.
fn slot_batches(names: Vec<&String>, size: usize) -> Vec<Vec<&String>> {
    let tag = |n: &str| n.split_once('{').and_then(|(_, r)| r.split_once('}')).map(|(t, _)| t.to_owned());
    let mut by_tag: std::collections::BTreeMap<Option<String>, Vec<&String>> = Default::default();
    for name in names {
        by_tag.entry(tag(name)).or_default().push(name);
    }
    by_tag.into_values().flat_map(|group| group.chunks(size).map(<[_]>::to_vec).collect::<Vec<_>>()).collect()
}

fn to_json<T: Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::corrupt("serialize record", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_batches_never_mix_hash_tags() {
        let names: Vec<String> =
            ["arca:{p1}:a", "arca:{p2}:a", "arca:{p1}:b", "arca:{p1}:c", "untagged"].map(String::from).to_vec();
        let batches = slot_batches(names.iter().collect(), 2);
        let as_str: Vec<Vec<&str>> = batches.iter().map(|b| b.iter().map(|n| n.as_str()).collect()).collect();
        assert_eq!(
            as_str,
            [vec!["untagged"], vec!["arca:{p1}:a", "arca:{p1}:b"], vec!["arca:{p1}:c"], vec!["arca:{p2}:a"]]
        );
    }
}
