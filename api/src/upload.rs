//! Streaming a request body into the bucket with its digests.

use arca_shared::blobs::Upload;
use arca_shared::checksum::{Digests, Expected, Hasher};
use arca_shared::{ApiError, ApiResult, AppState};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

/// Reads an upload's bytes as they stream past, to refuse a body that is not what it
/// claims to be before it is stored.
pub(crate) trait Inspect: Send {
    fn chunk(&mut self, bytes: &[u8]) -> ApiResult<()>;
    /// The body is complete.
    fn end(&mut self) -> ApiResult<()>;
}

/// Streams `chunks` into `writer`, hashing them (and showing them to `inspect`); holds the
/// size limit as bytes arrive and checks the client's checksums before the object is
/// completed. Returns the digests of a
/// complete object; on any failure the partial upload is abandoned and nothing is stored.
pub(crate) async fn store<E: std::fmt::Display>(
    mut writer: Upload,
    mut chunks: impl Stream<Item = Result<Bytes, E>> + Unpin,
    max: u64,
    expected: &Expected,
    allow_empty: bool,
    mut inspect: Option<&mut (dyn Inspect + '_)>,
) -> ApiResult<Digests> {
    let mut hasher = Hasher::new(expected.wants_sha1());
    while let Some(chunk) = chunks.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                tracing::info!(error = %e, "upload body ended early; discarding");
                writer.abort().await;
                return Err(ApiError::bad_request("the request body ended before it was complete"));
            }
        };
        if hasher.size() + chunk.len() as u64 > max {
            writer.abort().await;
            return Err(ApiError::PayloadTooLarge);
        }
        if let Some(Err(e)) = inspect.as_mut().map(|i| i.chunk(&chunk)) {
            writer.abort().await;
            return Err(e);
        }
        if let Err(e) = hasher.update(chunk.clone()).await {
            writer.abort().await;
            return Err(e);
        }
        if let Err(e) = writer.write(chunk).await {
            writer.abort().await;
            return Err(e.into());
        }
    }
    let digests = match hasher.finish().await {
        Ok(d) => d,
        Err(e) => {
            writer.abort().await;
            return Err(e);
        }
    };
    let verdict = if digests.size == 0 && !allow_empty {
        Err(ApiError::bad_request("the file is empty"))
    } else {
        expected.verify(&digests).and_then(|()| inspect.map_or(Ok(()), |i| i.end()))
    };
    if let Err(e) = verdict {
        writer.abort().await;
        return Err(e);
    }
    writer.finish().await?;
    Ok(digests)
}

/// A blob whose metadata was never committed: delete it now, in the background; if that
/// fails too, the cleanup worker's orphan sweep removes it later.
pub(crate) fn discard(app: &AppState, blob_key: &str) {
    let app = app.clone();
    let key = blob_key.to_owned();
    tokio::spawn(async move {
        if let Err(e) = app.blobs.delete(&key).await {
            tracing::warn!(blob = %key, error = %e, "could not delete an uncommitted blob; the orphan sweep will");
        }
    });
}
