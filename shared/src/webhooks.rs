//! Project webhooks: the events a hook subscribes to, the JSON body of a delivery and its
//! signature, and which addresses a hook may reach (docs/WEBHOOKS.md).
//!
//! A hook's URL is checked twice: when it is saved (its host resolved, every address
//! checked) and again at every delivery, where the worker connects only to the addresses it
//! has just checked and never follows a redirect, so a name that later resolves elsewhere
//! (DNS rebinding) reaches nothing it may not.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// What a hook can be told about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HookEvent {
    /// A file was published to a version (`package` and `file`).
    PackagePublished,
    /// A version went to the recycle bin (`package`), or the files of one name were
    /// deleted from it (`package` and `file`).
    PackageDeleted,
    /// A version was disabled.
    PackageDisabled,
    /// A version came back from the recycle bin.
    PackageRestored,
    /// A job uploaded an artifact (`job` and `file`).
    ArtifactsUploaded,
}

impl HookEvent {
    pub const ALL: [HookEvent; 5] = [
        Self::PackagePublished,
        Self::PackageDeleted,
        Self::PackageDisabled,
        Self::PackageRestored,
        Self::ArtifactsUploaded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PackagePublished => "package_published",
            Self::PackageDeleted => "package_deleted",
            Self::PackageDisabled => "package_disabled",
            Self::PackageRestored => "package_restored",
            Self::ArtifactsUploaded => "artifacts_uploaded",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == raw)
    }
}

/// A project hook as stored. The secret is kept to sign deliveries and never shown.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Hook {
    pub id: u64,
    pub project_id: u64,
    pub url: String,
    pub events: Vec<HookEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub created_at: u64,
    pub created_by: String,
}

impl Hook {
    pub fn wants(&self, event: HookEvent) -> bool {
        self.events.contains(&event)
    }
}

/// One attempt to deliver, as the hook's delivery log shows it.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attempt {
    /// The event's id, the same on every retry (`X-Arca-Delivery`).
    pub delivery_id: String,
    pub event: HookEvent,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub started_at: String,
    pub duration_ms: u64,
    /// `delivered` (a 2xx answer), `http_error` (any other answer; redirects are not
    /// followed), `timeout`, `unreachable` (DNS, connection or TLS failed), `refused` (the
    /// URL leads to an address a hook may not reach), `abandoned` (retried for
    /// `ARCA_WEBHOOK_RETRY_FOR`; no further attempt).
    pub result: String,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// What went wrong, when something did.
    pub error: Option<String>,
    /// When the next attempt is due, when there is one.
    pub next_attempt_at: Option<String>,
}

/// The version an event is about.
#[derive(Clone, Debug, Serialize)]
pub struct PackagePart {
    pub id: u64,
    pub name: String,
    pub version: String,
}

/// The file an event is about.
#[derive(Clone, Debug, Serialize)]
pub struct FilePart {
    pub file_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// The job an event is about.
#[derive(Clone, Debug, Serialize)]
pub struct JobPart {
    pub id: u64,
    pub name: String,
    #[serde(rename = "ref")]
    pub ref_name: String,
}

/// What happened, before it is addressed to hooks.
#[derive(Clone, Debug)]
pub struct Occurrence {
    pub event: HookEvent,
    pub actor: crate::auth::Actor,
    pub package: Option<PackagePart>,
    pub file: Option<FilePart>,
    pub job: Option<JobPart>,
}

/// The JSON body of a delivery: built once per event, the same bytes on every retry and
/// for every hook of the project.
pub fn body(
    occurrence: &Occurrence,
    delivery_id: &str,
    occurred_at_ms: u64,
    project: &crate::model::Project,
) -> String {
    serde_json::json!({
        "event": occurrence.event.as_str(),
        "delivery_id": delivery_id,
        "occurred_at": crate::time::rfc3339(occurred_at_ms),
        "project": { "id": project.id, "path_with_namespace": project.path_with_namespace() },
        "package": occurrence.package,
        "file": occurrence.file,
        "job": occurrence.job,
        "actor": occurrence.actor,
    })
    .to_string()
}

/// `sha256=<hex HMAC-SHA256 of body keyed with secret>`, the `X-Arca-Signature` header.
pub fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The longest wait between two attempts.
const MAX_BACKOFF: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// The wait before attempt `n + 1` after `n` failed: 1 s, 2 s, 4 s, ... at most an hour,
/// plus up to a tenth more so that deliveries that failed together spread out.
pub fn backoff(failed_attempts: u32) -> std::time::Duration {
    let base = std::time::Duration::from_secs(1u64 << failed_attempts.saturating_sub(1).min(20)).min(MAX_BACKOFF);
    let jitter = rand::random_range(0..=base.as_millis() as u64 / 10);
    base + std::time::Duration::from_millis(jitter)
}

/// Where an address stands for webhooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// A public address: always allowed.
    Public,
    /// Loopback or a private range: only with `ARCA_WEBHOOK_ALLOW_PRIVATE=true`.
    Private(&'static str),
    /// Link-local, cloud metadata, unspecified, multicast, reserved: never.
    Forbidden(&'static str),
}

/// The cloud metadata services' addresses outside link-local (AWS's IPv6 one, Alibaba's).
const METADATA_V4: [Ipv4Addr; 1] = [Ipv4Addr::new(100, 100, 100, 200)];
const METADATA_V6: [Ipv6Addr; 1] = [Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)];

pub fn reach(ip: IpAddr) -> Reach {
    match ip {
        IpAddr::V4(v4) => reach_v4(v4),
        IpAddr::V6(v6) => reach_v6(v6),
    }
}

fn reach_v4(ip: Ipv4Addr) -> Reach {
    let [a, b, c, _] = ip.octets();
    if METADATA_V4.contains(&ip) {
        return Reach::Forbidden("a cloud metadata address");
    }
    match (a, b) {
        (0, _) => Reach::Forbidden("an unspecified address"),
        (169, 254) => Reach::Forbidden("a link-local address"),
        (127, _) => Reach::Private("a loopback address"),
        (10, _) | (192, 168) => Reach::Private("a private address"),
        (172, 16..=31) => Reach::Private("a private address"),
        (100, 64..=127) => Reach::Private("a shared (carrier-grade NAT) address"),
        (198, 18..=19) => Reach::Private("a private address"),
        (192, 0) if c == 0 => Reach::Forbidden("a reserved address"),
        (224..=239, _) => Reach::Forbidden("a multicast address"),
        (240..=255, _) => Reach::Forbidden("a reserved address"),
        _ => Reach::Public,
    }
}

fn reach_v6(ip: Ipv6Addr) -> Reach {
    if METADATA_V6.contains(&ip) {
        return Reach::Forbidden("a cloud metadata address");
    }
    let s = ip.segments();
    // Forms that carry an IPv4 address are judged by it: IPv4-mapped (::ffff:a.b.c.d),
    // IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96, 64:ff9b:1::/48), 6to4 (2002::/16).
    let embedded = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if ip.is_unspecified() {
        return Reach::Forbidden("an unspecified address");
    }
    if ip.is_loopback() {
        return Reach::Private("a loopback address");
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return reach_v4(v4);
    }
    if s[..6] == [0; 6] {
        return reach_v4(embedded(s[6], s[7]));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) {
        return reach_v4(embedded(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return reach_v4(embedded(s[1], s[2]));
    }
    match s[0] {
        0xfe80..=0xfebf => Reach::Forbidden("a link-local address"),
        0xfec0..=0xfeff => Reach::Private("a site-local address"),
        0xfc00..=0xfdff => Reach::Private("a private (unique local) address"),
        0xff00..=0xffff => Reach::Forbidden("a multicast address"),
        // Teredo hides an IPv4 address that could be anything.
        0x2001 if s[1] == 0 => Reach::Forbidden("a Teredo address"),
        _ => Reach::Public,
    }
}

/// May a hook reach `ip`? The reason when it may not.
pub fn admit(ip: IpAddr, allow_private: bool) -> Result<(), String> {
    match reach(ip) {
        Reach::Public => Ok(()),
        Reach::Private(_) if allow_private => Ok(()),
        Reach::Private(what) => Err(format!("{ip} is {what} (set ARCA_WEBHOOK_ALLOW_PRIVATE=true to allow it)")),
        Reach::Forbidden(what) => Err(format!("{ip} is {what}, which a webhook may never reach")),
    }
}

/// A hook URL that passed the syntax check: http or https, a host, no credentials.
#[derive(Clone, Debug)]
pub struct HookUrl {
    pub url: url::Url,
    pub https: bool,
    pub host: url::Host<String>,
    pub port: u16,
}

/// Parses and checks a hook URL's form (not yet where it leads).
pub fn parse_url(raw: &str) -> Result<HookUrl, String> {
    if raw.len() > 2048 {
        return Err("url: at most 2048 characters".into());
    }
    let url = url::Url::parse(raw.trim()).map_err(|e| format!("url: not a URL ({e})"))?;
    let https = match url.scheme() {
        "https" => true,
        "http" => false,
        other => return Err(format!("url: only http and https are allowed, not {other}")),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err("url: must not carry credentials; give the hook a secret instead".into());
    }
    if url.fragment().is_some() {
        return Err("url: must not have a fragment".into());
    }
    let host = url.host().map(|h| h.to_owned()).ok_or("url: needs a host")?;
    let port = url.port_or_known_default().ok_or("url: needs a port")?;
    Ok(HookUrl { https, host, port, url })
}

/// Why a hook URL leads nowhere it may go.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The name does not resolve (now).
    #[error("{0}")]
    Dns(String),
    /// It leads to an address a hook may not reach.
    #[error("{0}")]
    Refused(String),
}

/// The addresses a hook URL leads to, each checked: an IP literal as written, a name as DNS
/// answers now. Any refused address refuses the whole URL (a name that mixes public and
/// private answers is how rebinding attacks start).
pub async fn resolve(target: &HookUrl, allow_private: bool) -> Result<Vec<SocketAddr>, ResolveError> {
    let addrs: Vec<SocketAddr> = match &target.host {
        url::Host::Ipv4(ip) => vec![SocketAddr::new(IpAddr::V4(*ip), target.port)],
        url::Host::Ipv6(ip) => vec![SocketAddr::new(IpAddr::V6(*ip), target.port)],
        url::Host::Domain(name) => tokio::net::lookup_host((name.as_str(), target.port))
            .await
            .map_err(|e| ResolveError::Dns(format!("{name} does not resolve: {e}")))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(ResolveError::Dns("the host resolves to no address".into()));
    }
    for addr in &addrs {
        admit(addr.ip(), allow_private).map_err(ResolveError::Refused)?;
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    #[test]
    fn metadata_and_link_local_are_never_reached() {
        for a in [
            "169.254.169.254",
            "169.254.0.1",
            "100.100.100.200",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:169.254.169.254",
            "::169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::1",
            "0.0.0.0",
            "::",
            "224.0.0.1",
            "255.255.255.255",
            "ff02::1",
            "2001:0:4136:e378::1",
        ] {
            assert!(matches!(reach(ip(a)), Reach::Forbidden(_)), "{a} must be forbidden");
            assert!(admit(ip(a), true).is_err(), "{a} must be refused even with private allowed");
        }
    }

    #[test]
    fn private_ranges_only_when_allowed() {
        for a in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "::1",
            "fd12:3456::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::7f00:1",
            "64:ff9b::a00:1",
            "2002:c0a8:0101::1",
        ] {
            assert!(matches!(reach(ip(a)), Reach::Private(_)), "{a} must be private");
            assert!(admit(ip(a), false).is_err(), "{a} refused by default");
            assert!(admit(ip(a), true).is_ok(), "{a} allowed with private allowed");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for a in
            ["93.184.216.34", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8", "2002:0808:0808::1"]
        {
            assert_eq!(reach(ip(a)), Reach::Public, "{a}");
        }
    }

    #[test]
    fn urls_are_checked_for_form() {
        assert!(parse_url("https://hooks.example.com/arca").is_ok());
        assert_eq!(parse_url("http://example.com").expect("ok").port, 80);
        for bad in [
            "ftp://example.com/",
            "file:///etc/passwd",
            "gopher://x/",
            "http://user:pw@example.com/",
            "http://",
            "not a url",
            "http://example.com/#frag",
        ] {
            assert!(parse_url(bad).is_err(), "{bad} must be refused");
        }
        // The WHATWG forms of an IPv4 address are the address.
        for obfuscated in ["http://2130706433/", "http://0x7f.1/", "http://0177.0.0.1/", "http://127.1/"] {
            let u = parse_url(obfuscated).expect("parses");
            assert_eq!(u.host, url::Host::<String>::Ipv4(Ipv4Addr::LOCALHOST), "{obfuscated}");
        }
    }

    #[tokio::test]
    async fn resolution_checks_every_address() {
        let refused = resolve(&parse_url("http://[::ffff:169.254.169.254]/").expect("ok"), true).await;
        assert!(matches!(refused, Err(ResolveError::Refused(_))), "{refused:?}");
        let local = resolve(&parse_url("http://localhost:8080/").expect("ok"), false).await;
        assert!(matches!(local, Err(ResolveError::Refused(_))), "localhost resolves to loopback: {local:?}");
        let allowed = resolve(&parse_url("http://127.0.0.1:8080/").expect("ok"), true).await.expect("allowed");
        assert_eq!(allowed, vec!["127.0.0.1:8080".parse().expect("addr")]);
    }

    #[test]
    fn backoff_doubles_from_a_second_to_an_hour() {
        let secs = |n| backoff(n).as_secs_f64();
        assert!((1.0..=1.1).contains(&secs(1)));
        assert!((2.0..=2.2).contains(&secs(2)));
        assert!((8.0..=8.8).contains(&secs(4)));
        assert!((3600.0..=3960.0).contains(&secs(13)));
        assert!((3600.0..=3960.0).contains(&secs(400)));
    }

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        let sig = signature("Jefe", b"what do ya want for nothing?");
        assert_eq!(sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
