//! The Redis connection: one multiplexed connection per process that reconnects on its
//! own (`ConnectionManager`), a cluster connection, or a master found through Redis
//! Sentinel (a `ConnectionManager` to it, replaced when the sentinels name another). All
//! sit behind [`Redis`], which every store module uses as a `redis::aio::ConnectionLike`.
//!
//! Commands time out quickly so that a Redis outage turns into a fast 503, never a hang.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{Cmd, IntoConnectionInfo, Pipeline, RedisError, RedisFuture, Value};

use crate::config::{RedisConfig, SentinelConfig};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone)]
pub enum Redis {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
    Sentinel(SentinelConnection),
}

fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_millis(500))
}

impl Redis {
    /// Connects, retrying until Redis answers: a pod that starts before Redis waits for it
    /// (and reports not-ready) instead of crash-looping.
    pub async fn connect(cfg: &RedisConfig) -> anyhow::Result<Self> {
        let mut delay = Duration::from_millis(100);
        loop {
            match Self::try_connect(cfg).await {
                Ok(conn) => return Ok(conn),
                Err(e) if e.is_io_error() || e.is_timeout() || e.is_connection_refusal() => {
                    tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "redis not reachable yet");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(anyhow::anyhow!("ARCA_REDIS_URL: {e}")),
            }
        }
    }

    async fn try_connect(cfg: &RedisConfig) -> redis::RedisResult<Self> {
        if let Some(sentinel) = &cfg.sentinel {
            return Ok(Self::Sentinel(SentinelConnection::connect(cfg, sentinel).await?));
        }
        if cfg.cluster {
            let client = redis::cluster::ClusterClientBuilder::new(vec![cfg.url.clone()])
                .connection_timeout(CONNECT_TIMEOUT)
                .response_timeout(RESPONSE_TIMEOUT)
                .build()?;
            Ok(Self::Cluster(client.get_async_connection().await?))
        } else {
            let client = redis::Client::open(cfg.url.as_str())?;
            Ok(Self::Single(ConnectionManager::new_with_config(client, manager_config()).await?))
        }
    }

    pub async fn ping(&mut self) -> redis::RedisResult<()> {
        redis::cmd("PING").query_async::<String>(self).await.map(|_| ())
    }
}

/// The master the sentinels name, shared by every clone of the connection.
struct SentinelState {
    sentinels: tokio::sync::Mutex<SentinelClient>,
    /// The master's address and a connection to it.
    current: RwLock<(String, ConnectionManager)>,
    /// Bumped whenever `current` changes, so clones notice cheaply.
    generation: AtomicU64,
    asking: AtomicBool,
}

/// A connection to the master of a Sentinel-managed Redis. A command that fails the way a
/// failover makes commands fail (the master unreachable, or answering READONLY because it
/// came back as a replica) makes the connection ask the sentinels again; when they name
/// another master, every clone moves to it. The failed command itself is not retried: its
/// request gets a 503 and the client's retry reaches the new master.
#[derive(Clone)]
pub struct SentinelConnection {
    state: Arc<SentinelState>,
    conn: ConnectionManager,
    generation: u64,
}

impl SentinelConnection {
    async fn connect(cfg: &RedisConfig, sentinel: &SentinelConfig) -> redis::RedisResult<Self> {
        // Credentials and database for the master come from the URL arca was given.
        let master_info = cfg.url.as_str().into_connection_info()?.redis_settings().clone();
        let nodes: Vec<String> = sentinel.nodes.iter().map(|n| format!("redis://{n}")).collect();
        let mut sentinels = SentinelClient::build(
            nodes,
            sentinel.master.clone(),
            Some(SentinelNodeConnectionInfo::default().set_redis_connection_info(master_info)),
            SentinelServerType::Master,
        )?;
        let (addr, conn) = Self::open_master(&mut sentinels).await?;
        tracing::info!(master = %addr, name = %sentinel.master, "redis master found through sentinel");
        let state = SentinelState {
            sentinels: tokio::sync::Mutex::new(sentinels),
            current: RwLock::new((addr, conn.clone())),
            generation: AtomicU64::new(0),
            asking: AtomicBool::new(false),
        };
        Ok(Self { state: Arc::new(state), conn, generation: 0 })
    }

    async fn open_master(sentinels: &mut SentinelClient) -> redis::RedisResult<(String, ConnectionManager)> {
        let client = sentinels.async_get_client().await?;
        let addr = client.get_connection_info().addr().to_string();
        let conn = ConnectionManager::new_with_config(client, manager_config()).await?;
        Ok((addr, conn))
    }

    /// Moves this clone to the newest master connection, if there is one.
    fn catch_up(&mut self) {
        let generation = self.state.generation.load(Ordering::Acquire);
        if generation != self.generation {
            let current = self.state.current.read().unwrap_or_else(|poisoned| poisoned.into_inner());
            self.conn = current.1.clone();
            self.generation = generation;
        }
    }

    /// Asks the sentinels for the master in the background (one question at a time).
    fn ask_again(state: Arc<SentinelState>) {
        if state.asking.swap(true, Ordering::AcqRel) {
            return;
        }
        tokio::spawn(async move {
            let mut sentinels = state.sentinels.lock().await;
            let named = sentinels.async_get_client().await;
            drop(sentinels);
            let known = state.current.read().unwrap_or_else(|poisoned| poisoned.into_inner()).0.clone();
            match named {
                Ok(client) if client.get_connection_info().addr().to_string() != known => {
                    let addr = client.get_connection_info().addr().to_string();
                    match ConnectionManager::new_with_config(client, manager_config()).await {
                        Ok(conn) => {
                            tracing::warn!(from = %known, to = %addr, "redis master changed (sentinel failover)");
                            *state.current.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = (addr, conn);
                            state.generation.fetch_add(1, Ordering::AcqRel);
                        }
                        Err(e) => tracing::warn!(master = %addr, error = %e, "cannot reach the new redis master yet"),
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "asking the sentinels for the redis master failed"),
            }
            state.asking.store(false, Ordering::Release);
        });
    }

    fn watched<'a, T: Send + 'a>(state: Arc<SentinelState>, fut: RedisFuture<'a, T>) -> RedisFuture<'a, T> {
        Box::pin(async move {
            let result = fut.await;
            if let Err(e) = &result
                && failover_hint(e)
            {
                Self::ask_again(state);
            }
            result
        })
    }
}

/// How commands fail while a failover is under way or just done.
fn failover_hint(e: &RedisError) -> bool {
    use redis::{ErrorKind, ServerErrorKind};
    e.is_io_error()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
        || e.is_timeout()
        || matches!(e.kind(), ErrorKind::Server(ServerErrorKind::ReadOnly | ServerErrorKind::MasterDown))
}

/// Times a command or pipeline and counts its failure (`arca_redis_*`).
fn observed<'a, T: Send + 'a>(kind: &'static str, fut: RedisFuture<'a, T>) -> RedisFuture<'a, T> {
    Box::pin(async move {
        let started = std::time::Instant::now();
        let result = fut.await;
        crate::metrics::REDIS_DURATION.with_label_values(&[kind]).observe(started.elapsed().as_secs_f64());
        if result.is_err() {
            crate::metrics::REDIS_ERRORS.with_label_values(&[kind]).inc();
        }
        result
    })
}

impl Redis {
    /// The names of every key matching `pattern`. On Redis Cluster each master is scanned
    /// in turn (a plain SCAN would read one node): the masters come from `CLUSTER SLOTS`,
    /// and each SCAN is routed to its master by address.
    pub async fn scan_all(&mut self, pattern: &str) -> redis::RedisResult<Vec<String>> {
        use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
        let Self::Cluster(cluster) = self else { return self.scan_here(pattern).await };
        let slots = redis::cmd("CLUSTER").arg("SLOTS").clone();
        let slots = cluster.route_command(slots, RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random)).await?;
        let mut masters: Vec<(String, u16)> = Vec::new();
        for range in redis::from_redis_value::<Vec<Vec<redis::Value>>>(slots)? {
            // [start, end, [host, port, id, ...] (the master), replicas...]
            let Some(master) = range.get(2) else { continue };
            let node: Vec<redis::Value> = redis::from_redis_value(master.clone())?;
            let (Some(host), Some(port)) = (node.first(), node.get(1)) else { continue };
            let host: String = redis::from_redis_value(host.clone())?;
            let port: u16 = redis::from_redis_value(port.clone())?;
            if !masters.contains(&(host.clone(), port)) {
                masters.push((host, port));
            }
        }
        let mut names = Vec::new();
        for (host, port) in masters {
            let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress { host, port });
            names.extend(scan_node(cluster, route, pattern).await?);
        }
        Ok(names)
    }

    /// The names of the keys matching `pattern`, every one of which carries the hash tag of
    /// `slot_key`: on Redis Cluster the SCAN goes to the master serving that slot (a plain
    /// SCAN would read whichever node the connection picks).
    pub async fn scan_slot(&mut self, slot_key: &str, pattern: &str) -> redis::RedisResult<Vec<String>> {
        use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
        let Self::Cluster(cluster) = self else { return self.scan_here(pattern).await };
        let route = Route::with_key(slot_key.as_bytes(), SlotAddr::Master);
        scan_node(cluster, RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route)), pattern).await
    }

    /// A SCAN through this connection (one server: standalone or a Sentinel's master).
    async fn scan_here(&mut self, pattern: &str) -> redis::RedisResult<Vec<String>> {
        let mut iter: redis::AsyncIter<String> = redis::AsyncCommands::scan_match(self, pattern).await?;
        let mut names = Vec::new();
        while let Some(name) = iter.next_item().await {
            names.push(name?);
        }
        Ok(names)
    }
}

/// Every key matching `pattern` on one cluster node, a SCAN cursor loop routed to it.
async fn scan_node(
    cluster: &mut ClusterConnection,
    route: redis::cluster_routing::RoutingInfo,
    pattern: &str,
) -> redis::RedisResult<Vec<String>> {
    let mut names = Vec::new();
    let mut cursor = 0u64;
    loop {
        let mut cmd = redis::cmd("SCAN");
        cmd.arg(cursor).arg("MATCH").arg(pattern).arg("COUNT").arg(1000);
        let reply = cluster.route_command(cmd, route.clone()).await?;
        let (next, batch): (u64, Vec<String>) = redis::from_redis_value(reply)?;
        names.extend(batch);
        if next == 0 {
            return Ok(names);
        }
        cursor = next;
    }
}

impl ConnectionLike for Redis {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        observed(
            "command",
            match self {
                Self::Single(c) => c.req_packed_command(cmd),
                Self::Cluster(c) => c.req_packed_command(cmd),
                Self::Sentinel(s) => {
                    s.catch_up();
                    let state = s.state.clone();
                    SentinelConnection::watched(state, s.conn.req_packed_command(cmd))
                }
            },
        )
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        observed(
            "pipeline",
            match self {
                Self::Single(c) => c.req_packed_commands(cmd, offset, count),
                Self::Cluster(c) => c.req_packed_commands(cmd, offset, count),
                Self::Sentinel(s) => {
                    s.catch_up();
                    let state = s.state.clone();
                    SentinelConnection::watched(state, s.conn.req_packed_commands(cmd, offset, count))
                }
            },
        )
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
            Self::Sentinel(s) => s.conn.get_db(),
        }
    }
}
