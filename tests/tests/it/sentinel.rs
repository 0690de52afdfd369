//! Redis Sentinel: arca finds the master through the sentinels, and when the master dies
//! and the sentinels promote its replica, arca moves to the new master by itself: requests
//! get a fast 503 meanwhile, nothing written before the failover (and replicated) is lost,
//! and writes go on afterwards.

use std::time::{Duration, Instant};

use arca_tests::{ADMIN_TOKEN, RedisSentinel, Stack, tool};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sentinel_failover_moves_arca_to_the_promoted_replica() {
    let mut sentinel = RedisSentinel::start();
    let url = sentinel.url();
    let stack = Stack::start_with(|s| {
        s.insert("ARCA_REDIS_URL".into(), url);
    })
    .await;
    let (project, _) = stack.project("ha", "private").await;
    let file = |version: &str| stack.api(&format!("/projects/{project}/packages/generic/tool/{version}/tool.bin"));
    let put = |version: &'static str| {
        stack.http.put(file(version)).header("PRIVATE-TOKEN", ADMIN_TOKEN).body(format!("tool {version}")).send()
    };
    assert_eq!(put("1.0.0").await.expect("publish").status(), 201);
    // Replication is asynchronous: wait until the replica has the write, as an operator's
    // `min-replicas-to-write` would make Redis do.
    let wait = std::process::Command::new(tool("redis-cli"))
        .args(["-p", &sentinel.master_port.to_string(), "WAIT", "1", "5000"])
        .output()
        .expect("redis-cli WAIT");
    assert_eq!(String::from_utf8_lossy(&wait.stdout).trim(), "1", "the replica acknowledged");

    sentinel.master.kill();
    let killed = Instant::now();
    let project_url = stack.api(&format!("/projects/{project}"));
    let mut statuses = std::collections::BTreeMap::<u16, u32>::new();
    let mut slowest = Duration::ZERO;
    loop {
        let started = Instant::now();
        let status =
            stack.http.get(&project_url).header("PRIVATE-TOKEN", ADMIN_TOKEN).send().await.expect("req").status();
        slowest = slowest.max(started.elapsed());
        *statuses.entry(status.as_u16()).or_default() += 1;
        if status == 200 && sentinel.current_master_port() == Some(sentinel.replica_port) {
            break;
        }
        assert!(killed.elapsed() < Duration::from_secs(45), "no recovery after the failover: {statuses:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "sentinel failover: served again after {:?}; answers meanwhile {statuses:?}, slowest {slowest:?}",
        killed.elapsed()
    );
    assert!(statuses.keys().all(|s| [200, 503].contains(s)), "{statuses:?}");
    assert!(slowest < Duration::from_secs(5), "an answer took {slowest:?}");

    // Written before the failover: still there. And writes reach the new master.
    let resp = stack.http.get(file("1.0.0")).header("PRIVATE-TOKEN", ADMIN_TOKEN).send().await.expect("download");
    assert_eq!(resp.status(), 302);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let status = put("2.0.0").await.expect("publish").status();
        if status == 201 {
            break;
        }
        assert_eq!(status, 503);
        assert!(Instant::now() < deadline, "writes never reached the new master");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
