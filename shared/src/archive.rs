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
use crate::error::{ApiError, ApiResult};

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

/// The smallest local file header: a signature and 26 bytes of fields, before the name.
const LOCAL_HEADER_MIN: u64 = 30;
/// Deflate cannot expand one input byte to more than 1,032 output bytes (RFC 1951's longest
/// match for the fewest bits); a little slack for the block headers of tiny entries.
const DEFLATE_MAX_RATIO: u64 = 1032;
const DEFLATE_SLACK: u64 = 1024;

/// Checks what the central directory says about the archive before it is accepted, so that
/// no one can store an archive that is dangerous to read:
///
/// - entry names must be relative paths without `..` segments or NUL (what unzip tools
///   write outside the target directory);
/// - every entry's data must lie before the central directory, and no two entries may
///   share bytes: overlapping entries are how non-recursive zip bombs reach ratios of
///   millions to one;
/// - a stored entry's sizes must agree, and a deflated entry may not claim more than
///   deflate can produce from its compressed size.
///
/// Together these bound what the archive expands to by about 1,000 times its size.
/// Blocking only in name: it reads the parsed central directory, no I/O.
pub fn check<R: Read + Seek>(archive: &ZipArchive<R>) -> Result<(), String> {
    let dir_start = archive.central_directory_start();
    let mut spans = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let entry = archive.by_index_data(i).map_err(|e| format!("entry {i}: {e}"))?;
        let name = entry.name().map_err(|e| format!("entry {i}: {e}"))?;
        if !safe_entry_name(&name) {
            return Err(format!("entry {name:?} is not a safe relative path"));
        }
        let start = entry.header_start();
        let packed = entry.compressed_size();
        let unpacked = entry.size();
        let end = start
            .checked_add(LOCAL_HEADER_MIN + name.len() as u64)
            .and_then(|v| v.checked_add(packed))
            .filter(|end| *end <= dir_start)
            .ok_or_else(|| format!("entry {name:?} lies outside the archive's data"))?;
        match entry.compression() {
            zip::CompressionMethod::Stored if packed != unpacked => {
                return Err(format!("stored entry {name:?} has a compressed size unlike its size"));
            }
            zip::CompressionMethod::Deflated
                if unpacked > packed.saturating_mul(DEFLATE_MAX_RATIO).saturating_add(DEFLATE_SLACK) =>
            {
                return Err(format!("entry {name:?} claims more than deflate can expand to"));
            }
            _ => {}
        }
        spans.push((start, end));
    }
    spans.sort_unstable();
    if spans.windows(2).any(|pair| pair[1].0 < pair[0].1) {
        return Err("entries overlap (a zip bomb)".to_owned());
    }
    Ok(())
}

/// An entry name as unzip would write it: relative, no `..` segment, no NUL. Backslashes
/// count as separators, as Windows tools read them.
fn safe_entry_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(['/', '\\'])
        && !name.contains('\0')
        && name.as_bytes().get(1).is_none_or(|b| *b != b':')
        && name.split(['/', '\\']).all(|seg| seg != "..")
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

/// An artifact path as GitLab accepts it: relative, `/`-separated, no `..`, no backslash,
/// no control character (CR and LF would end up in headers), no empty segment.
pub fn validate_entry_path(path: &str) -> ApiResult<()> {
    let ok = !path.is_empty()
        && path.len() <= 4096
        && !path.starts_with('/')
        && !path.contains('\\')
        && !path.chars().any(char::is_control)
        && path.split('/').all(|seg| !seg.is_empty() && seg != "." && seg != "..");
    if ok { Ok(()) } else { Err(ApiError::invalid("artifact_path")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::io::{Cursor, Write};
    use zip::write::SimpleFileOptions;

    fn zip_of(entries: &[(&str, &[u8], zip::CompressionMethod)]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data, method) in entries {
            w.start_file(*name, SimpleFileOptions::default().compression_method(*method)).expect("start");
            w.write_all(data).expect("write");
        }
        w.finish().expect("finish").into_inner()
    }

    /// The central directory header of `name` (signature PK\x01\x02).
    fn central_header(zip: &[u8], name: &str) -> usize {
        (0..zip.len() - 46)
            .find(|&i| {
                zip[i..i + 4] == [0x50, 0x4b, 0x01, 0x02]
                    && zip.get(i + 46..i + 46 + name.len()) == Some(name.as_bytes())
            })
            .expect("central header")
    }

    fn checked(zip: Vec<u8>) -> Result<(), String> {
        let archive = ZipArchive::new(Cursor::new(zip)).map_err(|e| format!("open: {e}"))?;
        check(&archive)
    }

    const STORED: zip::CompressionMethod = zip::CompressionMethod::Stored;
    const DEFLATED: zip::CompressionMethod = zip::CompressionMethod::Deflated;

    #[test]
    fn an_honest_archive_passes() {
        let big = vec![7u8; 1 << 20];
        let zip = zip_of(&[("a.txt", b"alpha", STORED), ("dir/zeros.bin", &big, DEFLATED), ("dir/", b"", STORED)]);
        assert_eq!(checked(zip), Ok(()));
    }

    #[test]
    fn overlapping_entries_are_a_bomb() {
        let mut zip = zip_of(&[("a", b"aaaaaaaaaaaaaaaa", STORED), ("b", b"bbbbbbbbbbbbbbbb", STORED)]);
        // Point b's central entry at a's local header: both now read the same bytes.
        let at = central_header(&zip, "b");
        zip[at + 42..at + 46].copy_from_slice(&0u32.to_le_bytes());
        let err = checked(zip).expect_err("overlap");
        assert!(err.contains("overlap"), "{err}");
    }

    #[test]
    fn sizes_that_cannot_be_true_are_refused() {
        // A stored entry whose size differs from its compressed size.
        let mut zip = zip_of(&[("a", b"aaaaaaaaaaaaaaaa", STORED)]);
        let at = central_header(&zip, "a");
        zip[at + 24..at + 28].copy_from_slice(&4096u32.to_le_bytes());
        assert!(checked(zip).expect_err("stored").contains("compressed size"));
        // A deflated entry claiming 3 GiB from a few bytes.
        let mut zip = zip_of(&[("z", &[0u8; 4096], DEFLATED)]);
        let at = central_header(&zip, "z");
        zip[at + 24..at + 28].copy_from_slice(&(3u32 << 30).to_le_bytes());
        assert!(checked(zip).expect_err("ratio").contains("deflate"));
        // A compressed size that runs into the central directory.
        let mut zip = zip_of(&[("a", b"aaaaaaaaaaaaaaaa", STORED)]);
        let at = central_header(&zip, "a");
        zip[at + 20..at + 24].copy_from_slice(&1_000_000u32.to_le_bytes());
        zip[at + 24..at + 28].copy_from_slice(&1_000_000u32.to_le_bytes());
        assert!(checked(zip).expect_err("bounds").contains("outside"));
    }

    #[test]
    fn unsafe_entry_names_are_refused() {
        for name in ["../evil", "a/../../evil", "/etc/passwd", "..\\evil", "C:/evil"] {
            let zip = zip_of(&[(name, b"x", STORED)]);
            let err = checked(zip).expect_err(name);
            assert!(err.contains("not a safe"), "{name}: {err}");
        }
        let zip = zip_of(&[("fine/..name/x..y", b"x", STORED)]);
        assert_eq!(checked(zip), Ok(()));
    }

    #[test]
    fn entry_paths() {
        for ok in ["a.txt", "dir/sub/file.log", "with space.txt", ".hidden"] {
            assert!(validate_entry_path(ok).is_ok(), "{ok}");
        }
        for bad in ["", "/etc/passwd", "../x", "a/../b", "a\\b", "a\0b", "a//b", "./a", "a\r\nb", "a\u{7f}"] {
            assert!(validate_entry_path(bad).is_err(), "{bad:?}");
        }
    }
}
