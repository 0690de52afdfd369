//! The blob store: every byte arca keeps lives in one S3 bucket.
//!
//! The SDK client talks to `ARCA_S3_ENDPOINT`; [`crate::presign::Presigner`] signs URLs
//! for `ARCA_S3_PUBLIC_ENDPOINT` (the name clients use), which is local work with no round
//! trip and no SDK machinery. Uploads stream through [`BlobWriter`]: a single
//! PutObject for small bodies, a multipart upload with a bounded number of parts in memory
//! for large ones.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{
    Region, RequestChecksumCalculation, ResponseChecksumValidation, retry::RetryConfig, timeout::TimeoutConfig,
};
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
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

/// Times every S3 operation and counts failures (`arca_s3_*`), labelled by operation.
#[derive(Debug)]
struct S3Metrics;

#[derive(Clone, Debug)]
struct Started(std::time::Instant);

impl aws_smithy_types::config_bag::Storable for Started {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

impl aws_sdk_s3::config::Intercept for S3Metrics {
    fn name(&self) -> &'static str {
        "arca-s3-metrics"
    }

    fn read_before_execution(
        &self,
        _context: &aws_sdk_s3::config::interceptors::BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        cfg.interceptor_state().store_put(Started(std::time::Instant::now()));
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &aws_sdk_s3::config::interceptors::FinalizerInterceptorContextRef<'_>,
        _runtime_components: &aws_sdk_s3::config::RuntimeComponents,
        cfg: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let operation = cfg
            .load::<aws_smithy_runtime_api::client::orchestrator::Metadata>()
            .map(|m| m.name().to_owned())
            .unwrap_or_else(|| "unknown".to_owned());
        if let Some(Started(at)) = cfg.load::<Started>() {
            crate::metrics::S3_DURATION.with_label_values(&[&operation]).observe(at.elapsed().as_secs_f64());
        }
        if !matches!(context.output_or_error(), Some(Ok(_))) {
            crate::metrics::S3_ERRORS.with_label_values(&[&operation]).inc();
        }
        Ok(())
    }
}

/// The S3 key layout, in one place.
pub struct BlobKeys;

impl BlobKeys {
    /// A package file's bytes. Keys are never reused: each upload gets its own, so a
    /// duplicate publish never overwrites what another version still serves.
    pub fn package_file(project_id: u64, upload_id: &str) -> String {
        format!("packages/{project_id}/{upload_id}")
    }

    /// A job's artifacts archive.
    pub fn job_artifacts(project_id: u64, job_id: u64, upload_id: &str) -> String {
        format!("artifacts/{project_id}/{job_id}/{upload_id}.zip")
    }

    /// The index written beside an artifacts archive (see `zipindex`).
    pub fn archive_index(archive_key: &str) -> String {
        format!("{archive_key}.index")
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

/// A request body fed through a channel (what [`StreamUpload`] writes into).
struct ChannelBody {
    rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        self.rx.poll_recv(cx).map(|item| item.map(|r| r.map(http_body::Frame::data)))
    }
}

/// A body being stored, by one streaming PUT or a multipart upload. Nothing is visible
/// under its key until [`Upload::finish`]; [`Upload::abort`] leaves nothing.
pub enum Upload {
    Stream(StreamUpload),
    Parts(BlobWriter),
}

impl Upload {
    pub fn key(&self) -> &str {
        match self {
            Self::Stream(s) => &s.key,
            Self::Parts(w) => w.key(),
        }
    }

    pub async fn write(&mut self, chunk: Bytes) -> Result<(), BlobError> {
        match self {
            Self::Stream(s) => s.write(chunk).await,
            Self::Parts(w) => w.write(chunk).await,
        }
    }

    pub async fn finish(self) -> Result<(), BlobError> {
        match self {
            Self::Stream(s) => s.finish().await,
            Self::Parts(w) => w.finish().await,
        }
    }

    pub async fn abort(self) {
        match self {
            Self::Stream(s) => s.abort().await,
            Self::Parts(w) => w.abort().await,
        }
    }
}

/// A PutObject fed as the client's body arrives. The last chunk is held back until
/// [`StreamUpload::finish`]: S3 commits an object once it has all `Content-Length` bytes,
/// so holding one chunk lets a caller that finds a bad checksum at the very end still
/// make the request fail instead of storing the object.
pub struct StreamUpload {
    key: String,
    tx: Option<tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>>,
    task: tokio::task::JoinHandle<Result<(), BlobError>>,
    held: Option<Bytes>,
    blobs: Blobs,
}

impl StreamUpload {
    async fn send(&mut self, item: Result<Bytes, std::io::Error>) -> Result<(), BlobError> {
        let Some(tx) = &self.tx else { return Err(BlobError::Other("upload already ended".into())) };
        if tx.send(item).await.is_err() {
            // The request ended early: its outcome says why.
            self.tx = None;
            return match (&mut self.task).await {
                Ok(Err(e)) => Err(e),
                Ok(Ok(())) => Err(BlobError::Other("put object ended before its body".into())),
                Err(e) => Err(BlobError::Other(format!("put task: {e}"))),
            };
        }
        Ok(())
    }

    async fn write(&mut self, chunk: Bytes) -> Result<(), BlobError> {
        if chunk.is_empty() {
            return Ok(());
        }
        if let Some(previous) = self.held.replace(chunk) {
            self.send(Ok(previous)).await?;
        }
        Ok(())
    }

    async fn finish(mut self) -> Result<(), BlobError> {
        if let Some(last) = self.held.take() {
            self.send(Ok(last)).await?;
        }
        self.tx = None;
        match (&mut self.task).await {
            Ok(result) => result,
            Err(e) => Err(BlobError::Other(format!("put task: {e}"))),
        }
    }

    async fn abort(mut self) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Err(std::io::Error::other("upload abandoned"))).await;
        }
        // A PUT that completed anyway (an empty body needs no chunk) is undone.
        if let Ok(Ok(())) = (&mut self.task).await
            && let Err(e) = self.blobs.delete(&self.key).await
        {
            tracing::warn!(key = %self.key, error = %e, "could not delete an abandoned object; the orphan sweep will");
        }
    }
}

impl Drop for StreamUpload {
    fn drop(&mut self) {
        // Dropped mid-body (the client went away): fail the PUT rather than let it finish.
        if let Some(tx) = self.tx.take() {
            let _ = tx.try_send(Err(std::io::Error::other("upload abandoned")));
        }
    }
}

/// RFC 8187's `attr-char`: what may stand unencoded in `filename*`.
const NOT_ATTR_CHAR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `attachment; filename="<name>"` with the last path segment, quotes and controls
/// stripped so the header cannot be split or spoofed. A name beyond ASCII goes out as
/// RFC 6266 says: an ASCII stand-in in `filename` (each other character a `_`) for old
/// clients, and the exact name, UTF-8 and percent-encoded, in `filename*`.
pub fn content_disposition(file_name: &str) -> String {
    let base = file_name.rsplit('/').next().unwrap_or(file_name);
    let safe: String = base.chars().filter(|c| !c.is_control() && *c != '"' && *c != '\\').collect();
    if safe.is_ascii() {
        return format!("attachment; filename=\"{safe}\"");
    }
    let fallback: String = safe.chars().map(|c| if c.is_ascii() { c } else { '_' }).collect();
    let exact = percent_encoding::utf8_percent_encode(&safe, NOT_ATTR_CHAR);
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{exact}")
}

/// Writes one object from a stream of chunks with bounded memory.
///
/// Nothing is visible under `key` until [`BlobWriter::finish`] returns; dropping the
/// writer or calling [`BlobWriter::abort`] leaves no object (a started multipart upload
/// is aborted; one orphaned by a crash is aborted later by the cleanup worker).
pub struct BlobWriter {
    client: Client,
    bucket: String,
    key: String,
    buf: BytesMut,
    upload_id: Option<String>,
    next_part: i32,
    in_flight: JoinSet<Result<CompletedPart, BlobError>>,
    done: Vec<CompletedPart>,
    hook: Option<MultipartHook>,
}

impl BlobWriter {
    pub fn key(&self) -> &str {
        &self.key
    }

    pub async fn write(&mut self, mut chunk: Bytes) -> Result<(), BlobError> {
        while !chunk.is_empty() {
            let room = PART_SIZE - self.buf.len();
            let take = room.min(chunk.len());
            self.buf.extend_from_slice(&chunk.split_to(take));
            if self.buf.len() == PART_SIZE {
                let part = std::mem::replace(&mut self.buf, BytesMut::with_capacity(PART_SIZE)).freeze();
                self.send_part(part).await?;
            }
        }
        Ok(())
    }

    async fn send_part(&mut self, part: Bytes) -> Result<(), BlobError> {
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let out = self
                    .client
                    .create_multipart_upload()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .send()
                    .await
                    .map_err(|e| classify("create multipart upload", e))?;
                let id = out.upload_id().ok_or_else(|| BlobError::Other("no upload id".into()))?.to_owned();
                self.upload_id = Some(id.clone());
                if let Some(hook) = &self.hook {
                    hook(MultipartEvent::Started { key: self.key.clone(), upload_id: id.clone() }).await;
                }
                id
            }
        };
        while self.in_flight.len() >= PARTS_IN_FLIGHT {
            self.join_one().await?;
        }
        let number = self.next_part;
        self.next_part += 1;
        let req = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(upload_id)
            .part_number(number)
            .body(ByteStream::from(part))
            .customize()
            .disable_payload_signing();
        self.in_flight.spawn(async move {
            let out = req.send().await.map_err(|e| classify("upload part", e))?;
            Ok(CompletedPart::builder().part_number(number).set_e_tag(out.e_tag().map(str::to_owned)).build())
        });
        Ok(())
    }

    async fn join_one(&mut self) -> Result<(), BlobError> {
        if let Some(res) = self.in_flight.join_next().await {
            let part = res.map_err(|e| BlobError::Other(format!("upload task: {e}")))??;
            self.done.push(part);
        }
        Ok(())
    }

    /// Completes the object. Returns an error (and leaves nothing) if any part failed.
    pub async fn finish(mut self) -> Result<(), BlobError> {
        let result = self.try_finish().await;
        if result.is_err() {
            self.abort().await;
        }
        result
    }

    async fn try_finish(&mut self) -> Result<(), BlobError> {
        if self.upload_id.is_none() {
            let body = self.buf.split().freeze();
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .body(ByteStream::from(body))
                .send()
                .await
                .map_err(|e| classify("put object", e))?;
            return Ok(());
        }
        if !self.buf.is_empty() {
            let last = self.buf.split().freeze();
            self.send_part(last).await?;
        }
        while !self.in_flight.is_empty() {
            self.join_one().await?;
        }
        let mut parts = std::mem::take(&mut self.done);
        parts.sort_by_key(|p| p.part_number());
        let upload_id = self.upload_id.clone().unwrap_or_default();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await
            .map_err(|e| classify("complete multipart upload", e))?;
        if let (Some(hook), Some(upload_id)) = (&self.hook, self.upload_id.take()) {
            hook(MultipartEvent::Ended { key: self.key.clone(), upload_id }).await;
        }
        Ok(())
    }

    /// Gives up: aborts a started multipart upload. Best effort; the cleanup worker
    /// aborts whatever a failure here leaves behind.
    pub async fn abort(mut self) {
        self.abort_in_place().await;
    }

    async fn abort_in_place(&mut self) {
        self.in_flight.abort_all();
        while self.in_flight.join_next().await.is_some() {}
        if let Some(upload_id) = self.upload_id.take() {
            let res = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(&upload_id)
                .send()
                .await;
            match res {
                Err(e) => {
                    // Still recorded as in flight: the cleanup worker aborts it later.
                    tracing::warn!(key = %self.key, error = %aws_sdk_s3::error::DisplayErrorContext(&e), "abort multipart upload failed");
                }
                Ok(_) => {
                    if let Some(hook) = &self.hook {
                        hook(MultipartEvent::Ended { key: self.key.clone(), upload_id }).await;
                    }
                }
            }
        }
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        // A writer dropped mid-upload (the client went away and the handler future was
        // dropped) must not leave a multipart upload behind: abort it in the background.
        if let Some(upload_id) = self.upload_id.take() {
            self.in_flight.abort_all();
            let client = self.client.clone();
            let bucket = self.bucket.clone();
            let key = self.key.clone();
            let hook = self.hook.clone();
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move {
                    let res =
                        client.abort_multipart_upload().bucket(bucket).key(&key).upload_id(&upload_id).send().await;
                    if let (Ok(_), Some(hook)) = (res, hook) {
                        hook(MultipartEvent::Ended { key, upload_id }).await;
                    }
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disposition_keeps_the_base_name_and_strips_header_tricks() {
        assert_eq!(content_disposition("linux/amd64/tool.tar.gz"), "attachment; filename=\"tool.tar.gz\"");
        assert_eq!(content_disposition("a\"b\r\nX: y"), "attachment; filename=\"abX: y\"");
        assert_eq!(
            content_disposition("docs/r\u{e9}sum\u{e9} 1.pdf"),
            "attachment; filename=\"r_sum_ 1.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%201.pdf"
        );
    }

    #[test]
    fn keys_are_namespaced_by_project() {
        assert_eq!(BlobKeys::package_file(7, "u1"), "packages/7/u1");
        assert_eq!(BlobKeys::job_artifacts(7, 9, "u2"), "artifacts/7/9/u2.zip");
    }
}
