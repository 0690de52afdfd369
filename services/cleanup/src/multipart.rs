//! Multipart uploads a crash abandoned are aborted after `ARCA_MULTIPART_MAX_AGE`.

use arca_shared::AppState;
use arca_shared::time::now_ms;

/// Aborts multipart uploads that have run longer than `ARCA_MULTIPART_MAX_AGE`: those a
/// crashed upload service left behind (arca records each before sending its first part).
pub async fn abort_stale_multiparts(app: &AppState) -> anyhow::Result<u64> {
    let cutoff = now_ms().saturating_sub(app.config.multipart_max_age.as_millis() as u64);
    let mut aborted = 0;
    for (key, upload_id) in app.meta.stale_multiparts(cutoff, 1000).await? {
        app.blobs.abort_multipart(&key, &upload_id).await?;
        app.meta.untrack_multipart(&key, &upload_id).await?;
        aborted += 1;
        tracing::info!(blob = %key, "stale multipart upload aborted");
    }
    if aborted > 0 {
        arca_shared::metrics::BLOBS_DELETED.with_label_values(&["stale_multipart"]).inc_by(aborted);
    }
    Ok(aborted)
}
