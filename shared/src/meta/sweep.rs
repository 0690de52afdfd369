//! What the cleanup worker's sweeps need from Redis: every S3 key that metadata still
//! references, and the multipart uploads in flight.

use std::collections::HashSet;

use redis::AsyncCommands;

use super::Meta;
use super::error::{StoreError, StoreResult};
use crate::keys;

#[derive(serde::Deserialize)]
struct BlobRef {
    blob_key: String,
    /// An artifacts archive's index lies beside it (see `Artifact::index_key`).
    #[serde(default)]
    indexed: bool,
}

/// The S3 keys one record points at.
fn add_blob_ref(out: &mut HashSet<String>, record: &str) {
    if let Ok(r) = serde_json::from_str::<BlobRef>(record) {
        if r.indexed {
            out.insert(crate::blobs::BlobKeys::archive_index(&r.blob_key));
        }
        out.insert(r.blob_key);
    }
}

impl Meta {
    /// Every S3 key a package file or an artifact record (archive or report) points at.
    /// Scans the key space, every master of a cluster: run it seldom (the orphan sweep does,
    /// once per interval, under a lease).
    pub async fn referenced_blob_keys(&self) -> StoreResult<HashSet<String>> {
        let mut out = HashSet::new();
        for pattern in ["arca:{p*}:file:*", "arca:{p*}:artifact:*"] {
            let names = self.scan_keys(pattern).await?;
            // A job's reports are a hash beside its archive (MGET answers nil for a hash).
            let (reports, records): (Vec<String>, Vec<String>) =
                names.into_iter().partition(|n| n.ends_with(":reports"));
            for chunk in records.chunks(500) {
                let values: Vec<Option<String>> = redis::cmd("MGET").arg(chunk).query_async(&mut self.conn()).await?;
                for (name, value) in chunk.iter().zip(values) {
                    let Some(value) = value else { continue };
                    match keys::project_of(name).filter(|_| name.contains("}:file:")) {
                        // A package file's record, compact or of the first layouts. One
                        // that cannot be read stops the sweep rather than orphan its blob.
                        Some(project_id) => {
                            let file = super::file_record::decode(project_id, &value)
                                .map_err(|e| StoreError::corrupt(name, e))?;
                            out.insert(file.blob_key);
                        }
                        None => add_blob_ref(&mut out, &value),
                    }
                }
            }
            // One pipeline per project: on Redis Cluster a pipeline stays in one slot.
            for chunk in super::slot_batches(reports.iter().collect(), 500) {
                let mut pipe = redis::pipe();
                for name in chunk {
                    pipe.hvals(name);
                }
                let values: Vec<Vec<String>> = pipe.query_async(&mut self.conn()).await?;
                values.into_iter().flatten().for_each(|v| add_blob_ref(&mut out, &v));
            }
        }
        Ok(out)
    }

    /// Records a multipart upload before its first part is sent, so one abandoned by a
    /// crash is found and aborted later.
    pub async fn track_multipart(&self, key: &str, upload_id: &str, at_ms: u64) -> StoreResult<()> {
        let _: () = self.conn().zadd(keys::MULTIPART_UPLOADS, format!("{key}\n{upload_id}"), at_ms).await?;
        Ok(())
    }

    pub async fn untrack_multipart(&self, key: &str, upload_id: &str) -> StoreResult<()> {
        let _: () = self.conn().zrem(keys::MULTIPART_UPLOADS, format!("{key}\n{upload_id}")).await?;
        Ok(())
    }

    /// Multipart uploads started before `cutoff_ms`: `(key, upload id)`.
    pub async fn stale_multiparts(&self, cutoff_ms: u64, limit: usize) -> StoreResult<Vec<(String, String)>> {
        let members: Vec<String> =
            self.conn().zrangebyscore_limit(keys::MULTIPART_UPLOADS, 0, cutoff_ms, 0, limit as isize).await?;
        Ok(members.iter().filter_map(|m| m.split_once('\n')).map(|(k, u)| (k.to_owned(), u.to_owned())).collect())
    }

    /// How much work waits: `(queue, depth)` for the blob-delete queue, due purges, due
    /// artifact expiries and tracked multipart uploads.
    pub async fn cleanup_queue_depths(&self, now_ms: u64) -> StoreResult<Vec<(&'static str, i64)>> {
        let (blobs, claimed, purges, artifacts, multiparts): (i64, i64, i64, i64, i64) = redis::pipe()
            .llen(keys::BLOB_DELETE_QUEUE)
            .zcard(keys::BLOB_DELETES_CLAIMED)
            .zcount(keys::PACKAGE_PURGES, 0, now_ms)
            .zcount(keys::ARTIFACT_EXPIRY, 0, now_ms)
            .zcard(keys::MULTIPART_UPLOADS)
            .query_async(&mut self.conn())
            .await?;
        // Another slot than the queues above: its own command.
        let projects: i64 = self.conn().zcount(keys::PROJECTS_DELETING, 0, now_ms).await?;
        let (webhooks, webhooks_due) = self.webhook_queue_depths(now_ms).await?;
        Ok(vec![
            ("blob_deletes", blobs),
            ("blob_deletes_claimed", claimed),
            ("package_purges", purges),
            ("artifact_expiry", artifacts),
            ("multipart_uploads", multiparts),
            ("project_deletions", projects),
            ("webhooks", webhooks),
            ("webhooks_due", webhooks_due),
        ])
    }

    /// When a periodic job last ran (Unix ms), and marks it as running now.
    pub async fn last_run(&self, job: &str) -> StoreResult<Option<u64>> {
        Ok(self.conn().get(keys::last_run(job)).await?)
    }

    pub async fn set_last_run(&self, job: &str, at_ms: u64) -> StoreResult<()> {
        let _: () = self.conn().set(keys::last_run(job), at_ms).await?;
        Ok(())
    }
}
