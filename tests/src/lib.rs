//! The test harness: a real Redis server and a real S3 server (s3s-fs, which checks
//! SigV4 signatures, presigned URLs included) started on free loopback ports, and arca's
//! four services started in-process on port 0 with their `serve` functions.
//!
//! Every test starts its own [`Stack`], so tests are isolated and run in parallel; the
//! servers are killed when the stack is dropped.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use arca_shared::config::{Config, Source};
use arca_shared::{App, AppState};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub const S3_ACCESS_KEY: &str = "arca-test-access";
pub const S3_SECRET_KEY: &str = "arca-test-secret-key-0123456789";
pub const ADMIN_TOKEN: &str = "arca-admin-test-token-0123456789";
pub const JWT_SECRET: &str = "arca-jwt-test-secret-0123456789";

/// A child process killed (and reaped) when dropped.
pub struct Process {
    child: Child,
}

impl Process {
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

fn wait_for_port(port: u16, what: &str) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not start listening on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Finds a tool on PATH or in cargo's bin folder (where `make` installs s3s-fs).
pub fn tool(name: &str) -> PathBuf {
    let env_name = format!("ARCA_TEST_{}", name.to_uppercase().replace('-', "_"));
    if let Ok(p) = std::env::var(&env_name) {
        return PathBuf::from(p);
    }
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} not found: run `make test` (it installs it) or set {env_name}"))
}

/// A free port whose cluster-bus twin (port + 10000) is free too.
fn free_cluster_port() -> u16 {
    loop {
        let p = free_port();
        if p < 55_000 && std::net::TcpListener::bind(("127.0.0.1", p + 10_000)).is_ok() {
            return p;
        }
    }
}

/// A three-master Redis Cluster on loopback (Debian's redis-server and redis-cli).
pub struct RedisCluster {
    pub ports: Vec<u16>,
    _nodes: Vec<Process>,
    _dir: tempfile::TempDir,
}

impl RedisCluster {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let ports: Vec<u16> = (0..3).map(|_| free_cluster_port()).collect();
        let nodes = ports
            .iter()
            .map(|port| {
                let node = ["--appendonly", "no", "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"];
                spawn_redis(&dir.path().join(format!("node-{port}")), *port, &node)
            })
            .collect();
        let addrs: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let out = Command::new(tool("redis-cli"))
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("redis-cli --cluster create");
        assert!(out.status.success(), "cluster create: {}", String::from_utf8_lossy(&out.stdout));
        let deadline = Instant::now() + Duration::from_secs(20);
        for port in &ports {
            loop {
                let info = Command::new(tool("redis-cli"))
                    .args(["-p", &port.to_string(), "cluster", "info"])
                    .output()
                    .expect("cluster info");
                if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
                    break;
                }
                assert!(Instant::now() < deadline, "cluster never became ok");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Self { ports, _nodes: nodes, _dir: dir }
    }

    pub fn url(&self) -> String {
        format!("redis+cluster://127.0.0.1:{}", self.ports[0])
    }
}

/// A redis-server on loopback `port` with its data (AOF) in `data`, plus `extra` arguments.
fn spawn_redis(data: &Path, port: u16, extra: &[&str]) -> Process {
    std::fs::create_dir_all(data).expect("redis dir");
    let child = Command::new(tool("redis-server"))
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes"])
        // DEBUG DIGEST: tests compare the whole dataset before and after.
        .args(["--enable-debug-command", "local"])
        .args(extra)
        .arg("--dir")
        .arg(data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start redis-server");
    wait_for_port(port, "redis-server");
    Process { child }
}

/// A Redis master with one replica, watched by three sentinels (Debian's redis-server in
/// `--sentinel` mode), all on loopback. The monitored name is `arca`; a master that does
/// not answer for a second is failed over.
pub struct RedisSentinel {
    pub master_port: u16,
    pub replica_port: u16,
    pub sentinel_ports: Vec<u16>,
    pub master: Process,
    _replica: Process,
    _sentinels: Vec<Process>,
    _dir: tempfile::TempDir,
}

impl RedisSentinel {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let redis = |port: u16, extra: &[&str]| spawn_redis(&dir.path().join(format!("redis-{port}")), port, extra);
        let master_port = free_port();
        let master = redis(master_port, &[]);
        let replica_port = free_port();
        let master_port_text = master_port.to_string();
        let replica = redis(replica_port, &["--replicaof", "127.0.0.1", &master_port_text]);
        let sentinel_ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let sentinels = sentinel_ports
            .iter()
            .map(|port| {
                // A sentinel rewrites its configuration file: each gets its own.
                let conf = dir.path().join(format!("sentinel-{port}.conf"));
                std::fs::write(
                    &conf,
                    format!(
                        "port {port}\nbind 127.0.0.1\nsentinel monitor arca 127.0.0.1 {master_port} 2\n\
                         sentinel down-after-milliseconds arca 1000\nsentinel failover-timeout arca 5000\n\
                         sentinel parallel-syncs arca 1\n"
                    ),
                )
                .expect("sentinel config");
                let child = Command::new(tool("redis-server"))
                    .arg(&conf)
                    .arg("--sentinel")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("start redis sentinel");
                wait_for_port(*port, "redis sentinel");
                Process { child }
            })
            .collect();
        let me = Self {
            master_port,
            replica_port,
            sentinel_ports,
            master,
            _replica: replica,
            _sentinels: sentinels,
            _dir: dir,
        };
        // Ready when every sentinel knows the master and its replica.
        let deadline = Instant::now() + Duration::from_secs(20);
        for port in &me.sentinel_ports {
            loop {
                let out = Command::new(tool("redis-cli"))
                    .args(["-p", &port.to_string(), "sentinel", "replicas", "arca"])
                    .output()
                    .expect("redis-cli sentinel replicas");
                if String::from_utf8_lossy(&out.stdout).contains(&me.replica_port.to_string()) {
                    break;
                }
                assert!(Instant::now() < deadline, "sentinel {port} never saw the replica");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        me
    }

    /// `redis+sentinel://` with the three sentinels and the name `arca`.
    pub fn url(&self) -> String {
        let nodes: Vec<String> = self.sentinel_ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        format!("redis+sentinel://{}/arca", nodes.join(","))
    }

    /// The port of the master the sentinels name now.
    pub fn current_master_port(&self) -> Option<u16> {
        let out = Command::new(tool("redis-cli"))
            .args(["-p", &self.sentinel_ports[0].to_string(), "sentinel", "get-master-addr-by-name", "arca"])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout).lines().nth(1)?.trim().parse().ok()
    }
}

/// Redis and S3, real servers on loopback.
pub struct Backends {
    pub redis_port: u16,
    pub s3_port: u16,
    pub redis: Process,
    pub s3: Process,
    pub dir: tempfile::TempDir,
}

impl Backends {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let redis_port = free_port();
        let redis = spawn_redis(&dir.path().join("redis"), redis_port, &[]);
        let s3_port = free_port();
        let s3 = Self::spawn_s3(&dir, s3_port);
        Self { redis_port, s3_port, redis, s3, dir }
    }

    fn spawn_s3(dir: &tempfile::TempDir, port: u16) -> Process {
        let data = dir.path().join("s3");
        std::fs::create_dir_all(&data).expect("s3 dir");
        let child = Command::new(tool("s3s-fs"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", S3_ACCESS_KEY, "--secret-key", S3_SECRET_KEY])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start s3s-fs");
        wait_for_port(port, "s3s-fs");
        Process { child }
    }

    /// Stops Redis (for outage tests); [`Backends::restart_redis`] brings it back with its
    /// data (AOF) on the same port.
    pub fn stop_redis(&mut self) {
        self.redis.kill();
    }

    pub fn restart_redis(&mut self) {
        self.redis = spawn_redis(&self.dir.path().join("redis"), self.redis_port, &[]);
    }

    /// Stops the S3 server (SIGKILL); [`Backends::restart_s3`] brings it back on the same
    /// port over the same data.
    pub fn stop_s3(&mut self) {
        self.s3.kill();
    }

    pub fn restart_s3(&mut self) {
        self.s3 = Self::spawn_s3(&self.dir, self.s3_port);
    }

    /// The parts of unfinished multipart uploads the S3 server holds. s3s-fs has no
    /// ListMultipartUploads; it keeps them as `.upload_id-<id>.part-<n>` files in its data
    /// directory.
    pub fn open_multipart_parts(&self) -> Vec<String> {
        std::fs::read_dir(self.dir.path().join("s3"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with(".upload_id-"))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn redis_url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.redis_port)
    }

    pub fn s3_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// The settings a service would read from its environment.
    pub fn settings(&self) -> HashMap<String, String> {
        [
            ("ARCA_REDIS_URL", self.redis_url()),
            ("ARCA_S3_ENDPOINT", self.s3_endpoint()),
            ("ARCA_S3_BUCKET", "arca-test".to_owned()),
            ("AWS_ACCESS_KEY_ID", S3_ACCESS_KEY.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", S3_SECRET_KEY.to_owned()),
            ("ARCA_ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
            ("ARCA_JWT_SECRET", JWT_SECRET.to_owned()),
            ("ARCA_CLEANUP_INTERVAL", "1s".to_owned()),
            // The auth matrix sends hundreds of refused tokens from 127.0.0.1; the limiter's
            // own test sets a small limit.
            ("ARCA_AUTH_FAILURE_LIMIT", "100000".to_owned()),
            // Tests check that a change of right holds on the very next request; the
            // authorization cache (on by default, under a second) has tests of its own.
            ("ARCA_AUTH_CACHE_TTL", "0s".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

/// The whole of arca, in-process, in front of its own Redis and S3.
pub struct Stack {
    pub backends: Backends,
    pub app: AppState,
    /// The gateway's base URL, `http://127.0.0.1:<port>`.
    pub url: String,
    pub upload_url: String,
    pub download_url: String,
    pub cleanup_url: String,
    /// A client that does not follow redirects (tests look at the 302 itself).
    pub http: reqwest::Client,
    stop: watch::Sender<bool>,
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn bind() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", l.local_addr().expect("addr"));
    (l, url)
}

impl Stack {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a stack after `tweak` has adjusted the settings.
    pub async fn start_with(tweak: impl FnOnce(&mut HashMap<String, String>)) -> Self {
        let backends = Backends::start();
        let mut settings = backends.settings();
        tweak(&mut settings);
        let config = Config::from_source(&Source::map(settings.clone())).expect("test config");
        let app = App::connect(config).await.expect("connect to redis and s3");
        let (stop, _) = watch::channel(false);
        let shutdown = |stop: &watch::Sender<bool>| {
            let mut rx = stop.subscribe();
            async move {
                let _ = rx.wait_for(|s| *s).await;
            }
        };
        let (l, upload_url) = bind().await;
        tokio::spawn(arca_upload::serve(l, app.clone(), shutdown(&stop)));
        let (l, download_url) = bind().await;
        tokio::spawn(arca_download::serve(l, app.clone(), shutdown(&stop)));
        let (l, cleanup_url) = bind().await;
        tokio::spawn(arca_cleanup::serve(l, app.clone(), shutdown(&stop)));
        let gw_config = arca_gateway::GatewayConfig {
            listen: "127.0.0.1:0".parse().expect("addr"),
            upload: vec![upload_url.clone()],
            download: vec![download_url.clone()],
            auth_failures: arca_gateway::LimitConfig::from_source(&Source::map(settings)).expect("gateway limits"),
        };
        let (l, url) = bind().await;
        tokio::spawn(arca_gateway::serve(l, arca_gateway::Gateway::new(&gw_config), shutdown(&stop)));
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Self { backends, app, url, upload_url, download_url, cleanup_url, http, stop }
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v4{path}", self.url)
    }

    /// Ends a job or pipeline (`path` is `/projects/:id/jobs/:id` or `.../pipelines/:id`) with
    /// `status` as the administrator; asserts the 200.
    pub async fn set_status(&self, path: &str, status: &str) {
        let resp = self
            .http
            .put(self.api(path))
            .header("PRIVATE-TOKEN", ADMIN_TOKEN)
            .json(&json!({ "status": status }))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200, "PUT {path} status {status}");
    }

    /// GET as the administrator; returns the JSON body.
    pub async fn admin_get<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let resp = self.http.get(self.api(path)).header("PRIVATE-TOKEN", ADMIN_TOKEN).send().await.expect("request");
        resp.json().await.expect("JSON body")
    }

    /// Publishes `body` as the administrator at `/projects/:project/packages/generic/<path>`
    /// (`name/version/file`); asserts the 201.
    pub async fn admin_publish(&self, project: u64, path: &str, body: &'static str) {
        let resp = self
            .http
            .put(self.api(&format!("/projects/{project}/packages/generic/{path}")))
            .header("PRIVATE-TOKEN", ADMIN_TOKEN)
            .body(body)
            .send()
            .await
            .expect("publish");
        assert_eq!(resp.status(), 201, "publish {path}");
    }

    /// DELETE as the administrator; returns the status.
    pub async fn admin_delete(&self, path: &str) -> u16 {
        let resp = self.http.delete(self.api(path)).header("PRIVATE-TOKEN", ADMIN_TOKEN).send().await.expect("delete");
        resp.status().as_u16()
    }

    /// POST as the administrator; asserts the status and returns the body.
    pub async fn admin_post(&self, path: &str, body: Value) -> Value {
        self.post_as(ADMIN_TOKEN, path, body, 201).await
    }

    pub async fn post_as(&self, token: &str, path: &str, body: Value, expect: u16) -> Value {
        let resp =
            self.http.post(self.api(path)).header("PRIVATE-TOKEN", token).json(&body).send().await.expect("request");
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert_eq!(status, expect, "POST {path}: {body}");
        body
    }

    /// A user with a personal access token of the given scopes: `(user id, token)`.
    pub async fn user(&self, username: &str, scopes: &[&str]) -> (u64, String) {
        let user = self
            .admin_post("/users", json!({ "username": username, "email": format!("{username}@example.com") }))
            .await;
        let id = user["id"].as_u64().expect("user id");
        let pat = self
            .admin_post(&format!("/users/{id}/personal_access_tokens"), json!({ "name": "t", "scopes": scopes }))
            .await;
        (id, pat["token"].as_str().expect("token").to_owned())
    }

    /// A project created by the administrator: `(id, path_with_namespace)`.
    pub async fn project(&self, name: &str, visibility: &str) -> (u64, String) {
        let p = self.admin_post("/projects", json!({ "name": name, "visibility": visibility })).await;
        (p["id"].as_u64().expect("project id"), p["path_with_namespace"].as_str().expect("path").to_owned())
    }

    pub async fn add_member(&self, project_id: u64, user_id: u64, level: u8) {
        self.admin_post(
            &format!("/projects/{project_id}/members"),
            json!({ "user_id": user_id, "access_level": level }),
        )
        .await;
    }
}

/// Percent-encodes a project path for use as `:id` (`group/project` -> `group%2Fproject`).
pub fn encode_path(path: &str) -> String {
    path.replace('/', "%2F")
}

/// Sends a request with the target exactly as given (as `curl --path-as-is` does; HTTP
/// clients normalise `..` and `%2E%2E` away). Returns the status and the JSON body.
pub async fn raw_request(method: &str, url: &str, token: &str, body: &[u8]) -> (u16, Value) {
    let (status, _, body) = raw_http(method, url, &[("PRIVATE-TOKEN", token)], body).await;
    (status, serde_json::from_str(body.trim()).unwrap_or(Value::Null))
}

/// One HTTP/1.1 exchange with nothing normalised: the target, the header names and values
/// go on the wire as given. Returns the status, the response head and the body (the body
/// of a chunked answer is returned as it came).
pub async fn raw_http(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, target) = rest.split_once('/').expect("path");
    let mut conn = tokio::net::TcpStream::connect(host).await.expect("connect");
    let mut head = format!("{method} /{target} HTTP/1.1\r\nHost: {host}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()));
    // The server may answer and close before reading everything (a refused header block):
    // what it said is still read below.
    if conn.write_all(head.as_bytes()).await.is_ok() {
        let _ = conn.write_all(body).await;
    }
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), conn.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out);
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (status, head.to_owned(), body.to_owned())
}

/// A service as a real process (`target/<profile>/arca-<service>`) on a free port, with
/// `backends`' settings and `extra` on top; returns once it is ready.
pub async fn service_process(
    backends: &Backends,
    service: &str,
    extra: &[(&str, &str)],
) -> (tokio::process::Child, String) {
    let port = free_port();
    service_process_on(backends, service, port, extra).await
}

/// [`service_process`] on a given port (to restart a killed process where it was).
pub async fn service_process_on(
    backends: &Backends,
    service: &str,
    port: u16,
    extra: &[(&str, &str)],
) -> (tokio::process::Child, String) {
    let child = tokio::process::Command::new(binary(&format!("arca-{service}")))
        .envs(backends.settings())
        .env(format!("ARCA_{}_LISTEN", service.to_uppercase()), format!("127.0.0.1:{port}"))
        .envs(extra.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("service process starts");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    // The gateway is ready only when its upstreams are: health is enough here.
    while reqwest::get(format!("{url}/healthz")).await.map(|r| r.status() != 200).unwrap_or(true) {
        assert!(std::time::Instant::now() < deadline, "{service} never became healthy");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    (child, url)
}

/// The resident and peak resident memory of a process, in KiB (`VmRSS`, `VmHWM`).
pub fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// A binary of the workspace, next to the test executable (`make test` builds them first).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target dir");
    let path = dir.join(name);
    assert!(path.is_file(), "{} missing: run `cargo build --workspace --bins` first (make test does)", path.display());
    path
}

/// Every key in the bucket under `prefix`, all pages.
pub async fn keys_under(app: &AppState, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let (page, next) = app.blobs.list_page(prefix, token).await.expect("list objects");
        out.extend(page.into_iter().map(|(k, _)| k));
        match next {
            Some(t) => token = Some(t),
            None => return out,
        }
    }
}

/// A zip archive of `entries`, each compressed with `method` (zip64 headers when asked).
pub fn zip_with(entries: &[(&str, &[u8])], method: zip::CompressionMethod, zip64: bool) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(method).large_file(zip64);
    for (name, data) in entries {
        w.start_file(*name, opts).expect("start entry");
        w.write_all(data).expect("write entry");
    }
    w.finish().expect("finish zip").into_inner()
}

/// A zip archive of `entries`, deflated.
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    zip_with(entries, zip::CompressionMethod::Deflated, false)
}

/// `claims` signed as a job token is (HS256) with `secret`.
pub fn jwt(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("encode a JWT")
}
