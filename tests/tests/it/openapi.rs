//! The OpenAPI description against a live stack. It is generated from the handlers that
//! serve the API (`api/src/openapi.rs`), so it cannot list a route that is not served; the
//! gateway serves it, and schemathesis (PyPI) fuzzes every operation against a running stack
//! and finds no 5xx and no answer the description does not allow.

use arca_api::openapi;
use arca_tests::{ADMIN_TOKEN, Stack, tool, zip_of};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_gateway_serves_the_description_to_anyone() {
    let stack = Stack::start().await;
    let resp = stack.http.get(stack.api("/openapi.json")).send().await.expect("request");
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().expect("ascii").starts_with("application/json"));
    let served: Value = resp.json().await.expect("json");
    assert_eq!(served, openapi::document());
}

/// A project with what the description's examples point at: package `tool` 1.0.0 with
/// `tool.bin` and metadata `channel`, and a successful `main` pipeline whose job `build`
/// left an archive with `docs/readme.txt`.
async fn seed(stack: &Stack) {
    let (project, _) = stack.project("fuzzed", "private").await;
    assert_eq!(project, 1, "the examples name project 1");
    let resp = stack
        .http
        .put(stack.api("/projects/1/packages/generic/tool/1.0.0/tool.bin"))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .body("bytes")
        .send()
        .await
        .expect("publish");
    assert_eq!(resp.status(), 201);
    let resp = stack
        .http
        .put(stack.api("/projects/1/packages/1/metadata/channel"))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .json(&json!({"value": "stable"}))
        .send()
        .await
        .expect("metadata");
    assert_eq!(resp.status(), 200);
    let pipeline = stack.admin_post("/projects/1/pipelines", json!({"ref": "main"})).await["id"].as_u64().expect("id");
    let job = stack.admin_post(&format!("/projects/1/pipelines/{pipeline}/jobs"), json!({"name": "build"})).await;
    let zip = zip_of(&[("docs/readme.txt", b"read me")]);
    let job_id = job["id"].as_u64().expect("job id");
    let resp = stack
        .http
        .post(stack.api(&format!("/jobs/{job_id}/artifacts")))
        .header("JOB-TOKEN", job["token"].as_str().expect("token"))
        .body(zip)
        .send()
        .await
        .expect("artifacts");
    assert_eq!(resp.status(), 201);
    for path in [format!("/projects/1/jobs/{job_id}"), format!("/projects/1/pipelines/{pipeline}")] {
        stack.set_status(&path, "success").await;
    }
}

/// schemathesis with a bounded number of examples per operation; the seed is fixed so CI
/// is reproducible (`ARCA_SCHEMATHESIS_SEED` picks another, `ARCA_SCHEMATHESIS_EXAMPLES`
/// runs longer; see the README's Testing section).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn schemathesis_finds_no_server_error_and_no_contradiction() {
    let stack = Stack::start().await;
    seed(&stack).await;
    let seed = std::env::var("ARCA_SCHEMATHESIS_SEED").unwrap_or_else(|_| "20261123".into());
    let examples = std::env::var("ARCA_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "25".into());
    let report = tempfile::tempdir().expect("report dir");
    let out = tokio::process::Command::new(tool("st"))
        .arg("--config-file")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/schemathesis/config.toml"))
        .arg("run")
        .arg(stack.api("/openapi.json"))
        .args(["--header", &format!("PRIVATE-TOKEN: {ADMIN_TOKEN}")])
        // Every check schemathesis has: server errors, answers the description does not
        // allow, schema-violating requests accepted, schema-valid requests refused,
        // undeclared methods (405 with Allow), ...
        .args(["--checks", "all"])
        .args(["--phases", "examples,coverage,fuzzing"])
        // One worker: with two, CPython 3.11 raised "AST constructor recursion depth
        // mismatch" inside schemathesis's own generator threads (a tool crash, not a finding).
        .args(["--max-examples", &examples, "--seed", &seed, "--no-color", "--workers", "1"])
        // The seed alone decides the run: no replay of examples stored by earlier runs. A
        // request that hangs is a failure, not a stuck test.
        .args(["--generation-database", "none", "--request-timeout", "20"])
        .arg("--report-dir")
        .arg(report.path())
        .env("SCHEMATHESIS_HOOKS", "")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(600), out)
        .await
        .expect("schemathesis finishes within 10 minutes")
        .expect("run schemathesis (make test installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: Vec<&str> = stdout.lines().filter(|l| l.contains("generated") || l.contains("Tested")).collect();
    println!("schemathesis (seed {seed}, {examples} examples per operation): {}", summary.join("; ").trim());
    assert!(out.status.success(), "schemathesis failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let tested: usize = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Tested: "))
        .and_then(|n| n.trim().parse().ok())
        .expect("schemathesis reports how many operations it tested");
    // Every operation schemathesis found was tested, and it found every one of ours (it
    // leaves some HEAD operations out: one that shares its GET's parameters).
    let total: usize = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Operations:"))
        .and_then(|rest| rest.rsplit('/').next())
        .and_then(|t| t.trim().trim_end_matches("total").trim().parse().ok())
        .expect("schemathesis reports how many operations there are");
    let keys = openapi::operation_keys();
    let heads = keys.iter().filter(|k| k.starts_with("HEAD ")).count();
    assert_eq!(tested, total, "every operation was exercised:\n{stdout}");
    assert!((keys.len() - heads..=keys.len()).contains(&total), "{total} of {} operations:\n{stdout}", keys.len());
}
