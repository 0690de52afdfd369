//! Job artifacts (GitLab's Job Artifacts API; docs/ARCHITECTURE.md) end to end against real
//! Redis and S3: uploads as the runner sends them, downloads by job and by ref, single
//! files from inside the archive, keep, deletes, and the project-wide expiry that the
//! cleanup worker carries out.

use std::time::Duration;

use arca_tests::{ADMIN_TOKEN, Stack, raw_request, zip_with};
use serde_json::{Value, json};
use zip::CompressionMethod;

struct Ci<'a> {
    stack: &'a Stack,
    pid: u64,
}

impl Ci<'_> {
    async fn pipeline(&self, ref_name: &str, parent: Option<u64>) -> u64 {
        let body = json!({"ref": ref_name, "parent_pipeline_id": parent});
        self.stack.admin_post(&format!("/projects/{}/pipelines", self.pid), body).await["id"].as_u64().expect("id")
    }

    async fn finish_pipeline(&self, pipeline: u64, status: &str) {
        self.stack.set_status(&format!("/projects/{}/pipelines/{pipeline}", self.pid), status).await;
    }

    /// A running job: `(id, token)`.
    async fn job(&self, pipeline: u64, name: &str) -> (u64, String) {
        let job = self
            .stack
            .admin_post(&format!("/projects/{}/pipelines/{pipeline}/jobs", self.pid), json!({"name": name}))
            .await;
        (job["id"].as_u64().expect("id"), job["token"].as_str().expect("token").to_owned())
    }

    async fn finish_job(&self, job: u64) {
        self.stack.set_status(&format!("/projects/{}/jobs/{job}", self.pid), "success").await;
    }

    /// Uploads the archive as a raw body.
    async fn upload(&self, job: u64, token: &str, zip: Vec<u8>, query: &str) -> (u16, Value) {
        let url = self.stack.api(&format!("/jobs/{job}/artifacts{query}"));
        let resp = self.stack.http.post(url).header("JOB-TOKEN", token).body(zip).send().await.expect("req");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// A job that ran in `pipeline` and left `zip` behind.
    async fn job_with(&self, pipeline: u64, name: &str, zip: Vec<u8>) -> u64 {
        let (id, token) = self.job(pipeline, name).await;
        assert_eq!(self.upload(id, &token, zip, "").await.0, 201);
        self.finish_job(id).await;
        id
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.stack
            .http
            .get(self.stack.api(&format!("/projects/{}{path}", self.pid)))
            .header("PRIVATE-TOKEN", ADMIN_TOKEN)
            .send()
            .await
            .expect("req")
    }

    /// Follows a 302 to S3 and returns the bytes.
    async fn fetch(&self, path: &str) -> (u16, Vec<u8>) {
        let resp = self.get(path).await;
        if resp.status() != 302 {
            return (resp.status().as_u16(), Vec::new());
        }
        let location = resp.headers()["location"].to_str().expect("ascii").to_owned();
        let s3 = reqwest::get(location).await.expect("s3");
        (s3.status().as_u16(), s3.bytes().await.expect("body").to_vec())
    }

    async fn text(&self, path: &str) -> (u16, String) {
        let resp = self.get(path).await;
        (resp.status().as_u16(), resp.text().await.expect("text"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn runner_multipart_and_raw_uploads_and_every_download() {
    let stack = Stack::start().await;
    let (pid, _) = stack.project("ci", "private").await;
    let ci = Ci { stack: &stack, pid };
    let zip =
        zip_with(&[("out/report.txt", b"all green\n"), ("bin/tool", &[7u8; 5000])], CompressionMethod::Deflated, false);

    // As gitlab-runner sends it: multipart, `file` last, options as fields.
    let p = ci.pipeline("main", None).await;
    let (job, token) = ci.job(p, "build").await;
    let boundary = "------------------------arcaTestBoundary";
    let mut body = Vec::new();
    for (name, value) in [("artifact_format", "zip"), ("artifact_type", "archive"), ("expire_in", "1 week")] {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"artifacts.zip\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
    body.extend(&zip);
    body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    let resp = stack
        .http
        .post(stack.api(&format!("/jobs/{job}/artifacts")))
        .header("JOB-TOKEN", &token)
        .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.json::<Value>().await.expect("json"), json!("201"), "GitLab's answer");
    let stored: Value = ci.get(&format!("/jobs/{job}")).await.json().await.expect("json");
    assert_eq!(stored["artifacts_file"]["size"], zip.len());
    assert_eq!(stored["artifacts_file"]["filename"], "artifacts.zip");
    let expires = stored["artifacts_expire_at"].as_str().expect("expiry").to_owned();
    assert!(expires.as_str() > "2026", "{expires}");
    ci.finish_job(job).await;
    // Jobs join running pipelines only: the second one starts before the pipeline ends.
    let (job2, token2) = ci.job(p, "test").await;
    ci.finish_pipeline(p, "success").await;

    assert_eq!(ci.fetch(&format!("/jobs/{job}/artifacts")).await, (200, zip.clone()), "archive by job");
    assert_eq!(ci.fetch("/jobs/artifacts/main/download?job=build").await, (200, zip.clone()), "archive by ref");
    let resp = ci.get(&format!("/jobs/{job}/artifacts/out/report.txt")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/octet-stream");
    assert_eq!(resp.text().await.expect("text"), "all green\n");
    let resp = ci.get("/jobs/artifacts/main/raw/bin/tool?job=build").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().expect("ascii").starts_with("text/plain"));
    assert_eq!(resp.bytes().await.expect("body").to_vec(), vec![7u8; 5000]);

    // Raw body, with the token as a query parameter.
    let url = stack.api(&format!("/jobs/{job2}/artifacts?expire_in=never&job_token={token2}"));
    let resp = stack.http.post(url).body(zip.clone()).send().await.expect("req");
    assert_eq!(resp.status(), 201);
    let stored: Value = ci.get(&format!("/jobs/{job2}")).await.json().await.expect("json");
    assert_eq!(stored["artifacts_expire_at"], Value::Null);
    // Downloads with a job token as query parameter too.
    let url = stack.api(&format!("/projects/{pid}/jobs/{job2}/artifacts/out/report.txt?job_token={token2}"));
    assert_eq!(stack.http.get(url).send().await.expect("req").text().await.expect("text"), "all green\n");

    for (path, status) in [
        (format!("/jobs/{job}/artifacts/out/missing.txt"), 404),
        (format!("/jobs/{job}/artifacts/out"), 404),
        (format!("/jobs/{job}/artifacts/%2E%2E/etc/passwd"), 400),
        (format!("/jobs/{job}/artifacts/out/%2E%2E/report.txt"), 400),
        (format!("/jobs/{job}/artifacts/out%5Creport.txt"), 400),
        (format!("/jobs/{job}/artifacts/a%00b"), 400),
        ("/jobs/artifacts/main/raw/out/report.txt".to_owned(), 400),
        ("/jobs/artifacts/main/raw/out/report.txt?job=nope".to_owned(), 404),
        ("/jobs/artifacts/nobranch/download?job=build".to_owned(), 404),
        ("/jobs/999/artifacts".to_owned(), 404),
    ] {
        let (got, body) = raw_request("GET", &stack.api(&format!("/projects/{pid}{path}")), ADMIN_TOKEN, b"").await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(body["message"].is_string() || body["error"].is_string(), "{path}: JSON error body, got {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn zip64_and_a_hundred_thousand_entries() {
    let stack = Stack::start().await;
    let (pid, _) = stack.project("big", "private").await;
    let ci = Ci { stack: &stack, pid };
    let p = ci.pipeline("main", None).await;

    let zip64 = zip_with(&[("a.txt", b"zip64 entry"), ("b.bin", &[1u8; 70_000])], CompressionMethod::Deflated, true);
    let job = ci.job_with(p, "zip64", zip64).await;
    assert_eq!(ci.text(&format!("/jobs/{job}/artifacts/a.txt")).await, (200, "zip64 entry".into()));

    let names: Vec<String> = (0..100_000).map(|i| format!("d{}/f{i}.txt", i % 100)).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), n.as_bytes())).collect();
    let many = zip_with(&entries, CompressionMethod::Stored, false);
    let job = ci.job_with(p, "many", many).await;
    for i in [0, 54_321, 99_999] {
        let name = &names[i];
        assert_eq!(ci.text(&format!("/jobs/{job}/artifacts/{name}")).await, (200, name.clone()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn uploads_need_a_running_job_a_zip_and_the_size_limit() {
    let stack = Stack::start_with(|s| {
        s.insert("ARCA_MAX_ARTIFACTS_SIZE".into(), "64KiB".into());
    })
    .await;
    let (pid, _) = stack.project("strict", "private").await;
    let ci = Ci { stack: &stack, pid };
    let p = ci.pipeline("main", None).await;
    let zip = zip_with(&[("x", b"y")], CompressionMethod::Deflated, false);
    let (job, token) = ci.job(p, "build").await;
    let (other_job, other_token) = ci.job(p, "other").await;

    let (status, body) = ci.upload(job, &token, b"this is not a zip".to_vec(), "").await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("zip")));
    assert_eq!(ci.upload(job, &token, vec![], "").await.0, 400, "empty");
    assert_eq!(ci.upload(job, &token, zip.clone(), "?expire_in=soonish").await.0, 400);
    assert_eq!(ci.upload(job, &token, zip.clone(), "?artifact_format=gzip").await.0, 400);
    assert_eq!(ci.upload(job, &token, vec![0u8; 65 * 1024 + 70_000], "").await.0, 413);
    assert_eq!(ci.upload(job, &other_token, zip.clone(), "").await.0, 403, "another job's token");
    assert_eq!(ci.upload(job, ADMIN_TOKEN, zip.clone(), "").await.0, 403, "only job tokens upload");
    let resp =
        stack.http.post(stack.api(&format!("/jobs/{job}/artifacts"))).body(zip.clone()).send().await.expect("req");
    assert_eq!(resp.status(), 401);
    assert_eq!(ci.get(&format!("/jobs/{job}/artifacts")).await.status(), 404, "nothing stored");

    ci.finish_job(other_job).await;
    assert_eq!(ci.upload(other_job, &other_token, zip.clone(), "").await.0, 401, "finished job");
    assert_eq!(ci.upload(job, &token, zip, "").await.0, 201);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let out = stack
        .app
        .blobs
        .client()
        .list_objects_v2()
        .bucket(stack.app.blobs.bucket())
        .prefix("artifacts/")
        .send()
        .await
        .expect("list");
    let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys.len(), 2, "refused uploads left no blob: {keys:?}");
    assert_eq!(format!("{}.index", keys[0]), keys[1], "the one archive and its index");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn by_ref_takes_the_latest_successful_pipeline_parent_before_children() {
    let stack = Stack::start().await;
    let (pid, _) = stack.project("refs", "private").await;
    let ci = Ci { stack: &stack, pid };
    let zip = |s: &str| zip_with(&[("who.txt", s.as_bytes())], CompressionMethod::Deflated, false);

    let old = ci.pipeline("main", None).await;
    ci.job_with(old, "build", zip("old")).await;
    ci.finish_pipeline(old, "success").await;

    let parent = ci.pipeline("main", None).await;
    ci.job_with(parent, "build", zip("parent")).await;
    let child = ci.pipeline("main", Some(parent)).await;
    ci.job_with(child, "build", zip("child")).await;
    ci.job_with(child, "docs", zip("child docs")).await;
    ci.finish_pipeline(child, "success").await;
    ci.finish_pipeline(parent, "success").await;

    let failed = ci.pipeline("main", None).await;
    ci.job_with(failed, "build", zip("failed")).await;
    ci.finish_pipeline(failed, "failed").await;
    let running = ci.pipeline("main", None).await;
    ci.job_with(running, "build", zip("running")).await;

    let other = ci.pipeline("feature/x", None).await;
    ci.job_with(other, "build", zip("feature")).await;
    ci.finish_pipeline(other, "success").await;

    let raw = |r: &str, job: &str| format!("/jobs/artifacts/{r}/raw/who.txt?job={job}");
    assert_eq!(ci.text(&raw("main", "build")).await, (200, "parent".into()), "parent wins a name clash");
    assert_eq!(ci.text(&raw("main", "docs")).await, (200, "child docs".into()), "children searched after");
    assert_eq!(ci.text(&raw("feature%2Fx", "build")).await, (200, "feature".into()), "refs with slashes");
    assert_eq!(ci.get(&raw("main", "deploy")).await.status(), 404);
}

/// The by-ref rule walks the ref's successful pipelines newest first: a job the latest one
/// lacks, a failed job, expired artifacts all send it on to older pipelines (GitLab would
/// answer 404); tags are refs; a project-wide deletion spares exactly what it serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn by_ref_walks_older_successful_pipelines_and_deletion_spares_what_it_serves() {
    let stack = Stack::start().await;
    let (pid, _) = stack.project("walk", "private").await;
    let ci = Ci { stack: &stack, pid };
    let zip = |s: &str| zip_with(&[("who.txt", s.as_bytes())], CompressionMethod::Deflated, false);
    let raw = |r: &str, job: &str| format!("/jobs/artifacts/{r}/raw/who.txt?job={job}");

    let p1 = ci.pipeline("main", None).await;
    let one = ci.job_with(p1, "build", zip("one")).await;
    let docs = ci.job_with(p1, "docs", zip("docs one")).await;
    ci.finish_pipeline(p1, "success").await;
    let p2 = ci.pipeline("main", None).await;
    let (failed, token) = ci.job(p2, "build").await;
    assert_eq!(ci.upload(failed, &token, zip("two, failed"), "").await.0, 201);
    stack.set_status(&format!("/projects/{pid}/jobs/{failed}"), "failed").await;
    ci.finish_pipeline(p2, "success").await;
    let p3 = ci.pipeline("main", None).await;
    let (short, token) = ci.job(p3, "build").await;
    assert_eq!(ci.upload(short, &token, zip("three"), "?expire_in=1%20sec").await.0, 201);
    ci.finish_job(short).await;
    ci.finish_pipeline(p3, "success").await;
    let p4 = ci.pipeline("main", None).await;
    let running = ci.job_with(p4, "build", zip("four, pipeline running")).await;
    let tag = ci.pipeline("v1.0.0", None).await;
    let tagged = ci.job_with(tag, "build", zip("tag")).await;
    ci.finish_pipeline(tag, "success").await;

    assert_eq!(ci.text(&raw("main", "build")).await, (200, "three".into()), "the newest successful pipeline");
    assert_eq!(ci.text(&raw("main", "docs")).await, (200, "docs one".into()), "a job the latest lacks");
    assert_eq!(ci.text(&raw("v1.0.0", "build")).await, (200, "tag".into()), "a tag");
    assert_eq!(ci.get(&raw("main", "lint")).await.status(), 404);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(ci.text(&raw("main", "build")).await, (200, "one".into()), "past expired artifacts and a failed job");

    assert_eq!(stack.admin_delete(&format!("/projects/{pid}/artifacts")).await, 202);
    for (job, served) in [(one, true), (docs, true), (tagged, true), (failed, false), (running, false)] {
        let status = ci.get(&format!("/jobs/{job}/artifacts")).await.status().as_u16();
        assert_eq!(status, if served { 302 } else { 404 }, "job {job}");
    }
    assert_eq!(ci.text(&raw("main", "build")).await, (200, "one".into()));
    assert_eq!(ci.text(&raw("main", "docs")).await, (200, "docs one".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keep_delete_and_project_wide_expiry() {
    let stack = Stack::start().await;
    let (pid, _) = stack.project("cleanup", "private").await;
    let ci = Ci { stack: &stack, pid };
    let zip = |s: &str| zip_with(&[("f.txt", s.as_bytes())], CompressionMethod::Deflated, false);

    let main1 = ci.pipeline("main", None).await;
    let kept = ci.job_with(main1, "build", zip("main1")).await;
    ci.finish_pipeline(main1, "success").await;
    let main2 = ci.pipeline("main", None).await;
    let latest_main = ci.job_with(main2, "build", zip("main2")).await;
    let deleted = ci.job_with(main2, "extra", zip("extra")).await;
    ci.finish_pipeline(main2, "success").await;
    let dev = ci.pipeline("dev", None).await;
    let latest_dev = ci.job_with(dev, "build", zip("dev")).await;
    ci.finish_pipeline(dev, "success").await;
    let broken = ci.pipeline("dev", None).await;
    let failed = ci.job_with(broken, "build", zip("failed")).await;
    ci.finish_pipeline(broken, "failed").await;

    let resp = stack
        .http
        .post(stack.api(&format!("/projects/{pid}/jobs/{kept}/artifacts/keep")))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.expect("json")["artifacts_expire_at"], Value::Null);

    let del = format!("/projects/{pid}/jobs/{deleted}/artifacts");
    assert_eq!(stack.admin_delete(&del).await, 204);
    assert_eq!(stack.admin_delete(&del).await, 404);
    assert_eq!(ci.get(&format!("/jobs/{deleted}/artifacts")).await.status(), 404);

    assert_eq!(stack.admin_delete(&format!("/projects/{pid}/artifacts")).await, 202);
    // Expired at once for readers, kept ones included; the latest per ref survive.
    assert_eq!(ci.get(&format!("/jobs/{kept}/artifacts")).await.status(), 404);
    assert_eq!(ci.get(&format!("/jobs/{failed}/artifacts")).await.status(), 404);
    assert_eq!(ci.fetch(&format!("/jobs/{latest_main}/artifacts")).await.0, 200);
    assert_eq!(ci.fetch(&format!("/jobs/{latest_dev}/artifacts")).await.0, 200);

    // The worker (1 s interval in tests) deletes the blobs: two remain.
    let mut left = 0;
    for _ in 0..100 {
        let out = stack
            .app
            .blobs
            .client()
            .list_objects_v2()
            .bucket(stack.app.blobs.bucket())
            .prefix("artifacts/")
            .send()
            .await
            .expect("list");
        // Each archive has its index beside it: both go.
        let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
        let archives = keys.iter().filter(|k| k.ends_with(".zip")).count();
        let indexes = keys.iter().filter(|k| keys.contains(&format!("{k}.index").as_str())).count();
        left = archives;
        if left == 2 && keys.len() == 4 && indexes == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, 2, "only the latest artifacts of each ref are left");
    assert_eq!(ci.text(&format!("/jobs/{latest_main}/artifacts/f.txt")).await, (200, "main2".into()));
}

/// `POST .../artifacts/keep` shares its path with a file named `keep` at an archive's root;
/// a GET of that path still reads the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_file_named_keep_is_read_beside_the_keep_action() {
    let stack = Stack::start().await;
    let (pid, _) = stack.project("keepfile", "private").await;
    let ci = Ci { stack: &stack, pid };
    let main = ci.pipeline("main", None).await;
    let job = ci.job_with(main, "build", zip_with(&[("keep", b"kept bytes")], CompressionMethod::Stored, false)).await;
    assert_eq!(ci.text(&format!("/jobs/{job}/artifacts/keep")).await, (200, "kept bytes".to_owned()));
}

/// Jobs and pipelines are read as GitLab serves them (python-gitlab's `project.jobs.get`,
/// `project.jobs.list`, `project.pipelines.*`): every job, with its artifacts and pipeline,
/// filtered by `scope[]`; pipelines by `ref` and `status`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jobs_and_pipelines_read_as_gitlab_serves_them() {
    let stack = Stack::start().await;
    let (pid, _) = stack.project("reads", "private").await;
    let ci = Ci { stack: &stack, pid };
    let main = ci.pipeline("main", None).await;
    let build = ci.job_with(main, "build", zip_with(&[("a.txt", b"a")], CompressionMethod::Stored, false)).await;
    let (test, _) = ci.job(main, "test").await;
    let child = ci.pipeline("main", Some(main)).await;
    let (deploy, _) = ci.job(child, "deploy").await;
    ci.finish_pipeline(main, "success").await;
    let dev = ci.pipeline("dev", None).await;

    let json = |resp: reqwest::Response| async move {
        let status = resp.status().as_u16();
        let total = resp.headers().get("x-total").and_then(|v| v.to_str().ok()).map(str::to_owned);
        (status, total, resp.json::<Value>().await.unwrap_or(Value::Null))
    };
    let (status, _, job) = json(ci.get(&format!("/jobs/{build}")).await).await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(
        (job["id"].as_u64(), job["name"].as_str(), job["status"].as_str()),
        (Some(build), Some("build"), Some("success"))
    );
    assert!(job["finished_at"].is_string() && job["started_at"].is_string(), "{job}");
    assert_eq!(job["pipeline"]["id"].as_u64(), Some(main));
    assert_eq!(job["pipeline"]["status"], "success");
    assert_eq!(job["artifacts"][0]["file_type"], "archive");
    assert!(job["artifacts_file"]["size"].as_u64().is_some_and(|s| s > 0), "{job}");
    let (_, _, running) = json(ci.get(&format!("/jobs/{test}")).await).await;
    assert_eq!((running["status"].as_str(), &running["finished_at"]), (Some("running"), &Value::Null));
    assert!(running.get("artifacts").is_none(), "no artifacts: {running}");
    assert_eq!(json(ci.get("/jobs/999999").await).await.0, 404);

    // Every job, newest first, whether or not it has artifacts; scope[] ORs statuses.
    let ids = |list: &Value| list.as_array().expect("list").iter().filter_map(|j| j["id"].as_u64()).collect::<Vec<_>>();
    let (status, total, all) = json(ci.get("/jobs").await).await;
    assert_eq!((status, total.as_deref()), (200, Some("3")));
    assert_eq!(ids(&all), vec![deploy, test, build]);
    let (_, _, running) = json(ci.get("/jobs?scope[]=running").await).await;
    assert_eq!(ids(&running), vec![deploy, test]);
    let (_, _, both) = json(ci.get("/jobs?scope[]=success&scope[]=running").await).await;
    assert_eq!(ids(&both), vec![deploy, test, build]);
    let (_, _, one) = json(ci.get("/jobs?scope=success").await).await;
    assert_eq!(ids(&one), vec![build]);
    let (_, _, none) = json(ci.get("/jobs?scope[]=pending").await).await;
    assert_eq!(ids(&none), Vec::<u64>::new());
    let (status, _, err) = json(ci.get("/jobs?scope[]=bogus").await).await;
    assert_eq!((status, err["error"].as_str()), (400, Some("scope is invalid")));
    let (_, total, page) = json(ci.get("/jobs?per_page=1&page=2").await).await;
    assert_eq!((total.as_deref(), ids(&page)), (Some("3"), vec![test]));

    // Pipelines, child pipelines included, newest first; by ref and status.
    let (status, _, pipelines) = json(ci.get("/pipelines").await).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&pipelines), vec![dev, child, main]);
    assert_eq!(ids(&json(ci.get("/pipelines?ref=dev").await).await.2), vec![dev]);
    assert_eq!(ids(&json(ci.get("/pipelines?status=success").await).await.2), vec![main]);
    assert_eq!(ids(&json(ci.get("/pipelines?ref=main&status=running").await).await.2), vec![child]);
    assert_eq!(json(ci.get("/pipelines?status=bogus").await).await.0, 400);
    let (_, _, one) = json(ci.get(&format!("/pipelines/{main}")).await).await;
    assert_eq!((one["id"].as_u64(), one["ref"].as_str()), (Some(main), Some("main")));
    assert_eq!(json(ci.get("/pipelines/999999").await).await.0, 404);
    let (_, total, jobs) = json(ci.get(&format!("/pipelines/{main}/jobs")).await).await;
    assert_eq!((total.as_deref(), ids(&jobs)), (Some("2"), vec![build, test]));
}

/// The runner's dependency fetch: a later job of the project reads an earlier job's archive
/// by job id alone with its own `JOB-TOKEN`, with and without `direct_download=true`; the
/// presigned URL answers a `Range: bytes=0-0` probe with 206 (parallel chunked downloads).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_later_job_fetches_a_dependency_by_job_id() {
    let stack = Stack::start().await;
    let (pid, _) = stack.project("deps", "private").await;
    let ci = Ci { stack: &stack, pid };
    let main = ci.pipeline("main", None).await;
    let zip = zip_with(&[("bin/tool", b"tool bytes")], CompressionMethod::Stored, false);
    let build = ci.job_with(main, "build", zip.clone()).await;
    let (_, token) = ci.job(main, "test").await;
    let fetch = |query: &'static str, token: String| {
        let url = stack.api(&format!("/jobs/{build}/artifacts{query}"));
        let req = stack.http.get(url).header("JOB-TOKEN", token);
        async move { req.send().await.expect("req") }
    };
    for query in ["?direct_download=true", ""] {
        let resp = fetch(query, token.clone()).await;
        assert_eq!(resp.status(), 302, "{query}");
        let location = resp.headers()["location"].to_str().expect("ascii").to_owned();
        let probe = reqwest::Client::new().get(&location).header("Range", "bytes=0-0").send().await.expect("s3");
        assert_eq!(probe.status(), 206);
        assert_eq!(probe.headers()["content-range"], format!("bytes 0-0/{}", zip.len()).as_str());
        assert_eq!(reqwest::get(&location).await.expect("s3").bytes().await.expect("body").as_ref(), zip.as_slice());
    }
    // Another project's job token reads nothing here, and an unknown job is a 404.
    let (other, _) = stack.project("elsewhere", "private").await;
    let other_ci = Ci { stack: &stack, pid: other };
    let other_pipeline = other_ci.pipeline("main", None).await;
    let (_, foreign) = other_ci.job(other_pipeline, "spy").await;
    assert_eq!(fetch("?direct_download=true", foreign).await.status(), 404);
    let unknown =
        stack.http.get(stack.api("/jobs/987654/artifacts")).header("JOB-TOKEN", token).send().await.expect("req");
    assert_eq!(unknown.status(), 404);
}
