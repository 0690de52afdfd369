//! A short-lived, in-process memory of what authorization reads from Redis: who a token
//! is, a project by id or path, a user's member level, a job-token allowlist entry.
//!
//! A redirect needs all four before its one read of the file. Remembering them for less
//! than a second (`ARCA_AUTH_CACHE_TTL`, at most 1 s, default 500 ms) takes them off the
//! hot path, and keeps arca's promise that every change to what a principal may do (a
//! token revoked, a job ended, a member removed, an allowlist entry removed, a session
//! ended) takes effect within one second. Only successful look-ups are remembered: an
//! unknown or refused token is asked about again every time. What is decided per file
//! (disabled, recycled, gone) is never cached.

use std::future::Future;
use std::hash::Hash;
use std::time::{Duration, Instant};

use crate::auth::Principal;
use crate::model::Project;

/// Entries per map: far more than the tokens and projects in use at any one second.
const CAPACITY: usize = 50_000;

/// One map whose entries live `ttl` from the moment their look-up started; with a zero
/// `ttl` it remembers nothing and every look-up goes to Redis.
pub struct TtlMap<K, V> {
    ttl: Duration,
    entries: Option<quick_cache::sync::Cache<K, (Instant, V)>>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlMap<K, V> {
    fn new(ttl: Duration) -> Self {
        Self { ttl, entries: (!ttl.is_zero()).then(|| quick_cache::sync::Cache::new(CAPACITY)) }
    }

    /// The remembered value, or `load`'s (remembered when it succeeds).
    pub async fn get_or<E>(&self, key: K, load: impl Future<Output = Result<V, E>>) -> Result<V, E> {
        let Some(entries) = &self.entries else { return load.await };
        if let Some((at, v)) = entries.get(&key)
            && at.elapsed() < self.ttl
        {
            return Ok(v);
        }
        // Timed from before the read: what Redis said is at most `ttl` old when used.
        let started = Instant::now();
        let v = load.await?;
        entries.insert(key, (started, v.clone()));
        Ok(v)
    }
}

pub struct AuthCache {
    /// By the SHA-256 of the token (or of the console session id, prefixed `s:`).
    pub principals: TtlMap<String, Principal>,
    /// By `:id` as the request spelled it; only projects that exist.
    pub projects: TtlMap<String, Project>,
    /// `(project id, user id)` -> member level.
    pub members: TtlMap<(u64, u64), Option<u8>>,
    /// `(project id, project id of a job)` -> listed in the first's allowlist.
    pub allowlist: TtlMap<(u64, u64), bool>,
}

impl AuthCache {
    /// With a zero `ttl`, every look-up goes to Redis.
    pub fn new(ttl: Duration) -> Self {
        Self {
            principals: TtlMap::new(ttl),
            projects: TtlMap::new(ttl),
            members: TtlMap::new(ttl),
            allowlist: TtlMap::new(ttl),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entries_live_no_longer_than_the_ttl_and_failures_are_not_kept() {
        let map: TtlMap<u32, u32> = TtlMap::new(Duration::from_millis(50));
        assert_eq!(map.get_or::<()>(1, async { Ok(10) }).await, Ok(10));
        assert_eq!(map.get_or::<()>(1, async { Ok(11) }).await, Ok(10), "remembered");
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(map.get_or::<()>(1, async { Ok(12) }).await, Ok(12), "asked again after the ttl");
        assert_eq!(map.get_or(2, async { Err("down") }).await, Err("down"));
        assert_eq!(map.get_or::<&str>(2, async { Ok(20) }).await, Ok(20), "a failure is not remembered");
        let off: TtlMap<u32, u32> = TtlMap::new(Duration::ZERO);
        assert_eq!(off.get_or::<()>(1, async { Ok(10) }).await, Ok(10));
        assert_eq!(off.get_or::<()>(1, async { Ok(11) }).await, Ok(11), "a zero ttl remembers nothing");
    }
}
