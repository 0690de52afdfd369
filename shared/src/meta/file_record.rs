//! How a package file's record is kept in Redis (`keys::package_file`).
//!
//! A registry holds millions of these, each written once and never changed, so the record
//! is terse JSON: one-letter fields, the digests in unpadded URL-safe base64 instead of
//! hex, the bucket key as the upload id alone when it is the usual
//! `packages/<project>/<upload id>` (the project is in the Redis key), and the project
//! id left out. About 200 bytes where the full record took 310. The publish script
//! prepends the package id (`{"p":<id>,`), which only it knows.
//!
//! Records written before December 2026 are [`PackageFile`]'s full JSON; [`decode`]
//! reads both, and the cleanup worker's layout migration rewrites the old ones.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};

use crate::blobs::BlobKeys;
use crate::model::PackageFile;

/// What a compact record starts with: the package id the publish script put first.
const COMPACT_PREFIX: &str = "{\"p\":";

#[derive(Serialize, Deserialize)]
struct Compact {
    /// Written by the publish script, not by [`encode`].
    #[serde(default, skip_serializing)]
    p: u64,
    i: u64,
    n: String,
    s: u64,
    m: String,
    /// SHA-1, only when the upload asked for it to be checked.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    x: String,
    h: String,
    /// The upload id of a key `packages/<project>/<upload id>`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    k: Option<String>,
    /// ...or any other key, whole.
    #[serde(default, rename = "K", skip_serializing_if = "Option::is_none")]
    full_key: Option<String>,
    c: u64,
    u: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    #[error("digest is neither hex nor base64")]
    Digest,
}

fn pack_digest(hex_digest: &str) -> Result<String, RecordError> {
    if hex_digest.is_empty() {
        return Ok(String::new());
    }
    hex::decode(hex_digest).map(|raw| B64.encode(raw)).map_err(|_| RecordError::Digest)
}

fn unpack_digest(packed: &str) -> Result<String, RecordError> {
    B64.decode(packed).map(hex::encode).map_err(|_| RecordError::Digest)
}

/// The record of a new file, without its package id (the publish script adds it).
pub fn encode(file: &PackageFile) -> Result<String, RecordError> {
    let usual = BlobKeys::package_file(file.project_id, "");
    let (k, full_key) = match file.blob_key.strip_prefix(&usual) {
        Some(upload_id) if !upload_id.is_empty() => (Some(upload_id.to_owned()), None),
        _ => (None, Some(file.blob_key.clone())),
    };
    let compact = Compact {
        p: 0,
        i: file.id,
        n: file.file_name.clone(),
        s: file.size,
        m: pack_digest(&file.md5)?,
        x: pack_digest(&file.sha1)?,
        h: pack_digest(&file.sha256)?,
        k,
        full_key,
        c: file.created_at,
        u: file.pushed_by.clone(),
    };
    Ok(serde_json::to_string(&compact)?)
}

/// What the publish script stores: the record with the package id first (Lua does the
/// same concatenation; this is for tests and tools that write records themselves).
pub fn with_package_id(encoded: &str, package_id: u64) -> String {
    format!("{COMPACT_PREFIX}{package_id},{}", &encoded[1..])
}

/// A stored record of a file of `project_id`, in either form.
pub fn decode(project_id: u64, raw: &str) -> Result<PackageFile, RecordError> {
    if !raw.starts_with(COMPACT_PREFIX) {
        return Ok(serde_json::from_str(raw)?);
    }
    let c: Compact = serde_json::from_str(raw)?;
    let blob_key = match (c.k, c.full_key) {
        (Some(upload_id), _) => BlobKeys::package_file(project_id, &upload_id),
        (None, Some(key)) => key,
        (None, None) => String::new(),
    };
    Ok(PackageFile {
        id: c.i,
        package_id: c.p,
        project_id,
        file_name: c.n,
        size: c.s,
        md5: unpack_digest(&c.m)?,
        sha1: if c.x.is_empty() { String::new() } else { unpack_digest(&c.x)? },
        sha256: unpack_digest(&c.h)?,
        blob_key,
        created_at: c.c,
        pushed_by: c.u,
    })
}

/// Whether a stored record is the full JSON of the first layouts.
pub fn is_full(raw: &str) -> bool {
    !raw.starts_with(COMPACT_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(blob_key: &str, sha1: &str) -> PackageFile {
        PackageFile {
            id: 42,
            package_id: 0,
            project_id: 7,
            file_name: "linux/amd64/tool \"x\".tar.gz".into(),
            size: 8 << 30,
            md5: "9dd4e461268c8034f5c8564e155c67a6".into(),
            sha1: sha1.into(),
            sha256: "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881".into(),
            blob_key: blob_key.into(),
            created_at: 1_796_247_069_078,
            pushed_by: "root".into(),
        }
    }

    #[test]
    fn a_record_reads_back_as_written_with_its_package_id() {
        for (key, sha1) in [
            ("packages/7/fd31e9ef-2496-4308-92fe-98d1e784efd6", ""),
            ("projects/7/packages/seed-1", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            ("packages/7/", ""),
        ] {
            let f = file(key, sha1);
            let stored = with_package_id(&encode(&f).expect("encode"), 9);
            assert!(!is_full(&stored));
            let back = decode(7, &stored).expect("decode");
            assert_eq!(back.package_id, 9);
            assert_eq!(
                serde_json::to_value(PackageFile { package_id: 0, ..back }).expect("json"),
                serde_json::to_value(&f).expect("json"),
                "{stored}"
            );
        }
    }

    #[test]
    fn the_usual_record_is_short() {
        let f = file("packages/7/fd31e9ef-2496-4308-92fe-98d1e784efd6", "");
        let full = serde_json::to_string(&f).expect("json");
        let stored = with_package_id(&encode(&f).expect("encode"), 9);
        assert!(stored.len() * 3 < full.len() * 2, "{} vs {}: {stored}", stored.len(), full.len());
    }

    #[test]
    fn records_of_the_first_layouts_still_read() {
        let f = file("packages/7/u", "");
        let full = serde_json::to_string(&PackageFile { package_id: 3, ..f.clone() }).expect("json");
        assert!(is_full(&full));
        let back = decode(7, &full).expect("decode");
        assert_eq!((back.package_id, back.sha256, back.blob_key), (3, f.sha256, f.blob_key));
    }

    #[test]
    fn a_damaged_digest_is_an_error() {
        assert!(encode(&file("packages/7/u", "not hex")).is_err());
        assert!(decode(7, r#"{"p":1,"i":1,"n":"a","s":1,"m":"!!","h":"","c":1,"u":"x"}"#).is_err());
    }
}
