//! The web console end to end: tests/console/e2e.mjs drives Debian's headless Chromium
//! through playwright-core against a live stack (sign in, upload, details, metadata,
//! disable, download, delete, restore, job artifacts and reports, retention, webhooks,
//! roles, sign out), and checks every page at 1280 and 390 px for labels, keyboard reach and
//! overflow. Screenshots go to target/console-screenshots/.

use std::path::Path;
use std::sync::{Arc, Mutex};

use arca_shared::model::access;
use arca_tests::{Stack, zip_of};
use axum::http::HeaderMap;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_console_works_in_a_real_browser() {
    // The cleanup worker sits out: the walk previews a retention rule, which a pass would
    // carry out before the page shows it.
    let stack = Stack::start_with(|s| {
        s.insert("ARCA_CLEANUP_INTERVAL".into(), "1000days".into());
        // The walk adds a webhook to a receiver on loopback.
        s.insert("ARCA_WEBHOOK_ALLOW_PRIVATE".into(), "true".into());
    })
    .await;
    let received: Arc<Mutex<Vec<(HeaderMap, Bytes)>>> = Arc::default();
    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
    let hook_url = format!("http://{}/console-hook", receiver.local_addr().expect("addr"));
    let app = axum::Router::new().fallback({
        let received = received.clone();
        move |headers: HeaderMap, body: Bytes| async move {
            received.lock().expect("lock").push((headers, body));
            "ok"
        }
    });
    tokio::spawn(async move { axum::serve(receiver, app).await });
    let (project, path) = stack.project("console", "private").await;
    assert_eq!(path, "root/console");
    let (maintainer_id, maintainer) = stack.user("mia", &["api"]).await;
    stack.add_member(project, maintainer_id, access::MAINTAINER).await;
    let (reporter_id, reporter) = stack.user("rory", &["api"]).await;
    stack.add_member(project, reporter_id, access::REPORTER).await;

    // A job that left an archive behind.
    let pipeline = stack.admin_post(&format!("/projects/{project}/pipelines"), json!({"ref": "main"})).await;
    let pipeline = pipeline["id"].as_u64().expect("pipeline id");
    let job =
        stack.admin_post(&format!("/projects/{project}/pipelines/{pipeline}/jobs"), json!({"name": "build"})).await;
    let job_id = job["id"].as_u64().expect("job id");
    let zip = zip_of(&[("docs/readme.txt", b"read me, console"), ("bin/tool", b"#!/bin/sh\n")]);
    let resp = stack
        .http
        .post(stack.api(&format!("/jobs/{job_id}/artifacts")))
        .header("JOB-TOKEN", job["token"].as_str().expect("token"))
        .body(zip)
        .send()
        .await
        .expect("artifacts");
    assert_eq!(resp.status(), 201);
    // And a test report beside it, which the job page lists with the archive.
    let mut junit = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut junit, b"<testsuite name=\"console\"/>\n").expect("gzip");
    let resp = stack
        .http
        .post(stack.api(&format!("/jobs/{job_id}/artifacts?artifact_type=junit&artifact_format=gzip")))
        .header("JOB-TOKEN", job["token"].as_str().expect("token"))
        .body(junit.finish().expect("gzip"))
        .send()
        .await
        .expect("report");
    assert_eq!(resp.status(), 201);

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
    let shots = root.join("target/console-screenshots");
    let out = tokio::process::Command::new("node")
        .arg(root.join("tests/console/e2e.mjs"))
        .current_dir(root.join("tests/console"))
        .env("ARCA_URL", &stack.url)
        .env("MAINTAINER_TOKEN", &maintainer)
        .env("REPORTER_TOKEN", &reporter)
        .env("PROJECT_ID", project.to_string())
        .env("JOB_ID", job_id.to_string())
        .env("HOOK_URL", &hook_url)
        .env("SCREENSHOTS", &shots)
        .output()
        .await
        .expect("run node (make test installs node, chromium and playwright-core)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "console e2e failed:\n{stdout}\n{stderr}");
    assert!(shots.join("details-mobile.png").is_file(), "screenshots were saved");
    // The hook the walk added got the publish, signed with the secret typed into the form.
    let received = received.lock().expect("lock").clone();
    let (headers, body) = received
        .iter()
        .find(|(h, _)| h.get("x-arca-event").is_some_and(|e| e == "package_published"))
        .expect("the receiver got package_published");
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"console-secret").expect("key");
    mac.update(body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(headers.get("x-arca-signature").and_then(|v| v.to_str().ok()), Some(expected.as_str()));
    let body: serde_json::Value = serde_json::from_slice(body).expect("json");
    assert_eq!(body["package"]["name"], "hooked");
}
