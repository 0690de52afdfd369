//! arca's pure rules: which job artifact types come in which format (`artifact_type`), what a package name, version, file name or metadata key may be
//! (`validate`), GitLab's `expire_in` grammar (`expire_in`), which zip archives are safe to
//! serve entries from (`zipcheck`) and the archive index format (`zipindex`).
//!
//! No I/O and no server dependencies: the fuzz targets in `fuzz/` build this crate alone,
//! and `arca-shared` re-exports it.

pub mod artifact_type;
pub mod expire_in;
pub mod validate;
pub mod zipcheck;
pub mod zipindex;
