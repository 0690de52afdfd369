//! The authorization cache (`ARCA_AUTH_CACHE_TTL`, default 500 ms) against arca's promise
//! that every change to what a principal may do takes effect within one second: each change
//! is made after the cache has learnt the old answer, and the download route must give the
//! new answer within a second. And what the cache is for: a warm redirect asks Redis one
//! thing, the file.

use std::time::{Duration, Instant};

use arca_shared::model::access;
use arca_tests::{ADMIN_TOKEN, Stack};
use serde_json::{Value, json};

/// A stack with the cache as deployed (the test harness turns it off elsewhere).
async fn stack() -> Stack {
    Stack::start_with(|s| {
        s.remove("ARCA_AUTH_CACHE_TTL");
    })
    .await
}

async fn status(stack: &Stack, url: &str, headers: &[(&str, &str)]) -> u16 {
    let mut req = stack.http.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.expect("request").status().as_u16()
}

/// Polls until the answer is `want`; returns how long that took. Fails past two seconds.
async fn takes_effect(stack: &Stack, url: &str, headers: &[(&str, &str)], want: u16) -> Duration {
    let started = Instant::now();
    loop {
        let got = status(stack, url, headers).await;
        if got == want {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(2), "{url}: still {got}, want {want}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn redis(stack: &Stack) -> redis::aio::MultiplexedConnection {
    redis::Client::open(stack.backends.redis_url())
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_change_of_right_takes_effect_within_a_second() {
    let owned = stack().await;
    let stack = &owned;
    let (pid, _) = stack.project("fresh", "private").await;
    let (other, _) = stack.project("downstream", "private").await;
    for v in ["1.0", "2.0", "3.0"] {
        stack.admin_publish(pid, &format!("tool/{v}/t.bin"), "bytes").await;
    }
    let file = |v: &str| stack.api(&format!("/projects/{pid}/packages/generic/tool/{v}/t.bin"));
    let url = file("1.0");
    let mut changes: Vec<(&str, Duration)> = Vec::new();

    // A personal access token revoked.
    let (uid, pat) = stack.user("pat", &["read_api"]).await;
    stack.add_member(pid, uid, access::REPORTER).await;
    let h = [("PRIVATE-TOKEN", pat.as_str())];
    assert_eq!(status(stack, &url, &h).await, 302);
    let Some(arca_shared::meta::TokenRef::Pat(token_id)) =
        stack.app.meta.token_ref(&arca_shared::auth::hash_token(&pat)).await.expect("redis")
    else {
        panic!("a PAT")
    };
    assert_eq!(stack.admin_delete(&format!("/personal_access_tokens/{token_id}")).await, 204);
    changes.push(("PAT revoked", takes_effect(stack, &url, &h, 401).await));

    // A member removed (as the member routes do it: the level leaves the project's hash).
    let (uid, token) = stack.user("member", &["read_api"]).await;
    stack.add_member(pid, uid, access::REPORTER).await;
    let h = [("PRIVATE-TOKEN", token.as_str())];
    assert_eq!(status(stack, &url, &h).await, 302);
    let _: () =
        redis::AsyncCommands::hdel(&mut redis(stack).await, arca_shared::keys::members(pid), uid).await.expect("hdel");
    changes.push(("member removed", takes_effect(stack, &url, &h, 404).await));

    // A user blocked, then unblocked (POST /users/:id/block, /unblock).
    let (uid, token) = stack.user("blockme", &["read_api"]).await;
    stack.add_member(pid, uid, access::REPORTER).await;
    let h = [("PRIVATE-TOKEN", token.as_str())];
    assert_eq!(status(stack, &url, &h).await, 302);
    let admin_post = |path: String| {
        let req = stack.http.post(stack.api(&path)).header("PRIVATE-TOKEN", ADMIN_TOKEN);
        async move { req.send().await.expect("request").status().as_u16() }
    };
    assert_eq!(admin_post(format!("/users/{uid}/block")).await, 201);
    changes.push(("user blocked", takes_effect(stack, &url, &h, 401).await));
    assert_eq!(admin_post(format!("/users/{uid}/unblock")).await, 201);
    changes.push(("user unblocked", takes_effect(stack, &url, &h, 302).await));

    // A member removed through DELETE /projects/:id/members/:user_id.
    let (uid, token) = stack.user("routed", &["read_api"]).await;
    stack.add_member(pid, uid, access::REPORTER).await;
    let h = [("PRIVATE-TOKEN", token.as_str())];
    assert_eq!(status(stack, &url, &h).await, 302);
    assert_eq!(stack.admin_delete(&format!("/projects/{pid}/members/{uid}")).await, 204);
    changes.push(("member removed by its route", takes_effect(stack, &url, &h, 404).await));

    // A deploy token revoked.
    let dt = stack
        .admin_post(
            &format!("/projects/{pid}/deploy_tokens"),
            json!({"name": "d", "scopes": ["read_package_registry"]}),
        )
        .await;
    let dt_token = dt["token"].as_str().expect("token").to_owned();
    let h = [("DEPLOY-TOKEN", dt_token.as_str())];
    assert_eq!(status(stack, &url, &h).await, 302);
    assert_eq!(stack.admin_delete(&format!("/projects/{pid}/deploy_tokens/{}", dt["id"])).await, 204);
    changes.push(("deploy token revoked", takes_effect(stack, &url, &h, 401).await));

    // A job ended, and an allowlist entry removed.
    let job = |project: u64| async move {
        let p = stack.admin_post(&format!("/projects/{project}/pipelines"), json!({"ref": "main"})).await;
        let pipeline = p["id"].as_u64().expect("id");
        stack.admin_post(&format!("/projects/{project}/pipelines/{pipeline}/jobs"), json!({"name": "j"})).await
    };
    let own: Value = job(pid).await;
    let own_token = own["token"].as_str().expect("token").to_owned();
    let h = [("JOB-TOKEN", own_token.as_str())];
    assert_eq!(status(stack, &url, &h).await, 302);
    stack.set_status(&format!("/projects/{pid}/jobs/{}", own["id"]), "success").await;
    changes.push(("job ended", takes_effect(stack, &url, &h, 401).await));

    let allowlist = format!("/projects/{pid}/job_token_scope/allowlist");
    stack.admin_post(&allowlist, json!({"target_project_id": other})).await;
    let foreign: Value = job(other).await;
    let foreign_token = foreign["token"].as_str().expect("token").to_owned();
    let h = [("JOB-TOKEN", foreign_token.as_str())];
    assert_eq!(status(stack, &url, &h).await, 302);
    assert_eq!(stack.admin_delete(&format!("{allowlist}/{other}")).await, 204);
    changes.push(("allowlist entry removed", takes_effect(stack, &url, &h, 404).await));

    // A console session ended.
    let (_, console_pat) = stack.user("browser", &["api"]).await;
    let resp = stack.http.post(stack.api("/session")).json(&json!({"token": console_pat})).send().await.expect("in");
    assert_eq!(resp.status(), 201);
    let session = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("arca_session=").and_then(|v| v.split(';').next()).map(str::to_owned))
        .expect("session cookie");
    let user_url = stack.api("/user");
    let cookie = format!("arca_session={session}");
    let h = [("Cookie", cookie.as_str())];
    assert_eq!(status(stack, &user_url, &h).await, 200);
    let resp = stack.http.delete(stack.api("/session")).header("Cookie", &cookie).send().await.expect("out");
    assert_eq!(resp.status(), 204);
    changes.push(("session ended", takes_effect(stack, &user_url, &h, 401).await));

    // A version disabled, and one recycled: decided per file, never cached.
    let admin = [("PRIVATE-TOKEN", ADMIN_TOKEN)];
    let packages: Vec<Value> = stack.admin_get(&format!("/projects/{pid}/packages?sort=asc")).await;
    let id_of = |v: &str| packages.iter().find(|p| p["version"] == v).map(|p| p["id"].clone()).expect("listed");
    assert_eq!(status(stack, &file("2.0"), &admin).await, 302);
    let resp = stack
        .http
        .patch(stack.api(&format!("/projects/{pid}/packages/{}", id_of("2.0"))))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .json(&json!({"disabled": true}))
        .send()
        .await
        .expect("disable");
    assert_eq!(resp.status(), 200);
    changes.push(("version disabled", takes_effect(stack, &file("2.0"), &admin, 403).await));
    assert_eq!(status(stack, &file("3.0"), &admin).await, 302);
    assert_eq!(stack.admin_delete(&format!("/projects/{pid}/packages/{}", id_of("3.0"))).await, 204);
    changes.push(("version recycled", takes_effect(stack, &file("3.0"), &admin, 404).await));

    for (what, took) in &changes {
        println!("{what}: {} ms", took.as_millis());
        assert!(*took < Duration::from_secs(1), "{what} took {took:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_warm_redirect_asks_redis_one_thing() {
    let stack = stack().await;
    let (pid, path) = stack.project("hot", "private").await;
    let (uid, token) = stack.user("reader", &["read_api"]).await;
    stack.add_member(pid, uid, access::REPORTER).await;
    stack.admin_publish(pid, "tool/1.0/t.bin", "bytes").await;
    // By path, as scripts usually name the project.
    let url = stack.api(&format!("/projects/{}/packages/generic/tool/1.0/t.bin", path.replace('/', "%2F")));
    let get = || {
        let req = stack.http.get(&url).header("PRIVATE-TOKEN", &token);
        async move { assert_eq!(req.send().await.expect("get").status(), 302) }
    };
    get().await;
    let mut conn = redis(&stack).await;
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query_async(&mut conn).await.expect("resetstat");
    const N: u64 = 40;
    let started = Instant::now();
    for _ in 0..N {
        get().await;
    }
    assert!(started.elapsed() < Duration::from_millis(400), "all within one cache lifetime");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let info: String = redis::cmd("INFO").arg("commandstats").query_async(&mut conn).await.expect("info");
    let calls = |cmd: &str| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("cmdstat_{cmd}:calls=")))
            .and_then(|rest| rest.split(',').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    assert_eq!(calls("hmget"), N, "one read of the file per redirect:\n{info}");
    // Token, user, project, membership: remembered. (The cleanup worker's passes read a
    // few keys of their own meanwhile.)
    assert_eq!(calls("sismember"), 0, "membership remembered:\n{info}");
    // The only HGETs are the download-count script's own (Redis counts a script's commands).
    assert_eq!(calls("hget"), calls("hexists"), "membership and files read by HGET:\n{info}");
    assert!(calls("get") <= 4, "GETs beyond the worker's:\n{info}");
    // The downloads were counted, in batches of at most a few scripts.
    assert!((1..=4).contains(&calls("eval")), "download counts flushed in batches:\n{info}");
    let listed: Value = stack.admin_get(&format!("/projects/{pid}/packages")).await;
    let details: Value = stack.admin_get(&format!("/projects/{pid}/packages/{}", listed[0]["id"])).await;
    assert_eq!(details["download_count"], json!(N + 1));
}

/// Downloads are counted in memory and flushed in batches; SIGTERM flushes the rest before
/// the process ends, so a rolling update loses no count.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_loses_no_download_count() {
    let stack = stack().await;
    let (pid, _) = stack.project("counted", "private").await;
    stack.admin_publish(pid, "tool/1.0/t.bin", "bytes").await;
    let (mut download, url) = arca_tests::service_process(&stack.backends, "download", &[]).await;
    let file = format!("{url}/api/v4/projects/{pid}/packages/generic/tool/1.0/t.bin");
    const N: u64 = 300;
    let tasks: Vec<_> = (0..N)
        .map(|_| {
            let req = stack.http.get(&file).header("PRIVATE-TOKEN", ADMIN_TOKEN);
            tokio::spawn(async move { req.send().await.expect("get").status().as_u16() })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.expect("task"), 302);
    }
    let term = std::process::Command::new("kill")
        .args(["-TERM", &download.id().expect("pid").to_string()])
        .status()
        .expect("kill");
    assert!(term.success());
    let exit = tokio::time::timeout(Duration::from_secs(10), download.wait()).await.expect("exits").expect("status");
    assert!(exit.success(), "a clean exit on SIGTERM: {exit:?}");
    let listed: Value = stack.admin_get(&format!("/projects/{pid}/packages")).await;
    let details: Value = stack.admin_get(&format!("/projects/{pid}/packages/{}", listed[0]["id"])).await;
    assert_eq!(details["download_count"], json!(N), "every served download counted");
}
