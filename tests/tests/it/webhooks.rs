//! Webhooks against real receivers on loopback: what is refused when a hook is saved and
//! at delivery, signed deliveries of every event, receivers that are down, slow, failing or
//! redirecting, retries that give up, and worker replicas (two at once; one killed with
//! SIGKILL mid-delivery).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arca_tests::{ADMIN_TOKEN, Stack, free_port, service_process};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::Mutex;

/// One request a receiver got.
#[derive(Clone, Debug)]
struct Received {
    path: String,
    event: String,
    delivery: String,
    signature: Option<String>,
    body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// How a receiver answers its next request.
#[derive(Clone, Copy, Debug)]
enum Reply {
    Status(u16),
    /// Answers 200 after this long.
    Slow(Duration),
    /// 302 to `/elsewhere`.
    Redirect,
}

/// A webhook receiver on loopback: records every request, answers as planned (200 once the
/// plan is used up).
#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<Received>>>,
    plan: Arc<Mutex<VecDeque<Reply>>>,
    /// Every answer waits this long (to spread deliveries over replicas).
    delay: Duration,
}

async fn receive(State(r): State<Receiver>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    r.seen.lock().await.push(Received {
        path: uri.path().to_owned(),
        event: text("x-arca-event").unwrap_or_default(),
        delivery: text("x-arca-delivery").unwrap_or_default(),
        signature: text("x-arca-signature"),
        body: body.to_vec(),
    });
    tokio::time::sleep(r.delay).await;
    let reply = r.plan.lock().await.pop_front().unwrap_or(Reply::Status(200));
    match reply {
        Reply::Status(s) => StatusCode::from_u16(s).expect("status").into_response(),
        Reply::Slow(d) => {
            tokio::time::sleep(d).await;
            StatusCode::OK.into_response()
        }
        Reply::Redirect => (StatusCode::FOUND, [("location", "/elsewhere")]).into_response(),
    }
}

impl Receiver {
    fn with(plan: &[Reply]) -> Self {
        Self { plan: Arc::new(Mutex::new(plan.iter().copied().collect())), ..Default::default() }
    }

    /// Starts answering on `port`; its URL.
    async fn listen(&self, port: u16) -> String {
        let l = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind receiver");
        let url = format!("http://127.0.0.1:{}/hook", l.local_addr().expect("addr").port());
        let app = axum::Router::new().fallback(receive).with_state(self.clone());
        tokio::spawn(async move { axum::serve(l, app).await });
        url
    }

    async fn seen(&self) -> Vec<Received> {
        self.seen.lock().await.clone()
    }
}

/// Waits up to `secs` for `check` to hold, polling.
async fn eventually<F, Fut>(secs: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn add_hook(stack: &Stack, project: u64, body: Value) -> Value {
    stack.admin_post(&format!("/projects/{project}/hooks"), body).await
}

async fn deliveries(stack: &Stack, project: u64, hook: u64) -> Vec<Value> {
    stack.admin_get(&format!("/projects/{project}/hooks/{hook}/deliveries?per_page=100")).await
}

async fn publish(stack: &Stack, project: u64, path: &str, body: &'static str) {
    let resp = stack
        .http
        .put(stack.api(&format!("/projects/{project}/packages/generic/{path}")))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .body(body)
        .send()
        .await
        .expect("publish");
    assert_eq!(resp.status(), 201);
}

async fn queued(stack: &Stack) -> i64 {
    let (all, _) = stack.app.meta.webhook_queue_depths(u64::MAX / 2).await.expect("queue depth");
    all
}

/// A stack whose hooks may reach loopback (where the receivers are).
async fn stack_with(extra: &[(&str, &str)]) -> Stack {
    let extra: Vec<(String, String)> = extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Stack::start_with(move |s| {
        s.insert("ARCA_WEBHOOK_ALLOW_PRIVATE".into(), "true".into());
        s.extend(extra);
    })
    .await
}

/// `method` with a JSON body as the administrator: the status and the JSON answer.
async fn send_json(stack: &Stack, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
    let resp = stack
        .http
        .request(method, stack.api(path))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .json(&body)
        .send()
        .await
        .expect("request");
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

async fn post_hook(stack: &Stack, project: u64, body: Value) -> (u16, Value) {
    send_json(stack, reqwest::Method::POST, &format!("/projects/{project}/hooks"), body).await
}

#[tokio::test]
async fn hooks_are_saved_only_for_urls_they_may_reach() {
    let stack = Stack::start().await;
    let (pid, _) = stack.project("hooked", "private").await;
    let refused = [
        ("http://127.0.0.1:9/x", "loopback"),
        ("http://localhost:9/x", "loopback"),
        ("http://0x7f.1/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://10.0.0.8/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fd00:ec2::254]/", "metadata"),
        ("http://100.100.100.200/", "metadata"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://0.0.0.0/", "unspecified"),
        ("ftp://example.com/", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("http://user:pw@93.184.216.34/", "credentials"),
        ("not a url", "not a URL"),
    ];
    for (url, why) in refused {
        let (status, body) = post_hook(&stack, pid, json!({"url": url})).await;
        assert_eq!(status, 400, "{url}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains(why), "{url}: {message:?} should say {why:?}");
    }
    for events in [json!([]), json!(["package_published", "push_events"])] {
        let (status, body) = post_hook(&stack, pid, json!({"url": "http://93.184.216.34/", "events": events})).await;
        assert_eq!(status, 400, "{events}: {body}");
    }
    // A maintainer's business: a developer may not add one.
    let (uid, token) = stack.user("dev", &["api"]).await;
    stack.add_member(pid, uid, 30).await;
    stack.post_as(&token, &format!("/projects/{pid}/hooks"), json!({"url": "http://93.184.216.34/"}), 403).await;
    let none: Vec<Value> = stack.admin_get(&format!("/projects/{pid}/hooks")).await;
    assert!(none.is_empty(), "nothing refused was saved: {none:?}");

    // A public address is saved; the secret is never shown, not even now.
    let hook = add_hook(
        &stack,
        pid,
        json!({"url": "http://93.184.216.34/in", "secret": "s3cret", "events": ["package_published"]}),
    )
    .await;
    assert_eq!(hook["url"], "http://93.184.216.34/in");
    assert_eq!(hook["events"], json!(["package_published"]));
    assert_eq!(hook["has_secret"], true);
    assert!(!hook.to_string().contains("s3cret"), "{hook}");
    let id = hook["id"].as_u64().expect("id");
    let listed: Vec<Value> = stack.admin_get(&format!("/projects/{pid}/hooks")).await;
    assert_eq!(listed.len(), 1);
    assert!(!listed[0].to_string().contains("s3cret"));
    let all = add_hook(&stack, pid, json!({"url": "https://93.184.216.34/"})).await;
    assert_eq!(all["events"].as_array().map(Vec::len), Some(5), "every event by default: {all}");
    assert_eq!(all["has_secret"], false);
    assert_eq!(stack.admin_delete(&format!("/projects/{pid}/hooks/{id}")).await, 204);
    assert_eq!(stack.admin_delete(&format!("/projects/{pid}/hooks/{id}")).await, 404);
    let resp = stack
        .http
        .get(stack.api(&format!("/projects/{pid}/hooks/{id}/deliveries")))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn every_event_is_delivered_once_signed_and_logged() {
    let stack = stack_with(&[]).await;
    let (pid, path) = stack.project("events", "private").await;
    // Loopback is allowed here, metadata and link-local never.
    for url in ["http://169.254.169.254/", "http://[fd00:ec2::254]/", "http://100.100.100.200/"] {
        assert_eq!(post_hook(&stack, pid, json!({"url": url})).await.0, 400, "{url}");
    }
    let receiver = Receiver::default();
    let url = receiver.listen(0).await;
    let signed = add_hook(&stack, pid, json!({"url": url, "secret": "topsecret"})).await;
    let signed_id = signed["id"].as_u64().expect("id");
    let other = Receiver::default();
    let other_url = other.listen(0).await;
    add_hook(&stack, pid, json!({"url": other_url, "events": ["package_disabled"]})).await;

    let started = Instant::now();
    publish(&stack, pid, "tool/1.0/tool.bin", "hello hooks").await;
    assert!(started.elapsed() < Duration::from_secs(2), "publishing does not wait for receivers");
    let packages: Vec<Value> = stack.admin_get(&format!("/projects/{pid}/packages")).await;
    let package_id = packages[0]["id"].as_u64().expect("package id");
    let pkg = format!("/projects/{pid}/packages/{package_id}");
    assert_eq!(send_json(&stack, reqwest::Method::PATCH, &pkg, json!({"disabled": true})).await.0, 200);
    assert_eq!(stack.admin_delete(&pkg).await, 204);
    stack.post_as(ADMIN_TOKEN, &format!("{pkg}/restore"), json!({}), 200).await;
    // A job uploads an artifact.
    let pipeline = stack.admin_post(&format!("/projects/{pid}/pipelines"), json!({"ref": "main"})).await;
    let pipeline = pipeline["id"].as_u64().expect("pipeline");
    let job = stack.admin_post(&format!("/projects/{pid}/pipelines/{pipeline}/jobs"), json!({"name": "build"})).await;
    let (job_id, job_token) = (job["id"].as_u64().expect("id"), job["token"].as_str().expect("token").to_owned());
    let zip = arca_tests::zip_of(&[("out.txt", b"built")]);
    let resp = stack
        .http
        .post(stack.api(&format!("/jobs/{job_id}/artifacts?artifact_type=archive&artifact_format=zip")))
        .header("JOB-TOKEN", &job_token)
        .body(zip.clone())
        .send()
        .await
        .expect("artifacts");
    assert_eq!(resp.status(), 201);

    let events = ["package_published", "package_disabled", "package_deleted", "package_restored", "artifacts_uploaded"];
    eventually(20, "five deliveries", || async { receiver.seen().await.len() >= 5 }).await;
    eventually(10, "the second hook's delivery", || async { !other.seen().await.is_empty() }).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let seen = receiver.seen().await;
    let mut by_event: HashMap<String, Received> = HashMap::new();
    for r in &seen {
        assert!(by_event.insert(r.event.clone(), r.clone()).is_none(), "{} delivered twice", r.event);
    }
    assert_eq!(seen.len(), 5, "{:?}", seen.iter().map(|r| &r.event).collect::<Vec<_>>());
    for event in events {
        let r = by_event.get(event).unwrap_or_else(|| panic!("{event} was not delivered"));
        assert_eq!(r.path, "/hook");
        assert_eq!(r.signature.as_deref(), Some(hmac_hex("topsecret", &r.body).as_str()), "{event} is signed");
        let body = r.json();
        assert_eq!(body["event"], event);
        assert_eq!(body["delivery_id"], r.delivery.as_str(), "the header names the body's delivery");
        assert!(uuid::Uuid::parse_str(&r.delivery).is_ok());
        assert_eq!(body["project"], json!({"id": pid, "path_with_namespace": path}));
        assert!(body["occurred_at"].as_str().is_some_and(|t| t.ends_with('Z')));
        if event == "artifacts_uploaded" {
            assert_eq!(body["job"], json!({"id": job_id, "name": "build", "ref": "main"}));
            assert_eq!(body["file"]["size"], zip.len());
            assert_eq!(body["actor"]["kind"], "job");
            assert!(body["package"].is_null());
        } else {
            assert_eq!(body["package"], json!({"id": package_id, "name": "tool", "version": "1.0"}));
            assert_eq!(body["actor"]["username"], "root");
        }
    }
    let published = by_event["package_published"].json();
    assert_eq!(published["file"]["file_name"], "tool.bin");
    assert_eq!(published["file"]["size"], 11);
    assert_eq!(published["file"]["sha256"], hex::encode(<Sha256 as sha2::Digest>::digest(b"hello hooks")));

    // The other hook wanted only `package_disabled`: the same event, the same delivery id,
    // no signature (it has no secret).
    let theirs = other.seen().await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].event, "package_disabled");
    assert_eq!(theirs[0].delivery, by_event["package_disabled"].delivery);
    assert_eq!(theirs[0].signature, None);
    assert_eq!(theirs[0].body, by_event["package_disabled"].body);

    let log = deliveries(&stack, pid, signed_id).await;
    assert_eq!(log.len(), 5, "{log:?}");
    for entry in &log {
        assert_eq!(entry["result"], "delivered", "{entry}");
        assert_eq!(entry["status"], 200);
        assert_eq!(entry["attempt"], 1);
        assert!(entry["next_attempt_at"].is_null());
    }
    assert_eq!(queued(&stack).await, 0, "nothing left queued");
    let metrics = stack.http.get(format!("{}/metrics", stack.cleanup_url)).send().await.expect("metrics");
    let metrics = metrics.text().await.expect("text");
    assert!(metrics.contains("arca_webhook_deliveries_total{result=\"delivered\"}"), "{metrics}");
    assert!(metrics.contains("arca_cleanup_queue_depth{queue=\"webhooks\"}"));
}

#[tokio::test]
async fn failing_receivers_are_retried_until_they_acknowledge() {
    let stack = stack_with(&[("ARCA_WEBHOOK_TIMEOUT", "1s")]).await;
    let (pid, _) = stack.project("flaky", "private").await;
    // Down: nothing listens on its port until later.
    let down = Receiver::default();
    let down_port = free_port();
    let down_url = format!("http://127.0.0.1:{down_port}/hook");
    // Slow: the first answer comes after the worker's timeout.
    let slow = Receiver::with(&[Reply::Slow(Duration::from_secs(3))]);
    // Failing: two 500s, then 200.
    let failing = Receiver::with(&[Reply::Status(500), Reply::Status(500)]);
    // Redirecting: a 302 first, never followed.
    let redirecting = Receiver::with(&[Reply::Redirect]);
    let mut hooks = Vec::new();
    for url in [down_url.clone(), slow.listen(0).await, failing.listen(0).await, redirecting.listen(0).await] {
        let hook = add_hook(&stack, pid, json!({"url": url, "events": ["package_published"]})).await;
        hooks.push(hook["id"].as_u64().expect("id"));
    }
    publish(&stack, pid, "tool/1.0/a.bin", "payload").await;

    // The receiver that is down stays down for a few attempts (1 s, 2 s apart).
    eventually(10, "two failed attempts on the down receiver", || async {
        deliveries(&stack, pid, hooks[0]).await.len() >= 2
    })
    .await;
    down.listen(down_port).await;
    eventually(30, "every receiver acknowledged", || async {
        let mut done = 0;
        for hook in &hooks {
            let log = deliveries(&stack, pid, *hook).await;
            done += usize::from(log.first().is_some_and(|e| e["result"] == "delivered"));
        }
        done == hooks.len()
    })
    .await;
    eventually(10, "the queue drained", || async { queued(&stack).await == 0 }).await;

    let results = |log: &[Value]| -> Vec<String> {
        log.iter().rev().map(|e| e["result"].as_str().unwrap_or_default().to_owned()).collect()
    };
    // Down, then up: refused connections, then delivered exactly once.
    let log = deliveries(&stack, pid, hooks[0]).await;
    let r = results(&log);
    assert!(r.len() >= 3 && r[..r.len() - 1].iter().all(|x| x == "unreachable"), "{r:?}");
    assert_eq!(r.last().map(String::as_str), Some("delivered"));
    assert_eq!(down.seen().await.len(), 1, "the receiver that was down got it once");
    // Slow: a timeout, then delivered; the receiver saw the same delivery twice (it got the
    // first one but did not answer in time).
    assert_eq!(results(&deliveries(&stack, pid, hooks[1]).await), ["timeout", "delivered"]);
    let slow_seen = slow.seen().await;
    assert_eq!(slow_seen.len(), 2);
    assert_eq!(slow_seen[0].delivery, slow_seen[1].delivery);
    assert_eq!(slow_seen[0].body, slow_seen[1].body, "a retry sends the same bytes");
    // 500, 500, 200.
    let log = deliveries(&stack, pid, hooks[2]).await;
    assert_eq!(results(&log), ["http_error", "http_error", "delivered"]);
    assert_eq!(log[2]["status"], 500);
    assert!(log[2]["next_attempt_at"].is_string());
    assert_eq!(log.iter().map(|e| e["attempt"].as_u64()).collect::<Vec<_>>(), [Some(3), Some(2), Some(1)]);
    assert_eq!(failing.seen().await.len(), 3);
    // A redirect is a failed attempt, and its target is never asked.
    let log = deliveries(&stack, pid, hooks[3]).await;
    assert_eq!(results(&log), ["http_error", "delivered"]);
    assert_eq!(log[1]["status"], 302);
    assert!(redirecting.seen().await.iter().all(|r| r.path == "/hook"));
    // One event, one delivery id, at every receiver.
    let mut ids: Vec<String> = Vec::new();
    for r in [&down, &slow, &failing, &redirecting] {
        ids.extend(r.seen().await.into_iter().map(|s| s.delivery));
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
}

#[tokio::test]
async fn deliveries_are_abandoned_after_the_retry_window() {
    let stack = stack_with(&[("ARCA_WEBHOOK_RETRY_FOR", "3s")]).await;
    let (pid, _) = stack.project("gives-up", "private").await;
    let receiver = Receiver::with(&[Reply::Status(503); 100]);
    let url = receiver.listen(0).await;
    let hook = add_hook(&stack, pid, json!({"url": url})).await["id"].as_u64().expect("id");
    publish(&stack, pid, "tool/1.0/a.bin", "payload").await;
    eventually(20, "the delivery abandoned", || async {
        deliveries(&stack, pid, hook).await.first().is_some_and(|e| e["result"] == "abandoned")
    })
    .await;
    let log = deliveries(&stack, pid, hook).await;
    assert!(log.len() >= 2, "{log:?}");
    assert!(log[0]["next_attempt_at"].is_null());
    assert_eq!(log[0]["status"], 503);
    assert!(log[1..].iter().all(|e| e["result"] == "http_error" && e["next_attempt_at"].is_string()));
    assert_eq!(queued(&stack).await, 0);
    let attempts = receiver.seen().await.len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(receiver.seen().await.len(), attempts, "no attempt after it was abandoned");
    assert_eq!(attempts, log.len());
}

/// The settings of a worker process whose hooks may reach loopback.
fn worker_env(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut env = vec![("ARCA_WEBHOOK_ALLOW_PRIVATE", "true"), ("ARCA_CLEANUP_INTERVAL", "1000days")];
    env.extend_from_slice(extra);
    env
}

fn metric(text: &str, series: &str) -> f64 {
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok())).unwrap_or(0.0)
}

#[tokio::test]
async fn two_worker_replicas_deliver_every_event_exactly_once() {
    // The in-process worker delivers nothing: two worker processes share the queue.
    let stack = stack_with(&[("ARCA_WEBHOOK_CONCURRENCY", "0")]).await;
    let env = worker_env(&[("ARCA_WEBHOOK_CONCURRENCY", "4")]);
    let (_a, a_url) = service_process(&stack.backends, "cleanup", &env).await;
    let (_b, b_url) = service_process(&stack.backends, "cleanup", &env).await;
    let (pid, _) = stack.project("replicas", "private").await;
    let receiver = Receiver { delay: Duration::from_millis(100), ..Default::default() };
    let url = receiver.listen(0).await;
    add_hook(&stack, pid, json!({"url": url, "events": ["package_published"]})).await;
    const EVENTS: usize = 60;
    let publishes = (0..EVENTS).map(|i| {
        let stack = &stack;
        async move {
            let resp = stack
                .http
                .put(stack.api(&format!("/projects/{pid}/packages/generic/tool/1.0/f{i}.bin")))
                .header("PRIVATE-TOKEN", ADMIN_TOKEN)
                .body(format!("file {i}"))
                .send()
                .await
                .expect("publish");
            assert_eq!(resp.status(), 201);
        }
    });
    futures_util::future::join_all(publishes).await;
    eventually(60, "every event delivered", || async { receiver.seen().await.len() >= EVENTS }).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen = receiver.seen().await;
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for r in &seen {
        *per_id.entry(r.delivery.clone()).or_default() += 1;
    }
    assert_eq!(per_id.len(), EVENTS, "every event arrived");
    assert!(per_id.values().all(|n| *n == 1), "no duplicates without a crash: {per_id:?}");
    let mut files: Vec<String> =
        seen.iter().map(|r| r.json()["file"]["file_name"].as_str().unwrap_or_default().to_owned()).collect();
    files.sort();
    files.dedup();
    assert_eq!(files.len(), EVENTS);
    // Both replicas delivered, and between them exactly one attempt per event.
    let delivered = |url: String| async move {
        let text = reqwest::get(format!("{url}/metrics")).await.expect("metrics").text().await.expect("text");
        metric(&text, "arca_webhook_deliveries_total{result=\"delivered\"}")
    };
    let (a, b) = (delivered(a_url).await, delivered(b_url).await);
    assert!(a > 0.0 && b > 0.0, "both replicas delivered: {a} + {b}");
    assert_eq!(a + b, EVENTS as f64);
    assert_eq!(queued(&stack).await, 0);
}

#[tokio::test]
async fn a_worker_killed_mid_delivery_leaves_it_to_another() {
    let stack = stack_with(&[("ARCA_WEBHOOK_CONCURRENCY", "0")]).await;
    let env = worker_env(&[("ARCA_WEBHOOK_TIMEOUT", "2s")]);
    let (mut victim, _) = service_process(&stack.backends, "cleanup", &env).await;
    let (pid, _) = stack.project("crash", "private").await;
    // The first request is held long enough to kill the worker that sent it.
    let receiver = Receiver::with(&[Reply::Slow(Duration::from_secs(5))]);
    let url = receiver.listen(0).await;
    let hook = add_hook(&stack, pid, json!({"url": url})).await["id"].as_u64().expect("id");
    publish(&stack, pid, "tool/1.0/a.bin", "payload").await;
    eventually(10, "the first attempt reached the receiver", || async { !receiver.seen().await.is_empty() }).await;
    victim.start_kill().expect("SIGKILL");
    let _ = victim.wait().await;
    assert_eq!(queued(&stack).await, 1, "the delivery is still queued, under the dead worker's lease");
    let (_heir, _) = service_process(&stack.backends, "cleanup", &env).await;
    eventually(30, "the delivery acknowledged by the other worker", || async {
        deliveries(&stack, pid, hook).await.first().is_some_and(|e| e["result"] == "delivered")
    })
    .await;
    let seen = receiver.seen().await;
    assert_eq!(seen.len(), 2, "sent again after the crash: a duplicate the receiver dedupes by id");
    assert_eq!(seen[0].delivery, seen[1].delivery);
    assert_eq!(deliveries(&stack, pid, hook).await.len(), 1, "the killed attempt left no log entry");
    assert_eq!(queued(&stack).await, 0);
}

#[tokio::test]
async fn a_delivery_is_checked_again_when_it_is_sent() {
    // Saved where loopback was allowed; delivered by a worker that does not allow it (as a
    // name that now resolves to a private address would be).
    let stack = stack_with(&[("ARCA_WEBHOOK_CONCURRENCY", "0")]).await;
    let (_worker, _) = service_process(
        &stack.backends,
        "cleanup",
        &[("ARCA_WEBHOOK_ALLOW_PRIVATE", "false"), ("ARCA_CLEANUP_INTERVAL", "1000days")],
    )
    .await;
    let (pid, _) = stack.project("rebound", "private").await;
    let receiver = Receiver::default();
    let port = receiver.listen(0).await.rsplit(':').next().and_then(|p| p.split('/').next()?.parse::<u16>().ok());
    let url = format!("http://localhost:{}/hook", port.expect("port"));
    let hook = add_hook(&stack, pid, json!({"url": url})).await["id"].as_u64().expect("id");
    publish(&stack, pid, "tool/1.0/a.bin", "payload").await;
    eventually(10, "two refused attempts", || async { deliveries(&stack, pid, hook).await.len() >= 2 }).await;
    let log = deliveries(&stack, pid, hook).await;
    for entry in &log {
        assert_eq!(entry["result"], "refused", "{entry}");
        assert!(entry["error"].as_str().is_some_and(|e| e.contains("loopback")), "{entry}");
    }
    assert!(receiver.seen().await.is_empty(), "nothing was sent");
    // A deleted hook's queued delivery is dropped.
    assert_eq!(stack.admin_delete(&format!("/projects/{pid}/hooks/{hook}")).await, 204);
    eventually(15, "the deleted hook's delivery dropped", || async { queued(&stack).await == 0 }).await;
    assert!(receiver.seen().await.is_empty());
}

#[tokio::test]
async fn a_hanging_receiver_does_not_hold_up_other_projects() {
    // One worker, 16 slots: a hook holds at most 4, whatever its backlog.
    let stack = stack_with(&[("ARCA_WEBHOOK_TIMEOUT", "5s")]).await;
    let (hanging_project, _) = stack.project("hangs", "private").await;
    let (fast_project, _) = stack.project("fast", "private").await;
    let hanging = Receiver::with(&[Reply::Slow(Duration::from_secs(30)); 100]);
    let url = hanging.listen(0).await;
    add_hook(&stack, hanging_project, json!({"url": url})).await;
    let fast = Receiver::default();
    let url = fast.listen(0).await;
    add_hook(&stack, fast_project, json!({"url": url})).await;
    for i in 0..20 {
        let body: &'static str = if i % 2 == 0 { "even" } else { "odd" };
        publish(&stack, hanging_project, &format!("tool/1.0/f{i}.bin"), body).await;
    }
    eventually(5, "the hanging receiver holding requests", || async { !hanging.seen().await.is_empty() }).await;
    let started = Instant::now();
    for i in 0..5 {
        publish(&stack, fast_project, &format!("tool/1.0/f{i}.bin"), "fast").await;
    }
    eventually(4, "the other project's deliveries, while the hanging ones wait", || async {
        fast.seen().await.len() >= 5
    })
    .await;
    assert!(started.elapsed() < Duration::from_secs(5), "delivered before any hanging attempt timed out");
    assert!(hanging.seen().await.len() <= 4, "the hanging hook held at most 4 slots");
}

async fn put_hook(stack: &Stack, project: u64, hook: u64, body: Value) -> (u16, Value) {
    send_json(stack, reqwest::Method::PUT, &format!("/projects/{project}/hooks/{hook}"), body).await
}

#[tokio::test]
async fn a_hook_is_changed_in_place() {
    let stack = stack_with(&[]).await;
    let (pid, _) = stack.project("edited", "private").await;
    let (old, new) = (Receiver::default(), Receiver::default());
    let (old_url, new_url) = (old.listen(0).await, new.listen(0).await);
    let hook = add_hook(&stack, pid, json!({"url": old_url, "secret": "first", "events": ["package_published"]})).await;
    let id = hook["id"].as_u64().expect("id");
    // Refused changes change nothing.
    for bad in [
        json!({}),
        json!({"events": []}),
        json!({"events": ["nope"]}),
        json!({"url": "http://169.254.169.254/"}),
        json!({"url": "gopher://example.com/"}),
    ] {
        let (status, body) = put_hook(&stack, pid, id, bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    assert_eq!(put_hook(&stack, pid, 999_999, json!({"secret": "x"})).await.0, 404);
    let unchanged: Value = stack.admin_get(&format!("/projects/{pid}/hooks/{id}")).await;
    assert_eq!(unchanged["url"], old_url.as_str());

    // A new URL and a new secret: the next delivery goes there, signed with it.
    let (status, changed) = put_hook(&stack, pid, id, json!({"url": new_url, "secret": "second"})).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["url"], new_url.as_str());
    assert_eq!(changed["events"], json!(["package_published"]), "left out, kept");
    assert!(!changed.to_string().contains("second"));
    publish(&stack, pid, "tool/1.0/a.bin", "payload").await;
    eventually(10, "the delivery at the new URL", || async { !new.seen().await.is_empty() }).await;
    let got = &new.seen().await[0];
    assert_eq!(got.signature.as_deref(), Some(hmac_hex("second", &got.body).as_str()));
    assert!(old.seen().await.is_empty());

    // An empty secret removes it: deliveries go unsigned.
    let (status, changed) = put_hook(&stack, pid, id, json!({"secret": ""})).await;
    assert_eq!((status, changed["has_secret"].clone()), (200, json!(false)));
    publish(&stack, pid, "tool/1.0/b.bin", "payload").await;
    eventually(10, "the unsigned delivery", || async { new.seen().await.len() >= 2 }).await;
    assert_eq!(new.seen().await[1].signature, None);
    assert_eq!(deliveries(&stack, pid, id).await.len(), 2, "the log is kept across changes");
}
