//! The Redis connection: one multiplexed connection per process that reconnects on its
//! own (`ConnectionManager`), or a cluster connection. Both sit behind [`Redis`], which
//! every store module uses as a `redis::aio::ConnectionLike`.
//!
//! Commands time out quickly so that a Redis outage turns into a fast 503, never a hang.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};

use crate::config::RedisConfig;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone)]
pub enum Redis {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
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
        if cfg.cluster {
            let client = redis::cluster::ClusterClientBuilder::new(vec![cfg.url.clone()])
                .connection_timeout(CONNECT_TIMEOUT)
                .response_timeout(RESPONSE_TIMEOUT)
                .build()?;
            Ok(Self::Cluster(client.get_async_connection().await?))
        } else {
            let client = redis::Client::open(cfg.url.as_str())?;
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(CONNECT_TIMEOUT))
                .set_response_timeout(Some(RESPONSE_TIMEOUT))
                .set_number_of_retries(2)
                .set_max_delay(Duration::from_millis(500));
            Ok(Self::Single(ConnectionManager::new_with_config(client, config).await?))
        }
    }

    pub async fn ping(&mut self) -> redis::RedisResult<()> {
        redis::cmd("PING").query_async::<String>(self).await.map(|_| ())
    }
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

impl ConnectionLike for Redis {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        observed(
            "command",
            match self {
                Self::Single(c) => c.req_packed_command(cmd),
                Self::Cluster(c) => c.req_packed_command(cmd),
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
            },
        )
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}
