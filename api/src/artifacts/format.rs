//! Checking that a report is in the format its type requires, as its bytes stream past.
//!
//! A `gzip` report is inflated on the way through (into nothing: only the stream's
//! validity matters), so a body that is not gzip, is cut short or fails its CRC is refused
//! before it is stored. Zip artifacts are checked after the upload from their central
//! directory; raw ones are taken as they come.

use std::io::{self, Write};

use crate::upload::Inspect;
use arca_shared::{ApiError, ApiResult};
use flate2::write::MultiGzDecoder;

/// How far a gzip report may inflate. Reports are text that compresses ten- or twentyfold;
/// this refuses a decompression bomb long before its inflation costs real CPU time.
pub(crate) const GZIP_INFLATED_LIMIT: u64 = 4 << 30;

/// Counts what the decoder produces and throws it away.
struct Budget {
    written: u64,
}

impl Write for Budget {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written += buf.len() as u64;
        if self.written > GZIP_INFLATED_LIMIT {
            return Err(io::Error::other("inflates past the limit"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A gzip stream's validity (every member's header, deflate data and CRC), checked chunk
/// by chunk.
pub(crate) struct GzipCheck {
    decoder: MultiGzDecoder<Budget>,
}

impl Default for GzipCheck {
    fn default() -> Self {
        Self { decoder: MultiGzDecoder::new(Budget { written: 0 }) }
    }
}

fn not_gzip(e: &io::Error) -> ApiError {
    tracing::info!(error = %e, "refusing a gzip artifact that does not inflate");
    ApiError::bad_request("the artifact is not a valid gzip file, as its artifact_format says it is")
}

impl Inspect for GzipCheck {
    fn chunk(&mut self, bytes: &[u8]) -> ApiResult<()> {
        // The runner sends a report of several files as one gzip member per file; bytes
        // after the last member that do not start another make `write_all` fail.
        self.decoder.write_all(bytes).map_err(|e| not_gzip(&e))
    }

    fn end(&mut self) -> ApiResult<()> {
        self.decoder.try_finish().map_err(|e| not_gzip(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(data).expect("write");
        enc.finish().expect("finish")
    }

    fn check(chunks: &[&[u8]]) -> bool {
        let mut c = GzipCheck::default();
        chunks.iter().all(|b| c.chunk(b).is_ok()) && c.end().is_ok()
    }

    #[test]
    fn a_gzip_stream_passes_in_any_chunking() {
        let data = gzip(&b"<testsuite/>\n".repeat(1000));
        assert!(check(&[&data]));
        let (a, b) = data.split_at(7);
        assert!(check(&[a, b]));
        let singles: Vec<&[u8]> = data.chunks(1).collect();
        assert!(check(&singles));
        let second = gzip(b"<testsuite name=\"two\"/>\n");
        assert!(check(&[&data, &second]), "one member per file, as the runner sends several");
    }

    #[test]
    fn anything_else_is_refused() {
        let data = gzip(b"KEY=value\n");
        assert!(!check(&[b"KEY=value\n"]), "plain text");
        assert!(!check(&[&data[..data.len() - 3]]), "cut short");
        let mut bad_crc = data.clone();
        let n = bad_crc.len();
        bad_crc[n - 6] ^= 0xff;
        assert!(!check(&[&bad_crc]), "wrong CRC");
        let mut trailing = data.clone();
        trailing.extend_from_slice(b"junk after the stream");
        assert!(!check(&[&trailing]), "trailing bytes");
        assert!(!check(&[]), "empty");
    }
}
