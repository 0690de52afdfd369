//! What the GitLab Runner sends, replayed byte for byte against real Redis and S3.
//!
//! The requests are built as gitlab-runner builds them (gitlabhq/gitlab-runner):
//! - `network/gitlab.go`, `UploadRawArtifacts`: `POST jobs/:id/artifacts?<query>` with the
//!   header `JOB-TOKEN`, the query from `uploadRawArtifactsQuery` (Go's `url.Values.Encode`:
//!   keys sorted, a space as `+`), and a body that `createArtifactsForm` writes through an
//!   `io.Pipe` — so its length is unknown and it goes out chunked — as Go's
//!   `mime/multipart` writer lays it out: one part from `CreateFormFile("file", baseName)`,
//!   a 60-hex-digit boundary, no preamble. A 201 is success; anything else fails the job.
//! - `common/spec/spec.go`: an artifact's `artifact_type` and `artifact_format` (`zip`,
//!   `gzip`, `raw`; the zstd variants are opt-in and not accepted here) come from the job
//!   payload as GitLab pairs them, and go out unchanged in the query.
//! - `commands/helpers/artifacts_uploader.go`: the file name is the artifact's name plus
//!   `.zip` or `.gz` by format, and a gzip report of several files is one gzip member per
//!   file, concatenated.
//! - `network/gitlab.go`, `DownloadArtifacts`: `GET jobs/:id/artifacts?direct_download=true`
//!   with `JOB-TOKEN`; the runner follows the redirect and expects a 200.

use std::io::Write;
use std::time::Duration;

use arca_tests::{ADMIN_TOKEN, Stack, keys_under, zip_with};
use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};
use zip::CompressionMethod;

const USER_AGENT: &str = "gitlab-runner 17.11.0 (17-11-stable; go1.23.6; linux/amd64)";

/// The multipart body Go's `mime/multipart` writes for `CreateFormFile("file", name)`
/// followed by `Close()`, and its content type.
fn go_form(name: &str, content: &[u8]) -> (String, Vec<u8>) {
    let boundary: String = (0..30).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
    let mut body = Vec::with_capacity(content.len() + 256);
    body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    body.extend_from_slice(
        format!("Content-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n").as_bytes(),
    );
    body.extend_from_slice(b"Content-Type: application/octet-stream\r\n\r\n");
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// One gzip member per file, as the runner's gzip stream writes a report of several files.
fn gzip_members(files: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in files {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(f).expect("gzip");
        out.extend(enc.finish().expect("gzip"));
    }
    out
}

struct Runner<'a> {
    stack: &'a Stack,
}

impl Runner<'_> {
    /// `UploadRawArtifacts`: the body goes out in 32 KiB writes (`io.Copy`), chunked.
    async fn upload(&self, job: u64, token: &str, query: &str, name: &str, content: &[u8]) -> (u16, Value) {
        let (content_type, body) = go_form(name, content);
        let chunks: Vec<Result<Bytes, std::io::Error>> =
            body.chunks(32 * 1024).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        let resp = self
            .stack
            .http
            .post(self.stack.api(&format!("/jobs/{job}/artifacts?{query}")))
            .header("JOB-TOKEN", token)
            .header("User-Agent", USER_AGENT)
            .header("Content-Type", content_type)
            .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)))
            .send()
            .await
            .expect("upload");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_runner_uploads_an_archive_and_reports_and_a_later_job_fetches_the_archive() {
    let stack = Stack::start_with(|s| {
        s.insert("ARCA_MAX_ARTIFACTS_SIZE".into(), "256KiB".into());
    })
    .await;
    let (pid, _) = stack.project("runner", "private").await;
    let pipeline = stack.admin_post(&format!("/projects/{pid}/pipelines"), json!({"ref": "main"})).await["id"]
        .as_u64()
        .expect("pipeline");
    let new_job = |name: &'static str| {
        let stack = &stack;
        async move {
            let job =
                stack.admin_post(&format!("/projects/{pid}/pipelines/{pipeline}/jobs"), json!({"name": name})).await;
            (job["id"].as_u64().expect("id"), job["token"].as_str().expect("token").to_owned())
        }
    };
    let runner = Runner { stack: &stack };
    let (build, token) = new_job("build").await;
    let archive = zip_with(&[("bin/tool", &[1u8; 3000]), ("README", b"read me\n")], CompressionMethod::Deflated, false);
    let junit = gzip_members(&[b"<testsuite name=\"a\"/>\n", b"<testsuite name=\"b\"/>\n"]);
    let dotenv = gzip_members(&[b"VERSION=1.2.3\n"]);
    let sast = br#"{"version":"15.0.0","vulnerabilities":[]}"#;

    let ok = (201, json!("201"));
    let q = "artifact_format=zip&artifact_type=archive&expire_in=1+week";
    assert_eq!(runner.upload(build, &token, q, "artifacts.zip", &archive).await, ok, "archive");
    let q = "artifact_format=gzip&artifact_type=junit&expire_in=1+week";
    assert_eq!(runner.upload(build, &token, q, "junit.xml.gz", &junit).await, ok, "junit");
    let q = "artifact_format=gzip&artifact_type=dotenv&expire_in=1+week";
    assert_eq!(runner.upload(build, &token, q, ".env.gz", &dotenv).await, ok, "dotenv");
    let q = "artifact_format=raw&artifact_type=sast&expire_in=1+week";
    assert_eq!(runner.upload(build, &token, q, "gl-sast-report.json", sast).await, ok, "sast");

    // A `metadata` part (what GitLab Workhorse adds for an archive) is accepted and ignored.
    let (test_job, test_token) = new_job("with-metadata").await;
    let boundary = "arcaMetadataBoundary";
    let mut body = Vec::new();
    for (field, file, bytes) in [("metadata", "metadata.gz", &junit), ("file", "artifacts.zip", &archive)] {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let resp = stack
        .http
        .post(stack.api(&format!("/jobs/{test_job}/artifacts?artifact_format=zip&artifact_type=archive")))
        .header("JOB-TOKEN", &test_token)
        .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .expect("upload");
    assert_eq!(resp.status(), 201);
    let stored = stack.app.meta.job_artifacts(pid, test_job).await.expect("redis");
    assert_eq!(
        stored.iter().map(|a| (a.file_type.as_str(), a.size)).collect::<Vec<_>>(),
        vec![("archive", archive.len() as u64)]
    );

    // What is refused, and leaves nothing behind.
    let message = |v: &Value| v["message"].as_str().or(v["error"].as_str()).unwrap_or_default().to_owned();
    let q = "artifact_format=gzip&artifact_type=junit&expire_in=1+week";
    let (status, body) = runner.upload(build, &token, q, "junit.xml.gz", &junit).await;
    assert_eq!((status, message(&body).as_str()), (400, "another artifact of the same type already exists"));
    let q = "artifact_format=gzip&artifact_type=cobertura";
    let (status, body) = runner.upload(build, &token, q, "cobertura.xml.gz", b"<coverage/>").await;
    assert_eq!(status, 400, "a gzip that is not gzip: {body}");
    assert!(message(&body).contains("gzip"), "{body}");
    let (status, _) = runner.upload(build, &token, q, "cut.gz", &junit[..junit.len() - 4]).await;
    assert_eq!(status, 400, "a gzip cut short");
    let q = "artifact_format=raw&artifact_type=junit";
    assert_eq!(runner.upload(build, &token, q, "junit.xml", b"<x/>").await.0, 400, "junit is gzip");
    let q = "artifact_format=raw&artifact_type=no_such_type";
    assert_eq!(runner.upload(build, &token, q, "x", b"x").await.0, 400, "unknown type");
    let q = "artifact_format=zip&artifact_type=lsif";
    assert_eq!(runner.upload(build, &token, q, "lsif.zip", b"not a zip").await.0, 400, "lsif is a zip");
    let q = "artifact_format=raw&artifact_type=codequality";
    let (status, _) = runner.upload(build, &token, q, "big.json", &vec![b' '; 300 * 1024]).await;
    assert_eq!(status, 413, "each artifact is held to ARCA_MAX_ARTIFACTS_SIZE");
    // A refused cobertura left no trace: the type is still free.
    let cobertura = gzip_members(&[b"<coverage line-rate=\"0.9\"/>\n"]);
    let q = "artifact_format=gzip&artifact_type=cobertura&expire_in=1+week";
    assert_eq!(runner.upload(build, &token, q, "cobertura-coverage.xml.gz", &cobertura).await, ok);

    // The job lists every artifact, as GitLab does; the archive is its artifacts_file.
    let job: Value = stack
        .http
        .get(stack.api(&format!("/projects/{pid}/jobs/{build}")))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .send()
        .await
        .expect("job")
        .json()
        .await
        .expect("json");
    assert_eq!(job["artifacts_file"], json!({"filename": "artifacts.zip", "size": archive.len()}));
    let listed: Vec<(String, String, String, u64)> = job["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .map(|a| {
            let s = |k: &str| a[k].as_str().expect("field").to_owned();
            (s("file_type"), s("file_format"), s("filename"), a["size"].as_u64().expect("size"))
        })
        .collect();
    let want = |t: &str, f: &str, n: &str, size: usize| (t.to_owned(), f.to_owned(), n.to_owned(), size as u64);
    assert_eq!(
        listed,
        vec![
            want("archive", "zip", "artifacts.zip", archive.len()),
            want("junit", "gzip", "junit.xml.gz", junit.len()),
            want("dotenv", "gzip", ".env.gz", dotenv.len()),
            want("sast", "raw", "gl-sast-report.json", sast.len()),
            want("cobertura", "gzip", "cobertura-coverage.xml.gz", cobertura.len()),
        ]
    );
    stack.set_status(&format!("/projects/{pid}/jobs/{build}"), "success").await;

    // `DownloadArtifacts` of a later job: the archive, never a report.
    let (test, test_token) = new_job("test").await;
    let resp = stack
        .http
        .get(stack.api(&format!("/jobs/{build}/artifacts?direct_download=true")))
        .header("JOB-TOKEN", &test_token)
        .header("User-Agent", USER_AGENT)
        .send()
        .await
        .expect("download");
    assert_eq!(resp.status(), 302);
    let location = resp.headers()["location"].to_str().expect("ascii").to_owned();
    let s3 = reqwest::get(&location).await.expect("s3");
    assert_eq!(s3.status(), 200);
    assert_eq!(s3.bytes().await.expect("body").as_ref(), archive.as_slice());

    // Reports expire like archives: a junit report kept for a second is gone after the
    // worker's pass (the pipeline still runs, so nothing of it is spared).
    let q = "artifact_format=gzip&artifact_type=junit&expire_in=1+sec";
    assert_eq!(runner.upload(test, &test_token, q, "junit.xml.gz", &junit).await, ok);
    let report = stack.app.meta.job_artifact(pid, test, "junit").await.expect("redis").expect("stored");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(arca_cleanup::expire_artifacts(&stack.app).await.expect("pass") >= 1);
    assert!(stack.app.meta.job_artifacts(pid, test).await.expect("redis").is_empty(), "record gone");
    assert!(keys_under(&stack.app, &report.blob_key).await.is_empty(), "blob gone");

    // Deleting a job's artifacts removes them all.
    let resp = stack
        .http
        .delete(stack.api(&format!("/projects/{pid}/jobs/{build}/artifacts")))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), 204);
    assert!(stack.app.meta.job_artifacts(pid, build).await.expect("redis").is_empty());
    assert!(!stack.app.meta.project_artifact_jobs(pid).await.expect("redis").contains(&build));
}
