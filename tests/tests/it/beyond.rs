//! Generic packages beyond GitLab, through the gateway against real Redis and S3: `@latest`,
//! conditional publish (`If-None-Match: *`, `If-Match`, and their race), and deleting a
//! file by name.

use std::time::Duration;

use arca_shared::model::access;
use arca_tests::{ADMIN_TOKEN, Stack, keys_under};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

struct Pkg<'a> {
    stack: &'a Stack,
    pid: u64,
}

impl Pkg<'_> {
    fn url(&self, name: &str, version: &str, file: &str) -> String {
        self.stack.api(&format!("/projects/{}/packages/generic/{name}/{version}/{file}", self.pid))
    }

    async fn send(
        &self,
        method: Method,
        url: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> reqwest::Response {
        let mut req = self.stack.http.request(method, url).header("PRIVATE-TOKEN", token);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.body(b.to_vec());
        }
        req.send().await.expect("request")
    }

    /// Publishes as the administrator with extra headers: `(status, body)`.
    async fn put(&self, name: &str, version: &str, file: &str, body: &[u8], headers: &[(&str, &str)]) -> (u16, Value) {
        let resp = self.send(Method::PUT, &self.url(name, version, file), ADMIN_TOKEN, headers, Some(body)).await;
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// A version's id, by name and version.
    async fn id(&self, name: &str, version: &str) -> u64 {
        let list: Value = self
            .stack
            .admin_get(&format!("/projects/{}/packages?package_name={name}&package_version={version}", self.pid))
            .await;
        list[0]["id"].as_u64().expect("package id")
    }

    /// Follows the redirect: `(status, X-Package-Version, bytes)`.
    async fn get(&self, url: &str, token: &str) -> (u16, Option<String>, Vec<u8>) {
        let resp = self.send(Method::GET, url, token, &[], None).await;
        let version = resp.headers().get("x-package-version").map(|v| v.to_str().expect("ascii").to_owned());
        if resp.status() != 302 {
            return (resp.status().as_u16(), version, resp.bytes().await.expect("body").to_vec());
        }
        let location = resp.headers()["location"].to_str().expect("ascii").to_owned();
        let s3 = reqwest::get(&location).await.expect("s3");
        (s3.status().as_u16(), version, s3.bytes().await.expect("body").to_vec())
    }

    async fn files_named(&self, package_id: u64, file: &str) -> Vec<Value> {
        let files: Value =
            self.stack.admin_get(&format!("/projects/{}/packages/{package_id}/package_files", self.pid)).await;
        files.as_array().expect("files").iter().filter(|f| f["file_name"] == file).cloned().collect()
    }
}

fn sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn latest_is_the_newest_eligible_version_answered_as_its_own_url() {
    let stack = Stack::start().await;
    let (pid, _) = stack.project("latest", "private").await;
    let p = Pkg { stack: &stack, pid };
    // Published in this order; only 2.0.0 is eligible at the end.
    for (version, query) in [("latest", ""), ("1.0.0", ""), ("2.0.0", ""), ("3.0.0", "?status=hidden")] {
        let url = format!("{}{query}", p.url("tool", version, "tool.bin"));
        let resp = p.send(Method::PUT, &url, ADMIN_TOKEN, &[], Some(version.as_bytes())).await;
        assert_eq!(resp.status(), 201, "{version}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(p.put("tool", "1.0.0", "extra.txt", b"only in 1.0.0", &[]).await.0, 201);
    for version in ["4.0.0", "5.0.0"] {
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(p.put("tool", version, "tool.bin", version.as_bytes(), &[]).await.0, 201);
    }
    let disabled = p.id("tool", "4.0.0").await;
    let resp = p
        .send(
            Method::PATCH,
            &stack.api(&format!("/projects/{pid}/packages/{disabled}")),
            ADMIN_TOKEN,
            &[("Content-Type", "application/json")],
            Some(br#"{"disabled": true}"#),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let recycled = p.id("tool", "5.0.0").await;
    assert_eq!(stack.admin_delete(&format!("/projects/{pid}/packages/{recycled}")).await, 204);

    let latest = p.url("tool", "@latest", "tool.bin");
    assert_eq!(p.get(&latest, ADMIN_TOKEN).await, (200, Some("2.0.0".into()), b"2.0.0".to_vec()));
    let head = p.send(Method::HEAD, &latest, ADMIN_TOKEN, &[], None).await;
    assert_eq!((head.status().as_u16(), head.headers()["x-package-version"].to_str().ok()), (302, Some("2.0.0")));
    // No fall-back to an older version that has the file.
    assert_eq!(p.get(&p.url("tool", "@latest", "extra.txt"), ADMIN_TOKEN).await.0, 404);
    // A version named `latest` is its own URL.
    assert_eq!(p.get(&p.url("tool", "latest", "tool.bin"), ADMIN_TOKEN).await.2, b"latest".to_vec());
    // With curl --location, as a release consumer would.
    let out = tokio::process::Command::new("curl")
        .args(["-sfL", "-H", &format!("PRIVATE-TOKEN: {ADMIN_TOKEN}"), &latest])
        .output()
        .await
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2.0.0");
    // Every token kind that reads packages: a deploy token and a job token.
    let deploy = stack
        .admin_post(
            &format!("/projects/{pid}/deploy_tokens"),
            json!({"name": "d", "scopes": ["read_package_registry"]}),
        )
        .await;
    let deploy = deploy["token"].as_str().expect("token");
    let resp = stack.http.get(&latest).header("DEPLOY-TOKEN", deploy).send().await.expect("req");
    assert_eq!(resp.status(), 302);
    let pipeline = stack.admin_post(&format!("/projects/{pid}/pipelines"), json!({"ref": "main"})).await;
    let job = stack
        .admin_post(&format!("/projects/{pid}/pipelines/{}/jobs", pipeline["id"]), json!({"name": "consume"}))
        .await;
    let resp =
        stack.http.get(&latest).header("JOB-TOKEN", job["token"].as_str().expect("token")).send().await.expect("req");
    assert_eq!(resp.status(), 302);
    // The downloads count on the version @latest resolved to.
    let eligible = p.id("tool", "2.0.0").await;
    let mut count = 0;
    for _ in 0..50 {
        let details: Value = stack.admin_get(&format!("/projects/{pid}/packages/{eligible}")).await;
        count = details["download_count"].as_u64().expect("count");
        if count >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(count, 4, "GET, curl, deploy token, job token (a HEAD does not count)");

    // Nothing eligible: an unknown package, and one whose every version is disabled.
    assert_eq!(p.get(&p.url("nothing", "@latest", "tool.bin"), ADMIN_TOKEN).await.0, 404);
    assert_eq!(p.put("off", "1.0", "f", b"f", &[]).await.0, 201);
    let off = p.id("off", "1.0").await;
    let resp = p
        .send(
            Method::PATCH,
            &stack.api(&format!("/projects/{pid}/packages/{off}")),
            ADMIN_TOKEN,
            &[("Content-Type", "application/json")],
            Some(br#"{"disabled": true}"#),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(p.get(&p.url("off", "@latest", "f"), ADMIN_TOKEN).await.0, 404);
    // `@latest` is for reading: no version may be named so.
    assert_eq!(p.put("tool", "@latest", "tool.bin", b"x", &[]).await.0, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn latest_streams_in_proxy_mode() {
    let stack = Stack::start_with(|s| {
        s.insert("ARCA_PROXY_DOWNLOAD".into(), "true".into());
    })
    .await;
    let (pid, _) = stack.project("proxied", "private").await;
    let p = Pkg { stack: &stack, pid };
    assert_eq!(p.put("tool", "1.0", "t", b"one", &[]).await.0, 201);
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(p.put("tool", "1.1", "t", b"one-one", &[]).await.0, 201);
    let resp = p.send(Method::GET, &p.url("tool", "@latest", "t"), ADMIN_TOKEN, &[], None).await;
    assert_eq!((resp.status().as_u16(), resp.headers()["x-package-version"].to_str().ok()), (200, Some("1.1")));
    assert_eq!(resp.bytes().await.expect("body").as_ref(), b"one-one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conditional_publish_creates_only_or_replaces_only_what_was_seen() {
    let stack = Stack::start().await;
    let (pid, _) = stack.project("conditional", "private").await;
    let p = Pkg { stack: &stack, pid };
    let failed = (412, json!({"message": "412 Precondition Failed"}));
    let prefix = format!("packages/{pid}/");
    let blobs = || keys_under(&stack.app, &prefix);

    // If-None-Match: * creates, once.
    assert_eq!(p.put("app", "1.0", "app.bin", b"first", &[("If-None-Match", "*")]).await.0, 201);
    let before = blobs().await.len();
    assert_eq!(p.put("app", "1.0", "app.bin", b"second", &[("If-None-Match", "*")]).await, failed);
    // If-Match replaces only the copy it names, strongly, and removes the older copies.
    let first = format!("\"{}\"", sha256(b"first"));
    let stale = format!("\"{}\"", sha256(b"something else"));
    let weak = format!("W/{first}");
    for bad in [stale.as_str(), weak.as_str(), "garbage", "\"unterminated"] {
        assert_eq!(p.put("app", "1.0", "app.bin", b"x", &[("If-Match", bad)]).await, failed, "{bad}");
    }
    assert_eq!(p.put("app", "1.0", "other.bin", b"x", &[("If-Match", "*")]).await, failed, "no such file");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(blobs().await.len(), before, "refused publishes left no blob");
    let list = format!("\"nope\", {first}");
    assert_eq!(p.put("app", "1.0", "app.bin", b"second", &[("If-Match", list.as_str())]).await.0, 201);
    let id = p.id("app", "1.0").await;
    let copies = p.files_named(id, "app.bin").await;
    assert_eq!(copies.len(), 1, "the older copy is gone: {copies:?}");
    assert_eq!(copies[0]["file_sha256"], sha256(b"second"));
    assert_eq!(p.get(&p.url("app", "1.0", "app.bin"), ADMIN_TOKEN).await.2, b"second".to_vec());

    // Where duplicates are refused, a matched If-Match still replaces.
    let resp = p
        .send(
            Method::PUT,
            &stack.api(&format!("/projects/{pid}/packages/settings")),
            ADMIN_TOKEN,
            &[("Content-Type", "application/json")],
            Some(br#"{"generic_duplicates_allowed": false}"#),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(p.put("app", "1.0", "app.bin", b"third", &[]).await.0, 403, "a plain duplicate is refused");
    let second = format!("\"{}\"", sha256(b"second"));
    assert_eq!(p.put("app", "1.0", "app.bin", b"third", &[("If-Match", second.as_str())]).await.0, 201);
    assert_eq!(p.get(&p.url("app", "1.0", "app.bin"), ADMIN_TOKEN).await.2, b"third".to_vec());

    // Twenty concurrent create-only publishes: exactly one wins; the rest leave nothing.
    let before = blobs().await.len();
    let attempts = (0..20).map(|i| {
        let body = format!("racer {i}").into_bytes();
        let p = &p;
        async move { p.put("race", "1.0", "race.bin", &body, &[("If-None-Match", "*")]).await.0 }
    });
    let mut statuses = futures_util::future::join_all(attempts).await;
    statuses.sort_unstable();
    assert_eq!(statuses, [vec![201], vec![412; 19]].concat());
    let race = p.id("race", "1.0").await;
    assert_eq!(p.files_named(race, "race.bin").await.len(), 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(blobs().await.len(), before + 1, "the losers' blobs are gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deleting_a_file_by_name_removes_every_copy() {
    let stack = Stack::start().await;
    let (pid, _) = stack.project("byname", "private").await;
    let (dev, dev_token) = stack.user("dev", &["api"]).await;
    stack.add_member(pid, dev, access::DEVELOPER).await;
    let p = Pkg { stack: &stack, pid };
    for body in [b"one".as_slice(), b"two", b"three"] {
        assert_eq!(p.put("lib", "1.0", "lib.so", body, &[]).await.0, 201);
    }
    assert_eq!(p.put("lib", "1.0", "README", b"keep me", &[]).await.0, 201);
    let url = p.url("lib", "1.0", "lib.so");
    assert_eq!(p.send(Method::DELETE, &url, &dev_token, &[], None).await.status(), 403, "maintainers only");
    assert_eq!(p.send(Method::DELETE, &url, ADMIN_TOKEN, &[], None).await.status(), 204);
    assert_eq!(p.get(&url, ADMIN_TOKEN).await.0, 404);
    assert_eq!(p.send(Method::DELETE, &url, ADMIN_TOKEN, &[], None).await.status(), 404, "once");
    let missing = p.url("nothing", "1.0", "lib.so");
    assert_eq!(p.send(Method::DELETE, &missing, ADMIN_TOKEN, &[], None).await.status(), 404);
    let id = p.id("lib", "1.0").await;
    let files: Value = stack.admin_get(&format!("/projects/{pid}/packages/{id}/package_files")).await;
    assert_eq!(files.as_array().map(|f| f.len()), Some(1));
    assert_eq!(files[0]["file_name"], "README");
    // One audit event for the three copies.
    let events: Value = stack.admin_get(&format!("/projects/{pid}/packages/events")).await;
    let deletes: Vec<&Value> =
        events.as_array().expect("events").iter().filter(|e| e["action"] == "package_file.deleted").collect();
    assert_eq!(deletes.len(), 1, "{events}");
    assert_eq!(deletes[0]["details"]["count"], 3);
    // The cleanup worker deletes the blobs.
    arca_cleanup::run_once(&stack.app).await.expect("cleanup pass");
    assert_eq!(keys_under(&stack.app, &format!("packages/{pid}/")).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_version_downloads_as_one_zip_streamed_from_s3() {
    let stack = Stack::start().await;
    let (pid, _) = stack.project("archive", "private").await;
    let p = Pkg { stack: &stack, pid };
    let big: Vec<u8> = (0..6 * 1024 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    assert_eq!(p.put("suite", "2.1", "bin/tool", b"old tool", &[]).await.0, 201);
    assert_eq!(p.put("suite", "2.1", "bin/tool", &big, &[]).await.0, 201);
    assert_eq!(p.put("suite", "2.1", "README.md", b"# suite\n", &[]).await.0, 201);
    assert_eq!(p.put("suite", "2.1", "empty.txt", b"", &[]).await.0, 201);
    let id = p.id("suite", "2.1").await;
    let url = stack.api(&format!("/projects/{pid}/packages/{id}/archive"));

    let resp = p.send(Method::GET, &url, ADMIN_TOKEN, &[], None).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/zip");
    let disposition = resp.headers()["content-disposition"].to_str().expect("ascii").to_owned();
    assert!(disposition.starts_with("attachment") && disposition.contains("suite-2.1.zip"), "{disposition}");
    let bytes = resp.bytes().await.expect("body").to_vec();

    // The zip crate checks every CRC-32 as it reads.
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.clone())).expect("a zip");
    let mut names: Vec<String> = zip.file_names().map(|n| n.expect("a name").into_owned()).collect();
    names.sort();
    assert_eq!(names, ["README.md", "bin/tool", "empty.txt"], "the newest file of each name");
    for (name, want) in [("bin/tool", big.as_slice()), ("README.md", b"# suite\n".as_slice()), ("empty.txt", b"")] {
        let mut entry = zip.by_name(name).expect(name);
        let mut got = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut got).expect("read, CRC checked");
        assert!(got == want, "{name}");
    }
    // unzip -t and Python's zipfile agree.
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("suite.zip");
    std::fs::write(&path, &bytes).expect("write");
    let out = std::process::Command::new("unzip").arg("-t").arg(&path).output().expect("unzip");
    assert!(out.status.success(), "unzip -t: {}", String::from_utf8_lossy(&out.stdout));
    let script =
        "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(len(z.namelist()))";
    let out = std::process::Command::new("python3").args(["-c", script]).arg(&path).output().expect("python3");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "3", "{}", String::from_utf8_lossy(&out.stderr));

    // Who may read the version may read its zip; a disabled version has none.
    let (_, outsider) = stack.user("outsider", &["api"]).await;
    assert_eq!(p.send(Method::GET, &url, &outsider, &[], None).await.status(), 404);
    let resp = p
        .send(
            Method::PATCH,
            &stack.api(&format!("/projects/{pid}/packages/{id}")),
            ADMIN_TOKEN,
            &[("Content-Type", "application/json")],
            Some(br#"{"disabled": true}"#),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(p.send(Method::GET, &url, ADMIN_TOKEN, &[], None).await.status(), 403);
    let missing = stack.api(&format!("/projects/{pid}/packages/999999/archive"));
    assert_eq!(p.send(Method::GET, &missing, ADMIN_TOKEN, &[], None).await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn share_links_download_without_a_token_until_they_expire_or_are_revoked() {
    let stack = Stack::start_with(|s| {
        s.insert("ARCA_AUTH_FAILURE_LIMIT".into(), "6".into());
        s.insert("ARCA_AUTH_FAILURE_WINDOW".into(), "1m".into());
        s.insert("ARCA_TRUSTED_PROXIES".into(), "127.0.0.1".into());
    })
    .await;
    let (pid, _) = stack.project("shared", "private").await;
    let (dev, dev_token) = stack.user("dev", &["api"]).await;
    let (dev2, dev2_token) = stack.user("dev2", &["api"]).await;
    let (rep, rep_token) = stack.user("rep", &["api"]).await;
    for (user, level) in [(dev, access::DEVELOPER), (dev2, access::DEVELOPER), (rep, access::REPORTER)] {
        stack.add_member(pid, user, level).await;
    }
    let p = Pkg { stack: &stack, pid };
    assert_eq!(p.put("app", "1.0", "app.bin", b"version one", &[]).await.0, 201);
    let id = p.id("app", "1.0").await;
    let shares = stack.api(&format!("/projects/{pid}/packages/{id}/shares"));
    let create = |token: &str, body: Value| {
        let req = stack.http.post(&shares).header("PRIVATE-TOKEN", token).json(&body);
        async move {
            let resp = req.send().await.expect("req");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    // Developers make links; reporters and machine tokens do not; bad expiries are 400.
    let (status, share) = create(&dev_token, json!({"file_name": "app.bin", "expires_in": "1 hour"})).await;
    assert_eq!(status, 201, "{share}");
    assert_eq!((share["file_name"].as_str(), share["created_by"].as_str()), (Some("app.bin"), Some("dev")));
    let url = share["url"].as_str().expect("url").to_owned();
    assert!(url.starts_with(&format!("{}/api/v4/shares/arca-share-", stack.url)), "{url}");
    assert_eq!(create(&rep_token, json!({"file_name": "app.bin"})).await.0, 403);
    for bad in ["8 days", "never", "soon", "0 seconds"] {
        assert_eq!(create(&dev_token, json!({"file_name": "app.bin", "expires_in": bad})).await.0, 400, "{bad}");
    }
    assert_eq!(create(&dev_token, json!({"file_name": "missing.bin"})).await.0, 404);

    // Anyone with the URL: the same 302 as an authorized download, following the newest
    // file of the name; counted.
    let anonymous = |method: Method, url: String| stack.http.request(method, url).send();
    let resp = anonymous(Method::GET, url.clone()).await.expect("req");
    assert_eq!(resp.status(), 302);
    let location = resp.headers()["location"].to_str().expect("ascii").to_owned();
    assert_eq!(reqwest::get(location).await.expect("s3").bytes().await.expect("body").as_ref(), b"version one");
    assert_eq!(p.put("app", "1.0", "app.bin", b"version one, rebuilt", &[]).await.0, 201);
    let resp = anonymous(Method::GET, url.clone()).await.expect("req");
    let location = resp.headers()["location"].to_str().expect("ascii").to_owned();
    assert_eq!(reqwest::get(location).await.expect("s3").text().await.expect("body"), "version one, rebuilt");
    assert_eq!(anonymous(Method::HEAD, url.clone()).await.expect("req").status(), 302);
    let mut count = 0;
    for _ in 0..50 {
        let details: Value = stack.admin_get(&format!("/projects/{pid}/packages/{id}")).await;
        count = details["download_count"].as_u64().expect("count");
        if count >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(count, 2, "two GETs through the link");

    // Listing shows no secret; the version disabled or recycled makes the link a 404,
    // and it comes back with the version.
    let listed: Value = stack
        .http
        .get(&shares)
        .header("PRIVATE-TOKEN", &dev_token)
        .send()
        .await
        .expect("req")
        .json()
        .await
        .expect("json");
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert!(listed[0].get("url").is_none() && !listed.to_string().contains("arca-share-"), "{listed}");
    let version_url = stack.api(&format!("/projects/{pid}/packages/{id}"));
    let patch = |disabled: bool| {
        p.send(
            Method::PATCH,
            &version_url,
            ADMIN_TOKEN,
            &[("Content-Type", "application/json")],
            Some(if disabled { br#"{"disabled": true}"#.as_slice() } else { br#"{"disabled": false}"#.as_slice() }),
        )
    };
    assert_eq!(patch(true).await.status(), 200);
    assert_eq!(anonymous(Method::GET, url.clone()).await.expect("req").status(), 404);
    assert_eq!(patch(false).await.status(), 200);
    assert_eq!(anonymous(Method::GET, url.clone()).await.expect("req").status(), 302);
    assert_eq!(stack.admin_delete(&format!("/projects/{pid}/packages/{id}")).await, 204);
    assert_eq!(anonymous(Method::GET, url.clone()).await.expect("req").status(), 404);
    let restore = stack.api(&format!("/projects/{pid}/packages/{id}/restore"));
    let resp = stack.http.post(&restore).header("PRIVATE-TOKEN", ADMIN_TOKEN).send().await.expect("req");
    assert_eq!(resp.status(), 200);
    assert_eq!(anonymous(Method::GET, url.clone()).await.expect("req").status(), 302);

    // Revoking: another developer may not, the creator may; then it is gone.
    let share_id = share["id"].as_u64().expect("id");
    let one = format!("{shares}/{share_id}");
    assert_eq!(p.send(Method::DELETE, &one, &dev2_token, &[], None).await.status(), 403);
    assert_eq!(p.send(Method::DELETE, &one, &dev_token, &[], None).await.status(), 204);
    assert_eq!(anonymous(Method::GET, url.clone()).await.expect("req").status(), 404);

    // A short-lived link expires by itself.
    let (_, short) = create(&dev_token, json!({"file_name": "app.bin", "expires_in": "1 sec"})).await;
    let short = short["url"].as_str().expect("url").to_owned();
    assert_eq!(anonymous(Method::GET, short.clone()).await.expect("req").status(), 302);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(anonymous(Method::GET, short).await.expect("req").status(), 404);

    // Forged and malformed tokens are 404s the gateway counts as failed authentications
    // (as it counts revoked and expired ones): after ARCA_AUTH_FAILURE_LIMIT of them this
    // client gets a 429.
    let base = stack.api("/shares/");
    let guess =
        |token: String| stack.http.get(format!("{base}{token}")).header("X-Forwarded-For", "203.0.113.9").send();
    let mut statuses = Vec::new();
    for token in [
        format!("arca-share-{}", "A".repeat(32)),
        "arca-share-short".to_owned(),
        format!("arca-share-{}", "-".repeat(32)),
        "not-a-share-token".to_owned(),
        format!("arca-share-{}Z", "b".repeat(32)),
        format!("arca-share-{}", "c".repeat(32)),
        format!("arca-share-{}", "d".repeat(32)),
    ] {
        statuses.push(guess(token).await.expect("req").status().as_u16());
    }
    assert_eq!(statuses, [404, 404, 404, 404, 404, 404, 429]);

    // Purging the version deletes its links.
    let (_, last) = create(&dev_token, json!({"file_name": "app.bin"})).await;
    let last = last["url"].as_str().expect("url").to_owned();
    assert_eq!(stack.admin_delete(&format!("/projects/{pid}/packages/{id}")).await, 204);
    assert_eq!(stack.admin_delete(&format!("/projects/{pid}/packages/recycle_bin/{id}")).await, 204);
    arca_cleanup::run_once(&stack.app).await.expect("cleanup pass");
    let mut conn = stack.app.meta.conn();
    let left: Vec<String> =
        redis::AsyncCommands::keys(&mut conn, format!("arca:{{p{pid}}}:*share*")).await.expect("redis");
    assert_eq!(left, Vec::<String>::new());
    let secret = last.rsplit('/').next().expect("token");
    let index = arca_shared::keys::share_by_hash(&arca_shared::auth::hash_token(secret));
    let exists: bool = redis::AsyncCommands::exists(&mut conn, index).await.expect("redis");
    assert!(!exists, "the secret's index is gone with the version");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn share_links_use_the_public_url_when_set() {
    let stack = Stack::start_with(|s| {
        s.insert("ARCA_PUBLIC_URL".into(), "https://artifacts.example.com/".into());
    })
    .await;
    let (pid, _) = stack.project("public-url", "private").await;
    let p = Pkg { stack: &stack, pid };
    assert_eq!(p.put("app", "1.0", "app.bin", b"x", &[]).await.0, 201);
    let id = p.id("app", "1.0").await;
    let share = stack
        .admin_post(
            &format!("/projects/{pid}/packages/{id}/shares"),
            json!({"file_name": "app.bin", "expires_in": "2 days"}),
        )
        .await;
    let url = share["url"].as_str().expect("url");
    assert!(url.starts_with("https://artifacts.example.com/api/v4/shares/arca-share-"), "{url}");
}
