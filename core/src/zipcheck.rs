//! The central-directory checks an artifacts archive passes before arca accepts it.
//! Pure: it reads a parsed [`ZipArchive`] and does no I/O of its own, so it builds without
//! the server half of the crate (the fuzz targets in `fuzz/` use it that way).

use std::io::{Read, Seek};

use zip::ZipArchive;

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
///   deflate can produce from its compressed size; other compression methods (which arca
///   cannot read single files from) are refused.
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
            zip::CompressionMethod::Stored | zip::CompressionMethod::Deflated => {}
            // What arca cannot read out of the archive it cannot vouch for either: the
            // declared size of a bzip2 or unknown-method entry bounds nothing.
            other => return Err(format!("entry {name:?} uses a compression method arca cannot read ({other:?})")),
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
    fn unknown_compression_methods_are_refused() {
        // Found by the fuzzer: method 4104 claiming 2 GB out of nothing.
        let mut zip = zip_of(&[("empty", b"", STORED)]);
        let at = central_header(&zip, "empty");
        zip[at + 10..at + 12].copy_from_slice(&4104u16.to_le_bytes());
        zip[at + 24..at + 28].copy_from_slice(&2_046_820_352u32.to_le_bytes());
        assert!(checked(zip).expect_err("method").contains("compression method"));
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
}
