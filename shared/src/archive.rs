//! Reading single files out of zip archives that live in S3, without downloading them.
//!
//! [`RangeReader`] is a `Read + Seek` view of one S3 object that fetches what is read with
//! ranged GETs, a block at a time; the `zip` crate parses the end-of-central-directory and
//! the central directory (zip64 included) through it, then decompresses one entry. All of
//! this is blocking I/O, so it runs on tokio's blocking pool. Parsed archives are kept in
//! an in-process cache bounded by their total number of entries, so a second file from the
//! same archive costs one range read.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::runtime::Handle;
use zip::ZipArchive;

use crate::blobs::{BlobError, Blobs};

/// Bytes fetched per ranged GET: large enough that a central directory takes a handful of
/// requests, small enough that reading one small entry fetches little.
const BLOCK: u64 = 256 * 1024;

/// Counts the bytes arca has read from S3 through range requests (for tests and metrics).
pub static RANGE_BYTES: AtomicU64 = AtomicU64::new(0);

#[derive(Clone)]
pub struct RangeReader {
    blobs: Blobs,
    key: String,
    size: u64,
    pos: u64,
    block: Option<(u64, Bytes)>,
    handle: Handle,
}

impl RangeReader {
    /// `size` is the object's length (arca records it at upload).
    pub fn new(blobs: Blobs, key: String, size: u64, handle: Handle) -> Self {
        Self { blobs, key, size, pos: 0, block: None, handle }
    }

    fn fetch(&mut self, start: u64) -> io::Result<()> {
        let end = (start + BLOCK).min(self.size) - 1;
        let blobs = self.blobs.clone();
        let key = self.key.clone();
        let bytes = self.handle.block_on(async move {
            let obj = blobs.get(&key, Some(format!("bytes={start}-{end}"))).await?;
            obj.body.collect().await.map(|b| b.into_bytes()).map_err(|e| BlobError::Unavailable(e.to_string()))
        });
        let bytes = bytes.map_err(|e| io::Error::other(e.to_string()))?;
        RANGE_BYTES.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        crate::metrics::ARCHIVE_RANGE_BYTES.inc_by(bytes.len() as u64);
        self.block = Some((start, bytes));
        Ok(())
    }
}

impl Read for RangeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let cached = matches!(&self.block, Some((start, b)) if self.pos >= *start && self.pos < start + b.len() as u64);
        if !cached {
            self.fetch(self.pos)?;
        }
        let Some((start, block)) = &self.block else { return Ok(0) };
        let offset = (self.pos - start) as usize;
        let n = buf.len().min(block.len() - offset);
        buf[..n].copy_from_slice(&block[offset..offset + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for RangeReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}

pub type Archive = ZipArchive<RangeReader>;

/// Parses an archive's central directory. Blocking: call inside `spawn_blocking`.
pub fn open(reader: RangeReader) -> Result<Archive, zip::result::ZipError> {
    ZipArchive::new(reader)
}

/// Parsed archives by S3 key, bounded by their total number of entries.
pub struct ArchiveCache {
    max_entries: usize,
    inner: Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    map: HashMap<String, Arc<Archive>>,
    order: VecDeque<String>,
    entries: usize,
}

impl ArchiveCache {
    pub fn new(max_entries: usize) -> Self {
        Self { max_entries, inner: Mutex::new(CacheInner::default()) }
    }

    pub fn get(&self, key: &str) -> Option<Arc<Archive>> {
        let inner = self.inner.lock().ok()?;
        inner.map.get(key).cloned()
    }

    pub fn put(&self, key: &str, archive: Arc<Archive>) {
        let Ok(mut inner) = self.inner.lock() else { return };
        let size = archive.len().max(1);
        if size > self.max_entries || inner.map.contains_key(key) {
            return;
        }
        while inner.entries + size > self.max_entries {
            let Some(old) = inner.order.pop_front() else { break };
            if let Some(a) = inner.map.remove(&old) {
                inner.entries -= a.len().max(1);
            }
        }
        inner.entries += size;
        inner.order.push_back(key.to_owned());
        inner.map.insert(key.to_owned(), archive);
    }
}
