//! The same flows against a three-master Redis Cluster: every multi-key write (Lua scripts,
//! MULTI) must keep its keys in one slot, which the key schema's hash tags promise.

use arca_tests::{RedisCluster, Stack};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_api_works_on_redis_cluster() {
    let cluster = RedisCluster::start();
    let url = cluster.url();
    let stack = Stack::start_with(move |s| {
        s.insert("ARCA_REDIS_URL".into(), url);
    })
    .await;

    // Users, tokens, projects (global registries in their own slots).
    let (uid, token) = stack.user("alice", &["api"]).await;
    let (pid, path) = stack.project("tools", "private").await;
    stack.add_member(pid, uid, 40).await;
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
    let resp = stack
        .http
        .delete(stack.api(&format!("/projects/{pid}")))
        .header("PRIVATE-TOKEN", arca_tests::ADMIN_TOKEN)
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 202);
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
