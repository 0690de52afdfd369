//! The blob store: every byte arca keeps lives in one S3 bucket.
//!
//! The SDK client talks to `ARCA_S3_ENDPOINT`; [`crate::presign::Presigner`] signs URLs
//! for `ARCA_S3_PUBLIC_ENDPOINT` (the name clients use), which is local work with no round
//! trip and no SDK machinery. Uploads stream through [`BlobWriter`]: a single
//! PutObject for small bodies, a multipart upload with a bounded number of parts in memory
//! for large ones.

mod disposition;
mod keys;
mod metrics;
mod multipart;
mod stream;

pub use disposition::content_disposition;
pub use keys::BlobKeys;
use metrics::S3Metrics;
pub use multipart::BlobWriter;
pub use stream::Upload;
use stream::{ChannelBody, StreamUpload};

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{
    Region, RequestChecksumCalculation, ResponseChecksumValidation, retry::RetryConfig, timeout::TimeoutConfig,
};
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::primitives::ByteStream;
use bytes::{Bytes, BytesMut};
use futures_util::future::BoxFuture;
use std::sync::Arc;
use tokio::task::JoinSet;

use crate::config::S3Config;
use crate::presign::{GetUrl, Presigner};

/// S3 needs parts of at least 5 MiB; 8 MiB keeps at most ~24 MiB per upload in memory
/// (one part filling, two in flight) and allows files up to 80 GiB within 10,000 parts.
pub const PART_SIZE: usize = 8 << 20;

const PARTS_IN_FLIGHT: usize = 2;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("s3 unreachable: {0}")]
    Unavailable(String),
    #[error("no such object")]
    NotFound,
    #[error("range not satisfiable")]
    InvalidRange,
    #[error("s3: {0}")]
    Other(String),
}

fn classify<E>(op: &str, err: SdkError<E, HttpResponse>) -> BlobError
where
    E: std::error::Error + 'static,
{
    let detail = || format!("{op}: {}", aws_sdk_s3::error::DisplayErrorContext(&err));
    match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => BlobError::Unavailable(detail()),
        SdkError::ServiceError(se) => match se.raw().status().as_u16() {
            404 => BlobError::NotFound,
            416 => BlobError::InvalidRange,
            500..=599 => BlobError::Unavailable(detail()),
            _ => BlobError::Other(detail()),
        },
        // A response that could not be parsed: look at its status all the same.
        SdkError::ResponseError(re) if re.raw().status().is_server_error() => BlobError::Unavailable(detail()),
        _ => BlobError::Other(detail()),
    }
}

/// What a multipart upload tells its observer (arca records uploads in flight in Redis,
/// so the cleanup worker can abort those a crash abandoned).
pub enum MultipartEvent {
    Started { key: String, upload_id: String },
    Ended { key: String, upload_id: String },
}

pub type MultipartHook = Arc<dyn Fn(MultipartEvent) -> BoxFuture<'static, ()> + Send + Sync>;

#[derive(Clone)]
pub struct Blobs {
    client: Client,
    presigner: Arc<Presigner>,
    bucket: String,
    hook: Option<MultipartHook>,
}

/// Headers S3 must answer a presigned GET with.
pub struct PresignOptions<'a> {
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub ttl: Duration,
}

impl Blobs {
    pub async fn new(cfg: &S3Config) -> Result<Self, BlobError> {
        let mut loader =
            aws_config::defaults(aws_config::BehaviorVersion::latest()).region(Region::new(cfg.region.clone()));
        if let Some((key, secret)) = &cfg.credentials {
            loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
                key,
                secret,
                None,
                None,
                "arca-config",
            ));
        }
        let shared = loader.load().await;
        let credentials = shared.credentials_provider().unwrap_or_else(|| {
            // No credentials anywhere in the chain: URLs signed with none fail at S3, as
            // the SDK's requests would.
            aws_credential_types::provider::SharedCredentialsProvider::new(aws_sdk_s3::config::Credentials::new(
                "", "", None, None, "none",
            ))
        });
        let presigner = Presigner::new(cfg.public_endpoint.as_deref(), &cfg.bucket, &cfg.region, credentials)
            .map_err(|e| BlobError::Other(format!("ARCA_S3_PUBLIC_ENDPOINT: {e}")))?;
        let build = |endpoint: Option<&String>| {
            let mut b = aws_sdk_s3::config::Builder::from(&shared)
                // Self-hosted S3 servers rarely have wildcard DNS for virtual-host buckets.
                .force_path_style(true)
                // Trailing CRC checksums (the SDK's newer default) are not understood by
                // every S3-compatible server; we verify our own digests anyway.
                .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
                .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
                .timeout_config(
                    TimeoutConfig::builder()
                        .connect_timeout(Duration::from_secs(2))
                        .read_timeout(Duration::from_secs(30))
                        .build(),
                )
                .retry_config(RetryConfig::standard().with_max_attempts(2))
                .interceptor(S3Metrics);
            if let Some(ep) = endpoint {
                b = b.endpoint_url(ep);
            }
            Client::from_conf(b.build())
        };
        Ok(Self {
            client: build(cfg.endpoint.as_ref()),
            presigner: Arc::new(presigner),
            bucket: cfg.bucket.clone(),
            hook: None,
        })
    }

    /// Observes every multipart upload's start (before its first part) and end.
    pub fn with_multipart_hook(mut self, hook: MultipartHook) -> Self {
        self.hook = Some(hook);
        self
    }

    /// Aborts a multipart upload; one that is already gone counts as aborted.
    pub async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), BlobError> {
        match self.client.abort_multipart_upload().bucket(&self.bucket).key(key).upload_id(upload_id).send().await {
            Ok(_) => Ok(()),
            Err(e) => match classify("abort multipart upload", e) {
                BlobError::NotFound => Ok(()),
                other => Err(other),
            },
        }
    }

    /// Lists objects under `prefix`, a page at a time: `(key, last modified ms)`.
    pub async fn list_page(
        &self,
        prefix: &str,
        token: Option<String>,
    ) -> Result<(Vec<(String, u64)>, Option<String>), BlobError> {
        let out = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| classify("list objects", e))?;
        let objects = out
            .contents()
            .iter()
            .filter_map(|o| {
                let key = o.key()?.to_owned();
                let modified = o.last_modified().and_then(|t| t.to_millis().ok()).unwrap_or(0).max(0) as u64;
                Some((key, modified))
            })
            .collect();
        Ok((objects, out.next_continuation_token().map(str::to_owned)))
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Creates the bucket when it does not exist yet (several replicas may race).
    pub async fn ensure_bucket(&self) -> Result<(), BlobError> {
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => return Ok(()),
            Err(e) => match classify("head bucket", e) {
                BlobError::NotFound => {}
                other => return Err(other),
            },
        }
        match self.client.create_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let text = format!("{:?}", e);
                if text.contains("BucketAlreadyOwnedByYou") || text.contains("BucketAlreadyExists") {
                    Ok(())
                } else {
                    Err(classify("create bucket", e))
                }
            }
        }
    }

    /// Readiness: does the bucket answer?
    pub async fn ping(&self) -> Result<(), BlobError> {
        self.client.head_bucket().bucket(&self.bucket).send().await.map(|_| ()).map_err(|e| classify("head bucket", e))
    }

    /// The largest object S3 takes in one PUT.
    pub const SINGLE_PUT_MAX: u64 = 5 << 30;

    /// The way to store a body: one streaming PutObject when its length is known and S3
    /// takes it in one request, else a multipart upload.
    pub fn upload(&self, key: String, length: Option<u64>) -> Upload {
        match length {
            Some(len) if len <= Self::SINGLE_PUT_MAX => Upload::Stream(self.stream_put(key, len)),
            _ => Upload::Parts(self.writer(key)),
        }
    }

    /// Starts a PutObject whose body is fed chunk by chunk: no buffering beyond a few
    /// chunks, whatever the size. The payload is sent unsigned (a streamed body cannot be
    /// hashed before it is sent); arca's own digests cover the bytes end to end.
    fn stream_put(&self, key: String, length: u64) -> StreamUpload {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_length(length as i64)
            .body(ByteStream::from_body_1_x(ChannelBody { rx }))
            .customize()
            .disable_payload_signing();
        let task = tokio::spawn(async move { req.send().await.map(|_| ()).map_err(|e| classify("put object", e)) });
        StreamUpload { key, tx: Some(tx), task, held: None, blobs: self.clone() }
    }

    /// Stores a small object held in memory (an archive's index) in one PutObject.
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), BlobError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_length(bytes.len() as i64)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("put object", e))
    }

    pub fn writer(&self, key: String) -> BlobWriter {
        BlobWriter {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key,
            buf: BytesMut::with_capacity(PART_SIZE),
            upload_id: None,
            next_part: 1,
            in_flight: JoinSet::new(),
            done: Vec::new(),
            hook: self.hook.clone(),
        }
    }

    /// A presigned GET URL for clients. Never log it: it is a bearer credential.
    pub async fn presign_get(&self, key: &str, opts: PresignOptions<'_>) -> Result<String, BlobError> {
        self.presigner
            .get(GetUrl {
                key,
                content_type: opts.content_type,
                content_disposition: &content_disposition(opts.file_name),
                ttl: opts.ttl,
            })
            .await
    }

    /// Streams an object (or a byte range of it, `bytes=a-b` form) from S3.
    pub async fn get(&self, key: &str, range: Option<String>) -> Result<GetObject, BlobError> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_range(range)
            .send()
            .await
            .map_err(|e| classify("get object", e))?;
        Ok(GetObject {
            content_length: out.content_length().and_then(|l| u64::try_from(l).ok()),
            content_range: out.content_range().map(str::to_owned),
            body: out.body,
        })
    }

    /// Deletes up to 1,000 objects in one request; keys already gone count as deleted.
    pub async fn delete_many(&self, keys: &[String]) -> Result<(), BlobError> {
        use aws_sdk_s3::types::{Delete, ObjectIdentifier};
        if keys.is_empty() {
            return Ok(());
        }
        let objects = keys
            .iter()
            .map(|k| ObjectIdentifier::builder().key(k).build().map_err(|e| BlobError::Other(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| BlobError::Other(e.to_string()))?;
        let out = self
            .client
            .delete_objects()
            .bucket(&self.bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| classify("delete objects", e))?;
        match out.errors().first() {
            Some(err) => Err(BlobError::Other(format!(
                "delete objects: {} failed, first {:?}: {:?}",
                out.errors().len(),
                err.key(),
                err.message()
            ))),
            None => Ok(()),
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("delete object", e))
    }
}

pub struct GetObject {
    pub content_length: Option<u64>,
    pub content_range: Option<String>,
    pub body: ByteStream,
}
