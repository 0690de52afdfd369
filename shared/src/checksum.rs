//! Digests computed as bytes stream past (MD5, SHA-1, SHA-256), and the client's integrity
//! headers they are checked against.

use base64::Engine;
use http::HeaderMap;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};

#[derive(Default)]
pub struct Hasher {
    md5: Md5,
    sha1: Sha1,
    sha256: Sha256,
    size: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digests {
    pub md5: String,
    pub sha1: String,
    pub sha256: String,
    pub size: u64,
}

impl Hasher {
    pub fn update(&mut self, bytes: &[u8]) {
        self.md5.update(bytes);
        self.sha1.update(bytes);
        self.sha256.update(bytes);
        self.size += bytes.len() as u64;
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn finish(self) -> Digests {
        Digests {
            md5: hex::encode(self.md5.finalize()),
            sha1: hex::encode(self.sha1.finalize()),
            sha256: hex::encode(self.sha256.finalize()),
            size: self.size,
        }
    }
}

/// What the client said the body's digests are, from `Content-MD5` (base64, RFC 1864),
/// `X-Checksum-Sha256`, `X-Checksum-Sha1` and `X-Checksum-Md5` (hex).
#[derive(Debug, Default)]
pub struct Expected {
    md5: Vec<(&'static str, String)>,
    sha1: Option<String>,
    sha256: Option<String>,
}

impl Expected {
    /// Reads the headers; a malformed one is a 400 before any byte is stored.
    pub fn from_headers(headers: &HeaderMap) -> ApiResult<Self> {
        // Named in errors as clients write them.
        let display = |name: &str| match name {
            "x-checksum-sha1" => "X-Checksum-Sha1",
            "x-checksum-sha256" => "X-Checksum-Sha256",
            "x-checksum-md5" => "X-Checksum-Md5",
            _ => "Content-MD5",
        };
        let text = |name: &'static str| -> ApiResult<Option<String>> {
            headers
                .get(name)
                .map(|v| v.to_str().map(|s| s.trim().to_owned()).map_err(|_| ApiError::invalid(display(name))))
                .transpose()
        };
        let hex_of = |name: &'static str, len: usize| -> ApiResult<Option<String>> {
            match text(name)? {
                Some(v) if v.len() == len && v.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    Ok(Some(v.to_ascii_lowercase()))
                }
                Some(_) => Err(ApiError::invalid(display(name))),
                None => Ok(None),
            }
        };
        let mut expected =
            Self { sha1: hex_of("x-checksum-sha1", 40)?, sha256: hex_of("x-checksum-sha256", 64)?, ..Self::default() };
        if let Some(v) = hex_of("x-checksum-md5", 32)? {
            expected.md5.push(("X-Checksum-Md5", v));
        }
        if let Some(v) = text("content-md5")? {
            let raw =
                base64::engine::general_purpose::STANDARD.decode(&v).map_err(|_| ApiError::invalid("Content-MD5"))?;
            if raw.len() != 16 {
                return Err(ApiError::invalid("Content-MD5"));
            }
            expected.md5.push(("Content-MD5", hex::encode(raw)));
        }
        Ok(expected)
    }

    /// Compares with what arrived; names the first header that does not match.
    pub fn verify(&self, got: &Digests) -> ApiResult<()> {
        for (name, md5) in &self.md5 {
            if *md5 != got.md5 {
                return Err(ApiError::bad_request(format!("{name} does not match the uploaded file")));
            }
        }
        if self.sha1.as_ref().is_some_and(|v| *v != got.sha1) {
            return Err(ApiError::bad_request("X-Checksum-Sha1 does not match the uploaded file"));
        }
        if self.sha256.as_ref().is_some_and(|v| *v != got.sha256) {
            return Err(ApiError::bad_request("X-Checksum-Sha256 does not match the uploaded file"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn digests(data: &[u8]) -> Digests {
        let mut h = Hasher::default();
        for part in data.chunks(3) {
            h.update(part);
        }
        h.finish()
    }

    #[test]
    fn known_digests() {
        let d = digests(b"hello");
        assert_eq!(d.md5, "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(d.sha1, "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d");
        assert_eq!(d.sha256, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(d.size, 5);
        assert_eq!(digests(b"").md5, "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn headers_verify_and_mismatches_are_named() {
        let d = digests(b"hello");
        let mut h = HeaderMap::new();
        h.insert("content-md5", HeaderValue::from_static("XUFAKrxLKna5cZ2REBfFkg=="));
        h.insert("x-checksum-sha256", HeaderValue::from_str(&d.sha256.to_uppercase()).expect("hv"));
        Expected::from_headers(&h).expect("parse").verify(&d).expect("match");
        h.insert("x-checksum-sha1", HeaderValue::from_static("0000000000000000000000000000000000000000"));
        let err = Expected::from_headers(&h).expect("parse").verify(&d).expect_err("mismatch");
        assert!(err.to_string().contains("X-Checksum-Sha1"));
        let mut bad = HeaderMap::new();
        bad.insert("x-checksum-md5", HeaderValue::from_static("xyz"));
        assert!(Expected::from_headers(&bad).is_err());
        let mut bad = HeaderMap::new();
        bad.insert("content-md5", HeaderValue::from_static("bm90IG1kNQ=="));
        assert!(Expected::from_headers(&bad).is_err());
    }
}
