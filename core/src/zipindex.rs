//! A compact index of a job-artifacts archive, written beside it at upload, so that reading
//! one file of an archive of 100,000 entries costs a few small range reads instead of
//! parsing its whole central directory (7 MB for 100k entries) from S3.
//!
//! Layout, little-endian:
//!
//! ```text
//! "ARCAZIX1"  u32 header length (from the start of the object)  u32 page count
//! page table: per page  u64 offset  u32 length  u16 name length  first entry's name
//! pages:      per page  u32 entries, then per entry
//!             u16 name length  name  u64 local header offset  u64 compressed size
//!             u64 size  u16 method  u32 CRC-32
//! ```
//!
//! Entries are sorted by name (bytes), cut into pages of about [`PAGE_BYTES`]. A lookup
//! reads the header (one range read, usually a few KiB), picks the one page whose first
//! name is the greatest not above the wanted one, reads it (one range read) and finds the
//! entry there. Pure: no I/O, so the fuzz targets and unit tests use it directly.

use std::io::{Read, Seek};

use zip::ZipArchive;

pub const MAGIC: &[u8; 8] = b"ARCAZIX1";
/// Bytes a first read of an index fetches: the whole header of almost any index.
pub const HEAD_BYTES: u64 = 64 * 1024;
const PAGE_BYTES: usize = 32 * 1024;

/// What reading one entry straight from the archive needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub header_offset: u64,
    pub compressed_size: u64,
    pub size: u64,
    /// 0 stored, 8 deflated (the only methods `zipcheck` admits).
    pub method: u16,
    pub crc32: u32,
}

/// Where one page of the index lies, and the first name on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub offset: u64,
    pub len: u32,
    pub first: String,
}

/// The entries of a parsed (and checked) archive, from its central directory alone.
pub fn entries<R: Read + Seek>(archive: &ZipArchive<R>) -> Result<Vec<Entry>, String> {
    (0..archive.len())
        .map(|i| {
            let e = archive.by_index_data(i).map_err(|e| format!("entry {i}: {e}"))?;
            let method = match e.compression() {
                zip::CompressionMethod::Stored => 0,
                zip::CompressionMethod::Deflated => 8,
                other => return Err(format!("entry {i}: method {other:?}")),
            };
            Ok(Entry {
                name: e.name().map_err(|e| format!("entry {i}: {e}"))?.into_owned(),
                header_offset: e.header_start(),
                compressed_size: e.compressed_size(),
                size: e.size(),
                method,
                crc32: e.crc32(),
            })
        })
        .collect()
}

/// The index object for `entries`. Names longer than a page field allows are refused
/// (zip names are at most 65,535 bytes anyway).
pub fn encode(mut entries: Vec<Entry>) -> Vec<u8> {
    entries.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    // Duplicate names: the zip crate serves the last one; keep that one only.
    entries.reverse();
    entries.dedup_by(|later, earlier| later.name == earlier.name);
    entries.reverse();
    let mut pages: Vec<(String, Vec<u8>)> = Vec::new();
    for e in &entries {
        if pages.last().is_none_or(|(_, p)| p.len() >= PAGE_BYTES) {
            pages.push((e.name.clone(), 0u32.to_le_bytes().to_vec()));
        }
        if let Some((_, page)) = pages.last_mut() {
            let count = u32::from_le_bytes([page[0], page[1], page[2], page[3]]) + 1;
            page[..4].copy_from_slice(&count.to_le_bytes());
            page.extend((e.name.len() as u16).to_le_bytes());
            page.extend(e.name.as_bytes());
            page.extend(e.header_offset.to_le_bytes());
            page.extend(e.compressed_size.to_le_bytes());
            page.extend(e.size.to_le_bytes());
            page.extend(e.method.to_le_bytes());
            page.extend(e.crc32.to_le_bytes());
        }
    }
    let header_len: usize = 16 + pages.iter().map(|(first, _)| 14 + first.len()).sum::<usize>();
    let mut out = Vec::with_capacity(header_len + pages.iter().map(|(_, p)| p.len()).sum::<usize>());
    out.extend(MAGIC);
    out.extend((header_len as u32).to_le_bytes());
    out.extend((pages.len() as u32).to_le_bytes());
    let mut offset = header_len as u64;
    for (first, page) in &pages {
        out.extend(offset.to_le_bytes());
        out.extend((page.len() as u32).to_le_bytes());
        out.extend((first.len() as u16).to_le_bytes());
        out.extend(first.as_bytes());
        offset += page.len() as u64;
    }
    for (_, page) in &pages {
        out.extend(page);
    }
    out
}

/// A cursor over bytes that fails instead of panicking when they run out.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("index truncated".into());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, String> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn name(&mut self) -> Result<String, String> {
        let len = self.u16()? as usize;
        String::from_utf8(self.take(len)?.to_vec()).map_err(|_| "index name not UTF-8".to_owned())
    }
}

/// The header's length, from the first 12 bytes of an index.
pub fn header_len(start: &[u8]) -> Result<u64, String> {
    let mut c = Cursor(start);
    if c.take(8)? != MAGIC {
        return Err("not an arca archive index".into());
    }
    Ok(u64::from(c.u32()?))
}

/// The page table, from the index's first [`header_len`] bytes (or more).
pub fn pages(header: &[u8]) -> Result<Vec<Page>, String> {
    let len = header_len(header)? as usize;
    let mut c = Cursor(header.get(12..len).ok_or("index header truncated")?);
    let count = c.u32()?;
    let mut pages = Vec::with_capacity(count.min(1 << 20) as usize);
    for _ in 0..count {
        pages.push(Page { offset: c.u64()?, len: c.u32()?, first: c.name()? });
    }
    Ok(pages)
}

/// The page that holds `name` if any page does.
pub fn page_for<'p>(pages: &'p [Page], name: &str) -> Option<&'p Page> {
    let after = pages.partition_point(|p| p.first.as_bytes() <= name.as_bytes());
    after.checked_sub(1).map(|i| &pages[i])
}

/// `name` in one page's bytes.
pub fn find(page: &[u8], name: &str) -> Result<Option<Entry>, String> {
    let mut c = Cursor(page);
    for _ in 0..c.u32()? {
        let entry = Entry {
            name: c.name()?,
            header_offset: c.u64()?,
            compressed_size: c.u64()?,
            size: c.u64()?,
            method: c.u16()?,
            crc32: c.u32()?,
        };
        if entry.name == name {
            return Ok(Some(entry));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, i: u64) -> Entry {
        Entry { name: name.into(), header_offset: i * 100, compressed_size: i, size: i * 2, method: 8, crc32: i as u32 }
    }

    #[test]
    fn every_entry_is_found_through_its_page_and_absent_names_are_not() {
        let all: Vec<Entry> = (0..5_000u64).map(|i| entry(&format!("dir{}/file{i}.bin", i % 13), i)).collect();
        let index = encode(all.clone());
        let pages = pages(&index).expect("pages");
        assert!(pages.len() > 3, "several pages: {}", pages.len());
        assert!(header_len(&index).expect("len") < HEAD_BYTES);
        for e in &all {
            let p = page_for(&pages, &e.name).expect("a page");
            let bytes = &index[p.offset as usize..(p.offset + u64::from(p.len)) as usize];
            assert_eq!(find(bytes, &e.name).expect("page").as_ref(), Some(e));
        }
        for missing in ["", "a", "dir0/file1.bin.x", "zzz"] {
            let found = page_for(&pages, missing).map(|p| {
                find(&index[p.offset as usize..(p.offset + u64::from(p.len)) as usize], missing).expect("page")
            });
            assert_eq!(found.flatten(), None, "{missing:?}");
        }
    }

    #[test]
    fn empty_and_damaged_indexes() {
        let index = encode(Vec::new());
        assert!(pages(&index).expect("pages").is_empty());
        assert!(header_len(b"not an index").is_err());
        let index = encode(vec![entry("a", 1), entry("b", 2)]);
        for cut in 0..index.len() {
            let _ = pages(&index[..cut]);
            let _ = find(&index[cut..], "a");
        }
    }

    #[test]
    fn the_last_of_duplicate_names_wins_as_in_the_zip_crate() {
        let index = encode(vec![entry("same", 1), entry("same", 2)]);
        let pages = pages(&index).expect("pages");
        let p = &pages[0];
        let bytes = &index[p.offset as usize..(p.offset + u64::from(p.len)) as usize];
        assert_eq!(find(bytes, "same").expect("page").map(|e| e.crc32), Some(2));
    }
}
