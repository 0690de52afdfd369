//! Blobs whose metadata the API services already removed, handed over in a Redis queue.

use arca_shared::AppState;

/// S3 allows 1,000 keys per DeleteObjects.
pub(crate) const DELETE_BATCH: usize = 1000;

/// Deletes the blobs whose metadata is already gone (queued by the API services). A batch
/// is popped atomically, so two replicas never take the same keys; a batch that fails is
/// pushed back for the next pass.
pub(crate) async fn delete_queued_blobs(app: &AppState) -> anyhow::Result<u64> {
    let mut deleted = 0u64;
    loop {
        let batch = app.meta.pop_blob_deletes(DELETE_BATCH).await?;
        if batch.is_empty() {
            return Ok(deleted);
        }
        if let Err(e) = app.blobs.delete_many(&batch).await {
            app.meta.queue_blob_deletes(&batch).await?;
            anyhow::bail!("deleting {} queued blobs: {e}", batch.len());
        }
        deleted += batch.len() as u64;
        arca_shared::metrics::BLOBS_DELETED.with_label_values(&["deleted_metadata"]).inc_by(batch.len() as u64);
        tracing::info!(count = batch.len(), "deleted blobs of removed files");
    }
}
