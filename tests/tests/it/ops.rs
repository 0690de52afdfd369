//! Operations: metrics that Prometheus accepts and scrapes, the real binaries' lifecycle
//! (SIGTERM drains in-flight requests, bad settings stop start-up with one clear line),
//! and JSON logs. The binary tests run `target/<profile>/arca-*`, which `make test` builds
//! before the tests.

use std::process::Stdio;
use std::time::{Duration, Instant};

use arca_tests::{ADMIN_TOKEN, Stack, binary, free_port, tool};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_service_exposes_metrics_promtool_accepts() {
    let stack = Stack::start().await;
    stack.project("metrics", "public").await;
    stack.http.get(stack.api("/projects/1")).send().await.expect("req");
    for base in [&stack.url, &stack.upload_url, &stack.download_url, &stack.cleanup_url] {
        let text = stack.http.get(format!("{base}/metrics")).send().await.expect("req").text().await.expect("text");
        let mut child = tokio::process::Command::new(tool("promtool"))
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("promtool runs");
        child.stdin.take().expect("stdin").write_all(text.as_bytes()).await.expect("write");
        let out = child.wait_with_output().await.expect("promtool");
        assert!(
            out.status.success(),
            "{base}/metrics: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_real_prometheus_scrapes_the_services() {
    let stack = Stack::start().await;
    stack.project("scraped", "public").await;
    let dir = tempfile::tempdir().expect("tmp");
    let targets: Vec<String> = [&stack.url, &stack.upload_url, &stack.download_url, &stack.cleanup_url]
        .iter()
        .map(|u| format!("\"{}\"", u.trim_start_matches("http://")))
        .collect();
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: arca\n    static_configs:\n      - targets: [{}]\n",
        targets.join(", ")
    );
    std::fs::write(dir.path().join("prometheus.yml"), config).expect("config");
    let port = free_port();
    let mut prometheus = std::process::Command::new(tool("prometheus"))
        .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus runs");
    let query = format!("http://127.0.0.1:{port}/api/v1/query?query=arca_http_requests_total");
    let deadline = Instant::now() + Duration::from_secs(30);
    let found = loop {
        stack.http.get(stack.api("/projects")).send().await.expect("req");
        if let Ok(resp) = stack.http.get(&query).send().await
            && let Ok(body) = resp.json::<serde_json::Value>().await
            && let Some(series) = body["data"]["result"].as_array()
            && series.iter().any(|s| s["metric"]["service"] == "download")
        {
            break series.len();
        }
        if Instant::now() > deadline {
            break 0;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let _ = prometheus.kill();
    let _ = prometheus.wait();
    assert!(found > 0, "Prometheus never returned arca_http_requests_total for the download service");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_lets_an_upload_in_flight_finish_then_exits_zero() {
    let stack = Stack::start().await;
    let (pid, _) = stack.project("drain", "private").await;
    let port = free_port();
    let mut child = tokio::process::Command::new(binary("arca-upload"))
        .envs(stack.backends.settings())
        .env("ARCA_UPLOAD_LISTEN", format!("127.0.0.1:{port}"))
        .env("ARCA_LOG_FORMAT", "json")
        .stderr(Stdio::piped())
        .spawn()
        .expect("arca-upload runs");
    let mut logs = tokio::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while stack.http.get(format!("{base}/readyz")).send().await.map(|r| r.status() != 200).unwrap_or(true) {
        assert!(Instant::now() < deadline, "arca-upload never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // An upload that is half sent when SIGTERM arrives.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(1);
    let body = reqwest::Body::wrap_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|i| (i, rx))
    }));
    let url = format!("{base}/api/v4/projects/{pid}/packages/generic/drain/1/file.bin");
    let upload = tokio::spawn(
        stack
            .http
            .put(url)
            .header("PRIVATE-TOKEN", ADMIN_TOKEN)
            .header("Content-Length", 4 * 1024 * 1024)
            .header("X-Request-Id", "drain-test-1")
            .body(body)
            .send(),
    );
    let chunk = bytes::Bytes::from(vec![5u8; 1024 * 1024]);
    for _ in 0..2 {
        tx.send(Ok(chunk.clone())).await.expect("send");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().expect("pid").to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err(), "no new connections after SIGTERM");
    for _ in 0..2 {
        tx.send(Ok(chunk.clone())).await.expect("send");
    }
    drop(tx);
    let resp = upload.await.expect("task").expect("response");
    assert_eq!(resp.status(), 201, "the upload in flight completes");
    let exit =
        tokio::time::timeout(Duration::from_secs(10), child.wait()).await.expect("exits in time").expect("status");
    assert!(exit.success(), "exit status {exit:?}");

    // JSON logs, one object per line, with the request id on the request's lines.
    let mut saw_request = false;
    while let Ok(Some(line)) = logs.next_line().await {
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if line.contains("drain-test-1") {
            saw_request = true;
            assert!(v["span"]["request_id"] == "drain-test-1" || v["request_id"] == "drain-test-1", "{line}");
        }
        assert!(!line.contains(ADMIN_TOKEN), "a token in the logs: {line}");
    }
    assert!(saw_request, "the request's log lines carry its id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_missing_or_bad_setting_stops_start_up_with_one_clear_line() {
    let backends = arca_tests::Backends::start();
    for (name, remove, set) in [
        ("arca-upload", Some("ARCA_REDIS_URL"), None),
        ("arca-download", None, Some(("ARCA_PRESIGN_TTL", "forever"))),
        ("arca-cleanup", Some("ARCA_JWT_SECRET"), None),
        ("arca-gateway", None, Some(("ARCA_UPLOAD_URLS", "ftp://nope"))),
    ] {
        let mut settings = backends.settings();
        if let Some(r) = remove {
            settings.remove(r);
        }
        if let Some((k, v)) = set {
            settings.insert(k.into(), v.into());
        }
        let out = tokio::time::timeout(
            Duration::from_secs(10),
            tokio::process::Command::new(binary(name)).env_clear().envs(settings).output(),
        )
        .await
        .expect("exits at once")
        .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let variable = remove.or(set.map(|(k, _)| k)).expect("a variable");
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{name}: one line, got {stderr}");
        assert!(stderr.contains(variable), "{name}: names {variable}: {stderr}");
    }
}
