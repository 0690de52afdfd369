//! Presigned GET URLs (AWS Signature Version 4, query-string form), computed here.
//!
//! A redirect is arca's hottest path, and presigning is local work: a canonical request,
//! one SHA-256 and one HMAC. The SDK's presigner runs its whole orchestrator for it
//! (interceptors, endpoint resolution, a config bag per call), and its metrics interceptor
//! saw every presign as a failed `GetObject`. This module builds the request as the SigV4
//! specification describes for S3 and signs it with `aws-sigv4`'s primitives; the signing
//! key, which only changes with the day and the credentials, is derived once per day.
//! Credentials come from the SDK's provider chain (static keys, a web identity, ...),
//! which caches and refreshes them itself.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};

use crate::blobs::BlobError;

/// RFC 3986's unreserved characters stay as they are; everything else is encoded, as
/// SigV4 requires of query parameters.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
/// The same for an object key's path, whose `/` separators stay.
const PATH: &AsciiSet = &QUERY.remove(b'/');

/// Where presigned URLs point: scheme, host (with a non-default port) and base path of the
/// public endpoint, in S3's path style (`/<bucket>/<key>`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Endpoint {
    scheme: String,
    host: String,
    base_path: String,
}

impl Endpoint {
    fn parse(url: &str) -> Result<Self, String> {
        let uri: http::Uri = url.parse().map_err(|e| format!("{url:?}: {e}"))?;
        let scheme = uri.scheme_str().ok_or_else(|| format!("{url:?}: no scheme"))?.to_owned();
        let authority = uri.authority().ok_or_else(|| format!("{url:?}: no host"))?;
        let default_port = matches!((scheme.as_str(), authority.port_u16()), ("http", Some(80)) | ("https", Some(443)));
        let host = if default_port { authority.host().to_owned() } else { authority.as_str().to_owned() };
        Ok(Self { scheme, host, base_path: uri.path().trim_end_matches('/').to_owned() })
    }
}

struct SigningKey {
    access_key_id: String,
    secret: String,
    day: String,
    key: [u8; 32],
}

pub struct Presigner {
    endpoint: Endpoint,
    bucket: String,
    region: String,
    credentials: SharedCredentialsProvider,
    key: Mutex<Option<SigningKey>>,
}

/// What a presigned GET carries besides its object.
pub struct GetUrl<'a> {
    pub key: &'a str,
    pub content_type: &'a str,
    pub content_disposition: &'a str,
    pub ttl: Duration,
}

impl Presigner {
    /// `endpoint`: the URL clients reach S3 under; `None` for AWS itself.
    pub fn new(
        endpoint: Option<&str>,
        bucket: &str,
        region: &str,
        credentials: SharedCredentialsProvider,
    ) -> Result<Self, String> {
        let endpoint = match endpoint {
            Some(url) => Endpoint::parse(url)?,
            None => Endpoint {
                scheme: "https".into(),
                host: format!("s3.{region}.amazonaws.com"),
                base_path: String::new(),
            },
        };
        Ok(Self { endpoint, bucket: bucket.to_owned(), region: region.to_owned(), credentials, key: Mutex::new(None) })
    }

    /// A URL for GET of `req.key` valid `req.ttl` from now. It is a bearer credential:
    /// never log it.
    pub async fn get(&self, req: GetUrl<'_>) -> Result<String, BlobError> {
        let creds = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| BlobError::Unavailable(format!("s3 credentials: {e}")))?;
        Ok(self.sign(&creds, SystemTime::now(), &req))
    }

    fn sign(&self, creds: &Credentials, now: SystemTime, req: &GetUrl<'_>) -> String {
        let stamp = amz_date(now);
        let day = &stamp[..8];
        let scope = format!("{day}/{}/s3/aws4_request", self.region);
        let path = format!(
            "{}/{}/{}",
            self.endpoint.base_path,
            utf8_percent_encode(&self.bucket, QUERY),
            utf8_percent_encode(req.key, PATH)
        );
        let credential = format!("{}/{scope}", creds.access_key_id());
        let expires = req.ttl.as_secs().to_string();
        // Sorted by name, as the canonical query string must be (uppercase sorts first).
        let mut params: Vec<(&str, &str)> = vec![
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", &credential),
            ("X-Amz-Date", &stamp),
            ("X-Amz-Expires", &expires),
            ("X-Amz-SignedHeaders", "host"),
            ("response-content-disposition", req.content_disposition),
            ("response-content-type", req.content_type),
        ];
        if let Some(token) = creds.session_token() {
            params.push(("X-Amz-Security-Token", token));
        }
        params.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut query = String::with_capacity(512);
        for (i, (k, v)) in params.iter().enumerate() {
            if i > 0 {
                query.push('&');
            }
            query.extend(utf8_percent_encode(k, QUERY));
            query.push('=');
            query.extend(utf8_percent_encode(v, QUERY));
        }
        let canonical = format!("GET\n{path}\n{query}\nhost:{}\n\nhost\nUNSIGNED-PAYLOAD", self.endpoint.host);
        let string_to_sign =
            format!("AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
        let signature =
            aws_sigv4::sign::v4::calculate_signature(self.signing_key(creds, day, now), string_to_sign.as_bytes());
        format!("{}://{}{path}?{query}&X-Amz-Signature={signature}", self.endpoint.scheme, self.endpoint.host)
    }

    /// The day's signing key for these credentials, derived (four HMACs) only when the day
    /// or the credentials change.
    fn signing_key(&self, creds: &Credentials, day: &str, now: SystemTime) -> [u8; 32] {
        let mut cached = self.key.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(k) = cached.as_ref()
            && k.day == day
            && k.access_key_id == creds.access_key_id()
            && k.secret == creds.secret_access_key()
        {
            return k.key;
        }
        let derived = aws_sigv4::sign::v4::generate_signing_key(creds.secret_access_key(), now, &self.region, "s3");
        let mut key = [0u8; 32];
        key.copy_from_slice(derived.as_ref());
        *cached = Some(SigningKey {
            access_key_id: creds.access_key_id().to_owned(),
            secret: creds.secret_access_key().to_owned(),
            day: day.to_owned(),
            key,
        });
        key
    }
}

/// `YYYYMMDDTHHMMSSZ`.
fn amz_date(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string().replace(['-', ':'], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presigner(endpoint: &str) -> Presigner {
        let creds = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None, None, "test");
        Presigner::new(Some(endpoint), "arca", "us-east-1", SharedCredentialsProvider::new(creds)).expect("endpoint")
    }

    /// `aws-sigv4`'s own request signer, which canonicalizes the request itself, is the
    /// oracle: for the same instant and the same request it must compute the very same
    /// signature. (s3s-fs checks the URLs end to end in `tests/tests/presign.rs`.)
    #[test]
    fn signatures_match_aws_sigv4s_request_signer() {
        use aws_sigv4::http_request::{
            PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
            UriPathNormalizationMode, sign,
        };
        let creds = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None, None, "test");
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_633_600 + 3_723);
        let disposition = "attachment; filename=\"r_sum_.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt";
        for (endpoint, key) in [
            ("http://127.0.0.1:9000", "projects/1/packages/a b+c~d.bin"),
            ("https://s3.example.com/base", "projects/2/job-artifacts/7/x\u{e9}.zip"),
        ] {
            let req = GetUrl {
                key,
                content_type: "application/octet-stream",
                content_disposition: disposition,
                ttl: Duration::from_secs(300),
            };
            let ours = presigner(endpoint).sign(&creds, now, &req);
            let (unsigned, signature) = ours
                .split_once("?")
                .map(|(u, q)| (u, q.rsplit_once("X-Amz-Signature=").map(|(_, s)| s)))
                .expect("query");
            let host = Endpoint::parse(endpoint).expect("endpoint").host;
            let mut url = format!("{unsigned}?response-content-disposition=");
            url.extend(utf8_percent_encode(disposition, QUERY));
            url.push_str("&response-content-type=application%2Foctet-stream");

            let mut settings = SigningSettings::default();
            settings.signature_location = SignatureLocation::QueryParams;
            settings.expires_in = Some(Duration::from_secs(300));
            settings.percent_encoding_mode = PercentEncodingMode::Single;
            settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
            let identity = creds.clone().into();
            let params = aws_sigv4::sign::v4::SigningParams::builder()
                .identity(&identity)
                .region("us-east-1")
                .name("s3")
                .time(now)
                .settings(settings)
                .build()
                .expect("params")
                .into();
            let signable = SignableRequest::new(
                "GET",
                url.as_str(),
                std::iter::once(("host", host.as_str())),
                SignableBody::UnsignedPayload,
            )
            .expect("signable");
            let (_, oracle) = sign(signable, &params).expect("sign").into_parts();
            assert_eq!(signature, Some(oracle.as_str()), "{ours}");
            assert!(ours.starts_with(&format!("{endpoint}/arca/projects/")), "{ours}");
        }
    }

    #[test]
    fn endpoints_keep_only_non_default_ports() {
        let e = Endpoint::parse("https://s3.example.com:443/").expect("url");
        assert_eq!((e.host.as_str(), e.base_path.as_str()), ("s3.example.com", ""));
        let e = Endpoint::parse("http://minio:9000/prefix").expect("url");
        assert_eq!((e.host.as_str(), e.base_path.as_str()), ("minio:9000", "/prefix"));
        assert!(Endpoint::parse("not a url").is_err());
    }

    #[test]
    fn amz_dates() {
        assert_eq!(amz_date(SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_633_600 + 3_723)), "20251202T010203Z");
    }
}
