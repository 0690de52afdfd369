//! Digests computed as bytes stream past, and the client's integrity headers they are
//! checked against. SHA-256 and MD5 are computed for every upload: SHA-256 is the file's
//! identity (`ETag`, `file_sha256`, conditional publish), MD5 is answered on every download
//! (`X-Checksum-Md5`) and in a version's details. SHA-1 is computed only when the client
//! sends `X-Checksum-Sha1` to have it checked: GitLab stores only SHA-256 for generic
//! package files (its `file_sha1` is `null` there), and skipping it takes about half a
//! CPU-second off every GiB uploaded (docs/BENCHMARKS.md, round four).

use base64::Engine;
use std::sync::Arc;

use bytes::Bytes;
use http::HeaderMap;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};

/// The digests, one after the other on the caller's thread: for small bodies, where
/// handing bytes to other threads would cost more than it saves.
#[derive(Default)]
struct Digesters {
    md5: Md5,
    sha1: Option<Sha1>,
    sha256: Sha256,
}

/// Below this many bytes a body is hashed inline; past it, on two threads.
const PARALLEL_FROM: u64 = 1 << 20;
/// Batches queued per hashing thread: bounds the memory a slow hash can hold back.
const QUEUED_BATCHES: usize = 4;
/// Body frames are gathered into batches of about this many bytes before they go to the
/// hashing threads: one wake-up per batch rather than per 16 KiB frame.
const BATCH_BYTES: usize = 256 * 1024;

/// Hashes a body as it streams past. Small bodies are hashed inline. A large one moves to
/// two blocking threads, MD5 on one (it has no hardware help and is the slowest), SHA-256
/// (and SHA-1 when asked for) on the other (the CPU's SHA extensions help both), fed
/// through bounded queues: the upload then runs at the speed of MD5 rather than of all
/// three in a row, and a hash that falls behind holds the request body back instead of
/// buffering it.
pub struct Hasher {
    state: State,
    size: u64,
}

// One per upload in flight: the inline digests' few hundred bytes need no box.
#[allow(clippy::large_enum_variant)]
enum State {
    Inline(Digesters),
    Parallel(Parallel),
}

struct Parallel {
    batch: Vec<Bytes>,
    batch_bytes: usize,
    md5_tx: tokio::sync::mpsc::Sender<Arc<Vec<Bytes>>>,
    sha_tx: tokio::sync::mpsc::Sender<Arc<Vec<Bytes>>>,
    md5: tokio::task::JoinHandle<Md5>,
    sha: tokio::task::JoinHandle<(Option<Sha1>, Sha256)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digests {
    pub md5: String,
    /// Only when it was asked for (`X-Checksum-Sha1`).
    pub sha1: Option<String>,
    pub sha256: String,
    pub size: u64,
}

fn hashing_stopped() -> ApiError {
    ApiError::internal("hash", "a hashing thread stopped")
}

impl Hasher {
    /// A hasher for one body; `sha1` adds SHA-1 to SHA-256 and MD5.
    pub fn new(sha1: bool) -> Self {
        let digesters = Digesters { sha1: sha1.then(Sha1::default), ..Digesters::default() };
        Self { state: State::Inline(digesters), size: 0 }
    }

    pub async fn update(&mut self, bytes: Bytes) -> ApiResult<()> {
        self.size += bytes.len() as u64;
        if self.size > PARALLEL_FROM
            && matches!(self.state, State::Inline(_))
            && let State::Inline(d) = std::mem::replace(&mut self.state, State::Inline(Digesters::default()))
        {
            self.state = State::Parallel(Parallel::start(d));
        }
        match &mut self.state {
            State::Inline(d) => {
                d.md5.update(&bytes);
                if let Some(sha1) = &mut d.sha1 {
                    sha1.update(&bytes);
                }
                d.sha256.update(&bytes);
            }
            State::Parallel(p) => {
                p.batch_bytes += bytes.len();
                p.batch.push(bytes);
                if p.batch_bytes >= BATCH_BYTES {
                    p.send().await?;
                }
            }
        }
        Ok(())
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub async fn finish(self) -> ApiResult<Digests> {
        let (md5, sha1, sha256) = match self.state {
            State::Inline(d) => (d.md5, d.sha1, d.sha256),
            State::Parallel(mut p) => {
                p.send().await?;
                drop(p.md5_tx);
                drop(p.sha_tx);
                let md5 = p.md5.await.map_err(|e| ApiError::internal("md5 task", e))?;
                let (sha1, sha256) = p.sha.await.map_err(|e| ApiError::internal("sha task", e))?;
                (md5, sha1, sha256)
            }
        };
        Ok(Digests {
            md5: hex::encode(md5.finalize()),
            sha1: sha1.map(|s| hex::encode(s.finalize())),
            sha256: hex::encode(sha256.finalize()),
            size: self.size,
        })
    }
}

impl Parallel {
    /// Carries on from where the inline digests stand.
    fn start(d: Digesters) -> Self {
        let (md5_tx, mut md5_rx) = tokio::sync::mpsc::channel::<Arc<Vec<Bytes>>>(QUEUED_BATCHES);
        let (sha_tx, mut sha_rx) = tokio::sync::mpsc::channel::<Arc<Vec<Bytes>>>(QUEUED_BATCHES);
        let Digesters { mut md5, mut sha1, mut sha256 } = d;
        let md5 = tokio::task::spawn_blocking(move || {
            while let Some(batch) = md5_rx.blocking_recv() {
                batch.iter().for_each(|b| md5.update(b));
            }
            md5
        });
        let sha = tokio::task::spawn_blocking(move || {
            while let Some(batch) = sha_rx.blocking_recv() {
                for b in batch.iter() {
                    if let Some(sha1) = &mut sha1 {
                        sha1.update(b);
                    }
                    sha256.update(b);
                }
            }
            (sha1, sha256)
        });
        Self { batch: Vec::new(), batch_bytes: 0, md5_tx, sha_tx, md5, sha }
    }

    /// Hands the gathered frames to both threads (shared, not copied).
    async fn send(&mut self) -> ApiResult<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = Arc::new(std::mem::take(&mut self.batch));
        self.batch_bytes = 0;
        self.md5_tx.send(batch.clone()).await.map_err(|_| hashing_stopped())?;
        self.sha_tx.send(batch).await.map_err(|_| hashing_stopped())?;
        Ok(())
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

    /// Whether the client asked for SHA-1 to be checked (then it is computed and kept).
    pub fn wants_sha1(&self) -> bool {
        self.sha1.is_some()
    }

    /// Compares with what arrived; names the first header that does not match.
    pub fn verify(&self, got: &Digests) -> ApiResult<()> {
        for (name, md5) in &self.md5 {
            if *md5 != got.md5 {
                return Err(ApiError::bad_request(format!("{name} does not match the uploaded file")));
            }
        }
        if self.sha1.as_ref().is_some_and(|v| Some(v) != got.sha1.as_ref()) {
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
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().expect("runtime");
        rt.block_on(async {
            let mut h = Hasher::new(true);
            for part in data.chunks(3) {
                h.update(Bytes::copy_from_slice(part)).await.expect("hash");
            }
            h.finish().await.expect("digests")
        })
    }

    #[test]
    fn known_digests() {
        let d = digests(b"hello");
        assert_eq!(d.md5, "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(d.sha1.as_deref(), Some("aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"));
        assert_eq!(d.sha256, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(d.size, 5);
        assert_eq!(digests(b"").md5, "d41d8cd98f00b204e9800998ecf8427e");
    }

    /// Past the inline threshold the digests move to two threads mid-stream; they must
    /// come out as if computed in one go.
    #[test]
    fn large_bodies_hashed_on_threads_give_the_same_digests() {
        let data: Vec<u8> = (0..3 * PARALLEL_FROM + 12_345).map(|i| (i * 31 % 251) as u8).collect();
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().expect("runtime");
        for sha1 in [true, false] {
            let got = rt.block_on(async {
                let mut h = Hasher::new(sha1);
                for part in data.chunks(65_537) {
                    h.update(Bytes::copy_from_slice(part)).await.expect("hash");
                }
                h.finish().await.expect("digests")
            });
            assert_eq!(got.md5, hex::encode(Md5::digest(&data)));
            assert_eq!(got.sha1, sha1.then(|| hex::encode(Sha1::digest(&data))));
            assert_eq!(got.sha256, hex::encode(Sha256::digest(&data)));
            assert_eq!(got.size, data.len() as u64);
        }
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
        // Without the header SHA-1 is not asked for.
        assert!(!Expected::from_headers(&HeaderMap::new()).expect("parse").wants_sha1());
        assert!(Expected::from_headers(&h).expect("parse").wants_sha1());
        let mut bad = HeaderMap::new();
        bad.insert("x-checksum-md5", HeaderValue::from_static("xyz"));
        assert!(Expected::from_headers(&bad).is_err());
        let mut bad = HeaderMap::new();
        bad.insert("content-md5", HeaderValue::from_static("bm90IG1kNQ=="));
        assert!(Expected::from_headers(&bad).is_err());
    }
}
