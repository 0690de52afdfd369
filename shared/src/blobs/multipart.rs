//! A multipart upload with a bounded number of parts in memory.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::{Bytes, BytesMut};
use tokio::task::JoinSet;

use super::*;

/// Writes one object from a stream of chunks with bounded memory.
///
/// Nothing is visible under `key` until [`BlobWriter::finish`] returns; dropping the
/// writer or calling [`BlobWriter::abort`] leaves no object (a started multipart upload
/// is aborted; one orphaned by a crash is aborted later by the cleanup worker).
pub struct BlobWriter {
    pub(super) client: Client,
    pub(super) bucket: String,
    pub(super) key: String,
    pub(super) buf: BytesMut,
    pub(super) upload_id: Option<String>,
    pub(super) next_part: i32,
    pub(super) in_flight: JoinSet<Result<CompletedPart, BlobError>>,
    pub(super) done: Vec<CompletedPart>,
    pub(super) hook: Option<MultipartHook>,
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
