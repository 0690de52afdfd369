//! Single files come out of an archive through S3 range requests only: never the whole
//! archive, and one range read once the central directory is cached. Alone in its binary
//! because the byte counter it reads is process-wide.

use std::io::{Cursor, Write};
use std::sync::atomic::Ordering;

use arca_shared::archive::RANGE_BYTES;
use arca_shared::config::{Config, Source};
use arca_tests::{ADMIN_TOKEN, Stack};
use rand::RngCore;
use serde_json::json;
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn single_files_are_read_with_range_requests_only() {
    let stack = Stack::start().await;
    let (pid, _) = stack.project("ranges", "private").await;
    let pipeline = stack.admin_post(&format!("/projects/{pid}/pipelines"), json!({"ref": "main"})).await["id"]
        .as_u64()
        .expect("id");
    let job = stack.admin_post(&format!("/projects/{pid}/pipelines/{pipeline}/jobs"), json!({"name": "b"})).await;
    let (job_id, token) = (job["id"].as_u64().expect("id"), job["token"].as_str().expect("token").to_owned());

    // 20 MiB of incompressible entries, then two small files.
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let mut blob = vec![0u8; 200 * 1024];
    for i in 0..100 {
        rand::rng().fill_bytes(&mut blob);
        w.start_file(format!("blobs/{i}.bin"), opts).expect("entry");
        w.write_all(&blob).expect("write");
    }
    for (name, text) in [("small.txt", "first"), ("other.txt", "second")] {
        w.start_file(name, opts.compression_method(CompressionMethod::Deflated)).expect("entry");
        w.write_all(text.as_bytes()).expect("write");
    }
    let zip = w.finish().expect("zip").into_inner();
    let resp = stack
        .http
        .post(stack.api(&format!("/jobs/{job_id}/artifacts")))
        .header("JOB-TOKEN", &token)
        .body(zip.clone())
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 201);

    // A second download service with its own (cold) archive cache, as another replica.
    let config = Config::from_source(&Source::map(stack.backends.settings())).expect("config");
    let app = arca_shared::App::connect(config).await.expect("app");
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", l.local_addr().expect("addr"));
    tokio::spawn(arca_download::serve(l, app, std::future::pending::<()>()));
    let read = |name: &str| {
        let req = stack
            .http
            .get(format!("{url}/api/v4/projects/{pid}/jobs/{job_id}/artifacts/{name}"))
            .header("PRIVATE-TOKEN", ADMIN_TOKEN);
        async move {
            let (before, gets) = (RANGE_BYTES.load(Ordering::Relaxed), s3_gets());
            let text = req.send().await.expect("req").text().await.expect("text");
            (text, RANGE_BYTES.load(Ordering::Relaxed) - before, s3_gets() - gets)
        }
    };
    // Through the index written at upload: its page table, one page, the entry.
    let (text, cold, cold_gets) = read("small.txt").await;
    assert_eq!(text, "first");
    let (text, warm, warm_gets) = read("other.txt").await;
    assert_eq!(text, "second");
    println!(
        "archive {} bytes; cold read fetched {cold} bytes in {cold_gets} GETs, warm read {warm} bytes in {warm_gets}",
        zip.len()
    );
    assert!(cold > 0 && cold < 256 * 1024, "cold read fetched {cold} of {} bytes", zip.len());
    assert!(cold_gets <= 3, "a first read is at most three range reads: {cold_gets}");
    assert!(warm_gets <= 2 && warm <= cold, "a second read skips the page table: {warm_gets} GETs, {warm} bytes");
    let resp = stack
        .http
        .get(format!("{url}/api/v4/projects/{pid}/jobs/{job_id}/artifacts/blobs/7.bin"))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .send()
        .await
        .expect("req");
    assert_eq!(resp.bytes().await.expect("body").len(), 200 * 1024, "a stored entry of 200 KiB, whole");

    // An archive stored before arca wrote indexes reads through its central directory.
    let mut record = stack.app.meta.artifact(pid, job_id).await.expect("redis").expect("artifact");
    assert!(record.indexed);
    record.indexed = false;
    stack.app.meta.save_artifact(&record).await.expect("save");
    let (text, legacy, _) = read("other.txt").await;
    assert_eq!(text, "second");
    assert!(legacy > warm, "the central directory is read: {legacy} bytes");
}

/// S3 GetObject requests made so far, from the process's metrics.
fn s3_gets() -> u64 {
    arca_shared::metrics::render()
        .lines()
        .filter(|l| l.starts_with("arca_s3_request_duration_seconds_count") && l.contains("GetObject"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}
