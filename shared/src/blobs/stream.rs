//! An upload of unknown size: one streaming PutObject when the length is known and small, else
//! a multipart upload ([`BlobWriter`]).

use bytes::Bytes;

use super::*;

/// A request body fed through a channel (what [`StreamUpload`] writes into).
pub(super) struct ChannelBody {
    pub(super) rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
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
    pub(super) key: String,
    pub(super) tx: Option<tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>>,
    pub(super) task: tokio::task::JoinHandle<Result<(), BlobError>>,
    pub(super) held: Option<Bytes>,
    pub(super) blobs: Blobs,
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
