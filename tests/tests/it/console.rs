//! The web console end to end: tests/console/e2e.mjs drives Debian's headless Chromium
//! through playwright-core against a live stack (sign in, upload, details, metadata,
//! disable, download, delete, restore, job artifacts and reports, roles, sign out), and checks every
//! page at 1280 and 390 px for labels, keyboard reach and overflow. Screenshots go to
//! target/console-screenshots/.

use std::path::Path;

use arca_shared::model::access;
use arca_tests::{Stack, zip_of};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_console_works_in_a_real_browser() {
    // The cleanup worker sits out: the walk previews a retention rule, which a pass would
    // carry out before the page shows it.
    let stack = Stack::start_with(|s| {
        s.insert("ARCA_CLEANUP_INTERVAL".into(), "1000days".into());
    })
    .await;
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
        .env("SCREENSHOTS", &shots)
        .output()
        .await
        .expect("run node (make test installs node, chromium and playwright-core)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "console e2e failed:\n{stdout}\n{stderr}");
    assert!(shots.join("details-mobile.png").is_file(), "screenshots were saved");
}
