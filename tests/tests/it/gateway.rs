//! The gateway and the behaviour every service shares: request ids, JSON 404/405, the ops
//! endpoints, upstreams that are down, and a Redis outage.

use std::time::{Duration, Instant};

use arca_tests::{ADMIN_TOKEN, Stack, free_port};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn request_ids_are_passed_on_or_made() {
    let stack = Stack::start().await;
    let resp = stack.http.get(stack.api("/projects")).header("X-Request-Id", "trace-me-42").send().await.expect("req");
    assert_eq!(resp.headers()["x-request-id"], "trace-me-42");
    for (method, path) in [
        (reqwest::Method::GET, "/api/v4/nothing"),
        (reqwest::Method::POST, "/api/v4/nothing"),
        (reqwest::Method::GET, "/healthz"),
    ] {
        let resp = stack.http.request(method.clone(), format!("{}{path}", stack.url)).send().await.expect("req");
        let id = resp.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert_eq!(id.len(), 36, "{method} {path}: a generated uuid, got {id:?}");
    }
    // A header that could break log lines is replaced.
    let resp = stack.http.get(stack.api("/projects")).header("X-Request-Id", "a b").send().await.expect("req");
    assert_ne!(resp.headers()["x-request-id"], "a b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unknown_routes_and_wrong_methods_answer_json() {
    let stack = Stack::start().await;
    let resp = stack.http.get(stack.api("/nothing/here")).send().await.expect("req");
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.json::<Value>().await.expect("json")["message"], "404 Route Not Found");
    let resp =
        stack.http.delete(stack.api("/projects")).header("PRIVATE-TOKEN", ADMIN_TOKEN).send().await.expect("req");
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.json::<Value>().await.expect("json")["message"], "405 Method Not Allowed");
    let resp = stack
        .http
        .post(stack.api("/users"))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 400);
    assert!(resp.json::<Value>().await.expect("json")["message"].is_string());
}

/// Both API services route the whole table: a method no route of a path has is a 405 whose
/// `Allow` names every method of the path, whichever service answered; a method of the
/// other service's half is refused (421), never served.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_method_of_a_path_is_known_to_both_services() {
    let stack = Stack::start().await;
    let allow = |resp: &reqwest::Response| {
        let mut methods: Vec<String> =
            resp.headers()["allow"].to_str().expect("ascii").split(',').map(|m| m.trim().to_owned()).collect();
        methods.sort();
        methods.join(",")
    };
    for (method, path, methods) in [
        (reqwest::Method::OPTIONS, "/api/v4/projects/1/packages/1", "DELETE,GET,HEAD,PATCH"),
        (reqwest::Method::POST, "/api/v4/user", "GET,HEAD"),
        (reqwest::Method::TRACE, "/api/v4/projects/1/packages/settings", "GET,HEAD,PUT"),
    ] {
        for base in [&stack.url, &stack.upload_url, &stack.download_url] {
            let resp = stack.http.request(method.clone(), format!("{base}{path}")).send().await.expect("req");
            assert_eq!(resp.status(), 405, "{method} {base}{path}");
            assert_eq!(allow(&resp), methods, "{method} {base}{path}");
        }
    }
    let misrouted = [
        (reqwest::Method::GET, format!("{}/api/v4/projects", stack.upload_url)),
        (reqwest::Method::POST, format!("{}/api/v4/projects?name=x", stack.download_url)),
    ];
    for (method, url) in misrouted {
        let resp =
            stack.http.request(method.clone(), &url).header("PRIVATE-TOKEN", ADMIN_TOKEN).send().await.expect("req");
        assert_eq!(resp.status(), 421, "{method} {url}");
        assert!(resp.json::<Value>().await.expect("json")["message"].as_str().expect("message").starts_with("421"));
    }
    let projects: Vec<Value> = stack.admin_get("/projects").await;
    assert!(projects.is_empty(), "the misrouted POST created nothing: {projects:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_service_has_health_readiness_and_metrics() {
    let stack = Stack::start().await;
    stack.http.get(stack.api("/projects/1")).header("PRIVATE-TOKEN", ADMIN_TOKEN).send().await.expect("req");
    for base in [&stack.url, &stack.upload_url, &stack.download_url, &stack.cleanup_url] {
        for path in ["/healthz", "/readyz"] {
            let resp = stack.http.get(format!("{base}{path}")).send().await.expect("req");
            assert_eq!(resp.status(), 200, "{base}{path}");
        }
        let text = stack.http.get(format!("{base}/metrics")).send().await.expect("req").text().await.expect("text");
        assert!(text.contains("# TYPE arca_http_requests_total counter"), "{base}");
    }
    let text = stack
        .http
        .get(format!("{}/metrics", stack.download_url))
        .send()
        .await
        .expect("req")
        .text()
        .await
        .expect("text");
    // Labelled by route template, not by the raw path.
    assert!(
        text.lines().any(|l| l.starts_with("arca_http_requests_total{")
            && l.contains("route=\"/api/v4/projects/{id}\"")
            && l.contains("service=\"download\"")),
        "{text}"
    );
    assert!(!text.contains("route=\"/api/v4/projects/1\""));
    assert!(text.contains("arca_http_request_duration_seconds_bucket"));
    let text =
        stack.http.get(format!("{}/metrics", stack.cleanup_url)).send().await.expect("req").text().await.expect("text");
    assert!(text.contains("arca_cleanup_last_success_timestamp_seconds"));
    // Redis and S3 operations are timed, by kind and by S3 operation.
    for series in [
        "arca_redis_command_duration_seconds_count{kind=\"command\"}",
        "arca_s3_request_duration_seconds_count{operation=\"HeadBucket\"}",
    ] {
        assert!(text.lines().any(|l| l.starts_with(series)), "{series} missing");
    }
}

/// A gateway in front of `upload` and `download` upstream lists.
async fn gateway(upload: Vec<String>, download: Vec<String>) -> String {
    let cfg = arca_gateway::GatewayConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        upload,
        download,
        auth_failures: Default::default(),
    };
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", l.local_addr().expect("addr"));
    tokio::spawn(arca_gateway::serve(l, arca_gateway::Gateway::new(&cfg), std::future::pending::<()>()));
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_upstream_that_is_down_gives_a_quick_json_502() {
    let stack = Stack::start().await;
    let dead = format!("http://127.0.0.1:{}", free_port());
    let gw = gateway(vec![dead.clone()], vec![dead.clone()]).await;
    for method in [reqwest::Method::POST, reqwest::Method::GET] {
        let started = Instant::now();
        let resp = stack.http.request(method.clone(), format!("{gw}/api/v4/projects")).send().await.expect("req");
        assert_eq!(resp.status(), 502, "{method}");
        assert!(resp.headers().contains_key("x-request-id"));
        let body: Value = resp.json().await.expect("json");
        assert!(body["message"].as_str().is_some_and(|m| m.starts_with("502")), "{body}");
        assert!(started.elapsed() < Duration::from_secs(3), "{method} took {:?}", started.elapsed());
    }
    let resp = stack.http.get(format!("{gw}/readyz")).send().await.expect("req");
    assert_eq!(resp.status(), 503, "not ready without upstreams");

    // Reads and writes are spread over replicas and skip one that is gone: none fails (a
    // write's body is taken back when the dead replica refused the connection).
    let gw = gateway(vec![dead.clone(), stack.upload_url.clone()], vec![dead, stack.download_url.clone()]).await;
    for i in 0..20 {
        let resp = stack.http.get(format!("{gw}/api/v4/projects")).send().await.expect("req");
        assert_eq!(resp.status(), 200);
        let resp = stack
            .http
            .post(format!("{gw}/api/v4/projects"))
            .header("PRIVATE-TOKEN", arca_tests::ADMIN_TOKEN)
            .json(&serde_json::json!({ "name": format!("spread-{i}") }))
            .send()
            .await
            .expect("req");
        assert_eq!(resp.status(), 201, "write {i}");
    }
    let resp = stack.http.get(format!("{gw}/readyz")).send().await.expect("req");
    assert_eq!(resp.status(), 200, "one live replica per pool is enough");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_outage_is_a_fast_503_and_recovers_by_itself() {
    let mut stack = Stack::start().await;
    let (id, _) = stack.project("survivor", "public").await;
    let url = stack.api(&format!("/projects/{id}"));
    assert_eq!(stack.http.get(&url).send().await.expect("req").status(), 200);

    stack.backends.stop_redis();
    for _ in 0..3 {
        let started = Instant::now();
        let resp = stack.http.get(&url).send().await.expect("req");
        assert_eq!(resp.status(), 503);
        assert!(resp.headers().contains_key("retry-after"));
        let body: Value = resp.json().await.expect("json");
        assert!(body["message"].as_str().is_some_and(|m| m.starts_with("503")), "{body}");
        assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    }
    let resp = stack.http.get(format!("{}/readyz", stack.download_url)).send().await.expect("req");
    assert_eq!(resp.status(), 503);

    stack.backends.restart_redis();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let status = stack.http.get(&url).send().await.expect("req").status();
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "no recovery after Redis came back: {status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The project written before the outage survived it (AOF).
    let body: Value = stack.http.get(&url).send().await.expect("req").json().await.expect("json");
    assert_eq!(body["name"], "survivor");
}

/// Refused tokens are limited per client: after `limit` 401s the client gets a 429 with
/// `Retry-After` for everything, before its request reaches a service; other clients (told
/// apart by `X-Forwarded-For` from a trusted proxy) are not affected.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_authentication_is_rate_limited_per_client() {
    let stack = Stack::start_with(|s| {
        s.insert("ARCA_AUTH_FAILURE_LIMIT".into(), "5".into());
        s.insert("ARCA_AUTH_FAILURE_WINDOW".into(), "1m".into());
        s.insert("ARCA_TRUSTED_PROXIES".into(), "127.0.0.1".into());
    })
    .await;
    let (project, _) = stack.project("guessed", "private").await;
    let target = stack.api(&format!("/projects/{project}/packages"));
    let guess = |token: String, client: &'static str| {
        stack.http.get(&target).header("PRIVATE-TOKEN", token).header("X-Forwarded-For", client).send()
    };
    for i in 0..5 {
        let resp = guess(format!("glpat-guess-{i}"), "203.0.113.7").await.expect("req");
        assert_eq!(resp.status(), 401, "guess {i}");
    }
    let refused = guess("glpat-guess-5".into(), "203.0.113.7").await.expect("req");
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=12).contains(&wait), "Retry-After {wait}: one more failure fits after 60/5 s");
    let body: Value = refused.json().await.expect("json");
    assert!(body["message"].as_str().is_some_and(|m| m.starts_with("429")), "{body}");
    // The right token from the same client waits too: guessing cannot be interleaved with
    // real requests to keep the bucket draining.
    let resp = guess(ADMIN_TOKEN.into(), "203.0.113.7").await.expect("req");
    assert_eq!(resp.status(), 429);
    // Another client behind the same proxy is served.
    let resp = guess(ADMIN_TOKEN.into(), "198.51.100.20").await.expect("req");
    assert_eq!(resp.status(), 200);
    // Metrics count the refusals (the counter is process-wide: other tests may add to it).
    let metrics =
        stack.http.get(format!("{}/metrics", stack.url)).send().await.expect("req").text().await.expect("text");
    let limited = metrics
        .lines()
        .find_map(|l| l.strip_prefix("arca_gateway_auth_rate_limited_total "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .expect("arca_gateway_auth_rate_limited_total");
    assert!(limited >= 2.0, "{limited}");
}
