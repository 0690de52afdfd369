//! Faults under traffic: Redis and the S3 server stopped (SIGKILL) and restarted while
//! clients upload and download, and `kill -9` of the upload service in the middle of a
//! large upload and of the gateway under load. What clients may see is spelled out per
//! phase; afterwards every upload that was acknowledged (201) is downloaded again and its
//! SHA-256 compared.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arca_tests::{ADMIN_TOKEN, Backends, Stack, free_port, service_process, service_process_on};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

/// What the clients saw in one phase: answers by operation and status, and the slowest one.
#[derive(Default)]
struct Seen {
    counts: BTreeMap<String, u64>,
    slowest: Duration,
    /// The first few error messages, for the report.
    errors: Vec<String>,
}

struct Traffic {
    stop: Arc<AtomicBool>,
    phase: Arc<AtomicU64>,
    seen: Arc<Mutex<Vec<Seen>>>,
    acked: Arc<Mutex<Vec<(String, String)>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

impl Traffic {
    /// `clients` loops of: publish a small file, download a random acknowledged one (the
    /// redirect only), list the project's packages.
    fn start(base: String, project: u64, clients: usize, phases: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let phase = Arc::new(AtomicU64::new(0));
        let seen = Arc::new(Mutex::new((0..phases).map(|_| Seen::default()).collect::<Vec<_>>()));
        let acked = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        let tasks = (0..clients)
            .map(|client| {
                let (stop, phase, seen, acked, http, base) =
                    (stop.clone(), phase.clone(), seen.clone(), acked.clone(), http.clone(), base.clone());
                tokio::spawn(async move {
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let file = format!("c{client}-{n}.bin");
                        let body = format!("client {client} upload {n} {}", "x".repeat((n % 7 * 1000) as usize));
                        let url = format!("{base}/projects/{project}/packages/generic/faults/1.0.0/{file}");
                        let pick = {
                            let acked = acked.lock().await;
                            acked.get((n as usize * 7919) % acked.len().max(1)).map(|(f, _)| f.clone())
                        };
                        let mut ops = vec![("upload", http.put(&url).body(body.clone()))];
                        if let Some(f) = pick {
                            let url = format!("{base}/projects/{project}/packages/generic/faults/1.0.0/{f}");
                            ops.push(("download", http.get(url)));
                        }
                        ops.push(("list", http.get(format!("{base}/projects/{project}/packages?per_page=5"))));
                        for (op, req) in ops {
                            let started = Instant::now();
                            let result = req.header("PRIVATE-TOKEN", ADMIN_TOKEN).send().await;
                            let took = started.elapsed();
                            let (status, message) = match result {
                                Ok(r) if r.status().is_server_error() => {
                                    let status = r.status().as_u16().to_string();
                                    (status, Some(r.text().await.unwrap_or_default()))
                                }
                                Ok(r) => (r.status().as_u16().to_string(), None),
                                Err(_) => ("connection error".to_owned(), None),
                            };
                            if op == "upload" && status == "201" {
                                acked.lock().await.push((file.clone(), sha256_hex(body.as_bytes())));
                            }
                            // Counted in the phase it ended in: a request in flight when the
                            // fault struck belongs to the fault.
                            let p = phase.load(Ordering::Relaxed) as usize;
                            let mut seen = seen.lock().await;
                            let s = &mut seen[p];
                            *s.counts.entry(format!("{op} {status}")).or_default() += 1;
                            s.slowest = s.slowest.max(took);
                            if let Some(m) = message
                                && s.errors.len() < 3
                            {
                                s.errors.push(format!("{op}: {m}"));
                            }
                        }
                    }
                })
            })
            .collect();
        Self { stop, phase, seen, acked, tasks }
    }

    async fn next_phase(&self, after: Duration) {
        tokio::time::sleep(after).await;
        self.phase.fetch_add(1, Ordering::Relaxed);
    }

    async fn finish(self, after: Duration) -> (Vec<Seen>, Vec<(String, String)>) {
        tokio::time::sleep(after).await;
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.expect("client task");
        }
        let seen = Arc::try_unwrap(self.seen).ok().expect("clients done").into_inner();
        let acked = self.acked.lock().await.clone();
        (seen, acked)
    }
}

/// Downloads every acknowledged file through the redirect and compares its SHA-256.
async fn verify_all(api: &str, project: u64, acked: &[(String, String)]) {
    let http = reqwest::Client::new();
    for (file, sha) in acked {
        let resp = http
            .get(format!("{api}/projects/{project}/packages/generic/faults/1.0.0/{file}"))
            .header("PRIVATE-TOKEN", ADMIN_TOKEN)
            .send()
            .await
            .expect("download");
        assert_eq!(resp.status(), 200, "{file} acknowledged but not downloadable");
        let body = resp.bytes().await.expect("body");
        assert_eq!(&sha256_hex(&body), sha, "{file} came back different");
    }
}

fn report(name: &str, phases: &[&str], seen: &[Seen]) {
    for (label, s) in phases.iter().zip(seen) {
        println!("{name} / {label}: {:?}, slowest {:?}, errors {:?}", s.counts, s.slowest, s.errors);
    }
}

/// Only these statuses may appear in a phase (and "connection error" never, unless listed).
fn assert_only(seen: &Seen, allowed: &[&str], phase: &str) {
    for (key, n) in &seen.counts {
        let status = key.split_once(' ').map(|(_, s)| s).unwrap_or("");
        assert!(allowed.contains(&status), "{phase}: {n} x {key} (allowed {allowed:?}); all: {:?}", seen.counts);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_killed_under_traffic_fails_fast_recovers_and_keeps_every_acknowledged_upload() {
    let mut stack = Stack::start().await;
    let (project, _) = stack.project("faults", "private").await;
    let traffic = Traffic::start(stack.api(""), project, 8, 3);
    traffic.next_phase(Duration::from_secs(2)).await;
    stack.backends.stop_redis();
    traffic.next_phase(Duration::from_secs(3)).await;
    // Back from its append-only file, on the same port; the services reconnect by themselves.
    stack.backends.restart_redis();
    let (seen, acked) = traffic.finish(Duration::from_secs(4)).await;
    report("redis outage", &["before", "redis down", "after restart"], &seen);

    assert_only(&seen[0], &["201", "302", "200"], "before");
    // During the outage: a JSON 503 (or, for a request that was already past its Redis
    // reads, its success); never a hang. The slowest answer bounds "fast".
    assert_only(&seen[1], &["201", "302", "200", "503"], "redis down");
    assert!(seen[1].counts.keys().any(|k| k.ends_with(" 503")), "the outage was seen: {:?}", seen[1].counts);
    assert!(seen[1].slowest < Duration::from_secs(5), "an answer took {:?} during the outage", seen[1].slowest);
    assert_only(&seen[2], &["201", "302", "200", "503"], "after restart");
    let recovered = seen[2].counts.get("upload 201").copied().unwrap_or(0);
    assert!(recovered > 0, "uploads succeed again after the restart: {:?}", seen[2].counts);
    verify_all(&stack.api(""), project, &acked).await;
    println!("redis outage: {} acknowledged uploads verified by SHA-256", acked.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_killed_under_traffic_fails_fast_recovers_and_keeps_every_acknowledged_upload() {
    let mut stack = Stack::start().await;
    let (project, _) = stack.project("faults", "private").await;
    let traffic = Traffic::start(stack.api(""), project, 8, 3);
    traffic.next_phase(Duration::from_secs(2)).await;
    stack.backends.stop_s3();
    traffic.next_phase(Duration::from_secs(3)).await;
    stack.backends.restart_s3();
    let (seen, acked) = traffic.finish(Duration::from_secs(4)).await;
    report("s3 outage", &["before", "s3 down", "after restart"], &seen);

    assert_only(&seen[0], &["201", "302", "200"], "before");
    // Redirects and listings need only Redis: they go on. Uploads get a JSON 503.
    assert_only(&seen[1], &["201", "302", "200", "503"], "s3 down");
    assert!(seen[1].counts.contains_key("upload 503"), "the outage was seen: {:?}", seen[1].counts);
    assert!(!seen[1].counts.keys().any(|k| k.starts_with("download 5") || k.starts_with("list 5")));
    assert!(seen[1].slowest < Duration::from_secs(5), "an answer took {:?} during the outage", seen[1].slowest);
    assert_only(&seen[2], &["201", "302", "200", "503"], "after restart");
    assert!(seen[2].counts.get("upload 201").copied().unwrap_or(0) > 0, "{:?}", seen[2].counts);
    verify_all(&stack.api(""), project, &acked).await;
    println!("s3 outage: {} acknowledged uploads verified by SHA-256", acked.len());
}

/// `kill -9` of the upload service while a large chunked upload is half-way: nothing of it
/// becomes visible, and the multipart upload it had open is aborted by the cleanup worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn upload_service_killed_mid_upload_leaves_nothing_behind() {
    let stack = Stack::start_with(|s| {
        s.insert("ARCA_MULTIPART_MAX_AGE".into(), "1s".into());
        s.insert("ARCA_CLEANUP_INTERVAL".into(), "1000days".into());
    })
    .await;
    let (project, _) = stack.project("crash", "private").await;
    let (mut upload, upload_url) = service_process(&stack.backends, "upload", &[]).await;

    // A body without a length (chunked): the service streams it into a multipart upload.
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let chunks = futures_util::stream::unfold(0u32, move |i| {
        let counter = counter.clone();
        async move {
            if i >= 64 {
                return None;
            }
            if i >= 4 {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            counter.fetch_add(1 << 20, Ordering::Relaxed);
            Some((Ok::<_, std::io::Error>(bytes::Bytes::from(vec![i as u8; 1 << 20])), i + 1))
        }
    });
    let url = format!("{upload_url}/api/v4/projects/{project}/packages/generic/big/1.0.0/big.bin");
    let client = reqwest::Client::new();
    let put = tokio::spawn(
        client.put(url).header("PRIVATE-TOKEN", ADMIN_TOKEN).body(reqwest::Body::wrap_stream(chunks)).send(),
    );
    let open_parts = || stack.backends.open_multipart_parts().len();
    let deadline = Instant::now() + Duration::from_secs(30);
    while open_parts() == 0 {
        assert!(Instant::now() < deadline, "the upload never reached S3 as a multipart upload");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    upload.start_kill().expect("kill -9");
    let _ = upload.wait().await;
    let outcome = put.await.expect("task");
    assert!(
        outcome.is_err() || outcome.as_ref().is_ok_and(|r| !r.status().is_success()),
        "the upload was not acknowledged"
    );
    println!("killed the upload service after {} MiB of a 64 MiB upload", sent.load(Ordering::Relaxed) >> 20);

    // Nothing visible.
    let listing: serde_json::Value = stack.admin_get(&format!("/projects/{project}/packages")).await;
    assert_eq!(listing, serde_json::json!([]));
    let resp = stack
        .http
        .get(stack.api(&format!("/projects/{project}/packages/generic/big/1.0.0/big.bin")))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .send()
        .await
        .expect("download");
    assert_eq!(resp.status(), 404);

    // Its multipart upload is still open in S3 until the worker aborts it.
    assert!(open_parts() > 0);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let app = Arc::new(stack.app.clone());
    let aborted = arca_cleanup::abort_stale_multiparts(&app).await.expect("cleanup pass");
    assert_eq!(aborted, 1);
    assert_eq!(open_parts(), 0, "the parts are gone");
    assert!(arca_tests::keys_under(&stack.app, "packages/").await.is_empty(), "no object was left");
}

/// `kill -9` of one service (the gateway or the download service) under load, then the
/// same binary started again on its port: clients see errors only while it is down (a
/// refused connection from the gateway's side is a JSON 502), and the restarted process
/// serves the very next request.
async fn kill_and_restart_under_load(victim: &str) {
    let backends = Backends::start();
    let (_upload, upload_url) = service_process(&backends, "upload", &[]).await;
    let download_port = free_port();
    let (mut download, download_url) = service_process_on(&backends, "download", download_port, &[]).await;
    let upstreams = [("ARCA_UPLOAD_URLS", upload_url.as_str()), ("ARCA_DOWNLOAD_URLS", download_url.as_str())];
    let gateway_port = free_port();
    let (mut gateway, gateway_url) = service_process_on(&backends, "gateway", gateway_port, &upstreams).await;
    let api = format!("{gateway_url}/api/v4");
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{api}/projects"))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .json(&serde_json::json!({"name": "faults"}))
        .send()
        .await
        .expect("project");
    assert_eq!(resp.status(), 201);
    let project = resp.json::<serde_json::Value>().await.expect("json")["id"].as_u64().expect("id");

    let traffic = Traffic::start(api.clone(), project, 8, 3);
    traffic.next_phase(Duration::from_secs(2)).await;
    let (killed, port, extra): (&mut tokio::process::Child, u16, &[(&str, &str)]) = match victim {
        "gateway" => (&mut gateway, gateway_port, &upstreams),
        _ => (&mut download, download_port, &[]),
    };
    killed.start_kill().expect("kill -9");
    let _ = killed.wait().await;
    traffic.next_phase(Duration::from_secs(1)).await;
    let restarted = Instant::now();
    let (_restarted, _) = service_process_on(&backends, victim, port, extra).await;
    let first = http.get(format!("{api}/projects/{project}")).header("PRIVATE-TOKEN", ADMIN_TOKEN).send().await;
    let ready_in = restarted.elapsed();
    assert_eq!(first.expect("first request after restart").status(), 200);
    println!("{victim} restarted and answered in {ready_in:?}");
    let (seen, acked) = traffic.finish(Duration::from_secs(3)).await;
    report(&format!("{victim} kill -9"), &["before", "killed", "restarted"], &seen);
    assert_only(&seen[0], &["201", "302", "200"], "before");
    // While the gateway is down nothing can connect; while the download service is down
    // reads get the gateway's JSON 502 and writes go on.
    let down: &[&str] =
        if victim == "gateway" { &["201", "302", "200", "connection error"] } else { &["201", "302", "200", "502"] };
    assert_only(&seen[1], down, "killed");
    if victim != "gateway" {
        assert!(seen[1].counts.get("upload 201").copied().unwrap_or(0) > 0, "writes go on: {:?}", seen[1].counts);
    }
    assert_only(&seen[2], down, "restarted");
    assert!(seen[2].counts.get("upload 201").copied().unwrap_or(0) > 0, "{:?}", seen[2].counts);
    assert!(ready_in < Duration::from_secs(5), "took {ready_in:?} to serve after a restart");
    verify_all(&api, project, &acked).await;
    println!("{victim} kill -9: {} acknowledged uploads verified by SHA-256", acked.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gateway_killed_under_load_serves_at_once_when_restarted() {
    kill_and_restart_under_load("gateway").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn download_service_killed_under_load_serves_at_once_when_restarted() {
    kill_and_restart_under_load("download").await;
}
