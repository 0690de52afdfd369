//! Two replicas of the upload and download services (real processes) behind one gateway;
//! one of each is killed with SIGKILL mid-traffic. Clients see errors only for requests
//! that were in flight on the killed processes, and every acknowledged upload is
//! downloadable afterwards. The binaries are `target/<profile>/arca-*` (make test builds
//! them first).

use std::sync::Arc;
use std::time::{Duration, Instant};

use arca_tests::{ADMIN_TOKEN, Backends, service_process};
use serde_json::json;
use tokio::sync::Mutex;

async fn replica(backends: &Backends, service: &str) -> (tokio::process::Child, String) {
    service_process(backends, service, &[]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_a_replica_fails_only_its_requests_in_flight() {
    let backends = Backends::start();
    let (mut up1, up1_url) = replica(&backends, "upload").await;
    let (_up2, up2_url) = replica(&backends, "upload").await;
    let (mut down1, down1_url) = replica(&backends, "download").await;
    let (_down2, down2_url) = replica(&backends, "download").await;
    let cfg = arca_gateway::GatewayConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        upload: vec![up1_url, up2_url],
        download: vec![down1_url, down2_url],
        auth_failures: Default::default(),
    };
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let gw = format!("http://{}/api/v4", l.local_addr().expect("addr"));
    tokio::spawn(arca_gateway::serve(l, arca_gateway::Gateway::new(&cfg), std::future::pending::<()>()));
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let resp = http
        .post(format!("{gw}/projects"))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .json(&json!({"name": "ha"}))
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 201);

    const CLIENTS: usize = 4;
    let acked = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop_at = Instant::now() + Duration::from_secs(5);
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let (http, gw, acked, failures) = (http.clone(), gw.clone(), acked.clone(), failures.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            while Instant::now() < stop_at {
                n += 1;
                let body = format!("client {client} file {n}");
                let url = format!("{gw}/projects/1/packages/generic/ha/1.0/c{client}-{n}.txt");
                match http.put(&url).header("PRIVATE-TOKEN", ADMIN_TOKEN).body(body.clone()).send().await {
                    Ok(r) if r.status() == 201 => acked.lock().await.push((url.clone(), body)),
                    Ok(r) => failures.lock().await.push(format!("PUT {}: {}", r.status(), url)),
                    Err(e) => failures.lock().await.push(format!("PUT {url}: {e}")),
                }
                match http.get(&url).header("PRIVATE-TOKEN", ADMIN_TOKEN).send().await {
                    Ok(r) if r.status() == 302 || r.status() == 404 => {}
                    Ok(r) => failures.lock().await.push(format!("GET {}: {}", r.status(), url)),
                    Err(e) => failures.lock().await.push(format!("GET {url}: {e}")),
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    up1.start_kill().expect("kill upload replica");
    down1.start_kill().expect("kill download replica");
    for t in tasks {
        t.await.expect("client");
    }
    let failures = failures.lock().await.clone();
    let acked = acked.lock().await.clone();
    println!("{} acknowledged uploads, {} failed requests: {failures:?}", acked.len(), failures.len());
    // Each client has one request in flight at a time: at most that many can have been on
    // the killed processes.
    assert!(failures.len() <= CLIENTS, "only requests in flight may fail: {failures:?}");
    assert!(acked.len() > 40, "traffic kept flowing after the kill: {} uploads", acked.len());
    for (url, body) in &acked {
        let r = http.get(url).header("PRIVATE-TOKEN", ADMIN_TOKEN).send().await.expect("req");
        assert_eq!(r.status(), 302, "{url}");
        let location = r.headers()["location"].to_str().expect("ascii").to_owned();
        assert_eq!(&reqwest::get(location).await.expect("s3").text().await.expect("text"), body, "{url}");
    }
}
