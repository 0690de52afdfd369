//! Webhook deliveries: a loop beside the cleanup passes that takes due deliveries from the
//! Redis queue and POSTs them, at most `ARCA_WEBHOOK_CONCURRENCY` at once per replica and a
//! quarter of that per hook (a hanging receiver cannot take every slot).
//!
//! At least once: a delivery leaves the queue only after the receiver answered 2xx (or it
//! was abandoned, or its hook is gone). Taking one holds it for a lease longer than an
//! attempt can last, so replicas never send the same delivery at once; a replica killed
//! mid-attempt leaves it to be sent again when the lease runs out (the receiver then sees
//! the same `X-Arca-Delivery` twice). Failed attempts are retried with exponential backoff
//! from 1 s (at most an hour apart) for `ARCA_WEBHOOK_RETRY_FOR` after the event.
//!
//! Every attempt resolves the hook's host anew, checks every address, and connects only to
//! those: a name that now resolves to a private or metadata address reaches nothing.
//! Redirects are answers, never followed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use arca_shared::AppState;
use arca_shared::meta::Delivery;
use arca_shared::metrics::{WEBHOOK_DELIVERIES, WEBHOOK_DURATION};
use arca_shared::time::{now_ms, rfc3339};
use arca_shared::webhooks::{self, Attempt, Hook, ResolveError};
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// How often an idle worker looks for due deliveries.
const POLL: Duration = Duration::from_millis(250);
/// What a lease adds to the attempt's own bound (writing the outcome back to Redis).
const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// How long a delivery waits when its hook already has its share of slots in flight.
const DEFER: Duration = Duration::from_millis(500);

/// What one attempt came to.
struct Outcome {
    /// `delivered`, `http_error`, `timeout`, `unreachable`, `refused`.
    result: &'static str,
    status: Option<u16>,
    error: Option<String>,
}

impl Outcome {
    fn failed(result: &'static str, error: impl Into<String>) -> Self {
        Self { result, status: None, error: Some(error.into()) }
    }
}

/// The TLS settings every https delivery uses: the system's trusted roots, rustls with
/// aws-lc-rs (as the S3 client).
fn tls_config() -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for cert in found.certs {
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        tracing::warn!("no trusted root certificates found: https webhook deliveries will fail");
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("aws-lc-rs supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// A resolver that answers with the addresses already checked, whatever the name.
#[derive(Clone)]
struct Checked(Vec<SocketAddr>);

impl tower::Service<Name> for Checked {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Name) -> Self::Future {
        std::future::ready(Ok(self.0.clone().into_iter()))
    }
}

/// The error and every cause under it, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// One POST of `delivery` to `hook`, bounded by `timeout` from resolving to the answer's
/// head.
async fn send(
    hook: &Hook,
    delivery: &Delivery,
    tls: &rustls::ClientConfig,
    allow_private: bool,
    timeout: Duration,
) -> Outcome {
    let target = match webhooks::parse_url(&hook.url) {
        Ok(t) => t,
        Err(why) => return Outcome::failed("refused", why),
    };
    let attempt = async {
        let addrs = match webhooks::resolve(&target, allow_private).await {
            Ok(a) => a,
            Err(ResolveError::Refused(why)) => return Outcome::failed("refused", why),
            Err(ResolveError::Dns(why)) => return Outcome::failed("unreachable", why),
        };
        let mut http = HttpConnector::new_with_resolver(Checked(addrs));
        http.enforce_http(false);
        http.set_nodelay(true);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls.clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client: Client<_, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).pool_max_idle_per_host(0).build(connector);
        let mut request = hyper::Request::post(target.url.as_str())
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::USER_AGENT, concat!("arca-webhook/", env!("CARGO_PKG_VERSION")))
            .header("X-Arca-Event", delivery.event.as_str())
            .header("X-Arca-Delivery", &delivery.delivery_id);
        if let Some(secret) = &hook.secret {
            request = request.header("X-Arca-Signature", webhooks::signature(secret, delivery.body.as_bytes()));
        }
        let request = match request.body(Full::new(Bytes::from(delivery.body.clone()))) {
            Ok(r) => r,
            Err(e) => return Outcome::failed("refused", format!("cannot build the request: {e}")),
        };
        match client.request(request).await {
            Ok(response) => {
                let status = response.status();
                let error = (!status.is_success()).then(|| {
                    if status.is_redirection() {
                        format!("answered {status}; redirects are not followed")
                    } else {
                        format!("answered {status}")
                    }
                });
                let result = if status.is_success() { "delivered" } else { "http_error" };
                Outcome { result, status: Some(status.as_u16()), error }
            }
            Err(e) => Outcome::failed("unreachable", chain(&e)),
        }
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(outcome) => outcome,
        Err(_) => Outcome::failed("timeout", format!("no answer within {}", humantime_secs(timeout))),
    }
}

fn humantime_secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// One attempt of one delivery, and what follows from it: off the queue, or back on it
/// for later; an entry in the hook's log either way.
async fn attempt(app: AppState, tls: Arc<rustls::ClientConfig>, delivery: Delivery) {
    let cfg = &app.config.webhooks;
    let hook = match app.meta.hook(delivery.project_id, delivery.hook_id).await {
        Ok(Some(hook)) => hook,
        Ok(None) => {
            // The hook (or its project) was deleted: nobody to deliver to.
            WEBHOOK_DELIVERIES.with_label_values(&["dropped"]).inc();
            if let Err(e) = app.meta.finish_delivery(&delivery).await {
                tracing::error!(hook_id = delivery.hook_id, error = %e, "dropping a delivery of a deleted hook failed");
            }
            return;
        }
        Err(e) => {
            // Left to its lease: it comes due again.
            tracing::error!(hook_id = delivery.hook_id, error = %e, "reading a hook failed; the delivery waits for its lease");
            return;
        }
    };
    let started_at = now_ms();
    let clock = Instant::now();
    let outcome = send(&hook, &delivery, &tls, cfg.allow_private, cfg.timeout).await;
    let took = clock.elapsed();
    WEBHOOK_DURATION.observe(took.as_secs_f64());
    WEBHOOK_DELIVERIES.with_label_values(&[outcome.result]).inc();
    let mut next = delivery.clone();
    next.attempts = delivery.attempts + 1;
    let mut result = outcome.result;
    let mut next_attempt_at = None;
    let stored = if outcome.result == "delivered" {
        app.meta.finish_delivery(&delivery).await
    } else {
        let due = now_ms() + webhooks::backoff(next.attempts).as_millis() as u64;
        if due > delivery.first_at + cfg.retry_for.as_millis() as u64 {
            result = "abandoned";
            WEBHOOK_DELIVERIES.with_label_values(&["abandoned"]).inc();
            tracing::warn!(project_id = delivery.project_id, hook_id = hook.id, delivery_id = %delivery.delivery_id, attempts = next.attempts, "webhook delivery abandoned");
            app.meta.finish_delivery(&delivery).await
        } else {
            next_attempt_at = Some(rfc3339(due));
            app.meta.retry_delivery(&next, due).await
        }
    };
    if let Err(e) = stored {
        tracing::error!(hook_id = hook.id, delivery_id = %delivery.delivery_id, error = %e, "recording a delivery's outcome failed; it comes due again after its lease");
    }
    if outcome.result != "delivered" {
        tracing::info!(project_id = delivery.project_id, hook_id = hook.id, delivery_id = %delivery.delivery_id, attempt = next.attempts, result = outcome.result, status = ?outcome.status, error = ?outcome.error, "webhook delivery failed");
    }
    let entry = Attempt {
        delivery_id: delivery.delivery_id.clone(),
        event: delivery.event,
        attempt: next.attempts,
        started_at: rfc3339(started_at),
        duration_ms: took.as_millis() as u64,
        result: result.to_owned(),
        status: outcome.status,
        error: outcome.error,
        next_attempt_at,
    };
    if let Err(e) = app.meta.log_delivery(delivery.project_id, hook.id, &entry).await {
        tracing::error!(hook_id = hook.id, error = %e, "writing the delivery log failed");
    }
}

/// How many of a worker's slots one hook may hold: a quarter (at least one), so a receiver
/// that hangs until the timeout cannot hold up every other project's deliveries.
struct PerHook {
    max: usize,
    in_flight: std::sync::Mutex<HashMap<(u64, u64), usize>>,
}

impl PerHook {
    fn new(concurrency: usize) -> Self {
        Self { max: (concurrency / 4).max(1), in_flight: Default::default() }
    }

    /// Takes a slot for `hook` if it has fewer than its share in flight.
    fn take(&self, hook: (u64, u64)) -> bool {
        let mut map = self.in_flight.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let n = map.entry(hook).or_default();
        if *n >= self.max {
            return false;
        }
        *n += 1;
        true
    }

    fn give_back(&self, hook: (u64, u64)) {
        let mut map = self.in_flight.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(n) = map.get_mut(&hook) {
            *n -= 1;
            if *n == 0 {
                map.remove(&hook);
            }
        }
    }
}

/// Delivers until `stop` turns true, then lets attempts in flight finish (each is bounded
/// by `ARCA_WEBHOOK_TIMEOUT`).
pub async fn delivery_loop(app: AppState, mut stop: watch::Receiver<bool>) {
    let cfg = app.config.webhooks.clone();
    if cfg.concurrency == 0 {
        tracing::info!("webhook deliveries are off on this replica (ARCA_WEBHOOK_CONCURRENCY=0)");
        return;
    }
    let tls = Arc::new(tls_config());
    let slots = Arc::new(Semaphore::new(cfg.concurrency));
    let lease = cfg.timeout + LEASE_MARGIN;
    let busy = Arc::new(PerHook::new(cfg.concurrency));
    let mut running = JoinSet::new();
    while !*stop.borrow() {
        while running.try_join_next().is_some() {}
        let free = slots.available_permits();
        let mut taken = 0;
        if free > 0 {
            let now = now_ms();
            match app.meta.claim_deliveries(now, now + lease.as_millis() as u64, free).await {
                Ok(deliveries) => {
                    for delivery in deliveries {
                        let hook = (delivery.project_id, delivery.hook_id);
                        if !busy.take(hook) {
                            // This hook has its share of slots in flight: later, uncounted.
                            if let Err(e) =
                                app.meta.retry_delivery(&delivery, now_ms() + DEFER.as_millis() as u64).await
                            {
                                tracing::error!(hook_id = hook.1, error = %e, "deferring a delivery failed; it comes due again after its lease");
                            }
                            continue;
                        }
                        let Ok(slot) = slots.clone().acquire_owned().await else { break };
                        taken += 1;
                        let (app, tls, busy) = (app.clone(), tls.clone(), busy.clone());
                        running.spawn(async move {
                            attempt(app, tls, delivery).await;
                            busy.give_back(hook);
                            drop(slot);
                        });
                    }
                }
                Err(e) => tracing::error!(error = %e, "taking due webhook deliveries failed"),
            }
        }
        if taken == 0 || slots.available_permits() == 0 {
            tokio::select! {
                _ = stop.changed() => {}
                _ = tokio::time::sleep(POLL) => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
    }
    while running.join_next().await.is_some() {}
}
