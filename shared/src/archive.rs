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

/// Notes `n` bytes of an archive or its index read from S3, in [`RANGE_BYTES`] and in
/// `arca_archive_range_read_bytes_total`.
fn count_read(n: u64) {
    RANGE_BYTES.fetch_add(n, Ordering::Relaxed);
    crate::metrics::ARCHIVE_RANGE_BYTES.inc_by(n);
}

/// Bytes `first..=last` of an object, read whole and counted.
pub async fn read_range(blobs: &Blobs, key: &str, first: u64, last: u64) -> Result<Bytes, BlobError> {
    let obj = blobs.get(key, Some(format!("bytes={first}-{last}"))).await?;
    let bytes = obj.body.collect().await.map(|b| b.into_bytes()).map_err(|e| BlobError::Unavailable(e.to_string()))?;
    count_read(bytes.len() as u64);
    Ok(bytes)
}

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
        let bytes = self
            .handle
            .block_on(read_range(&self.blobs, &self.key, start, end))
            .map_err(|e| io::Error::other(e.to_string()))?;
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

/// One entry read straight from the archive in S3 with a single ranged GET, starting at its
/// local header: the header is parsed, the name and extra field skipped, and the entry's
/// bytes inflated (or passed on, when stored) as they arrive. The CRC-32 and size are
/// checked at the end; an entry that inflates past its declared size is cut off with an
/// error. What an index lookup ([`crate::zipindex`]) hands to a download.
pub struct EntryStream {
    body: aws_sdk_s3::primitives::ByteStream,
    entry: crate::zipindex::Entry,
    /// The local header, while it is still arriving.
    header: Vec<u8>,
    /// Name and extra field bytes still to skip, once the header is known.
    skip: Option<u64>,
    /// Compressed bytes still to come.
    remaining: u64,
    inflater: Option<flate2::Decompress>,
    crc: crc32fast::Hasher,
    produced: u64,
    done: bool,
}

/// The fixed part of a local file header.
const LOCAL_HEADER: usize = 30;
/// What one inflate step may produce (and one chunk of the response hold).
const OUT_CHUNK: usize = 64 * 1024;

impl EntryStream {
    /// Starts the GET: from the entry's local header to the end of its data, with room for
    /// the largest local extra field (the central directory does not say how long that is).
    pub async fn open(
        blobs: &Blobs,
        key: &str,
        archive_size: u64,
        entry: crate::zipindex::Entry,
    ) -> Result<Self, BlobError> {
        let last = entry
            .header_offset
            .saturating_add((LOCAL_HEADER + 2 * 0xFFFF) as u64)
            .saturating_add(entry.compressed_size)
            .min(archive_size)
            .saturating_sub(1);
        let obj = blobs.get(key, Some(format!("bytes={}-{last}", entry.header_offset))).await?;
        let inflater = (entry.method == 8).then(|| flate2::Decompress::new(false));
        Ok(Self {
            body: obj.body,
            remaining: entry.compressed_size,
            entry,
            header: Vec::with_capacity(LOCAL_HEADER),
            skip: None,
            inflater,
            crc: crc32fast::Hasher::new(),
            produced: 0,
            done: false,
        })
    }

    /// The next piece of the entry's content; `None` at its end.
    pub async fn next(&mut self) -> Option<io::Result<Bytes>> {
        if self.done {
            return None;
        }
        match self.step().await {
            Ok(Some(b)) => Some(Ok(b)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }

    async fn step(&mut self) -> io::Result<Option<Bytes>> {
        loop {
            if self.remaining == 0 && self.skip == Some(0) {
                return self.finish().map(|()| None);
            }
            let mut input = match self.body.try_next().await {
                Ok(Some(b)) => b,
                Ok(None) => return Err(io::Error::other("archive ended inside an entry")),
                Err(e) => return Err(io::Error::other(format!("reading the archive: {e}"))),
            };
            let arrived = input.len();
            if self.skip.is_none() {
                let want = LOCAL_HEADER - self.header.len();
                let take = want.min(input.len());
                self.header.extend_from_slice(&input.split_to(take));
                if self.header.len() < LOCAL_HEADER {
                    count_read(arrived as u64);
                    continue;
                }
                if self.header[..4] != *b"PK\x03\x04" {
                    return Err(io::Error::other("no local file header where the index says"));
                }
                let name = u16::from_le_bytes([self.header[26], self.header[27]]);
                let extra = u16::from_le_bytes([self.header[28], self.header[29]]);
                self.skip = Some(u64::from(name) + u64::from(extra));
            }
            if let Some(skip) = self.skip.filter(|s| *s > 0) {
                let n = skip.min(input.len() as u64);
                let _ = input.split_to(n as usize);
                self.skip = Some(skip - n);
            }
            let n = self.remaining.min(input.len() as u64) as usize;
            let data = input.split_to(n);
            self.remaining -= n as u64;
            // What the entry used of this piece (the rest is read-ahead past its end).
            count_read((arrived - input.len()) as u64);
            let out = match self.inflater.as_mut() {
                None => data,
                Some(inflater) => inflate(inflater, &data)?,
            };
            if out.is_empty() {
                continue;
            }
            self.produced += out.len() as u64;
            if self.produced > self.entry.size {
                return Err(io::Error::other("entry larger than declared"));
            }
            self.crc.update(&out);
            return Ok(Some(out));
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        let crc = std::mem::take(&mut self.crc).finalize();
        if self.produced != self.entry.size || crc != self.entry.crc32 {
            return Err(io::Error::other(format!(
                "entry {:?} does not match its size or CRC-32 (the archive is damaged)",
                self.entry.name
            )));
        }
        Ok(())
    }
}

/// Inflates one piece of raw deflate data completely (a piece expands to at most about
/// 1,032 times its size, which `zipcheck` bounds per entry).
fn inflate(inflater: &mut flate2::Decompress, mut input: &[u8]) -> io::Result<Bytes> {
    let mut out = Vec::with_capacity(OUT_CHUNK.min(input.len() * 4 + 64));
    loop {
        if out.capacity() - out.len() < 1024 {
            out.reserve(OUT_CHUNK);
        }
        let before_in = inflater.total_in();
        let status = inflater
            .decompress_vec(input, &mut out, flate2::FlushDecompress::None)
            .map_err(|e| io::Error::other(format!("inflating: {e}")))?;
        let consumed = (inflater.total_in() - before_in) as usize;
        input = &input[consumed..];
        if input.is_empty() || status == flate2::Status::StreamEnd {
            return Ok(Bytes::from(out));
        }
    }
}
