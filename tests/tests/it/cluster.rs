//! The same flows against a three-master Redis Cluster: every multi-key write (Lua scripts,
//! MULTI) must keep its keys in one slot, which the key schema's hash tags promise.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use arca_tests::{RedisCluster, Stack};
use futures_util::StreamExt;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_api_works_on_redis_cluster() {
    let cluster = RedisCluster::start();
    let url = cluster.url();
    let stack = Stack::start_with(move |s| {
        s.insert("ARCA_REDIS_URL".into(), url);
        s.insert("ARCA_WEBHOOK_ALLOW_PRIVATE".into(), "true".into());
    })
    .await;

    // Users, tokens, projects (global registries in their own slots).
    let (uid, token) = stack.user("alice", &["api"]).await;
    let (pid, path) = stack.project("tools", "private").await;
    stack.add_member(pid, uid, 40).await;

    // A webhook: its hooks in the project's slot, its queue in `{webhooks}`.
    let events: Arc<Mutex<Vec<String>>> = Arc::default();
    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let hook_url = format!("http://{}/hook", receiver.local_addr().expect("addr"));
    let app = axum::Router::new().fallback({
        let events = events.clone();
        move |headers: axum::http::HeaderMap| async move {
            let event = headers.get("x-arca-event").and_then(|v| v.to_str().ok()).unwrap_or_default();
            events.lock().expect("lock").push(event.to_owned());
            "ok"
        }
    });
    tokio::spawn(async move { axum::serve(receiver, app).await });
    stack.admin_post(&format!("/projects/{pid}/hooks"), json!({"url": hook_url})).await;
    let resp = stack
        .http
        .get(stack.api(&format!("/projects/{}", path.replace('/', "%2F"))))
        .header("PRIVATE-TOKEN", &token)
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 200);

    // Publish (the ADD_FILE script), duplicates, download and its counter.
    let file = |v: &str| stack.api(&format!("/projects/{pid}/packages/generic/app/{v}/app.bin"));
    for body in ["one", "two"] {
        let resp = stack.http.put(file("1.0")).header("PRIVATE-TOKEN", &token).body(body).send().await.expect("req");
        assert_eq!(resp.status(), 201);
    }
    let resp = stack.http.get(file("1.0")).header("PRIVATE-TOKEN", &token).send().await.expect("req");
    assert_eq!(resp.status(), 302);
    let location = resp.headers()["location"].to_str().expect("ascii").to_owned();
    assert_eq!(reqwest::get(location).await.expect("s3").text().await.expect("text"), "two");

    // Listing, metadata, disable, recycle and restore (RENAME within the project's slot).
    let list: Value = stack
        .http
        .get(stack.api(&format!("/projects/{pid}/packages")))
        .header("PRIVATE-TOKEN", &token)
        .send()
        .await
        .expect("req")
        .json()
        .await
        .expect("json");
    let id = list[0]["id"].as_u64().expect("id");
    let call = |m: reqwest::Method, p: String, body: Option<Value>| {
        let mut req = stack
            .http
            .request(m, stack.api(&format!("/projects/{pid}/packages{p}")))
            .header("PRIVATE-TOKEN", token.clone());
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move { req.send().await.expect("req").status().as_u16() }
    };
    assert_eq!(call(reqwest::Method::PUT, format!("/{id}/metadata/k"), Some(json!({"value": "v"}))).await, 200);
    assert_eq!(call(reqwest::Method::PATCH, format!("/{id}"), Some(json!({"disabled": true}))).await, 200);
    assert_eq!(call(reqwest::Method::DELETE, format!("/{id}"), None).await, 204);
    assert_eq!(call(reqwest::Method::POST, format!("/{id}/restore"), None).await, 200);
    let details: Value = stack
        .http
        .get(stack.api(&format!("/projects/{pid}/packages/{id}")))
        .header("PRIVATE-TOKEN", &token)
        .send()
        .await
        .expect("req")
        .json()
        .await
        .expect("json");
    assert_eq!(details["metadata"], json!({"k": "v"}));
    assert_eq!(details["disabled"], true);

    // CI and artifacts, by ref; then the cleanup worker's passes.
    let p = stack.admin_post(&format!("/projects/{pid}/pipelines"), json!({"ref": "main"})).await["id"]
        .as_u64()
        .expect("id");
    let job = stack.admin_post(&format!("/projects/{pid}/pipelines/{p}/jobs"), json!({"name": "build"})).await;
    let (jid, jtoken) = (job["id"].as_u64().expect("id"), job["token"].as_str().expect("token").to_owned());
    let zip = arca_tests::zip_of(&[("out.txt", b"built on a cluster")]);
    let resp = stack
        .http
        .post(stack.api(&format!("/jobs/{jid}/artifacts")))
        .header("JOB-TOKEN", &jtoken)
        .body(zip)
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 201);
    // A report beside the archive (one script over the job's archive, reports and index).
    let mut junit = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut junit, b"<testsuite/>").expect("gzip");
    let resp = stack
        .http
        .post(stack.api(&format!("/jobs/{jid}/artifacts?artifact_type=junit&artifact_format=gzip")))
        .header("JOB-TOKEN", &jtoken)
        .body(junit.finish().expect("gzip"))
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 201);
    stack.set_status(&format!("/projects/{pid}/jobs/{jid}"), "success").await;
    stack.set_status(&format!("/projects/{pid}/pipelines/{p}"), "success").await;
    let text = stack
        .http
        .get(stack.api(&format!("/projects/{pid}/jobs/artifacts/main/raw/out.txt?job=build")))
        .header("PRIVATE-TOKEN", &token)
        .send()
        .await
        .expect("req")
        .text()
        .await
        .expect("text");
    assert_eq!(text, "built on a cluster");
    arca_cleanup::run_once(&stack.app).await.expect("a cleanup pass works on the cluster");
    // Every change above reached the hook, through the queue on the cluster.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let wanted = ["package_published", "package_disabled", "package_deleted", "package_restored", "artifacts_uploaded"];
    loop {
        let seen = events.lock().expect("lock").clone();
        if wanted.iter().all(|w| seen.iter().any(|e| e == w)) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "deliveries on the cluster: {seen:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The data really is spread over the cluster's masters.
    let mut holding = 0;
    for port in &cluster.ports {
        let out = std::process::Command::new(arca_tests::tool("redis-cli"))
            .args(["-p", &port.to_string(), "dbsize"])
            .output()
            .expect("dbsize");
        let n: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().expect("a number");
        holding += usize::from(n > 0);
    }
    assert!(holding >= 2, "keys on {holding} of 3 masters");

    // Deleting the project: the worker finds its keys on the master serving its slot.
    assert_eq!(stack.admin_delete(&format!("/projects/{pid}")).await, 202);
    assert_eq!(arca_cleanup::delete_projects(&stack.app).await.expect("deletion pass"), 1);
    let mut left = Vec::new();
    for port in &cluster.ports {
        let out = std::process::Command::new(arca_tests::tool("redis-cli"))
            .args(["-p", &port.to_string(), "--scan", "--pattern", &format!("arca:{{p{pid}}}:*")])
            .output()
            .expect("scan");
        left.extend(String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned));
    }
    assert_eq!(left, Vec::<String>::new(), "no key of the deleted project on any master");
}

/// The cleanup worker on a cluster loses nothing: the orphan sweep reads the references on
/// every master (projects' keys spread over them), and a worker killed with SIGKILL while
/// deleting queued blobs leaves its claimed batch to another once its lease ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cleanup_on_a_cluster_loses_nothing() {
    let cluster = RedisCluster::start();
    let url = cluster.url();
    let stack = Stack::start_with({
        let url = url.clone();
        move |s| {
            s.insert("ARCA_REDIS_URL".into(), url);
            // Long enough that the worker's first pass, at start, cannot take an upload
            // in flight for an orphan.
            s.insert("ARCA_ORPHAN_GRACE".into(), "1s".into());
            s.insert("ARCA_CLEANUP_INTERVAL".into(), "1000days".into());
            s.insert("ARCA_CLEANUP_LEASE".into(), "1s".into());
        }
    })
    .await;
    // Projects whose keys sit on different masters, each with a file.
    let mut files = Vec::new();
    let mut pids = Vec::new();
    for i in 0..8 {
        let (pid, _) = stack.project(&format!("spread-{i}"), "private").await;
        pids.push(pid);
        // A job's archive and its junit report too: the sweep reads reports (hashes) with one
        // pipeline per project's slot.
        crate::cleanup::expired_artifacts(&stack.app, pid, 1, 2, false).await;
        let url = stack.api(&format!("/projects/{pid}/packages/generic/f/1/f.bin"));
        let resp = stack.http.put(&url).header("PRIVATE-TOKEN", arca_tests::ADMIN_TOKEN).body(format!("file {i}"));
        assert_eq!(resp.send().await.expect("publish").status(), 201);
        files.push((url, format!("file {i}")));
    }
    let masters_used = {
        let mut used = 0;
        for port in &cluster.ports {
            let out = std::process::Command::new(arca_tests::tool("redis-cli"))
                .args(["-p", &port.to_string(), "--scan", "--pattern", "arca:{p*}:file:*"])
                .output()
                .expect("scan");
            used += usize::from(!out.stdout.is_empty());
        }
        used
    };
    assert!(masters_used >= 2, "file records on {masters_used} masters");
    // Versions of the previous Redis layout on every master: the migration's pipelines
    // span slots and masters, and reads work before and after it.
    for pid in &pids {
        crate::packages::to_second_layout(&stack, *pid, "f", "1").await;
    }
    let old_keys = |pattern: &'static str| {
        cluster
            .ports
            .iter()
            .map(|port| {
                let out = std::process::Command::new(arca_tests::tool("redis-cli"))
                    .args(["-p", &port.to_string(), "--scan", "--pattern", pattern])
                    .output()
                    .expect("scan");
                String::from_utf8_lossy(&out.stdout).lines().count()
            })
            .sum::<usize>()
    };
    assert_eq!(old_keys("arca:{p*}:pkg:*"), 8, "seeded");
    crate::packages::migrate_as_after_an_upgrade(&stack).await;
    assert_eq!((old_keys("arca:{p*}:pkg:*"), old_keys("arca:{p*}:*:files")), (0, 0), "migrated on every master");
    for pid in &pids {
        let listed: serde_json::Value = stack.admin_get(&format!("/projects/{pid}/packages")).await;
        assert_eq!(listed[0]["name"], "f", "{listed}");
    }
    let orphan = arca_shared::blobs::BlobKeys::package_file(1, "orphan");
    stack.app.blobs.put(&orphan, bytes::Bytes::from_static(b"nobody's")).await.expect("put");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(arca_cleanup::sweep_orphans(&stack.app).await.expect("sweep"), 1, "only the orphan");
    assert_eq!(arca_tests::keys_under(&stack.app, "artifacts/").await.len(), 16, "every archive and report kept");
    for (url, body) in &files {
        let resp = stack.http.get(url).header("PRIVATE-TOKEN", arca_tests::ADMIN_TOKEN).send().await.expect("get");
        let location = resp.headers()["location"].to_str().expect("ascii").to_owned();
        assert_eq!(&reqwest::get(location).await.expect("s3").text().await.expect("body"), body);
    }

    // 5,000 blobs queued for deletion; a worker process takes them and is killed mid-way.
    let keys: Vec<String> =
        (0..5000).map(|i| arca_shared::blobs::BlobKeys::package_file(99, &format!("q{i}"))).collect();
    futures_util::stream::iter(keys.clone())
        .for_each_concurrent(32, |k| {
            let app = stack.app.clone();
            async move { app.blobs.put(&k, bytes::Bytes::from_static(b"x")).await.expect("put") }
        })
        .await;
    stack.app.meta.queue_blob_deletes(&keys).await.expect("queue");
    let (mut worker, _) = arca_tests::service_process(
        &stack.backends,
        "cleanup",
        &[("ARCA_REDIS_URL", &url), ("ARCA_CLEANUP_INTERVAL", "50ms"), ("ARCA_CLEANUP_LEASE", "1s")],
    )
    .await;
    // Kill it as soon as it has taken work and before it finished everything.
    let claimed_or_done = || async {
        let mut conn = stack.app.meta.conn();
        let queued: u64 =
            redis::AsyncCommands::llen(&mut conn, arca_shared::keys::BLOB_DELETE_QUEUE).await.expect("redis");
        queued < 5000
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !claimed_or_done().await {
        assert!(std::time::Instant::now() < deadline, "the worker never took the queue");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    worker.start_kill().expect("SIGKILL");
    worker.wait().await.expect("reaped");
    let mut conn = stack.app.meta.conn();
    let claimed: u64 =
        redis::AsyncCommands::zcard(&mut conn, arca_shared::keys::BLOB_DELETES_CLAIMED).await.expect("redis");
    let queued: u64 = redis::AsyncCommands::llen(&mut conn, arca_shared::keys::BLOB_DELETE_QUEUE).await.expect("redis");
    println!("killed with {claimed} blob deletes claimed and {queued} still queued");
    // Another worker, once the lease has ended, deletes every one of them.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    arca_cleanup::run_once(&stack.app).await.expect("a pass");
    let left = arca_tests::keys_under(&stack.app, "packages/99/").await;
    assert!(left.is_empty(), "{} queued blobs survived", left.len());
    let claimed: u64 =
        redis::AsyncCommands::zcard(&mut conn, arca_shared::keys::BLOB_DELETES_CLAIMED).await.expect("redis");
    let queued: u64 = redis::AsyncCommands::llen(&mut conn, arca_shared::keys::BLOB_DELETE_QUEUE).await.expect("redis");
    assert_eq!((claimed, queued), (0, 0));
}
