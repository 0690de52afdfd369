//! The records arca keeps in Redis, serialized as JSON.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    pub id: u64,
    pub username: String,
    pub email: Option<String>,
    pub admin: bool,
    pub created_at: u64,
    /// A blocked user's tokens and console sessions are refused (administrators block).
    #[serde(default)]
    pub blocked: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    Private,
    Public,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Project {
    pub id: u64,
    pub name: String,
    pub path: String,
    pub namespace: String,
    pub visibility: Visibility,
    pub created_at: u64,
    /// Creator's user id; 0 for the bootstrap administrator.
    pub creator_id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Project {
    pub fn path_with_namespace(&self) -> String {
        format!("{}/{}", self.namespace, self.path)
    }
}

/// GitLab access levels.
pub mod access {
    pub const GUEST: u8 = 10;
    pub const REPORTER: u8 = 20;
    pub const DEVELOPER: u8 = 30;
    pub const MAINTAINER: u8 = 40;
    pub const OWNER: u8 = 50;
    pub const ALL: [u8; 5] = [GUEST, REPORTER, DEVELOPER, MAINTAINER, OWNER];
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PersonalAccessToken {
    pub id: u64,
    pub user_id: u64,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: u64,
    /// Unix ms from which the token no longer works.
    pub expires_at: Option<u64>,
    pub revoked: bool,
    pub token_hash: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeployToken {
    pub id: u64,
    pub project_id: u64,
    pub name: String,
    pub username: String,
    pub scopes: Vec<String>,
    pub created_at: u64,
    pub expires_at: Option<u64>,
    pub revoked: bool,
    pub token_hash: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CiStatus {
    Running,
    Success,
    Failed,
    Canceled,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pipeline {
    pub id: u64,
    pub project_id: u64,
    #[serde(rename = "ref")]
    pub ref_name: String,
    pub sha: Option<String>,
    pub parent_pipeline_id: Option<u64>,
    pub status: CiStatus,
    pub created_at: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Job {
    pub id: u64,
    pub project_id: u64,
    pub pipeline_id: u64,
    pub name: String,
    pub stage: String,
    #[serde(rename = "ref")]
    pub ref_name: String,
    pub status: CiStatus,
    pub created_at: u64,
    /// Who created the job (its token acts for this user name in audit fields).
    pub user: String,
    /// When it ended (unix ms); `None` while it runs, and for jobs ended before arca kept it.
    #[serde(default)]
    pub finished_at: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageStatus {
    Default,
    Hidden,
}

impl PackageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Hidden => "hidden",
        }
    }
}

/// One package version (a name + version in a project), as stored in its Redis hash.
#[derive(Clone, Debug)]
pub struct Package {
    pub id: u64,
    pub project_id: u64,
    pub name: String,
    pub version: String,
    pub status: PackageStatus,
    pub created_at: u64,
    pub updated_at: u64,
    pub pushed_by: String,
    pub description: String,
    pub disabled: bool,
    /// Sum of the sizes of its files.
    pub size: u64,
    pub download_count: u64,
    pub last_downloaded_at: Option<u64>,
    /// The newest file, for the details view.
    pub latest: Option<PackageFile>,
    /// Set while the version is in the recycle bin.
    pub recycled_at: Option<u64>,
    pub recycled_by: Option<String>,
    /// When it last came back from the recycle bin: for retention, a use.
    pub restored_at: Option<u64>,
}

impl Package {
    /// When the version was last used, for `delete_unused_after`: downloaded, restored
    /// from the recycle bin, or (never either) created.
    pub fn last_used_at(&self) -> u64 {
        self.created_at.max(self.last_downloaded_at.unwrap_or(0)).max(self.restored_at.unwrap_or(0))
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PackageFile {
    pub id: u64,
    pub package_id: u64,
    pub project_id: u64,
    pub file_name: String,
    pub size: u64,
    pub md5: String,
    /// Empty unless the upload sent `X-Checksum-Sha1` (files stored before December 2026
    /// always have it).
    #[serde(default)]
    pub sha1: String,
    pub sha256: String,
    /// Where the bytes are in the bucket.
    pub blob_key: String,
    pub created_at: u64,
    pub pushed_by: String,
}

/// GitLab's generic-package settings of a project, and its retention policy.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PackageSettings {
    pub generic_duplicates_allowed: bool,
    pub generic_duplicate_exception_regex: String,
    /// GitLab's `keep_n_duplicated_package_files`: keep the newest N files of a name in a
    /// version (`None`: all).
    #[serde(default)]
    pub keep_n_duplicated_package_files: Option<u32>,
    /// Versions neither downloaded nor created for this many days go to the recycle bin
    /// (settings saved before `delete_unused_after` existed; read as that).
    #[serde(default)]
    pub delete_versions_not_downloaded_for_days: Option<u32>,
    /// Versions not used (downloaded, restored, or created) for this long (ms) go to the
    /// recycle bin.
    #[serde(default)]
    pub delete_unused_after_ms: Option<u64>,
    /// Per package name, only the newest N versions are kept; older ones go to the recycle
    /// bin.
    #[serde(default)]
    pub keep_n_versions: Option<u32>,
}

impl PackageSettings {
    /// Does either retention rule apply?
    pub fn has_retention(&self) -> bool {
        self.keep_n_versions.unwrap_or(0) > 0 || self.unused_after_ms().unwrap_or(0) > 0
    }

    /// `delete_unused_after` in ms, whichever form set it.
    pub fn unused_after_ms(&self) -> Option<u64> {
        self.delete_unused_after_ms
            .or(self.delete_versions_not_downloaded_for_days.map(|d| u64::from(d) * 24 * 60 * 60 * 1000))
    }
}

impl Default for PackageSettings {
    fn default() -> Self {
        Self {
            generic_duplicates_allowed: true,
            generic_duplicate_exception_regex: String::new(),
            keep_n_duplicated_package_files: None,
            delete_versions_not_downloaded_for_days: None,
            delete_unused_after_ms: None,
            keep_n_versions: None,
        }
    }
}

/// A share link: one file of one version, downloadable without a token until it expires
/// or is revoked. Only the secret's SHA-256 is stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Share {
    pub id: u64,
    pub project_id: u64,
    pub package_id: u64,
    pub file_name: String,
    pub token_hash: String,
    pub created_at: u64,
    pub expires_at: u64,
    pub created_by: String,
}

/// One artifact of a job: its archive, or a report (one per type and job).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Artifact {
    pub job_id: u64,
    pub project_id: u64,
    /// GitLab's artifact type; records written before reports existed are archives.
    #[serde(default = "archive_type")]
    pub file_type: String,
    /// `zip`, `gzip` or `raw`, as the type requires.
    #[serde(default = "zip_format")]
    pub file_format: String,
    /// The name the runner sent the file under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    pub blob_key: String,
    pub size: u64,
    pub sha256: String,
    pub entries: u64,
    pub created_at: u64,
    /// Unix ms after which it is gone; `None` never (or kept).
    pub expire_at: Option<u64>,
    /// `keep` was called: no expiry (until a project-wide artifact deletion).
    pub locked: bool,
    /// An index of the archive lies beside it ([`Artifact::index_key`]); archives stored
    /// before arca wrote indexes have none and are read through their central directory.
    #[serde(default)]
    pub indexed: bool,
}

fn archive_type() -> String {
    crate::artifact_type::ARCHIVE.to_owned()
}

fn zip_format() -> String {
    "zip".to_owned()
}

impl Artifact {
    pub fn is_archive(&self) -> bool {
        self.file_type == crate::artifact_type::ARCHIVE
    }

    /// The file's name: as uploaded, else GitLab's default for its type.
    pub fn file_name(&self) -> String {
        match &self.filename {
            Some(name) => name.clone(),
            None => {
                let format =
                    crate::artifact_type::Format::parse(&self.file_format).unwrap_or(crate::artifact_type::Format::Raw);
                crate::artifact_type::default_file_name(&self.file_type, format)
            }
        }
    }

    /// Where the archive's index is, when it has one.
    pub fn index_key(&self) -> Option<String> {
        self.indexed.then(|| crate::blobs::BlobKeys::archive_index(&self.blob_key))
    }

    /// Every object of this artifact: the archive and its index.
    pub fn blob_keys(&self) -> Vec<String> {
        std::iter::once(self.blob_key.clone()).chain(self.index_key()).collect()
    }

    pub fn expired(&self, now_ms: u64) -> bool {
        self.expire_at.is_some_and(|t| t <= now_ms)
    }
}
