//! Download counters, batched. A redirect only notes the download in memory; a flusher
//! writes the sums to Redis every [`FLUSH_EVERY`], one pipeline per project (one round
//! trip for many downloads, and within one cluster slot), so counts are visible within a
//! second. A flush that fails keeps its counts for the next one, and the download service
//! flushes once more after its last request on SIGTERM: a served download is not lost to
//! a Redis blip or a rolling update (a SIGKILL loses at most the last quarter second).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::meta::Meta;

/// How often counts reach Redis.
pub const FLUSH_EVERY: Duration = Duration::from_millis(250);

/// A version, as its Redis hash names it.
type Version = (u64, String, String);

#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tally {
    pub count: u64,
    /// Unix ms of the latest download.
    pub last_at: u64,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.count += other.count;
        self.last_at = self.last_at.max(other.last_at);
    }
}

pub struct DownloadCounts {
    meta: Meta,
    pending: Mutex<HashMap<Version, Tally>>,
}

impl DownloadCounts {
    /// The counter, with its flusher running for as long as the counter lives.
    pub fn start(meta: Meta) -> Arc<Self> {
        let counts = Arc::new(Self { meta, pending: Mutex::new(HashMap::new()) });
        tokio::spawn(flusher(Arc::downgrade(&counts)));
        counts
    }

    pub fn record(&self, project_id: u64, name: &str, version: &str, at_ms: u64) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending
            .entry((project_id, name.to_owned(), version.to_owned()))
            .or_default()
            .add(Tally { count: 1, last_at: at_ms });
    }

    /// Writes what has been counted so far. What Redis did not take is kept for the next
    /// flush.
    pub async fn flush(&self) {
        let taken = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        if taken.is_empty() {
            return;
        }
        let mut by_project: HashMap<u64, Vec<(String, String, Tally)>> = HashMap::new();
        for ((pid, name, version), tally) in taken {
            by_project.entry(pid).or_default().push((name, version, tally));
        }
        for (pid, versions) in by_project {
            if let Err(e) = self.meta.add_downloads(pid, &versions).await {
                tracing::warn!(project_id = pid, versions = versions.len(), error = %e, "download counts kept for the next flush");
                let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                for (name, version, t) in versions {
                    pending.entry((pid, name, version)).or_default().add(t);
                }
            }
        }
    }
}

async fn flusher(counts: Weak<DownloadCounts>) {
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(counts) = counts.upgrade() else { return };
        counts.flush().await;
    }
}
