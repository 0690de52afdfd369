//! Load: 200 concurrent clients against the real binaries (gateway, upload, download as
//! processes) for a bounded time, mixing uploads, redirects, single files read out of a job
//! archive and listings. No unexpected answer is allowed, every acknowledged upload is
//! verified by SHA-256 afterwards, latency percentiles are printed, and each service's
//! memory is read from /proc before, after a warm-up and at the end.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arca_tests::{ADMIN_TOKEN, Backends, rss_kib, service_process, zip_of};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

const CLIENTS: usize = 200;
const WARM_UP: Duration = Duration::from_secs(3);
const DURATION: Duration = Duration::from_secs(15);
const ENTRIES: usize = 50;

/// An acknowledged upload `(file, sha256)`, nothing to remember, or what went wrong.
type Outcome = Result<Option<(String, String)>, String>;

#[derive(Default)]
struct Results {
    latencies: BTreeMap<&'static str, Vec<Duration>>,
    unexpected: Vec<String>,
    acked: Vec<(String, String)>,
}

fn entry(i: usize) -> Vec<u8> {
    format!("entry {i} ").repeat(100 + i * 10).into_bytes()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_clients_mixed_traffic_without_errors_or_growth() {
    let backends = Backends::start();
    let (upload, upload_url) = service_process(&backends, "upload", &[]).await;
    let (download, download_url) = service_process(&backends, "download", &[]).await;
    let upstreams = [("ARCA_UPLOAD_URLS", upload_url.as_str()), ("ARCA_DOWNLOAD_URLS", download_url.as_str())];
    let (gateway, gateway_url) = service_process(&backends, "gateway", &upstreams).await;
    let pids = [
        ("gateway", gateway.id().expect("pid")),
        ("upload", upload.id().expect("pid")),
        ("download", download.id().expect("pid")),
    ];
    let api = format!("{gateway_url}/api/v4");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(CLIENTS)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");

    // A project, and a job whose archive holds ENTRIES files.
    let post = |path: String, body: Value| {
        let http = http.clone();
        let api = api.clone();
        async move {
            let resp = http.post(format!("{api}{path}")).header("PRIVATE-TOKEN", ADMIN_TOKEN).json(&body).send().await;
            let resp = resp.expect("setup request");
            assert_eq!(resp.status(), 201, "{path}");
            resp.json::<Value>().await.expect("json")
        }
    };
    let project = post("/projects".into(), json!({"name": "load"})).await["id"].as_u64().expect("id");
    let pipeline =
        post(format!("/projects/{project}/pipelines"), json!({"ref": "main"})).await["id"].as_u64().expect("id");
    let job = post(format!("/projects/{project}/pipelines/{pipeline}/jobs"), json!({"name": "build"})).await;
    let job_id = job["id"].as_u64().expect("job id");
    let files: Vec<(String, Vec<u8>)> = (0..ENTRIES).map(|i| (format!("out/file-{i}.txt"), entry(i))).collect();
    let zip = zip_of(&files.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect::<Vec<_>>());
    let resp = http
        .post(format!("{api}/jobs/{job_id}/artifacts"))
        .header("JOB-TOKEN", job["token"].as_str().expect("token"))
        .body(zip)
        .send()
        .await
        .expect("artifacts");
    assert_eq!(resp.status(), 201);

    let before: Vec<(u64, u64)> = pids.iter().map(|(_, pid)| rss_kib(*pid)).collect();
    let results = Arc::new(Mutex::new(Results::default()));
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (http, api, results) = (http.clone(), api.clone(), results.clone());
            tokio::spawn(async move {
                let mut n = 0usize;
                while started.elapsed() < DURATION {
                    n += 1;
                    let op_started = Instant::now();
                    let (op, outcome): (&'static str, Outcome) = match (client + n) % 4 {
                        0 => {
                            let file = format!("c{client}-n{n}.bin");
                            let body = format!("{client}/{n} ").repeat(500 + (n * 131) % 8000);
                            let url = format!("{api}/projects/{project}/packages/generic/load/1.0.0/{file}");
                            let resp =
                                http.put(url).header("PRIVATE-TOKEN", ADMIN_TOKEN).body(body.clone()).send().await;
                            let outcome = match resp {
                                Ok(r) if r.status() == 201 => Ok(Some((file, hex::encode(Sha256::digest(&body))))),
                                Ok(r) => Err(format!("upload: {}", r.status())),
                                Err(e) => Err(format!("upload: {e}")),
                            };
                            ("upload", outcome)
                        }
                        1 => {
                            let pick = {
                                let r = results.lock().await;
                                r.acked.get((n * 7919 + client) % r.acked.len().max(1)).map(|(f, _)| f.clone())
                            };
                            let Some(file) = pick else { continue };
                            let url = format!("{api}/projects/{project}/packages/generic/load/1.0.0/{file}");
                            let resp = http.get(url).header("PRIVATE-TOKEN", ADMIN_TOKEN).send().await;
                            let outcome = match resp {
                                Ok(r) if r.status() == 302 && r.headers().contains_key("location") => Ok(None),
                                Ok(r) => Err(format!("redirect: {}", r.status())),
                                Err(e) => Err(format!("redirect: {e}")),
                            };
                            ("redirect", outcome)
                        }
                        2 => {
                            let i = (n * 31 + client) % ENTRIES;
                            let url = format!("{api}/projects/{project}/jobs/{job_id}/artifacts/out/file-{i}.txt");
                            let resp = http.get(url).header("PRIVATE-TOKEN", ADMIN_TOKEN).send().await;
                            let outcome = match resp {
                                Ok(r) if r.status() == 200 => match r.bytes().await {
                                    Ok(b) if b[..] == entry(i)[..] => Ok(None),
                                    Ok(b) => Err(format!("archive file {i}: {} wrong bytes", b.len())),
                                    Err(e) => Err(format!("archive file {i}: {e}")),
                                },
                                Ok(r) => Err(format!("archive file: {}", r.status())),
                                Err(e) => Err(format!("archive file: {e}")),
                            };
                            ("archive file", outcome)
                        }
                        _ => {
                            let url = format!("{api}/projects/{project}/packages?per_page=20&page={}", 1 + n % 3);
                            let resp = http.get(url).header("PRIVATE-TOKEN", ADMIN_TOKEN).send().await;
                            let outcome = match resp {
                                Ok(r) if r.status() == 200 => match r.json::<Value>().await {
                                    Ok(v) if v.is_array() => Ok(None),
                                    other => Err(format!("list: {other:?}")),
                                },
                                Ok(r) => Err(format!("list: {}", r.status())),
                                Err(e) => Err(format!("list: {e}")),
                            };
                            ("list", outcome)
                        }
                    };
                    let took = op_started.elapsed();
                    let mut r = results.lock().await;
                    r.latencies.entry(op).or_default().push(took);
                    match outcome {
                        Ok(Some(acked)) => r.acked.push(acked),
                        Ok(None) => {}
                        Err(e) => r.unexpected.push(e),
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(WARM_UP).await;
    let warm: Vec<(u64, u64)> = pids.iter().map(|(_, pid)| rss_kib(*pid)).collect();
    for t in tasks {
        t.await.expect("client");
    }
    let elapsed = started.elapsed();
    let after: Vec<(u64, u64)> = pids.iter().map(|(_, pid)| rss_kib(*pid)).collect();

    let mut results = Arc::try_unwrap(results).ok().expect("clients done").into_inner();
    let total: usize = results.latencies.values().map(Vec::len).sum();
    println!(
        "load: {CLIENTS} clients, {total} requests in {:.1} s = {:.0} req/s, {} unexpected",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        results.unexpected.len()
    );
    for (op, lat) in results.latencies.iter_mut() {
        lat.sort_unstable();
        println!(
            "load: {op:>12}: n={:>6} p50 {:>7.1?} p90 {:>7.1?} p99 {:>7.1?} max {:>7.1?}",
            lat.len(),
            percentile(lat, 0.5),
            percentile(lat, 0.9),
            percentile(lat, 0.99),
            lat.last().copied().unwrap_or_default()
        );
    }
    for (i, (name, _)) in pids.iter().enumerate() {
        println!(
            "load: {name:>8} RSS before {} MiB, after warm-up {} MiB, at the end {} MiB (peak {} MiB)",
            before[i].0 / 1024,
            warm[i].0 / 1024,
            after[i].0 / 1024,
            after[i].1 / 1024
        );
    }
    assert!(
        results.unexpected.is_empty(),
        "unexpected answers: {:?}",
        &results.unexpected[..results.unexpected.len().min(20)]
    );
    assert!(results.acked.len() > CLIENTS, "uploads went through: {}", results.acked.len());
    for (i, (name, _)) in pids.iter().enumerate() {
        // Flat: what warm-up reached is what the service keeps (connection buffers and
        // caches for 200 clients), give or take allocator noise.
        let growth = after[i].0.saturating_sub(warm[i].0) / 1024;
        assert!(growth < 64, "{name} grew by {growth} MiB after warm-up");
    }

    // Every acknowledged upload, byte for byte (through the redirect to S3).
    let verify = reqwest::Client::new();
    for (file, sha) in &results.acked {
        let url = format!("{api}/projects/{project}/packages/generic/load/1.0.0/{file}");
        let resp = verify.get(url).header("PRIVATE-TOKEN", ADMIN_TOKEN).send().await.expect("download");
        assert_eq!(resp.status(), 200, "{file}");
        assert_eq!(&hex::encode(Sha256::digest(resp.bytes().await.expect("body"))), sha, "{file}");
    }
    println!("load: {} acknowledged uploads verified by SHA-256", results.acked.len());
}
