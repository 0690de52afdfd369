//! Failed-authentication limiting: a client whose credentials keep being refused (401 from
//! a service) is answered 429 with `Retry-After` for a while, so tokens cannot be guessed at
//! line rate.
//!
//! Each client has a leaky bucket: every 401 adds one, the bucket drains at `limit` per
//! `window`, and a client whose bucket holds `limit` is refused until it has drained by one.
//! A CI fleet behind one NAT address with a few stale tokens keeps working; a guesser gets
//! `limit` tries per window. The state lives in the gateway's memory: with several gateway
//! replicas the effective limit is per replica, which still caps guessing at a few per
//! second instead of thousands.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use arca_shared::config::{ConfigError, Source};
use http::HeaderMap;
use ipnet::IpNet;

/// More clients than this and buckets that have drained are forgotten; if every one is
/// still full, new clients are not tracked until some drain (memory stays bounded).
const MAX_CLIENTS: usize = 100_000;

#[derive(Clone, Debug)]
pub struct LimitConfig {
    /// Refused authentications a client may have per `window`; 0 turns limiting off.
    pub limit: u32,
    pub window: Duration,
    /// Proxies in front of the gateway (a load balancer, an ingress controller) whose
    /// `X-Forwarded-For` names the real client. Without them every client behind the
    /// ingress would share one bucket, and with blind trust anyone could pick their own.
    pub trusted_proxies: Vec<IpNet>,
}

const DEFAULT_LIMIT: u32 = 30;
const DEFAULT_WINDOW: Duration = Duration::from_secs(60);

impl Default for LimitConfig {
    fn default() -> Self {
        Self { limit: DEFAULT_LIMIT, window: DEFAULT_WINDOW, trusted_proxies: Vec::new() }
    }
}

impl LimitConfig {
    pub fn from_source(src: &Source) -> Result<Self, ConfigError> {
        let limit = src.number("ARCA_AUTH_FAILURE_LIMIT", u64::from(DEFAULT_LIMIT))?;
        let limit = u32::try_from(limit).map_err(|_| ConfigError {
            name: "ARCA_AUTH_FAILURE_LIMIT".into(),
            reason: format!("at most {}", u32::MAX),
        })?;
        let window = src.duration("ARCA_AUTH_FAILURE_WINDOW", DEFAULT_WINDOW)?;
        if window.is_zero() {
            return Err(ConfigError { name: "ARCA_AUTH_FAILURE_WINDOW".into(), reason: "must not be zero".into() });
        }
        let trusted_proxies = src.parsed("ARCA_TRUSTED_PROXIES", Vec::new(), parse_networks)?;
        Ok(Self { limit, window, trusted_proxies })
    }
}

/// `10.0.0.0/8, 192.168.1.7`: networks, or single addresses.
fn parse_networks(raw: &str) -> Result<Vec<IpNet>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("not an address or network: {s:?}"))
        })
        .collect()
}

struct Bucket {
    level: f64,
    updated: Instant,
}

pub struct AuthLimiter {
    config: LimitConfig,
    /// Drain per second.
    rate: f64,
    /// Read on every proxied request (`check`), written only on a refused authentication.
    buckets: RwLock<HashMap<IpAddr, Bucket>>,
}

impl AuthLimiter {
    pub fn new(config: LimitConfig) -> Self {
        let rate = f64::from(config.limit) / config.window.as_secs_f64();
        Self { config, rate, buckets: RwLock::new(HashMap::new()) }
    }

    /// The client a request comes from: the peer, or, when the peer is a trusted proxy, the
    /// right-most address in `X-Forwarded-For` that is not itself a trusted proxy.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.is_trusted(peer) {
            return peer;
        }
        let hops: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|hop| hop.trim().parse().ok())
            .collect();
        hops.into_iter().rev().find(|ip| !self.is_trusted(*ip)).unwrap_or(peer)
    }

    /// Is `ip` one of `ARCA_TRUSTED_PROXIES`?
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        self.config.trusted_proxies.iter().any(|net| net.contains(&ip))
    }

    /// `Some(seconds to wait)` when the client has used up its refused authentications.
    pub fn check(&self, client: IpAddr) -> Option<u64> {
        if self.config.limit == 0 {
            return None;
        }
        let buckets = self.buckets.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let level = self.level(buckets.get(&client)?, Instant::now());
        let full = f64::from(self.config.limit);
        if level + 1.0 > full {
            // Until one more failure fits.
            let wait = (level + 1.0 - full) / self.rate;
            Some(wait.ceil().max(1.0) as u64)
        } else {
            None
        }
    }

    /// Counts one refused authentication against `client`.
    pub fn failed(&self, client: IpAddr) {
        if self.config.limit == 0 {
            return;
        }
        let now = Instant::now();
        let mut buckets = self.buckets.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !buckets.contains_key(&client) && buckets.len() >= MAX_CLIENTS {
            buckets.retain(|_, b| self.level(b, now) > 0.0);
            if buckets.len() >= MAX_CLIENTS {
                return;
            }
        }
        let bucket = buckets.entry(client).or_insert(Bucket { level: 0.0, updated: now });
        *bucket = Bucket { level: self.level(bucket, now) + 1.0, updated: now };
    }

    /// What `bucket` holds at `now`, having drained since it was last filled.
    fn level(&self, bucket: &Bucket, now: Instant) -> f64 {
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        (bucket.level - elapsed * self.rate).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn limiter(limit: u32, window: Duration, trusted: &str) -> AuthLimiter {
        AuthLimiter::new(LimitConfig { limit, window, trusted_proxies: parse_networks(trusted).expect("networks") })
    }

    #[test]
    fn a_client_is_refused_after_limit_failures_and_others_are_not() {
        let l = limiter(3, Duration::from_secs(60), "");
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        let b: IpAddr = "10.0.0.2".parse().expect("ip");
        for _ in 0..3 {
            assert_eq!(l.check(a), None);
            l.failed(a);
        }
        // Full: one more fits after 60/3 = 20 s.
        let wait = l.check(a).expect("limited");
        assert!((19..=20).contains(&wait), "wait {wait}");
        assert_eq!(l.check(b), None);
    }

    #[test]
    fn the_bucket_drains_over_the_window() {
        let l = limiter(2, Duration::from_millis(200), "");
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        l.failed(a);
        l.failed(a);
        assert!(l.check(a).is_some());
        std::thread::sleep(Duration::from_millis(120));
        assert_eq!(l.check(a), None);
    }

    #[test]
    fn zero_turns_limiting_off() {
        let l = limiter(0, Duration::from_secs(60), "");
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        for _ in 0..100 {
            l.failed(a);
        }
        assert_eq!(l.check(a), None);
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let l = limiter(3, Duration::from_secs(60), "10.1.0.0/16, 127.0.0.1");
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6, 203.0.113.9, 10.1.2.3"));
        // From a proxy we trust: the right-most hop that is not one of ours.
        assert_eq!(l.client("127.0.0.1".parse().expect("ip"), &h), "203.0.113.9".parse::<IpAddr>().expect("ip"));
        // From anyone else the header is the client's own claim.
        assert_eq!(l.client("198.51.100.4".parse().expect("ip"), &h), "198.51.100.4".parse::<IpAddr>().expect("ip"));
        assert!(parse_networks("10.0.0.0/33").is_err());
        assert!(parse_networks("nonsense").is_err());
    }
}
