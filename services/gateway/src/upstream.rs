//! Upstream pools: round-robin over a service's replicas, skipping for a moment any that
//! just refused a connection (passive health checking).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use arca_shared::time::now_ms;

/// How long a replica that refused a connection is skipped.
const DOWN_FOR: Duration = Duration::from_secs(2);

pub struct Upstream {
    pub base: String,
    down_until_ms: AtomicU64,
}

pub struct Pool {
    pub name: &'static str,
    upstreams: Vec<Upstream>,
    next: AtomicUsize,
}

impl Pool {
    pub fn new(name: &'static str, urls: &[String]) -> Self {
        Self {
            name,
            upstreams: urls.iter().map(|u| Upstream { base: u.clone(), down_until_ms: AtomicU64::new(0) }).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// The replicas in the order to try them: round-robin, the ones marked down last
    /// (still tried, so a pool whose replicas all restarted recovers at once).
    pub fn order(&self) -> Vec<&Upstream> {
        let n = self.upstreams.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let now = now_ms();
        let (mut up, down): (Vec<&Upstream>, Vec<&Upstream>) = (0..n)
            .map(|i| &self.upstreams[(start + i) % n])
            .partition(|u| u.down_until_ms.load(Ordering::Relaxed) <= now);
        up.extend(down);
        up
    }

    pub fn all(&self) -> &[Upstream] {
        &self.upstreams
    }
}

impl Upstream {
    pub fn mark_down(&self) {
        self.down_until_ms.store(now_ms() + DOWN_FOR.as_millis() as u64, Ordering::Relaxed);
    }

    pub fn mark_up(&self) {
        self.down_until_ms.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_skips_replicas_marked_down() {
        let pool = Pool::new("t", &["http://a".into(), "http://b".into(), "http://c".into()]);
        let firsts: Vec<String> = (0..3).map(|_| pool.order()[0].base.clone()).collect();
        assert_eq!(firsts, ["http://a", "http://b", "http://c"]);
        pool.all()[1].mark_down();
        for _ in 0..6 {
            let order = pool.order();
            assert_ne!(order[0].base, "http://b");
            assert_eq!(order.last().map(|u| u.base.as_str()), Some("http://b"));
        }
        pool.all()[1].mark_up();
        assert!((0..3).any(|_| pool.order()[0].base == "http://b"));
    }
}
