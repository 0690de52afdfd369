//! Generic packages (GitLab's Generic Packages and Packages APIs) end to end: the gateway,
//! the services, real Redis and a real SigV4-checking S3 server; round trips with the real
//! `curl`.

use std::time::Duration;

use arca_tests::{ADMIN_TOKEN, Stack, encode_path, keys_under, raw_request};
use rand::RngCore;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

fn random_bytes(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rand::rng().fill_bytes(&mut v);
    v
}

fn sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn file_url(stack: &Stack, project: &str, name: &str, version: &str, file: &str) -> String {
    stack.api(&format!("/projects/{project}/packages/generic/{name}/{version}/{file}"))
}

async fn put(stack: &Stack, url: &str, body: Vec<u8>) -> (u16, Value) {
    let resp = stack.http.put(url).header("PRIVATE-TOKEN", ADMIN_TOKEN).body(body).send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Follows the redirect like `curl --location` and returns the bytes.
async fn fetch(stack: &Stack, url: &str) -> (u16, Vec<u8>) {
    let resp = stack.http.get(url).header("PRIVATE-TOKEN", ADMIN_TOKEN).send().await.expect("request");
    if resp.status() != 302 {
        return (resp.status().as_u16(), resp.bytes().await.expect("body").to_vec());
    }
    let location = resp.headers()["location"].to_str().expect("ascii").to_owned();
    let resp = reqwest::get(&location).await.expect("s3 request");
    (resp.status().as_u16(), resp.bytes().await.expect("body").to_vec())
}

async fn curl(args: &[&str]) -> (i32, String) {
    let out = tokio::process::Command::new("curl").args(args).output().await.expect("curl runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn curl_upload_file_and_location_round_trips() {
    let stack = Stack::start().await;
    let (_, path) = stack.project("tools", "private").await;
    let dir = tempfile::tempdir().expect("tmp");
    // Under one part, several parts (8 MiB each) with a short last one, and empty.
    for (name, size) in [("small.bin", 300_000usize), ("large.bin", 20 * 1024 * 1024 + 17), ("empty.bin", 0)] {
        let data = random_bytes(size);
        let src = dir.path().join(name);
        std::fs::write(&src, &data).expect("write");
        let url = file_url(&stack, &encode_path(&path), "tool", "1.0.0", &format!("linux/amd64/{name}"));
        let header = format!("PRIVATE-TOKEN: {ADMIN_TOKEN}");
        let (code, out) =
            curl(&["-sS", "--fail-with-body", "--header", &header, "--upload-file", src.to_str().expect("utf8"), &url])
                .await;
        assert_eq!(code, 0, "{name}: {out}");
        assert_eq!(serde_json::from_str::<Value>(&out).expect("json")["message"], "201 Created");

        if size > 8 * 1024 * 1024 {
            // Without a length (chunked), the body goes through a multipart upload instead.
            let chunked_url = url.replace(name, &format!("chunked-{name}"));
            let (code, out) = curl(&[
                "-sS",
                "--fail-with-body",
                "--header",
                &header,
                "--header",
                "Transfer-Encoding: chunked",
                "--upload-file",
                src.to_str().expect("utf8"),
                &chunked_url,
            ])
            .await;
            assert_eq!(code, 0, "chunked {name}: {out}");
            let (status, bytes) = fetch(&stack, &chunked_url).await;
            assert_eq!((status, sha256(&bytes)), (200, sha256(&data)), "chunked {name}");
        }
        let dst = dir.path().join(format!("{name}.out"));
        let (code, out) =
            curl(&["-sS", "--fail", "--location", "--header", &header, "-o", dst.to_str().expect("utf8"), &url]).await;
        assert_eq!(code, 0, "{name}: {out}");
        assert_eq!(sha256(&std::fs::read(&dst).expect("read")), sha256(&data), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redirect_carries_checksums_and_s3_names_the_file() {
    let stack = Stack::start().await;
    let (pid, _) = stack.project("tools", "public").await;
    let data = b"#!/bin/sh\necho hi\n".to_vec();
    let url = file_url(&stack, &pid.to_string(), "tool", "2.0", "bin/tool.sh?select=package_file");
    let (status, file) = put(&stack, &url, data.clone()).await;
    assert_eq!(status, 201, "{file}");
    for field in [
        "id",
        "package_id",
        "created_at",
        "updated_at",
        "size",
        "file_store",
        "file_md5",
        "file_sha256",
        "file_name",
        "verification_state",
    ] {
        assert!(!file[field].is_null(), "select=package_file lacks {field}: {file}");
    }
    assert_eq!(file["file_sha256"], sha256(&data));
    // As GitLab stores for generic packages: no SHA-1 unless the client asks for it checked.
    assert!(file["file_sha1"].is_null(), "{file}");
    assert_eq!(file["size"], data.len());
    assert_eq!(file["file_name"], "bin/tool.sh");
    let sha1 = "8fd1c7bc0cd9a9e0ff5d5ac2d4a1bc3a32aa1e5c".to_owned();
    let resp = stack
        .http
        .put(file_url(&stack, &pid.to_string(), "tool", "2.1", "t.sh?select=package_file"))
        .header("PRIVATE-TOKEN", arca_tests::ADMIN_TOKEN)
        .header("X-Checksum-Sha1", &sha1)
        .body(data.clone())
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 400, "a wrong SHA-1 is refused");
    let right = hex::encode(<sha1::Sha1 as sha2::Digest>::digest(&data));
    let resp = stack
        .http
        .put(file_url(&stack, &pid.to_string(), "tool", "2.1", "t.sh?select=package_file"))
        .header("PRIVATE-TOKEN", arca_tests::ADMIN_TOKEN)
        .header("X-Checksum-Sha1", &right)
        .body(data.clone())
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 201);
    let with_sha1: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(with_sha1["file_sha1"], right.as_str(), "checked, then kept");
    assert!(file["file"]["url"].as_str().is_some_and(|u| u.ends_with("/packages/generic/tool/2.0/bin/tool.sh")));

    // Anonymous read of a public project: 302 with the checksums, S3 names the file.
    let url = file_url(&stack, &pid.to_string(), "tool", "2.0", "bin/tool.sh");
    let resp = stack.http.get(&url).send().await.expect("req");
    assert_eq!(resp.status(), 302);
    let h = resp.headers();
    assert_eq!(h["x-checksum-sha256"], sha256(&data));
    assert_eq!(h["x-checksum-md5"], hex::encode(md5_digest(&data)));
    assert_eq!(h["etag"], format!("\"{}\"", sha256(&data)));
    let location = h["location"].to_str().expect("ascii").to_owned();
    assert!(location.contains("X-Amz-Signature="), "a presigned URL");
    let s3 = reqwest::get(&location).await.expect("s3");
    assert_eq!(s3.status(), 200);
    assert_eq!(s3.headers()["content-type"], "application/octet-stream");
    assert_eq!(s3.headers()["content-disposition"], "attachment; filename=\"tool.sh\"");
    assert_eq!(s3.bytes().await.expect("body").to_vec(), data);

    // HEAD: the same headers, no body, and not counted as a download.
    let resp = stack.http.head(&url).send().await.expect("req");
    assert_eq!(resp.status(), 302);
    assert_eq!(resp.headers()["x-checksum-sha256"], sha256(&data));

    // A tampered signature and a signature for another key are refused by S3 itself.
    let tampered = tamper(&location);
    assert_eq!(reqwest::get(&tampered).await.expect("s3").status(), 403);
    let other_key = location.replacen("/packages/", "/packages/x", 1);
    assert_eq!(reqwest::get(&other_key).await.expect("s3").status(), 403);

    // Downloads were counted: one GET (the HEAD does not count).
    let pkg_id = file["package_id"].as_u64().expect("package id");
    let details = wait_for_count(&stack, pid, pkg_id, 1).await;
    assert!(details["last_downloaded_at"].is_string());
}

fn md5_digest(data: &[u8]) -> [u8; 16] {
    use md5::Digest as _;
    md5::Md5::digest(data).into()
}

fn tamper(url: &str) -> String {
    let (head, sig) = url.rsplit_once("X-Amz-Signature=").expect("signature");
    let mut sig: Vec<char> = sig.chars().collect();
    sig[0] = if sig[0] == 'a' { 'b' } else { 'a' };
    format!("{head}X-Amz-Signature={}", sig.into_iter().collect::<String>())
}

async fn wait_for_count(stack: &Stack, pid: u64, pkg_id: u64, want: u64) -> Value {
    let url = stack.api(&format!("/projects/{pid}/packages/{pkg_id}"));
    for _ in 0..50 {
        let body: Value = stack
            .http
            .get(&url)
            .header("PRIVATE-TOKEN", ADMIN_TOKEN)
            .send()
            .await
            .expect("req")
            .json()
            .await
            .expect("json");
        if body["download_count"] == want {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("download_count never reached {want}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn presigned_urls_expire() {
    let stack = Stack::start_with(|s| {
        s.insert("ARCA_PRESIGN_TTL".into(), "1s".into());
    })
    .await;
    let (pid, _) = stack.project("p", "private").await;
    let url = file_url(&stack, &pid.to_string(), "a", "1", "f");
    assert_eq!(put(&stack, &url, b"x".to_vec()).await.0, 201);
    let resp = stack.http.get(&url).header("PRIVATE-TOKEN", ADMIN_TOKEN).send().await.expect("req");
    let location = resp.headers()["location"].to_str().expect("ascii").to_owned();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(reqwest::get(&location).await.expect("s3").status(), 403, "expired URL refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn invalid_names_are_400_and_store_nothing() {
    let stack = Stack::start().await;
    let (pid, _) = stack.project("p", "private").await;
    let base = stack.api(&format!("/projects/{pid}/packages/generic"));
    let long = "a".repeat(256);
    let long_file = "f".repeat(1025);
    let cases: Vec<(String, &str)> = vec![
        (format!("{base}/bad%20name/1.0/f"), "package_name"),
        (format!("{base}/{long}/1.0/f"), "package_name"),
        (format!("{base}/pkg/1..0/f"), "package_version"),
        (format!("{base}/pkg/1.0%2F2/f"), "package_version"),
        (format!("{base}/pkg/{long}/f"), "package_version"),
        (format!("{base}/pkg/bad%20v/f"), "package_version"),
        (format!("{base}/pkg/1.0/%2E%2E/etc"), "file_name"),
        (format!("{base}/pkg/1.0/a/%2e%2e/b"), "file_name"),
        (format!("{base}/pkg/1.0/a/../b"), "file_name"),
        (format!("{base}/pkg/1.0/./b"), "file_name"),
        (format!("{base}/pkg/1.0/a%2F..%2Fb"), "file_name"),
        (format!("{base}/pkg/1.0/%252e%252e/x"), "file_name"),
        (format!("{base}/pkg/1.0/a%5Cb"), "file_name"),
        (format!("{base}/pkg/1.0/a%00b"), "file_name"),
        (format!("{base}/pkg/1.0/a%0D%0Ab"), "file_name"),
        (format!("{base}/pkg/1.0/{long_file}"), "file_name"),
        (format!("{base}/pkg/1.0/a//b"), "file_name"),
    ];
    for (url, field) in &cases {
        // reqwest would normalise `..`; send the raw target over TCP like `curl --path-as-is`.
        let (status, body) = raw_request("PUT", url, ADMIN_TOKEN, b"data").await;
        assert_eq!(status, 400, "{url}: {body}");
        assert_eq!(body["error"], format!("{field} is invalid"), "{url}");
    }
    assert!(keys_under(&stack.app, "packages/").await.is_empty(), "nothing stored");
    let list: Vec<Value> = stack.admin_get(&format!("/projects/{pid}/packages")).await;
    assert!(list.is_empty());
    // The same characters are fine where they are allowed.
    assert_eq!(put(&stack, &format!("{base}/my.pkg_1+x/1.0.0-rc.1+b/dir/a.b-c_d+e"), b"ok".to_vec()).await.0, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicates_serve_the_newest_or_are_refused_by_setting() {
    let stack = Stack::start().await;
    let (pid, _) = stack.project("p", "private").await;
    let url = |v: &str| file_url(&stack, &pid.to_string(), "app", v, "app.tar.gz");
    assert_eq!(put(&stack, &url("1.0"), b"first".to_vec()).await.0, 201);
    assert_eq!(put(&stack, &url("1.0"), b"second".to_vec()).await.0, 201);
    assert_eq!(fetch(&stack, &url("1.0")).await, (200, b"second".to_vec()), "newest served");
    let pkgs: Vec<Value> = stack.admin_get(&format!("/projects/{pid}/packages")).await;
    assert_eq!(pkgs.len(), 1);
    let pkg_id = pkgs[0]["id"].as_u64().expect("id");
    let files: Vec<Value> = stack.admin_get(&format!("/projects/{pid}/packages/{pkg_id}/package_files")).await;
    assert_eq!(files.len(), 2, "both files kept, newest last");
    assert_eq!(files[1]["size"], 6);

    // Refuse duplicates, except for versions matching the exception.
    let settings = stack
        .http
        .put(stack.api(&format!("/projects/{pid}/packages/settings")))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .json(&json!({"generic_duplicates_allowed": false, "generic_duplicate_exception_regex": "-SNAPSHOT$"}))
        .send()
        .await
        .expect("req");
    assert_eq!(settings.status(), 200);
    let (status, body) = put(&stack, &url("1.0"), b"third".to_vec()).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["message"], "403 Forbidden - Duplicate package is not allowed");
    assert_eq!(fetch(&stack, &url("1.0")).await.1, b"second".to_vec(), "unchanged");
    assert_eq!(put(&stack, &url("2.0"), b"new version".to_vec()).await.0, 201, "a new version is no duplicate");
    assert_eq!(put(&stack, &url("3.0-SNAPSHOT"), b"a".to_vec()).await.0, 201);
    assert_eq!(put(&stack, &url("3.0-SNAPSHOT"), b"b".to_vec()).await.0, 201, "exception");
    let bad = stack
        .http
        .put(stack.api(&format!("/projects/{pid}/packages/settings")))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .json(&json!({"generic_duplicate_exception_regex": "(unclosed"}))
        .send()
        .await
        .expect("req");
    assert_eq!(bad.status(), 400);

    // Deleting the newest file serves the older one again; the blob goes to the worker.
    let newest = files[1]["id"].as_u64().expect("id");
    let resp = stack
        .http
        .delete(stack.api(&format!("/projects/{pid}/packages/{pkg_id}/package_files/{newest}")))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 204);
    assert_eq!(fetch(&stack, &url("1.0")).await, (200, b"first".to_vec()));
    let resp = stack
        .http
        .delete(stack.api(&format!("/projects/{pid}/packages/{pkg_id}/package_files/{newest}")))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 404, "already gone");
    let details: Value = stack.admin_get(&format!("/projects/{pid}/packages/{pkg_id}")).await;
    assert_eq!(details["size"], 5, "size follows the files");
    // The cleanup worker (1s interval in tests) removes the deleted file's blob.
    for _ in 0..50 {
        if keys_under(&stack.app, &format!("packages/{pid}/")).await.len() == 5 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("blob of the deleted file still there: {:?}", keys_under(&stack.app, "packages/").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checksum_headers_are_verified() {
    let stack = Stack::start().await;
    let (pid, _) = stack.project("p", "private").await;
    let data = random_bytes(9 * 1024 * 1024);
    let digest = sha256(&data);
    let url = file_url(&stack, &pid.to_string(), "c", "1", "f.bin");
    let ok = stack
        .http
        .put(&url)
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .header("X-Checksum-Sha256", &digest)
        .header("X-Checksum-Md5", hex::encode(md5_digest(&data)))
        .body(data.clone())
        .send()
        .await
        .expect("req");
    assert_eq!(ok.status(), 201);
    let url2 = file_url(&stack, &pid.to_string(), "c", "2", "f.bin");
    for (name, value) in [
        ("X-Checksum-Sha256", "0".repeat(64)),
        ("X-Checksum-Sha1", "0".repeat(40)),
        ("X-Checksum-Md5", "0".repeat(32)),
        ("Content-MD5", "AAAAAAAAAAAAAAAAAAAAAA==".to_owned()),
        ("X-Checksum-Sha256", "not-hex".to_owned()),
    ] {
        let resp = stack
            .http
            .put(&url2)
            .header("PRIVATE-TOKEN", ADMIN_TOKEN)
            .header(name, &value)
            .body(data.clone())
            .send()
            .await
            .expect("req");
        assert_eq!(resp.status(), 400, "{name}");
        let body: Value = resp.json().await.expect("json");
        assert!(body.to_string().contains(name), "{name}: {body}");
    }
    assert_eq!(fetch(&stack, &url2).await.0, 404, "nothing visible after a mismatch");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(keys_under(&stack.app, "packages/").await.len(), 1, "only the good upload is stored");
    assert_no_multipart_uploads(&stack).await;
}

/// s3s-fs keeps the parts of an unfinished multipart upload as `.upload_id-<id>.part-<n>`
/// files in its data directory (it has no ListMultipartUploads); none may be left.
async fn assert_no_multipart_uploads(stack: &Stack) {
    let mut left = Vec::new();
    for _ in 0..50 {
        left = stack.backends.open_multipart_parts();
        if left.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("multipart upload parts left behind: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_client_that_disconnects_mid_body_leaves_nothing() {
    let stack = Stack::start().await;
    let (pid, _) = stack.project("p", "private").await;
    let url = file_url(&stack, &pid.to_string(), "cut", "1", "big.bin");
    let rest = url.strip_prefix("http://").expect("http");
    let (host, target) = rest.split_once('/').expect("path");
    let mut conn = tokio::net::TcpStream::connect(host).await.expect("connect");
    let total = 40 * 1024 * 1024;
    let head = format!(
        "PUT /{target} HTTP/1.1\r\nHost: {host}\r\nPRIVATE-TOKEN: {ADMIN_TOKEN}\r\nContent-Length: {total}\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).await.expect("write");
    // Enough for two parts to reach S3, then hang up.
    let chunk = random_bytes(1024 * 1024);
    for _ in 0..20 {
        conn.write_all(&chunk).await.expect("write");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(conn);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fetch(&stack, &url).await.0, 404, "nothing visible");
    assert_no_multipart_uploads(&stack).await;
    assert!(keys_under(&stack.app, "packages/").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn files_over_the_limit_are_413_and_store_nothing() {
    let stack = Stack::start_with(|s| {
        s.insert("ARCA_MAX_FILE_SIZE".into(), "10MiB".into());
    })
    .await;
    let (pid, _) = stack.project("p", "private").await;
    let url = file_url(&stack, &pid.to_string(), "big", "1", "f");
    let (status, body) = put(&stack, &url, random_bytes(10 * 1024 * 1024 + 1)).await;
    assert_eq!(status, 413, "declared length: {body}");
    // Without a length (chunked), the limit is enforced while streaming, past one part.
    let stream = futures_util::stream::iter(
        (0..12).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(random_bytes(1024 * 1024)))),
    );
    let resp =
        stack.http.put(&url).header("PRIVATE-TOKEN", ADMIN_TOKEN).body(reqwest::Body::wrap_stream(stream)).send().await;
    if let Ok(resp) = resp {
        assert_eq!(resp.status(), 413);
    }
    assert_eq!(put(&stack, &url, random_bytes(10 * 1024 * 1024)).await.0, 201, "exactly the limit is fine");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(keys_under(&stack.app, "packages/").await.len(), 1);
    assert_no_multipart_uploads(&stack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn parallel_uploads_stay_consistent() {
    let stack = std::sync::Arc::new(Stack::start().await);
    let (pid, _) = stack.project("p", "private").await;
    // 50 different files at once.
    let mut tasks = Vec::new();
    for i in 0..50 {
        let stack = stack.clone();
        tasks.push(tokio::spawn(async move {
            let data = random_bytes(64 * 1024 + i);
            let url = file_url(&stack, &pid.to_string(), &format!("pkg{}", i % 5), "1.0", &format!("file-{i}"));
            assert_eq!(put(&stack, &url, data.clone()).await.0, 201);
            (url, sha256(&data))
        }));
    }
    for t in tasks {
        let (url, digest) = t.await.expect("task");
        let (status, bytes) = fetch(&stack, &url).await;
        assert_eq!((status, sha256(&bytes)), (200, digest), "{url}");
    }
    // 20 publishes of the same new version and file name at once: one version, 20 files.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let stack = stack.clone();
        tasks.push(tokio::spawn(async move {
            let url = file_url(&stack, &pid.to_string(), "race", "9.9.9", "same.bin");
            let data = format!("writer {i}").into_bytes();
            let (status, body) = put(&stack, &format!("{url}?select=package_file"), data).await;
            assert_eq!(status, 201);
            body["package_id"].as_u64().expect("package id")
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.expect("task"));
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every publish joined one package version");
    let pkg = ids[0];
    let resp = stack
        .http
        .get(stack.api(&format!("/projects/{pid}/packages/{pkg}/package_files?per_page=100")))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .send()
        .await
        .expect("req");
    assert_eq!(resp.headers()["x-total"], "20");
    let files: Vec<Value> = resp.json().await.expect("json");
    let newest = files.last().expect("files")["file_sha256"].clone();
    let (_, served) = fetch(&stack, &file_url(&stack, &pid.to_string(), "race", "9.9.9", "same.bin")).await;
    assert_eq!(json!(sha256(&served)), newest, "the newest of the 20 is served");
    let list = stack
        .http
        .get(stack.api(&format!("/projects/{pid}/packages")))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .send()
        .await
        .expect("req");
    assert_eq!(list.headers()["x-total"], "6", "5 packages + the raced one, each once");
}

async fn list(stack: &Stack, pid: u64, q: &str) -> (String, Vec<String>) {
    let resp = stack
        .http
        .get(stack.api(&format!("/projects/{pid}/packages?{q}")))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 200, "{q}");
    let total = resp.headers()["x-total"].to_str().expect("ascii").to_owned();
    let body: Vec<Value> = resp.json().await.expect("json");
    (
        total,
        body.iter()
            .map(|p| format!("{}@{}", p["name"].as_str().unwrap_or(""), p["version"].as_str().unwrap_or("")))
            .collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn listing_filters_orders_and_paginates() {
    let stack = Stack::start().await;
    let (pid, _) = stack.project("p", "private").await;
    for (name, version) in [("Zeta", "1.0"), ("alpha", "2.0"), ("Alphabet", "1.0"), ("beta", "3.0"), ("alpha", "1.0")] {
        assert_eq!(put(&stack, &file_url(&stack, &pid.to_string(), name, version, "f"), b"x".to_vec()).await.0, 201);
    }
    assert_eq!(
        put(
            &stack,
            &format!("{}?status=hidden", file_url(&stack, &pid.to_string(), "secret", "1.0", "f")),
            b"x".to_vec()
        )
        .await
        .0,
        201
    );
    assert_eq!(
        list(&stack, pid, "").await.1,
        ["Zeta@1.0", "alpha@2.0", "Alphabet@1.0", "beta@3.0", "alpha@1.0"],
        "hidden not listed; oldest first"
    );
    assert_eq!(
        list(&stack, pid, "sort=desc&per_page=2").await,
        ("5".into(), vec!["alpha@1.0".into(), "beta@3.0".into()])
    );
    assert_eq!(
        list(&stack, pid, "order_by=name").await.1,
        ["Alphabet@1.0", "Zeta@1.0", "alpha@1.0", "alpha@2.0", "beta@3.0"]
    );
    assert_eq!(
        list(&stack, pid, "order_by=version&sort=desc&per_page=1&page=2").await,
        ("5".into(), vec!["alpha@2.0".into()])
    );
    assert_eq!(
        list(&stack, pid, "package_name=ALPHA").await.1,
        ["alpha@2.0", "Alphabet@1.0", "alpha@1.0"],
        "substring, any case"
    );
    assert_eq!(
        list(&stack, pid, "package_name=alpha&package_version=1.0&order_by=name").await.1,
        ["Alphabet@1.0", "alpha@1.0"]
    );
    assert_eq!(list(&stack, pid, "package_name=ph&per_page=1&page=3").await, ("3".into(), vec!["alpha@1.0".into()]));
    assert_eq!(list(&stack, pid, "package_type=maven").await, ("0".into(), vec![]));
    for bad in ["order_by=size", "sort=up", "package_name=a*b", "page=0"] {
        let resp = stack
            .http
            .get(stack.api(&format!("/projects/{pid}/packages?{bad}")))
            .header("PRIVATE-TOKEN", ADMIN_TOKEN)
            .send()
            .await
            .expect("req");
        assert_eq!(resp.status(), 400, "{bad}");
    }
    // Hidden versions are not listed but are downloadable.
    assert_eq!(fetch(&stack, &file_url(&stack, &pid.to_string(), "secret", "1.0", "f")).await, (200, b"x".to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn proxy_mode_streams_with_range_and_etag() {
    let stack = Stack::start_with(|s| {
        s.insert("ARCA_PROXY_DOWNLOAD".into(), "true".into());
    })
    .await;
    let (pid, _) = stack.project("p", "private").await;
    let data = random_bytes(3 * 1024 * 1024 + 5);
    let url = file_url(&stack, &pid.to_string(), "px", "1", "data.bin");
    assert_eq!(put(&stack, &url, data.clone()).await.0, 201);
    let resp = stack.http.get(&url).header("PRIVATE-TOKEN", ADMIN_TOKEN).send().await.expect("req");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-disposition"], "attachment; filename=\"data.bin\"");
    let etag = resp.headers()["etag"].to_str().expect("ascii").to_owned();
    assert_eq!(sha256(&resp.bytes().await.expect("body")), sha256(&data));
    let resp = stack
        .http
        .get(&url)
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .header("Range", "bytes=100-199")
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.headers()["content-range"], format!("bytes 100-199/{}", data.len()));
    assert_eq!(resp.bytes().await.expect("body").to_vec(), data[100..200].to_vec());
    let resp = stack
        .http
        .get(&url)
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 304);
    let resp = stack
        .http
        .get(&url)
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .header("Range", "bytes=99999999-")
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 416);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_and_writes_follow_roles() {
    let stack = Stack::start().await;
    let (pid, _) = stack.project("p", "private").await;
    let (reporter_id, reporter) = stack.user("rep", &["api"]).await;
    stack.add_member(pid, reporter_id, 20).await;
    let (dev_id, dev) = stack.user("dev", &["api"]).await;
    stack.add_member(pid, dev_id, 30).await;
    let url = file_url(&stack, &pid.to_string(), "r", "1", "f");
    let put_as = |t: &str| stack.http.put(&url).header("PRIVATE-TOKEN", t.to_owned()).body("x").send();
    assert_eq!(put_as(&reporter).await.expect("req").status(), 403);
    assert_eq!(put_as(&dev).await.expect("req").status(), 201);
    let get = stack.http.get(&url).header("PRIVATE-TOKEN", reporter.clone()).send().await.expect("req");
    assert_eq!(get.status(), 302);
    let anon = stack.http.get(&url).send().await.expect("req");
    assert_eq!(anon.status(), 401);
    let (_, stranger) = stack.user("stranger", &["api"]).await;
    let resp = stack.http.get(&url).header("PRIVATE-TOKEN", stranger).send().await.expect("req");
    assert_eq!(resp.status(), 404);
    let missing = stack
        .http
        .get(file_url(&stack, &pid.to_string(), "r", "1", "nope"))
        .header("PRIVATE-TOKEN", reporter)
        .send()
        .await
        .expect("req");
    assert_eq!(missing.status(), 404);
    assert!(missing.json::<Value>().await.expect("json")["message"].as_str().is_some_and(|m| m.starts_with("404")));
    // A developer may not change settings.
    let resp = stack
        .http
        .put(stack.api(&format!("/projects/{pid}/packages/settings")))
        .header("PRIVATE-TOKEN", dev)
        .json(&json!({"generic_duplicates_allowed": false}))
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 403);
}

/// A version hash's pointer fields: `latest` and `f:<file name>`.
fn is_pointer(field: &str) -> bool {
    field == "latest" || field.starts_with("f:")
}

/// Puts a version hash back into the first layout, exactly as its publish
/// script wrote it: `latest` and `f:<name>` held copies of the file record's JSON.
async fn to_old_layout(stack: &Stack, hash: &str) {
    let mut conn = stack.app.meta.conn();
    let fields: Vec<(String, String)> = redis::cmd("HGETALL").arg(hash).query_async(&mut conn).await.expect("hgetall");
    let project = hash.split(['{', '}']).nth(1).expect("hash tag");
    for (field, id) in fields.into_iter().filter(|(f, _)| is_pointer(f)) {
        let record = full_record(stack, project, &id).await;
        let _: () = redis::cmd("HSET").arg(hash).arg(&field).arg(record).query_async(&mut conn).await.expect("hset");
    }
}

/// A file's record as the first two layouts wrote it: the whole `PackageFile` as JSON.
async fn full_record(stack: &Stack, project_tag: &str, file_id: &str) -> String {
    let record: String = redis::cmd("GET")
        .arg(format!("arca:{{{project_tag}}}:file:{file_id}"))
        .query_async(&mut stack.app.meta.conn())
        .await
        .expect("file record");
    let project_id = project_tag.trim_start_matches('p').parse().expect("project id");
    let file = arca_shared::meta::file_record::decode(project_id, &record).expect("record reads");
    serde_json::to_string(&file).expect("json")
}

/// Puts a version back into the second layout, as its publish script wrote it: every field
/// in the hash (name, version and the defaults too), its file ids in a ZSET beside it,
/// its ref in a key of its own, and its files' records as full JSON.
pub(crate) async fn to_second_layout(stack: &Stack, pid: u64, name: &str, version: &str) {
    let mut conn = stack.app.meta.conn();
    let hash = format!("arca:{{p{pid}}}:pv:{name}/{version}");
    let fields: Vec<(String, String)> = redis::cmd("HGETALL").arg(&hash).query_async(&mut conn).await.expect("hgetall");
    let get = |f: &str| fields.iter().find(|(k, _)| k == f).map(|(_, v)| v.clone());
    let id = get("id").expect("version id");
    let created = get("created_at").expect("created_at");
    let ids: Vec<&str> = fields.iter().filter_map(|(f, _)| f.strip_prefix("i:")).collect();
    let mut pipe = redis::pipe();
    for file_id in &ids {
        pipe.hdel(&hash, format!("i:{file_id}"))
            .zadd(format!("{hash}:files"), *file_id, file_id.parse::<u64>().expect("id"))
            .set(format!("arca:{{p{pid}}}:file:{file_id}"), full_record(stack, &format!("p{pid}"), file_id).await);
    }
    pipe.hset_multiple(
        &hash,
        &[
            ("name", name),
            ("version", version),
            ("status", "default"),
            ("description", ""),
            ("disabled", "0"),
            ("download_count", "0"),
            ("updated_at", get("updated_at").as_deref().unwrap_or(&created)),
        ],
    )
    .hdel(format!("arca:{{p{pid}}}:pkg-refs"), &id)
    .set(format!("arca:{{p{pid}}}:pkg:{id}"), format!("{name}/{version}"));
    pipe.query_async::<()>(&mut conn).await.expect("second layout");
}

async fn key_names(stack: &Stack, pattern: &str) -> Vec<String> {
    let mut conn = stack.app.meta.conn();
    let mut names: Vec<String> = redis::cmd("KEYS").arg(pattern).query_async(&mut conn).await.expect("keys");
    names.sort();
    names
}

async fn hash_fields(stack: &Stack, hash: &str) -> (String, Vec<(String, String)>) {
    let mut conn = stack.app.meta.conn();
    let encoding: String = redis::cmd("OBJECT").arg("ENCODING").arg(hash).query_async(&mut conn).await.expect("enc");
    let fields: Vec<(String, String)> = redis::cmd("HGETALL").arg(hash).query_async(&mut conn).await.expect("hgetall");
    (encoding, fields.into_iter().filter(|(f, _)| is_pointer(f)).collect())
}

/// What the layout tests start from, in a new project: version `current` of `tool` with
/// `a.txt` twice (`a-old`, `a-new`) and `b.txt`, and version `binned` with one `a.txt`
/// (`binned`), to be recycled. Returns the project id and the binned version's id.
async fn layout_fixture(stack: &Stack, project: &str, current: &str, binned: &str) -> (u64, u64) {
    let (pid, _) = stack.project(project, "private").await;
    let url = |version: &str, file: &str| file_url(stack, &pid.to_string(), "tool", version, file);
    for (file, body) in [("a.txt", "a-old"), ("a.txt", "a-new"), ("b.txt", "b")] {
        assert_eq!(put(stack, &url(current, file), body.into()).await.0, 201);
    }
    let (_, version) = put(stack, &format!("{}?select=package_file", url(binned, "a.txt")), b"binned".to_vec()).await;
    (pid, version["package_id"].as_u64().expect("package id"))
}

/// Runs the cleanup worker's layout migration as an upgraded deployment would: the stack's
/// worker marked it done when it started on an empty Redis, and an upgrade has no mark.
pub(crate) async fn migrate_as_after_an_upgrade(stack: &Stack) {
    let _: () = redis::cmd("DEL")
        .arg("arca:{cleanup}:last-run:migrate-compact-layout")
        .query_async(&mut stack.app.meta.conn())
        .await
        .expect("del");
    arca_cleanup::run_once(&stack.app).await.expect("cleanup pass");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn versions_written_by_the_old_layout_keep_working_and_are_migrated() {
    let stack = Stack::start().await;
    let (pid, binned_id) = layout_fixture(&stack, "legacy", "1.0", "0.9").await;
    let pid_s = pid.to_string();
    let url = |version: &str, file: &str| file_url(&stack, &pid_s, "tool", version, file);
    let hash = format!("arca:{{p{pid}}}:pv:tool/1.0");
    to_old_layout(&stack, &hash).await;
    to_old_layout(&stack, &format!("arca:{{p{pid}}}:pv:tool/0.9")).await;
    let (encoding, pointers) = hash_fields(&stack, &hash).await;
    assert_eq!(encoding, "hashtable", "the old layout's long values");
    assert!(pointers.iter().all(|(_, v)| v.starts_with('{')), "seeded as JSON: {pointers:?}");
    let pkgs = format!("/projects/{pid}/packages");
    assert_eq!(stack.admin_delete(&format!("{pkgs}/{binned_id}")).await, 204, "to the recycle bin");

    // Reads and writes understand the old layout.
    assert_eq!(fetch(&stack, &url("1.0", "a.txt")).await, (200, b"a-new".to_vec()));
    assert_eq!(fetch(&stack, &url("1.0", "b.txt")).await, (200, b"b".to_vec()));
    let listed: Value = stack.admin_get(&format!("{pkgs}?package_name=tool&package_version=1.0")).await;
    let package_id = listed[0]["id"].as_u64().expect("listed");
    let files: Value = stack.admin_get(&format!("{pkgs}/{package_id}/package_files")).await;
    let ids: Vec<u64> = files.as_array().expect("files").iter().filter_map(|f| f["id"].as_u64()).collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(stack.admin_delete(&format!("{pkgs}/{package_id}/package_files/{}", ids[1])).await, 204);
    assert_eq!(fetch(&stack, &url("1.0", "a.txt")).await, (200, b"a-old".to_vec()), "repointed to the older a.txt");
    assert_eq!(put(&stack, &url("1.0", "c.txt"), b"c".to_vec()).await.0, 201);
    assert_eq!(fetch(&stack, &url("1.0", "c.txt")).await, (200, b"c".to_vec()));
    let details: Value = stack.admin_get(&format!("{pkgs}/{package_id}")).await;
    assert_eq!(details["name"], "tool");
    let bin: Value = stack.admin_get(&format!("{pkgs}/recycle_bin")).await;
    assert_eq!(bin[0]["id"].as_u64(), Some(binned_id), "the binned version reads: {bin}");

    // The cleanup worker rewrites them once: ids in the pointers, the compact encoding back.
    migrate_as_after_an_upgrade(&stack).await;
    for key in [hash.clone(), format!("arca:{{p{pid}}}:bin:{binned_id}")] {
        let (encoding, pointers) = hash_fields(&stack, &key).await;
        assert_eq!(encoding, "listpack", "{key} compact again");
        assert!(!pointers.is_empty() && pointers.iter().all(|(_, v)| v.parse::<u64>().is_ok()), "{key}: {pointers:?}");
    }
    assert_eq!(fetch(&stack, &url("1.0", "a.txt")).await, (200, b"a-old".to_vec()));
    assert_eq!(fetch(&stack, &url("1.0", "c.txt")).await, (200, b"c".to_vec()));
    let restore =
        stack.http.post(stack.api(&format!("{pkgs}/{binned_id}/restore"))).header("PRIVATE-TOKEN", ADMIN_TOKEN);
    assert!(restore.send().await.expect("restore").status().is_success());
    assert_eq!(fetch(&stack, &url("0.9", "a.txt")).await, (200, b"binned".to_vec()));
    // Done once: a hash put back into the old layout now stays as it is (and still reads).
    to_old_layout(&stack, &hash).await;
    arca_cleanup::run_once(&stack.app).await.expect("cleanup pass");
    assert_eq!(hash_fields(&stack, &hash).await.0, "hashtable", "the migration ran only once");
    assert_eq!(fetch(&stack, &url("1.0", "b.txt")).await, (200, b"b".to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn versions_written_by_the_second_layout_keep_working_and_are_migrated() {
    let stack = Stack::start().await;
    let (pid, binned_id) = layout_fixture(&stack, "upgraded", "2.0", "1.9").await;
    let pid_s = pid.to_string();
    let url = |version: &str, file: &str| file_url(&stack, &pid_s, "tool", version, file);
    to_second_layout(&stack, pid, "tool", "2.0").await;
    to_second_layout(&stack, pid, "tool", "1.9").await;
    assert_eq!(key_names(&stack, &format!("arca:{{p{pid}}}:pkg:*")).await.len(), 2, "refs seeded as keys");
    assert!(
        stack.app.meta.referenced_blob_keys().await.expect("sweep reads").len() >= 4,
        "full records reference blobs"
    );
    let pkgs = format!("/projects/{pid}/packages");
    assert_eq!(stack.admin_delete(&format!("{pkgs}/{binned_id}")).await, 204, "to the recycle bin");

    // Reads and writes understand the second layout.
    assert_eq!(fetch(&stack, &url("2.0", "a.txt")).await, (200, b"a-new".to_vec()));
    let listed: Value = stack.admin_get(&format!("{pkgs}?package_name=tool")).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "the binned one is not listed: {listed}");
    let package_id = listed[0]["id"].as_u64().expect("listed");
    assert_eq!((listed[0]["name"].as_str(), listed[0]["version"].as_str()), (Some("tool"), Some("2.0")));
    let files: Value = stack.admin_get(&format!("{pkgs}/{package_id}/package_files")).await;
    let ids: Vec<u64> = files.as_array().expect("files").iter().filter_map(|f| f["id"].as_u64()).collect();
    assert_eq!(ids.len(), 3, "{files}");
    assert_eq!(files[0]["file_sha256"], sha256(b"a-old"), "a full record reads");
    assert_eq!(stack.admin_delete(&format!("{pkgs}/{package_id}/package_files/{}", ids[1])).await, 204);
    assert_eq!(fetch(&stack, &url("2.0", "a.txt")).await, (200, b"a-old".to_vec()), "repointed to the older a.txt");
    // A new file joins a version of the old layout: its files are then in both places.
    assert_eq!(put(&stack, &url("2.0", "c.txt"), b"c".to_vec()).await.0, 201);
    let files: Value = stack.admin_get(&format!("{pkgs}/{package_id}/package_files")).await;
    let names: Vec<&str> = files.as_array().expect("files").iter().filter_map(|f| f["file_name"].as_str()).collect();
    assert_eq!(names, ["a.txt", "b.txt", "c.txt"]);
    let bin: Value = stack.admin_get(&format!("{pkgs}/recycle_bin")).await;
    assert_eq!((bin[0]["id"].as_u64(), bin[0]["version"].as_str()), (Some(binned_id), Some("1.9")), "{bin}");

    // The cleanup worker rewrites everything once.
    migrate_as_after_an_upgrade(&stack).await;
    let mut conn = stack.app.meta.conn();
    assert!(key_names(&stack, &format!("arca:{{p{pid}}}:*:files")).await.is_empty(), "file ZSETs folded");
    assert!(key_names(&stack, &format!("arca:{{p{pid}}}:pkg:*")).await.is_empty(), "refs moved");
    let hash = format!("arca:{{p{pid}}}:pv:tool/2.0");
    let (encoding, _) = hash_fields(&stack, &hash).await;
    assert_eq!(encoding, "listpack");
    let fields: Vec<String> = redis::cmd("HKEYS").arg(&hash).query_async(&mut conn).await.expect("hkeys");
    for dropped in ["name", "version", "status", "description", "disabled", "download_count"] {
        assert!(!fields.iter().any(|f| f == dropped), "{dropped} left in {fields:?}");
    }
    assert_eq!(fields.iter().filter(|f| f.starts_with("i:")).count(), 3, "{fields:?}");
    let bin_fields: Vec<String> = redis::cmd("HKEYS")
        .arg(format!("arca:{{p{pid}}}:bin:{binned_id}"))
        .query_async(&mut conn)
        .await
        .expect("hkeys");
    assert!(bin_fields.iter().any(|f| f == "name"), "a binned hash keeps its name: {bin_fields:?}");
    for name in key_names(&stack, &format!("arca:{{p{pid}}}:file:*")).await {
        let record: String = redis::cmd("GET").arg(&name).query_async(&mut conn).await.expect("get");
        assert!(record.starts_with(r#"{"p":"#), "{name} compact: {record}");
    }
    assert!(stack.app.meta.referenced_blob_keys().await.expect("sweep reads").len() >= 3);
    assert_eq!(fetch(&stack, &url("2.0", "a.txt")).await, (200, b"a-old".to_vec()));
    assert_eq!(fetch(&stack, &url("2.0", "c.txt")).await, (200, b"c".to_vec()));
    let details: Value = stack.admin_get(&format!("{pkgs}/{package_id}")).await;
    assert_eq!((details["name"].as_str(), details["disabled"].as_bool()), (Some("tool"), Some(false)), "{details}");
    let restore =
        stack.http.post(stack.api(&format!("{pkgs}/{binned_id}/restore"))).header("PRIVATE-TOKEN", ADMIN_TOKEN);
    assert!(restore.send().await.expect("restore").status().is_success());
    assert_eq!(fetch(&stack, &url("1.9", "a.txt")).await, (200, b"binned".to_vec()));
    let listed: Value = stack.admin_get(&format!("{pkgs}?package_name=tool&order_by=version")).await;
    let versions: Vec<&str> = listed.as_array().expect("list").iter().filter_map(|p| p["version"].as_str()).collect();
    assert_eq!(versions, ["1.9", "2.0"]);
}
