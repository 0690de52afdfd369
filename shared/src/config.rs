//! Typed configuration, read once at start from the environment (the table in README.md).
//!
//! Every setting is looked up through a [`Source`], so tests build a configuration from a
//! map instead of mutating the process environment. A missing or malformed value becomes a
//! [`ConfigError`] whose message starts with the variable's name: `main` prints it as the
//! one line an operator needs.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

type Lookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Where settings come from: the process environment, or a map in tests.
pub struct Source {
    lookup: Lookup,
}

#[derive(Debug, thiserror::Error)]
#[error("{name}: {reason}")]
pub struct ConfigError {
    pub name: String,
    pub reason: String,
}

impl ConfigError {
    fn new(name: &str, reason: impl Into<String>) -> Self {
        Self { name: name.to_owned(), reason: reason.into() }
    }
}

impl Source {
    pub fn env() -> Self {
        Self { lookup: Box::new(|name| std::env::var(name).ok()) }
    }

    pub fn map(values: HashMap<String, String>) -> Self {
        Self { lookup: Box::new(move |name| values.get(name).cloned()) }
    }

    /// The value of `name`, with empty strings treated as unset.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    /// A secret: `NAME`, or the contents of the file named by `NAME_FILE` (a mounted
    /// Kubernetes Secret). Trailing newlines of the file are dropped.
    pub fn secret(&self, name: &str) -> Result<Option<String>, ConfigError> {
        if let Some(v) = self.get(name) {
            return Ok(Some(v));
        }
        let file_var = format!("{name}_FILE");
        match self.get(&file_var) {
            None => Ok(None),
            Some(path) => std::fs::read_to_string(&path)
                .map(|s| Some(s.trim_end_matches(['\r', '\n']).to_owned()))
                .map_err(|e| ConfigError::new(&file_var, format!("cannot read {path}: {e}"))),
        }
    }

    pub fn required_secret(&self, name: &str) -> Result<String, ConfigError> {
        match self.secret(name)? {
            Some(v) if v.len() >= 16 => Ok(v),
            Some(_) => Err(ConfigError::new(name, "must be at least 16 characters")),
            None => Err(ConfigError::new(name, format!("is required (or {name}_FILE)"))),
        }
    }

    pub fn required(&self, name: &str) -> Result<String, ConfigError> {
        self.get(name).ok_or_else(|| ConfigError::new(name, "is required"))
    }

    /// `name` read with `parse`; an error names the variable.
    pub fn parsed<T>(
        &self,
        name: &str,
        default: T,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => parse(raw.trim()).map_err(|e| ConfigError::new(name, e)),
        }
    }

    pub fn duration(&self, name: &str, default: Duration) -> Result<Duration, ConfigError> {
        self.parsed(name, default, parse_duration)
    }

    pub fn size(&self, name: &str, default: u64) -> Result<u64, ConfigError> {
        self.parsed(name, default, parse_size)
    }

    pub fn number(&self, name: &str, default: u64) -> Result<u64, ConfigError> {
        self.parsed(name, default, |raw| raw.parse().map_err(|_| format!("not a whole number: {raw:?}")))
    }

    pub fn bool(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        self.parsed(name, default, |raw| match raw.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err(format!("expected true or false, got {raw:?}")),
        })
    }

    pub fn addr(&self, name: &str, default: &str) -> Result<SocketAddr, ConfigError> {
        let raw = self.get(name).unwrap_or_else(|| default.to_owned());
        raw.parse().map_err(|_| ConfigError::new(name, format!("not a host:port address: {raw:?}")))
    }

    /// A comma-separated list of `http://` URLs.
    pub fn urls(&self, name: &str, default: &str) -> Result<Vec<String>, ConfigError> {
        let raw = self.get(name).unwrap_or_else(|| default.to_owned());
        let urls: Vec<String> =
            raw.split(',').map(|u| u.trim().trim_end_matches('/').to_owned()).filter(|u| !u.is_empty()).collect();
        if urls.is_empty() {
            return Err(ConfigError::new(name, "needs at least one URL"));
        }
        for u in &urls {
            let ok = u.strip_prefix("http://").is_some_and(|rest| !rest.is_empty());
            if !ok {
                return Err(ConfigError::new(name, format!("not an http:// URL: {u:?}")));
            }
        }
        Ok(urls)
    }
}

/// `300s`, `1m`, `30 days`, `2 hrs 20 min`: humantime's grammar, which also accepts
/// the spaced forms GitLab users write.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    humantime::parse_duration(raw).map_err(|e| format!("not a duration ({e}): {raw:?}"))
}

/// `5GiB`, `100MB`, `1048576`.
pub fn parse_size(raw: &str) -> Result<u64, String> {
    raw.parse::<bytesize::ByteSize>().map(|b| b.as_u64()).map_err(|e| format!("not a size ({e}): {raw:?}"))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    pub fn from_source(src: &Source) -> Result<Self, ConfigError> {
        src.parsed("ARCA_LOG_FORMAT", LogFormat::Text, |raw| match raw {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("expected text or json, got {raw:?}")),
        })
    }
}

/// How to reach S3. Credentials come from the standard AWS chain (aws-config).
#[derive(Clone, Debug)]
pub struct S3Config {
    /// Endpoint the services use; `None` means AWS itself.
    pub endpoint: Option<String>,
    /// Endpoint written into presigned URLs handed to clients.
    pub public_endpoint: Option<String>,
    pub bucket: String,
    pub region: String,
    /// Static keys from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`; `None` leaves the
    /// rest of the AWS credential chain (web identity, instance profile, ...) to aws-config.
    pub credentials: Option<(String, String)>,
}

impl S3Config {
    pub fn from_source(src: &Source) -> Result<Self, ConfigError> {
        let endpoint = src.get("ARCA_S3_ENDPOINT");
        let public_endpoint = src.get("ARCA_S3_PUBLIC_ENDPOINT").or_else(|| endpoint.clone());
        for (name, value) in [("ARCA_S3_ENDPOINT", &endpoint), ("ARCA_S3_PUBLIC_ENDPOINT", &public_endpoint)] {
            if let Some(v) = value
                && !(v.starts_with("http://") || v.starts_with("https://"))
            {
                return Err(ConfigError::new(name, format!("not an http(s) URL: {v:?}")));
            }
        }
        let bucket = src.get("ARCA_S3_BUCKET").unwrap_or_else(|| "arca".to_owned());
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid_bucket {
            return Err(ConfigError::new("ARCA_S3_BUCKET", format!("not a valid bucket name: {bucket:?}")));
        }
        let credentials = match (src.get("AWS_ACCESS_KEY_ID"), src.secret("AWS_SECRET_ACCESS_KEY")?) {
            (Some(key), Some(secret)) => Some((key, secret)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::new("AWS_SECRET_ACCESS_KEY", "is required with AWS_ACCESS_KEY_ID"));
            }
            (None, Some(_)) => {
                return Err(ConfigError::new("AWS_ACCESS_KEY_ID", "is required with AWS_SECRET_ACCESS_KEY"));
            }
        };
        Ok(Self {
            credentials,
            endpoint,
            public_endpoint,
            bucket,
            region: src.get("ARCA_S3_REGION").unwrap_or_else(|| "us-east-1".to_owned()),
        })
    }
}

/// How to reach Redis.
#[derive(Clone, Debug)]
pub struct RedisConfig {
    pub url: String,
    /// Cluster mode: `ARCA_REDIS_CLUSTER=true`, or a `redis+cluster://` URL.
    pub cluster: bool,
    /// Sentinel mode: a `redis+sentinel://` URL. `url` is then the master's URL without
    /// its address (credentials, database, TLS), which arca completes with the address the
    /// sentinels give.
    pub sentinel: Option<SentinelConfig>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentinelConfig {
    /// The sentinels, `host:port`.
    pub nodes: Vec<String>,
    /// The name the sentinels monitor the master under.
    pub master: String,
}

impl RedisConfig {
    pub fn from_source(src: &Source) -> Result<Self, ConfigError> {
        let raw = src.required("ARCA_REDIS_URL")?;
        let mut cluster = src.bool("ARCA_REDIS_CLUSTER", false)?;
        let mut sentinel = None;
        let url = if let Some(rest) = raw.strip_prefix("redis+cluster://") {
            cluster = true;
            format!("redis://{rest}")
        } else if let Some((scheme, rest)) = raw
            .strip_prefix("redis+sentinel://")
            .map(|r| ("redis", r))
            .or_else(|| raw.strip_prefix("rediss+sentinel://").map(|r| ("rediss", r)))
        {
            if scheme == "rediss" {
                return Err(ConfigError::new(
                    "ARCA_REDIS_URL",
                    "TLS through Sentinel (rediss+sentinel://) is not supported",
                ));
            }
            let (config, master_url) = parse_sentinel(scheme, rest)?;
            sentinel = Some(config);
            master_url
        } else {
            raw
        };
        if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
            return Err(ConfigError::new(
                "ARCA_REDIS_URL",
                "must start with redis://, rediss://, redis+cluster:// or redis+sentinel://",
            ));
        }
        if cluster && sentinel.is_some() {
            return Err(ConfigError::new("ARCA_REDIS_URL", "a sentinel URL cannot also be a cluster"));
        }
        Ok(Self { url, cluster, sentinel })
    }
}

/// `redis+sentinel://[user:password@]host1:26379,host2:26379/<master name>[/<db>]`: the
/// sentinels, the monitored name, and the master URL's credentials and database (the
/// sentinels themselves are asked without credentials).
fn parse_sentinel(scheme: &str, rest: &str) -> Result<(SentinelConfig, String), ConfigError> {
    let bad = |why: &str| ConfigError::new("ARCA_REDIS_URL", format!("sentinel URL: {why}"));
    let (authority, path) = rest.split_once('/').ok_or_else(|| bad("needs /<master name> after the sentinels"))?;
    let (credentials, hosts) = match authority.rsplit_once('@') {
        Some((c, h)) => (Some(c), h),
        None => (None, authority),
    };
    let nodes: Vec<String> = hosts.split(',').map(|h| h.trim().to_owned()).filter(|h| !h.is_empty()).collect();
    if nodes.is_empty()
        || nodes.iter().any(|n| n.rsplit_once(':').is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err()))
    {
        return Err(bad("sentinels must be host:port, comma-separated"));
    }
    let mut parts = path.split('/');
    let master = parts.next().filter(|m| !m.is_empty()).ok_or_else(|| bad("needs a master name"))?.to_owned();
    let db = match parts.next().filter(|d| !d.is_empty()) {
        Some(d) => d.parse::<u32>().map_err(|_| bad("the database must be a number"))?,
        None => 0,
    };
    // The master's address is filled in from the sentinels; the placeholder keeps the rest.
    let auth = credentials.map(|c| format!("{c}@")).unwrap_or_default();
    Ok((SentinelConfig { nodes, master }, format!("{scheme}://{auth}sentinel-master/{db}")))
}

/// Everything a service that touches Redis and S3 needs.
#[derive(Clone, Debug)]
pub struct Config {
    pub redis: RedisConfig,
    pub s3: S3Config,
    pub admin_token: String,
    pub jwt_secret: String,
    pub presign_ttl: Duration,
    /// How long authorization may remember a token, a project, a membership (at most 1 s,
    /// arca's promise for changes of right; zero: not at all).
    pub auth_cache_ttl: Duration,
    pub proxy_download: bool,
    pub max_file_size: u64,
    pub max_artifacts_size: u64,
    pub artifacts_expire_in: Duration,
    pub recycle_retention: Duration,
    pub cleanup_interval: Duration,
    /// Objects younger than this are never taken for orphans (uploads in flight); the
    /// orphan sweep also runs at most once per this period.
    pub orphan_grace: Duration,
    /// Multipart uploads older than this are aborted.
    pub multipart_max_age: Duration,
    /// How long a cleanup worker holds a unit of work before another may take it over.
    pub cleanup_lease: Duration,
    /// The longest a share link may live.
    pub share_max_ttl: Duration,
    /// The URL clients reach arca at (`https://artifacts.example.com`), for the links arca
    /// hands out; without it they are built from the request's scheme and host.
    pub public_url: Option<String>,
    pub webhooks: WebhookConfig,
}

/// How webhooks are saved and delivered.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// `ARCA_WEBHOOK_ALLOW_PRIVATE`: hooks may reach loopback and private ranges (never
    /// link-local or metadata addresses).
    pub allow_private: bool,
    /// `ARCA_WEBHOOK_TIMEOUT`: one attempt, from connecting to the answer's head.
    pub timeout: Duration,
    /// `ARCA_WEBHOOK_RETRY_FOR`: how long after the event a failed delivery is retried.
    pub retry_for: Duration,
    /// `ARCA_WEBHOOK_CONCURRENCY`: deliveries one worker has in flight at once (one hook at
    /// most a quarter of them); 0 stops this replica from delivering.
    pub concurrency: usize,
}

impl WebhookConfig {
    pub fn from_source(src: &Source) -> Result<Self, ConfigError> {
        let timeout = src.duration("ARCA_WEBHOOK_TIMEOUT", Duration::from_secs(10))?;
        if timeout.is_zero() || timeout > Duration::from_secs(300) {
            return Err(ConfigError::new("ARCA_WEBHOOK_TIMEOUT", "must be between 1ms and 5 minutes"));
        }
        let retry_for = src.duration("ARCA_WEBHOOK_RETRY_FOR", Duration::from_secs(DAY))?;
        let concurrency = src.number("ARCA_WEBHOOK_CONCURRENCY", 16)?;
        if concurrency > 1024 {
            return Err(ConfigError::new("ARCA_WEBHOOK_CONCURRENCY", "must be at most 1024"));
        }
        Ok(Self {
            allow_private: src.bool("ARCA_WEBHOOK_ALLOW_PRIVATE", false)?,
            timeout,
            retry_for,
            concurrency: concurrency as usize,
        })
    }
}

const DAY: u64 = 24 * 60 * 60;

/// `ARCA_PUBLIC_URL`: an absolute http(s) URL, kept without its trailing slash.
fn public_url(src: &Source) -> Result<Option<String>, ConfigError> {
    let Some(raw) = src.get("ARCA_PUBLIC_URL").map(|v| v.trim().trim_end_matches('/').to_owned()) else {
        return Ok(None);
    };
    if raw.is_empty() {
        return Ok(None);
    }
    let ok = (raw.starts_with("http://") || raw.starts_with("https://"))
        && raw.parse::<axum::http::Uri>().is_ok_and(|u| u.host().is_some() && u.query().is_none());
    if !ok {
        return Err(ConfigError::new("ARCA_PUBLIC_URL", "must be an absolute http or https URL"));
    }
    Ok(Some(raw))
}

impl Config {
    pub fn from_source(src: &Source) -> Result<Self, ConfigError> {
        let presign_ttl = src.duration("ARCA_PRESIGN_TTL", Duration::from_secs(300))?;
        // SigV4 presigned URLs live at most seven days.
        if presign_ttl.is_zero() || presign_ttl > Duration::from_secs(7 * DAY) {
            return Err(ConfigError::new("ARCA_PRESIGN_TTL", "must be between 1s and 7 days"));
        }
        let auth_cache_ttl = src.duration("ARCA_AUTH_CACHE_TTL", Duration::from_millis(500))?;
        if auth_cache_ttl > Duration::from_secs(1) {
            return Err(ConfigError::new(
                "ARCA_AUTH_CACHE_TTL",
                "must be at most 1s: changes of right take effect within a second",
            ));
        }
        Ok(Self {
            redis: RedisConfig::from_source(src)?,
            s3: S3Config::from_source(src)?,
            admin_token: src.required_secret("ARCA_ADMIN_TOKEN")?,
            jwt_secret: src.required_secret("ARCA_JWT_SECRET")?,
            presign_ttl,
            auth_cache_ttl,
            proxy_download: src.bool("ARCA_PROXY_DOWNLOAD", false)?,
            max_file_size: src.size("ARCA_MAX_FILE_SIZE", 5 << 30)?,
            max_artifacts_size: src.size("ARCA_MAX_ARTIFACTS_SIZE", 1 << 30)?,
            artifacts_expire_in: src.duration("ARCA_ARTIFACTS_EXPIRE_IN", Duration::from_secs(30 * DAY))?,
            recycle_retention: src.duration("ARCA_RECYCLE_RETENTION", Duration::from_secs(30 * DAY))?,
            cleanup_interval: src.duration("ARCA_CLEANUP_INTERVAL", Duration::from_secs(60))?,
            orphan_grace: src.duration("ARCA_ORPHAN_GRACE", Duration::from_secs(60 * 60))?,
            multipart_max_age: src.duration("ARCA_MULTIPART_MAX_AGE", Duration::from_secs(DAY))?,
            cleanup_lease: src.duration("ARCA_CLEANUP_LEASE", Duration::from_secs(5 * 60))?,
            share_max_ttl: src.duration("ARCA_SHARE_MAX_TTL", Duration::from_secs(7 * DAY))?,
            public_url: public_url(src)?,
            webhooks: WebhookConfig::from_source(src)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(pairs: &[(&str, &str)]) -> Source {
        Source::map(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    const BASE: [(&str, &str); 3] = [
        ("ARCA_REDIS_URL", "redis://127.0.0.1:6390"),
        ("ARCA_ADMIN_TOKEN", "admin-token-0123456789"),
        ("ARCA_JWT_SECRET", "jwt-secret-0123456789"),
    ];

    #[test]
    fn defaults_follow_the_spec() {
        let c = Config::from_source(&src(&BASE)).expect("valid config");
        assert_eq!(c.presign_ttl, Duration::from_secs(300));
        assert_eq!(c.max_file_size, 5 * 1024 * 1024 * 1024);
        assert_eq!(c.max_artifacts_size, 1024 * 1024 * 1024);
        assert_eq!(c.artifacts_expire_in, Duration::from_secs(30 * DAY));
        assert_eq!(c.s3.bucket, "arca");
        assert_eq!(c.s3.region, "us-east-1");
        assert!(!c.proxy_download);
        assert!(!c.redis.cluster);
        assert!(!c.webhooks.allow_private);
        assert_eq!(c.webhooks.timeout, Duration::from_secs(10));
        assert_eq!(c.webhooks.retry_for, Duration::from_secs(DAY));
    }

    #[test]
    fn a_missing_variable_is_named() {
        let err = Config::from_source(&src(&BASE[..1])).expect_err("admin token missing");
        assert_eq!(err.name, "ARCA_ADMIN_TOKEN");
        assert!(err.to_string().starts_with("ARCA_ADMIN_TOKEN: "));
    }

    #[test]
    fn a_malformed_variable_is_named() {
        let cases = [
            ("ARCA_PRESIGN_TTL", "soon"),
            ("ARCA_MAX_FILE_SIZE", "big"),
            ("ARCA_PROXY_DOWNLOAD", "maybe"),
            ("ARCA_S3_ENDPOINT", "localhost:9000"),
            ("ARCA_S3_BUCKET", "Not_A_Bucket"),
            ("ARCA_RECYCLE_RETENTION", "-1"),
            ("ARCA_WEBHOOK_ALLOW_PRIVATE", "sometimes"),
            ("ARCA_WEBHOOK_TIMEOUT", "0s"),
            ("ARCA_WEBHOOK_RETRY_FOR", "a while"),
        ];
        for (name, value) in cases {
            let mut pairs = BASE.to_vec();
            pairs.push((name, value));
            let err = Config::from_source(&src(&pairs)).expect_err(name);
            assert_eq!(err.name, name, "{value}");
        }
    }

    #[test]
    fn durations_and_sizes_in_human_form() {
        assert_eq!(parse_duration("30 days"), Ok(Duration::from_secs(30 * DAY)));
        assert_eq!(parse_duration("300s"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_size("5GiB"), Ok(5 << 30));
        assert_eq!(parse_size("1024"), Ok(1024));
        assert!(parse_size("lots").is_err());
    }

    #[test]
    fn secrets_load_from_files() {
        let dir = std::env::temp_dir().join(format!("arca-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let file = dir.join("token");
        std::fs::write(&file, "from-a-mounted-secret-file\n").expect("write");
        let mut pairs: Vec<(String, String)> = BASE
            .iter()
            .filter(|(k, _)| *k != "ARCA_ADMIN_TOKEN")
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        pairs.push(("ARCA_ADMIN_TOKEN_FILE".into(), file.display().to_string()));
        let c = Config::from_source(&Source::map(pairs.into_iter().collect())).expect("valid");
        assert_eq!(c.admin_token, "from-a-mounted-secret-file");
    }

    #[test]
    fn cluster_and_sentinel_urls_switch_modes() {
        let mut pairs = BASE.to_vec();
        pairs[0] = ("ARCA_REDIS_URL", "redis+cluster://127.0.0.1:7000");
        let c = Config::from_source(&src(&pairs)).expect("valid");
        assert!(c.redis.cluster);
        assert_eq!(c.redis.url, "redis://127.0.0.1:7000");

        pairs[0] = ("ARCA_REDIS_URL", "redis+sentinel://:s3cret@10.0.0.1:26379,10.0.0.2:26379/arca/2");
        let c = Config::from_source(&src(&pairs)).expect("sentinel url");
        assert!(!c.redis.cluster);
        assert_eq!(
            c.redis.sentinel,
            Some(SentinelConfig {
                nodes: vec!["10.0.0.1:26379".into(), "10.0.0.2:26379".into()],
                master: "arca".into()
            })
        );
        assert_eq!(c.redis.url, "redis://:s3cret@sentinel-master/2");
        for bad in ["redis+sentinel://10.0.0.1:26379", "redis+sentinel://10.0.0.1/arca", "redis+sentinel://h:1/arca/x"]
        {
            pairs[0] = ("ARCA_REDIS_URL", bad);
            let err = Config::from_source(&src(&pairs)).expect_err(bad);
            assert_eq!(err.name, "ARCA_REDIS_URL", "{bad}");
        }
    }

    #[test]
    fn upstream_lists_are_checked() {
        let s = src(&[("ARCA_UPLOAD_URLS", "http://a:1, http://b:2/")]);
        assert_eq!(s.urls("ARCA_UPLOAD_URLS", "http://x:1").expect("ok"), vec!["http://a:1", "http://b:2"]);
        let s = src(&[("ARCA_UPLOAD_URLS", "ftp://a")]);
        assert!(s.urls("ARCA_UPLOAD_URLS", "http://x:1").is_err());
    }
}
