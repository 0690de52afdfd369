//! Presigned download URLs, signed by arca itself (`shared/src/presign.rs`), checked by a
//! SigV4-verifying S3 server: they work, a tampered one is refused, an expired one is
//! refused, and serving redirects is no S3 request for the metrics. Alone in its binary
//! because the S3 metrics it reads are process-wide.

use std::time::Duration;

use arca_tests::{ADMIN_TOKEN, Stack};

/// The S3 `GetObject` samples (errors, and the latency histogram's count), as Prometheus
/// would scrape them. (The cleanup worker of the stack lists and deletes meanwhile; those
/// are other operations.)
fn s3_metrics() -> Vec<String> {
    arca_shared::metrics::render()
        .lines()
        .filter(|l| l.starts_with("arca_s3_errors_total") || l.starts_with("arca_s3_request_duration_seconds_count"))
        .filter(|l| l.contains("GetObject"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn presigned_urls_work_refuse_tampering_and_expiry_and_are_not_s3_requests() {
    let stack = Stack::start_with(|s| {
        s.insert("ARCA_PRESIGN_TTL".into(), "2s".into());
    })
    .await;
    let (pid, _) = stack.project("signed", "private").await;
    let url = stack.api(&format!("/projects/{pid}/packages/generic/tool/1.0/tool%2Bx.bin"));
    let resp =
        stack.http.put(&url).header("PRIVATE-TOKEN", ADMIN_TOKEN).body("signed bytes").send().await.expect("put");
    assert_eq!(resp.status(), 201);

    let before = s3_metrics();
    let mut locations = Vec::new();
    for _ in 0..50 {
        let resp = stack.http.get(&url).header("PRIVATE-TOKEN", ADMIN_TOKEN).send().await.expect("get");
        assert_eq!(resp.status(), 302);
        locations.push(resp.headers()["location"].to_str().expect("ascii").to_owned());
    }
    assert_eq!(s3_metrics(), before, "presigning is no S3 request: the S3 metrics must not move");

    let location = &locations[0];
    assert!(location.starts_with(&format!("{}/", stack.backends.s3_endpoint())), "{location}");
    let plain = reqwest::Client::new();
    let resp = plain.get(location).send().await.expect("s3");
    assert_eq!(resp.status(), 200, "s3s-fs accepts arca's signature");
    assert_eq!(resp.headers()["content-disposition"], "attachment; filename=\"tool+x.bin\"");
    assert_eq!(resp.headers()["content-type"], "application/octet-stream");
    assert_eq!(resp.text().await.expect("body"), "signed bytes");

    // Any change to what was signed is refused: the disposition, the expiry, the signature.
    let tampered = [
        location.replace("filename%3D%22tool%2Bx.bin", "filename%3D%22evil.html"),
        location.replace("X-Amz-Expires=2", "X-Amz-Expires=9"),
        {
            let (head, sig) = location.rsplit_once("X-Amz-Signature=").expect("signature");
            let flipped = if sig.starts_with('0') { "1" } else { "0" };
            format!("{head}X-Amz-Signature={flipped}{}", &sig[1..])
        },
    ];
    for t in &tampered {
        assert_ne!(t, location, "the tampering changed something");
        let status = plain.get(t).send().await.expect("s3").status().as_u16();
        assert_eq!(status, 403, "tampered URL accepted: {t}");
    }

    tokio::time::sleep(Duration::from_millis(3_200)).await;
    let status = plain.get(location).send().await.expect("s3").status().as_u16();
    assert_eq!(status, 403, "an expired URL is refused");
}
