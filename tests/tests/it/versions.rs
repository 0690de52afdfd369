//! Version management (docs/ARCHITECTURE.md, "Version management") through the gateway
//! against real Redis and S3: details, disable, custom metadata, the recycle bin, the audit
//! trail.

use std::sync::Arc;
use std::time::Duration;

use arca_shared::model::access;
use arca_tests::{ADMIN_TOKEN, Stack, keys_under};
use serde_json::{Value, json};

struct Fixture {
    stack: Stack,
    pid: u64,
    maintainer: String,
    developer: String,
    reporter: String,
}

async fn fixture(stack: Stack) -> Fixture {
    let (pid, _) = stack.project("releases", "private").await;
    let mut tokens = Vec::new();
    for (name, level) in [("maint", access::MAINTAINER), ("dev", access::DEVELOPER), ("rep", access::REPORTER)] {
        let (uid, token) = stack.user(name, &["api"]).await;
        stack.add_member(pid, uid, level).await;
        tokens.push(token);
    }
    let [maintainer, developer, reporter] = <[String; 3]>::try_from(tokens).expect("three users");
    Fixture { stack, pid, maintainer, developer, reporter }
}

impl Fixture {
    fn file_url(&self, name: &str, version: &str, file: &str) -> String {
        self.stack.api(&format!("/projects/{}/packages/generic/{name}/{version}/{file}", self.pid))
    }

    fn pkg_url(&self, rest: &str) -> String {
        self.stack.api(&format!("/projects/{}/packages{rest}", self.pid))
    }

    /// Publishes as `token`; returns the package id.
    async fn publish(&self, token: &str, name: &str, version: &str, file: &str, body: &str, query: &str) -> u64 {
        let url = format!("{}?select=package_file{query}", self.file_url(name, version, file));
        let resp =
            self.stack.http.put(url).header("PRIVATE-TOKEN", token).body(body.to_owned()).send().await.expect("req");
        assert_eq!(resp.status(), 201);
        resp.json::<Value>().await.expect("json")["package_id"].as_u64().expect("package id")
    }

    async fn call(&self, method: reqwest::Method, url: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.stack.http.request(method, url).header("PRIVATE-TOKEN", token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("req");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, url: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, url, ADMIN_TOKEN, None).await
    }

    /// The download's status, and the bytes when it redirects.
    async fn download(&self, name: &str, version: &str, file: &str) -> (u16, Option<String>) {
        let resp = self
            .stack
            .http
            .get(self.file_url(name, version, file))
            .header("PRIVATE-TOKEN", ADMIN_TOKEN)
            .send()
            .await
            .expect("req");
        if resp.status() != 302 {
            return (resp.status().as_u16(), None);
        }
        let location = resp.headers()["location"].to_str().expect("ascii").to_owned();
        (302, Some(reqwest::get(location).await.expect("s3").text().await.expect("text")))
    }

    /// The version's details once its download count (bumped in the background) is `n`.
    async fn details_with_count(&self, id: u64, n: u64) -> Value {
        for _ in 0..100 {
            let (_, d) = self.get(&self.pkg_url(&format!("/{id}"))).await;
            if d["download_count"] == n {
                return d;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("download_count of {id} never reached {n}");
    }

    async fn listed(&self) -> Vec<u64> {
        let (_, list) = self.get(&self.pkg_url("?per_page=100")).await;
        list.as_array().expect("list").iter().filter_map(|p| p["id"].as_u64()).collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn details_show_who_what_and_when() {
    let f = fixture(Stack::start().await).await;
    let id = f.publish(&f.developer, "cli", "1.2.0", "cli-linux", "binary-v1", "&description=First%20cut").await;
    f.publish(&f.developer, "cli", "1.2.0", "cli-darwin", "binary-mac", "").await;
    assert_eq!(f.download("cli", "1.2.0", "cli-linux").await.0, 302);
    let (status, d) = f.get(&f.pkg_url(&format!("/{id}"))).await;
    assert_eq!(status, 200);
    assert_eq!(d["name"], "cli");
    assert_eq!(d["version"], "1.2.0");
    assert_eq!(d["package_type"], "generic");
    assert_eq!(d["status"], "default");
    assert_eq!(d["pushed_by"], "dev");
    assert_eq!(d["description"], "First cut");
    assert_eq!(d["size"], "binary-v1".len() + "binary-mac".len());
    assert_eq!(d["file_name"], "cli-darwin", "the newest file");
    assert_eq!(d["sha256"], hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"binary-mac")));
    assert_eq!(d["md5"].as_str().map(str::len), Some(32));
    assert_eq!(d["disabled"], false);
    assert_eq!(d["metadata"], json!({}));
    assert!(d["created_at"].is_string());
    // The counter is bumped in the background.
    for _ in 0..50 {
        let (_, d) = f.get(&f.pkg_url(&format!("/{id}"))).await;
        if d["download_count"] == 1 {
            assert!(d["last_downloaded_at"].is_string());
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("download not counted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn disabling_one_version_leaves_the_others_downloadable() {
    let f = fixture(Stack::start().await).await;
    let v1 = f.publish(&f.developer, "app", "1.0", "app.zip", "one", "").await;
    f.publish(&f.developer, "app", "2.0", "app.zip", "two", "").await;
    let v1_url = f.pkg_url(&format!("/{v1}"));
    let patch = |token: String, body: Value| {
        let (f, url) = (&f, v1_url.clone());
        async move { f.call(reqwest::Method::PATCH, &url, &token, Some(body)).await }
    };

    assert_eq!(patch(f.developer.clone(), json!({"disabled": true})).await.0, 403, "developers cannot disable");
    let (status, body) = patch(f.maintainer.clone(), json!({"disabled": true})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["disabled"], true);

    let resp = f
        .stack
        .http
        .get(f.file_url("app", "1.0", "app.zip"))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 403);
    assert_eq!(resp.json::<Value>().await.expect("json")["message"], "403 Forbidden - package version is disabled");
    assert_eq!(f.download("app", "2.0", "app.zip").await, (302, Some("two".into())), "other versions untouched");
    let (_, list) = f.get(&f.pkg_url("")).await;
    let states: Vec<(String, bool)> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|p| (p["version"].as_str().unwrap_or("").to_owned(), p["disabled"] == true))
        .collect();
    assert_eq!(states, [("1.0".to_owned(), true), ("2.0".to_owned(), false)]);

    // A developer may edit the description, not the state.
    let (status, body) = patch(f.developer.clone(), json!({"description": "deprecated"})).await;
    assert_eq!((status, body["description"].clone()), (200, json!("deprecated")));
    assert_eq!(patch(f.developer.clone(), json!({"description": "x".repeat(5000)})).await.0, 400);
    assert_eq!(patch(f.maintainer.clone(), json!({})).await.0, 400);
    assert_eq!(patch(f.maintainer.clone(), json!({"disabled": false})).await.0, 200);
    assert_eq!(f.download("app", "1.0", "app.zip").await, (302, Some("one".into())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn custom_metadata_per_version() {
    let f = fixture(Stack::start().await).await;
    let v1 = f.publish(&f.developer, "lib", "1.0", "lib.so", "a", "").await;
    let v2 = f.publish(&f.developer, "lib", "2.0", "lib.so", "b", "").await;
    let meta = |id: u64, key: &str| f.pkg_url(&format!("/{id}/metadata/{key}"));

    let (status, body) =
        f.call(reqwest::Method::PUT, &meta(v1, "git.sha"), &f.developer, Some(json!({"value": "abc123"}))).await;
    assert_eq!((status, body), (200, json!({"key": "git.sha", "value": "abc123"})));
    f.call(reqwest::Method::PUT, &meta(v1, "build:url"), &f.developer, Some(json!({"value": "https://ci/1"}))).await;
    f.call(reqwest::Method::PUT, &meta(v1, "git.sha"), &f.developer, Some(json!({"value": "def456"}))).await;
    assert_eq!(
        f.call(reqwest::Method::PUT, &meta(v1, "x"), &f.reporter, Some(json!({"value": "no"}))).await.0,
        403,
        "reporters read only"
    );

    let (_, all) = f.get(&f.pkg_url(&format!("/{v1}/metadata"))).await;
    assert_eq!(all, json!({"git.sha": "def456", "build:url": "https://ci/1"}));
    let (_, details) = f.get(&f.pkg_url(&format!("/{v1}"))).await;
    assert_eq!(details["metadata"]["git.sha"], "def456");
    let (_, other) = f.get(&f.pkg_url(&format!("/{v2}/metadata"))).await;
    assert_eq!(other, json!({}), "no leak to another version");

    for (key, value) in [
        ("bad key", json!({"value": "v"})),
        ("ok", json!({"value": "line\nbreak"})),
        ("ok", json!({"value": 7})),
        ("ok", json!({})),
    ] {
        let (status, body) =
            f.call(reqwest::Method::PUT, &meta(v1, &key.replace(' ', "%20")), &f.developer, Some(value.clone())).await;
        assert_eq!(status, 400, "{key} {value}: {body}");
    }
    assert_eq!(f.call(reqwest::Method::DELETE, &meta(v1, "git.sha"), &f.developer, None).await.0, 204);
    assert_eq!(f.call(reqwest::Method::DELETE, &meta(v1, "git.sha"), &f.developer, None).await.0, 404);
    let (_, all) = f.get(&f.pkg_url(&format!("/{v1}/metadata"))).await;
    assert_eq!(all, json!({"build:url": "https://ci/1"}));
    assert_eq!(f.call(reqwest::Method::PUT, &meta(999, "k"), &f.developer, Some(json!({"value": "v"}))).await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn recycle_and_restore_bring_back_everything() {
    let f = fixture(Stack::start().await).await;
    let id = f.publish(&f.developer, "tool", "3.1", "tool.bin", "old", "&description=keep%20me").await;
    f.publish(&f.developer, "tool", "3.1", "tool.bin", "new", "").await;
    let other = f.publish(&f.developer, "tool", "3.2", "tool.bin", "next", "").await;
    f.call(
        reqwest::Method::PUT,
        &f.pkg_url(&format!("/{id}/metadata/channel")),
        &f.developer,
        Some(json!({"value": "stable"})),
    )
    .await;
    f.call(reqwest::Method::PATCH, &f.pkg_url(&format!("/{id}")), &f.maintainer, Some(json!({"disabled": true}))).await;
    f.call(reqwest::Method::PATCH, &f.pkg_url(&format!("/{id}")), &f.maintainer, Some(json!({"disabled": false})))
        .await;
    f.download("tool", "3.1", "tool.bin").await;
    f.download("tool", "3.1", "tool.bin").await;
    let before = f.details_with_count(id, 2).await;

    assert_eq!(
        f.call(reqwest::Method::DELETE, &f.pkg_url(&format!("/{id}")), &f.developer, None).await.0,
        403,
        "developers cannot delete"
    );
    assert_eq!(f.call(reqwest::Method::DELETE, &f.pkg_url(&format!("/{id}")), &f.maintainer, None).await.0, 204);
    assert_eq!(f.listed().await, vec![other], "not listed");
    assert_eq!(f.download("tool", "3.1", "tool.bin").await.0, 404, "not downloadable");
    assert_eq!(f.get(&f.pkg_url(&format!("/{id}"))).await.0, 404);
    assert_eq!(f.download("tool", "3.2", "tool.bin").await.0, 302);

    let (status, bin) = f.call(reqwest::Method::GET, &f.pkg_url("/recycle_bin"), &f.maintainer, None).await;
    assert_eq!(status, 200);
    assert_eq!(bin.as_array().map(Vec::len), Some(1));
    assert_eq!(bin[0]["id"], id);
    assert_eq!(bin[0]["recycled_by"], "maint");
    assert!(bin[0]["recycled_at"].is_string());
    assert_eq!(f.call(reqwest::Method::GET, &f.pkg_url("/recycle_bin"), &f.developer, None).await.0, 403);

    let restore = f.pkg_url(&format!("/{id}/restore"));
    assert_eq!(f.call(reqwest::Method::POST, &restore, &f.developer, None).await.0, 403, "developers cannot restore");
    let (status, after) = f.call(reqwest::Method::POST, &restore, &f.maintainer, None).await;
    assert_eq!(status, 200, "{after}");
    for field in [
        "id",
        "name",
        "version",
        "description",
        "size",
        "download_count",
        "disabled",
        "created_at",
        "pushed_by",
        "sha256",
    ] {
        assert_eq!(after[field], before[field], "{field} restored as it was");
    }
    assert_eq!(after["metadata"], json!({"channel": "stable"}));
    assert_eq!(f.download("tool", "3.1", "tool.bin").await, (302, Some("new".into())), "newest file served again");
    let (_, files) = f.get(&f.pkg_url(&format!("/{id}/package_files"))).await;
    assert_eq!(files.as_array().map(Vec::len), Some(2), "both files back");
    let mut listed = f.listed().await;
    listed.sort();
    assert_eq!(listed, vec![id, other]);
    let (_, bin) = f.call(reqwest::Method::GET, &f.pkg_url("/recycle_bin"), &f.maintainer, None).await;
    assert_eq!(bin, json!([]));
    assert_eq!(f.call(reqwest::Method::POST, &restore, &f.maintainer, None).await.0, 404, "not in the bin any more");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_recycled_version_can_be_published_again_and_then_not_restored_over_it() {
    let f = fixture(Stack::start().await).await;
    let old = f.publish(&f.developer, "svc", "1.0", "svc.tar", "old build", "").await;
    f.call(reqwest::Method::DELETE, &f.pkg_url(&format!("/{old}")), &f.maintainer, None).await;
    let new = f.publish(&f.developer, "svc", "1.0", "svc.tar", "new build", "").await;
    assert_ne!(new, old, "a new version, not the recycled one");
    assert_eq!(f.download("svc", "1.0", "svc.tar").await, (302, Some("new build".into())));
    let d = f.details_with_count(new, 1).await;
    assert_eq!(d["download_count"], 1, "counts start afresh");

    let (status, body) =
        f.call(reqwest::Method::POST, &f.pkg_url(&format!("/{old}/restore")), &f.maintainer, None).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("published again")), "{body}");
    assert_eq!(f.download("svc", "1.0", "svc.tar").await.1.as_deref(), Some("new build"), "the newer one is untouched");
    let (_, bin) = f.call(reqwest::Method::GET, &f.pkg_url("/recycle_bin"), &f.maintainer, None).await;
    assert_eq!(bin[0]["id"], old, "the recycled one stays in the bin");

    // Recycling the newer one frees the name; the older then restores.
    f.call(reqwest::Method::DELETE, &f.pkg_url(&format!("/{new}")), &f.maintainer, None).await;
    assert_eq!(f.call(reqwest::Method::POST, &f.pkg_url(&format!("/{old}/restore")), &f.maintainer, None).await.0, 200);
    assert_eq!(f.download("svc", "1.0", "svc.tar").await.1.as_deref(), Some("old build"));
}

async fn wait_for_keys(stack: &Stack, want: usize) {
    for _ in 0..100 {
        if keys_under(&stack.app, "packages/").await.len() == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("expected {want} blobs, found {:?}", keys_under(&stack.app, "packages/").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn permanent_delete_hands_the_blobs_to_the_worker() {
    let f = fixture(Stack::start().await).await;
    let gone = f.publish(&f.developer, "x", "1", "a", "1", "").await;
    f.publish(&f.developer, "x", "1", "b", "2", "").await;
    f.publish(&f.developer, "x", "2", "a", "3", "").await;
    wait_for_keys(&f.stack, 3).await;
    let purge = f.pkg_url(&format!("/recycle_bin/{gone}"));
    assert_eq!(f.call(reqwest::Method::DELETE, &purge, &f.maintainer, None).await.0, 404, "only what is in the bin");
    f.call(reqwest::Method::DELETE, &f.pkg_url(&format!("/{gone}")), &f.maintainer, None).await;
    assert_eq!(f.call(reqwest::Method::DELETE, &purge, &f.developer, None).await.0, 403);
    assert_eq!(f.call(reqwest::Method::DELETE, &purge, &f.maintainer, None).await.0, 204);
    let (_, bin) = f.call(reqwest::Method::GET, &f.pkg_url("/recycle_bin"), &f.maintainer, None).await;
    assert_eq!(bin, json!([]));
    assert_eq!(
        f.call(reqwest::Method::POST, &f.pkg_url(&format!("/{gone}/restore")), &f.maintainer, None).await.0,
        404
    );
    wait_for_keys(&f.stack, 1).await;
    assert_eq!(f.download("x", "2", "a").await, (302, Some("3".into())), "the other version is untouched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_worker_purges_the_bin_past_retention() {
    let stack = Stack::start_with(|s| {
        s.insert("ARCA_RECYCLE_RETENTION".into(), "2s".into());
    })
    .await;
    let f = fixture(stack).await;
    let id = f.publish(&f.developer, "old", "1", "f", "bytes", "").await;
    f.publish(&f.developer, "kept", "1", "f", "bytes", "").await;
    f.call(reqwest::Method::DELETE, &f.pkg_url(&format!("/{id}")), &f.maintainer, None).await;
    let (_, bin) = f.call(reqwest::Method::GET, &f.pkg_url("/recycle_bin"), &f.maintainer, None).await;
    assert_eq!(bin.as_array().map(Vec::len), Some(1), "still in the bin within retention");
    wait_for_keys(&f.stack, 1).await;
    let (_, bin) = f.call(reqwest::Method::GET, &f.pkg_url("/recycle_bin"), &f.maintainer, None).await;
    assert_eq!(bin, json!([]));
    let (_, events) = f.call(reqwest::Method::GET, &f.pkg_url("/events"), &f.maintainer, None).await;
    assert!(
        events.as_array().expect("events").iter().any(|e| e["action"] == "package.purged" && e["author"] == "cleanup"),
        "{events}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_change_is_in_the_audit_trail() {
    let f = fixture(Stack::start().await).await;
    let id = f.publish(&f.developer, "audited", "1", "f", "x", "").await;
    f.call(reqwest::Method::PATCH, &f.pkg_url(&format!("/{id}")), &f.maintainer, Some(json!({"disabled": true}))).await;
    f.call(
        reqwest::Method::PATCH,
        &f.pkg_url(&format!("/{id}")),
        &f.maintainer,
        Some(json!({"disabled": false, "description": "d"})),
    )
    .await;
    f.call(reqwest::Method::PUT, &f.pkg_url(&format!("/{id}/metadata/k")), &f.developer, Some(json!({"value": "v"})))
        .await;
    f.call(reqwest::Method::DELETE, &f.pkg_url(&format!("/{id}/metadata/k")), &f.developer, None).await;
    f.call(reqwest::Method::DELETE, &f.pkg_url(&format!("/{id}")), &f.maintainer, None).await;
    f.call(reqwest::Method::POST, &f.pkg_url(&format!("/{id}/restore")), &f.maintainer, None).await;

    assert_eq!(
        f.call(reqwest::Method::GET, &f.pkg_url("/events"), &f.developer, None).await.0,
        403,
        "maintainers only"
    );
    let (status, events) = f.call(reqwest::Method::GET, &f.pkg_url("/events"), &f.maintainer, None).await;
    assert_eq!(status, 200);
    let got: Vec<(String, String)> = events
        .as_array()
        .expect("events")
        .iter()
        .rev()
        .map(|e| (e["action"].as_str().unwrap_or("").to_owned(), e["author"].as_str().unwrap_or("").to_owned()))
        .collect();
    let want: Vec<(String, String)> = [
        ("package_file.created", "dev"),
        ("package.disabled", "maint"),
        ("package.enabled", "maint"),
        ("package.description_changed", "maint"),
        ("package.metadata_set", "dev"),
        ("package.metadata_deleted", "dev"),
        ("package.recycled", "maint"),
        ("package.restored", "maint"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want);
    assert!(events.as_array().expect("events").iter().all(|e| e["package_id"] == id && e["created_at"].is_string()));
    // Stored tersely, shown whole.
    let published = events.as_array().expect("events").last().expect("the publish");
    assert_eq!(published["actor"]["username"], published["author"]);
    assert_eq!(published["actor"]["kind"], "user");
    assert!(published["actor"]["id"].is_u64(), "{published}");
    assert!(published["package_name"].is_string() && published["package_version"].is_string(), "{published}");
    assert_eq!(published["details"]["file_name"], "f", "{published}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn download_counts_are_exact_under_concurrency() {
    let f = Arc::new(fixture(Stack::start().await).await);
    let id = f.publish(&f.developer, "hot", "1", "f", "x", "").await;
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let f = f.clone();
        tasks.push(tokio::spawn(async move {
            let resp = f
                .stack
                .http
                .get(f.file_url("hot", "1", "f"))
                .header("PRIVATE-TOKEN", f.reporter.clone())
                .send()
                .await
                .expect("req");
            assert_eq!(resp.status(), 302);
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    for _ in 0..100 {
        let (_, d) = f.get(&f.pkg_url(&format!("/{id}"))).await;
        if d["download_count"] == 200 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let (_, d) = f.get(&f.pkg_url(&format!("/{id}"))).await;
            assert_eq!(d["download_count"], 200, "and not more");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("download count never reached 200");
}
