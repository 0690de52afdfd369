//! The gateway streams bodies both ways: hundreds of MiB pass through with flat memory.
//! Alone in its test binary so that the peak-RSS reading is this test's own.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, Request};
use axum::routing::{get, put};
use bytes::Bytes;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

const SIZE: u64 = 256 << 20;
const CHUNK: usize = 64 << 10;

fn chunk(i: u64) -> Bytes {
    // Deterministic, not constant, so a reordering or a dropped chunk changes the hash.
    Bytes::from(vec![(i % 251) as u8; CHUNK])
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

async fn upstream(received: Arc<AtomicU64>) -> String {
    let app = Router::new()
        .route(
            "/sink",
            put(move |req: Request| {
                let received = received.clone();
                async move {
                    let mut hasher = Sha256::new();
                    let mut stream = req.into_body().into_data_stream();
                    while let Some(part) = stream.next().await {
                        let part = part.expect("body chunk");
                        received.fetch_add(part.len() as u64, Ordering::Relaxed);
                        hasher.update(&part);
                    }
                    hex::encode(hasher.finalize())
                }
            }),
        )
        .route(
            "/source",
            get(|Query(q): Query<std::collections::HashMap<String, u64>>| async move {
                let n = q.get("chunks").copied().unwrap_or(0);
                Body::from_stream(futures_util::stream::iter((0..n).map(|i| Ok::<_, std::io::Error>(chunk(i)))))
            }),
        );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", l.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(l, app).await });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn large_bodies_stream_through_with_flat_memory() {
    let received = Arc::new(AtomicU64::new(0));
    let up = upstream(received.clone()).await;
    let cfg = arca_gateway::GatewayConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        upload: vec![up.clone()],
        download: vec![up],
        auth_failures: arca_gateway::LimitConfig::default(),
    };
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let gw = format!("http://{}", l.local_addr().expect("addr"));
    tokio::spawn(arca_gateway::serve(l, arca_gateway::Gateway::new(&cfg), std::future::pending::<()>()));
    let client = reqwest::Client::new();
    let chunks = SIZE / CHUNK as u64;

    // Warm up connections and allocator pools before the baseline.
    let _ = client.get(format!("{gw}/source?chunks=16")).send().await.expect("warm-up").bytes().await;
    let baseline = peak_rss_kib();

    let mut expected = Sha256::new();
    for i in 0..chunks {
        expected.update(chunk(i));
    }
    let expected = hex::encode(expected.finalize());

    let body =
        reqwest::Body::wrap_stream(futures_util::stream::iter((0..chunks).map(|i| Ok::<_, std::io::Error>(chunk(i)))));
    let resp = client.put(format!("{gw}/sink")).body(body).send().await.expect("upload");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.expect("text"), expected, "upload bytes arrive intact");
    assert_eq!(received.load(Ordering::Relaxed), SIZE);

    let resp = client.get(format!("{gw}/source?chunks={chunks}")).send().await.expect("download");
    assert_eq!(resp.status(), 200);
    let mut hasher = Sha256::new();
    let mut total = 0u64;
    let mut stream = resp.bytes_stream();
    while let Some(part) = stream.next().await {
        let part = part.expect("chunk");
        total += part.len() as u64;
        hasher.update(&part);
    }
    assert_eq!(total, SIZE);
    assert_eq!(hex::encode(hasher.finalize()), expected, "download bytes arrive intact");

    let growth_mib = (peak_rss_kib().saturating_sub(baseline)) / 1024;
    println!("peak RSS growth while moving 2 x {} MiB through the gateway: {growth_mib} MiB", SIZE >> 20);
    // Buffering either body would add at least 256 MiB.
    assert!(growth_mib < 64, "peak RSS grew by {growth_mib} MiB");
}
