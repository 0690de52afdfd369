//! A version as one zip: `GET /projects/:id/packages/:package_id/archive`.
//!
//! The zip is written as the client reads it: each file's bytes come from S3 and go
//! straight into the response through a bounded pipe (`ARCHIVE_PIPE` bytes), so memory does
//! not grow with the version's size. Entries are stored (the files are usually compressed
//! already) by async_zip's streaming writer: a data descriptor after each entry carries its
//! CRC-32 and sizes, and ZIP64 records make archives and entries past 4 GiB readable. A
//! failure half way cuts the response off with an error rather than ending a short zip.

use std::collections::BTreeMap;

use arca_shared::http::Path;
use arca_shared::model::{Package, PackageFile};
use arca_shared::policy::Action;
use arca_shared::time::{now_ms, rfc3339};
use arca_shared::{ApiError, ApiResult, AppState, Auth, metrics};
use async_zip::base::write::ZipFileWriter;
use async_zip::{Compression, ZipDateTimeBuilder, ZipEntryBuilder};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::io::AsyncWriteExt;
use futures_util::{StreamExt, stream};
use tokio_util::io::ReaderStream;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The bytes in flight between the zip writer and the response.
const ARCHIVE_PIPE: usize = 256 * 1024;

/// The version's current files, one per name (the newest), in name order.
fn current_files(files: Vec<PackageFile>) -> Vec<PackageFile> {
    let mut newest: BTreeMap<String, PackageFile> = BTreeMap::new();
    for f in files {
        match newest.get(&f.file_name) {
            Some(kept) if kept.id > f.id => {}
            _ => {
                newest.insert(f.file_name.clone(), f);
            }
        }
    }
    newest.into_values().collect()
}

/// A zip entry's modification time from Unix ms (UTC).
fn zip_date(ms: u64) -> async_zip::ZipDateTime {
    // `2026-12-02T16:50:14.123Z`
    let s = rfc3339(ms);
    let field = |a: usize, b: usize| s.get(a..b).and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
    ZipDateTimeBuilder::new()
        .year(field(0, 4) as i32)
        .month(field(5, 7))
        .day(field(8, 10))
        .hour(field(11, 13))
        .minute(field(14, 16))
        .second(field(17, 19))
        .build()
}

/// Writes the zip of `files` into `out`.
async fn write_zip(app: &AppState, files: &[PackageFile], out: tokio::io::DuplexStream) -> std::io::Result<()> {
    let io = |e: async_zip::error::ZipError| std::io::Error::other(e.to_string());
    let mut zip = ZipFileWriter::with_tokio(out);
    for f in files {
        let entry = ZipEntryBuilder::new(f.file_name.clone().into(), Compression::Stored)
            .last_modification_date(zip_date(f.created_at))
            .unix_permissions(0o644);
        let object = app.blobs.get(&f.blob_key, None).await.map_err(|e| std::io::Error::other(e.to_string()))?;
        let mut body = object.body;
        let mut writer = zip.write_entry_stream(entry).await.map_err(io)?;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| std::io::Error::other(e.to_string()))?;
            writer.write_all(&chunk).await?;
        }
        writer.close().await.map_err(io)?;
    }
    let out = zip.close().await.map_err(io)?;
    let mut out = out.into_inner();
    tokio::io::AsyncWriteExt::shutdown(&mut out).await
}

/// `GET /projects/:id/packages/:package_id/archive`: every current file of the version
/// (the newest of each name) in one zip, streamed from S3 as it is read.
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/packages/{package_id}/archive", tag = "packages",
    responses((status = 200, description = "The zip, `<name>-<version>.zip`.", body = Vec<u8>, content_type = "application/zip"))
)]
pub async fn archive(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, package_id)): Path<(String, u64)>,
) -> ApiResult<Response> {
    let project = app.project(&who, &id, Action::ReadPackages).await?;
    let package: Package = app.meta.package(project.id, package_id).await?.ok_or(ApiError::NotFound("Package"))?;
    if package.disabled {
        return Err(ApiError::ForbiddenBecause("package version is disabled"));
    }
    let (_, files) = app.meta.package_files(&package, 0, u64::MAX / 2).await?;
    let files = current_files(files);
    if files.is_empty() {
        return Err(ApiError::NotFound("Package File"));
    }
    let (reader, writer) = tokio::io::duplex(ARCHIVE_PIPE);
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let task_app = app.clone();
    let (project_id, name, version) = (project.id, package.name.clone(), package.version.clone());
    tokio::spawn(async move {
        let outcome = write_zip(&task_app, &files, writer).await;
        if let Err(e) = &outcome {
            tracing::warn!(project_id, package_id, error = %e, "version archive cut off");
        }
        let _ = done_tx.send(outcome);
    });
    // After the last byte, the writer's outcome: an error ends the body with an error, so
    // the client sees a broken transfer, not a short zip.
    let tail = stream::once(async move {
        match done_rx.await {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(Err(e)),
            Err(_) => Some(Err(std::io::Error::other("archive writer stopped"))),
        }
    })
    .filter_map(|end| async move { end });
    let body = Body::from_stream(ReaderStream::new(reader).chain(tail));
    let disposition = arca_shared::blobs::content_disposition(&format!("{name}-{version}.zip"));
    let mut resp = (StatusCode::OK, body).into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    metrics::DOWNLOADS.with_label_values(&["archive"]).inc();
    app.downloads.record(project.id, &package.name, &package.version, now_ms());
    Ok(resp)
}

/// The routes of this resource, every method of each path, with their descriptions.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(archive))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(id: u64, name: &str) -> PackageFile {
        PackageFile {
            id,
            package_id: 1,
            project_id: 1,
            file_name: name.into(),
            size: 0,
            md5: String::new(),
            sha1: String::new(),
            sha256: String::new(),
            blob_key: String::new(),
            created_at: 0,
            pushed_by: String::new(),
        }
    }

    #[test]
    fn the_newest_file_of_each_name_in_name_order() {
        let got = current_files(vec![file(1, "b"), file(3, "a"), file(2, "b"), file(5, "c/d"), file(4, "a")]);
        let ids: Vec<(u64, &str)> = got.iter().map(|f| (f.id, f.file_name.as_str())).collect();
        assert_eq!(ids, vec![(4, "a"), (2, "b"), (5, "c/d")]);
    }

    #[test]
    fn dates_are_utc_civil_time() {
        // 2026-12-02T16:50:14Z
        let d = zip_date(1_796_230_214_000);
        assert_eq!((d.year(), d.month(), d.day(), d.hour(), d.minute()), (2026, 12, 2, 16, 50));
    }

    /// ZIP64: an entry past 4 GiB, written by the same streaming writer into nothing, and
    /// read back from its central directory by the `zip` crate (what `unzip` also reads).
    #[tokio::test]
    async fn entries_past_4_gib_get_zip64_records() {
        use tokio::io::AsyncWriteExt as _;
        // The writer streams into a sink that keeps the last 64 KiB (the central directory
        // and end records) and counts the rest, so the test needs no 4 GiB of memory.
        struct Tail {
            kept: Vec<u8>,
            total: u64,
        }
        impl tokio::io::AsyncWrite for Tail {
            fn poll_write(
                mut self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.total += buf.len() as u64;
                self.kept.extend_from_slice(buf);
                let excess = self.kept.len().saturating_sub(64 * 1024);
                self.kept.drain(..excess);
                std::task::Poll::Ready(Ok(buf.len()))
            }
            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }
            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }
        }
        let mut zip = ZipFileWriter::with_tokio(Tail { kept: Vec::new(), total: 0 });
        let big: u64 = (4 << 30) + 1024 * 1024;
        let mut writer = zip
            .write_entry_stream(ZipEntryBuilder::new("big.bin".to_string().into(), Compression::Stored))
            .await
            .expect("entry");
        let block = vec![0u8; 1 << 20];
        let mut left = big;
        while left > 0 {
            let n = left.min(block.len() as u64) as usize;
            writer.write_all(&block[..n]).await.expect("write");
            left -= n as u64;
        }
        writer.close().await.expect("close entry");
        let small = ZipEntryBuilder::new("after.txt".to_string().into(), Compression::Stored);
        zip.write_entry_whole(small, b"after").await.expect("entry");
        let mut tail = zip.close().await.expect("close").into_inner();
        tail.shutdown().await.expect("shutdown");
        assert!(tail.total > big);
        // The end records point at offsets past 4 GiB: ZIP64's end of central directory
        // (signature 0x06064b50) and its locator (0x07064b50) are there.
        let find = |sig: &[u8]| tail.kept.windows(4).any(|w| w == sig);
        assert!(find(&[0x50, 0x4b, 0x06, 0x06]), "zip64 end of central directory");
        assert!(find(&[0x50, 0x4b, 0x06, 0x07]), "zip64 locator");
        // Parse the central directory out of the tail: both entries, the big one's size
        // and offset in its ZIP64 extra field.
        let cd = tail.kept.windows(4).position(|w| w == [0x50, 0x4b, 0x01, 0x02]).expect("central directory");
        let name_len = u16::from_le_bytes([tail.kept[cd + 28], tail.kept[cd + 29]]) as usize;
        assert_eq!(&tail.kept[cd + 46..cd + 46 + name_len], b"big.bin");
        let extra = &tail.kept[cd + 46 + name_len..];
        assert_eq!(&extra[..2], &[0x01, 0x00], "ZIP64 extended information extra field");
        let sizes: Vec<u64> =
            (0..2).map(|i| u64::from_le_bytes(extra[4 + 8 * i..12 + 8 * i].try_into().expect("8 bytes"))).collect();
        assert_eq!(sizes, vec![big, big], "uncompressed and compressed size");
    }
}
