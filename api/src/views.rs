//! The JSON shapes of API answers, with GitLab's field names. Each is a type: handlers
//! return it, serde writes it, and utoipa describes it in the OpenAPI description from the
//! same definition.

use std::collections::BTreeMap;

use arca_shared::auth::Principal;
use arca_shared::model::{self, CiStatus, Visibility};
use arca_shared::time::{now_ms, rfc3339};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// `YYYY-MM-DD`, as GitLab shows a token's expiry.
fn date(ms: Option<u64>) -> Option<String> {
    ms.map(|t| rfc3339(t)[..10].to_owned())
}

/// GitLab's error shapes: `message` for most, `error` for an invalid field.
#[derive(Serialize, ToSchema)]
pub struct Error {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// An answer that is only a status line, as GitLab gives some: `{"message": "201 Created"}`.
#[derive(Serialize, ToSchema)]
pub struct Message {
    pub message: &'static str,
}

/// A user. `email` and `is_admin` only to administrators and to the user themself, so
/// that listing members (which any maintainer can do) does not hand out addresses. The
/// bootstrap administrator is `root`, id 0.
#[derive(Serialize, ToSchema)]
pub struct User {
    pub id: u64,
    pub username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "active")]
    pub state: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Only to administrators and the user themself; `null` when the user has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// Only to administrators and the user themself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_admin: Option<bool>,
    /// In the answer that adds a member: their access level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_level: Option<u8>,
}

impl User {
    /// `u` as `viewer` may see them.
    pub fn of(u: &model::User, viewer: &Principal) -> Self {
        let privileged = match viewer {
            Principal::Admin => true,
            Principal::User { user, .. } => user.admin || user.id == u.id,
            _ => false,
        };
        Self {
            id: u.id,
            username: u.username.clone(),
            name: Some(u.username.clone()),
            state: Some(if u.blocked { "blocked" } else { "active" }),
            created_at: Some(rfc3339(u.created_at)),
            email: privileged.then(|| u.email.clone()),
            is_admin: privileged.then_some(u.admin),
            access_level: None,
        }
    }

    /// The person behind a principal, as `GET /user` shows them: a user, or the bootstrap
    /// administrator as `root`. `None` for anonymous callers and machine tokens.
    pub fn signed_in(who: &Principal) -> Option<Self> {
        match who {
            Principal::Admin => Some(Self {
                id: 0,
                username: "root".into(),
                name: None,
                state: None,
                created_at: None,
                email: None,
                is_admin: Some(true),
                access_level: None,
            }),
            Principal::User { user, .. } => Some(Self::of(user, who)),
            _ => None,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Namespace {
    pub path: String,
    pub full_path: String,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct Project {
    pub id: u64,
    pub name: String,
    pub path: String,
    pub path_with_namespace: String,
    pub name_with_namespace: String,
    pub description: Option<String>,
    pub namespace: Namespace,
    pub visibility: Visibility,
    pub created_at: String,
    /// In single-project answers: the caller's own access level (GitLab's shape).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
}

#[derive(Serialize, ToSchema)]
pub struct Permissions {
    pub project_access: Option<AccessLevel>,
}

#[derive(Serialize, ToSchema)]
pub struct AccessLevel {
    pub access_level: u8,
}

impl From<&model::Project> for Project {
    fn from(p: &model::Project) -> Self {
        Self {
            id: p.id,
            name: p.name.clone(),
            path: p.path.clone(),
            path_with_namespace: p.path_with_namespace(),
            name_with_namespace: format!("{} / {}", p.namespace, p.name),
            description: p.description.clone(),
            namespace: Namespace {
                path: p.namespace.clone(),
                full_path: p.namespace.clone(),
                name: p.namespace.clone(),
            },
            visibility: p.visibility,
            created_at: rfc3339(p.created_at),
            permissions: None,
        }
    }
}

/// A personal access token; `token` only in the answer that creates it.
#[derive(Serialize, ToSchema)]
pub struct PersonalAccessToken {
    pub id: u64,
    pub name: String,
    pub user_id: u64,
    pub scopes: Vec<String>,
    pub revoked: bool,
    pub active: bool,
    pub created_at: String,
    /// `YYYY-MM-DD`.
    pub expires_at: Option<String>,
    /// The secret: only in the answer that creates the token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl PersonalAccessToken {
    pub fn of(t: &model::PersonalAccessToken, secret: Option<&str>) -> Self {
        Self {
            id: t.id,
            name: t.name.clone(),
            user_id: t.user_id,
            scopes: t.scopes.clone(),
            revoked: t.revoked,
            active: !t.revoked && t.expires_at.is_none_or(|e| e > now_ms()),
            created_at: rfc3339(t.created_at),
            expires_at: date(t.expires_at),
            token: secret.map(str::to_owned),
        }
    }
}

/// A deploy token; `token` only in the answer that creates it.
#[derive(Serialize, ToSchema)]
pub struct DeployToken {
    pub id: u64,
    pub name: String,
    pub username: String,
    pub scopes: Vec<String>,
    pub revoked: bool,
    pub expired: bool,
    pub expires_at: Option<String>,
    /// The secret: only in the answer that creates the token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl DeployToken {
    pub fn of(t: &model::DeployToken, secret: Option<&str>) -> Self {
        Self {
            id: t.id,
            name: t.name.clone(),
            username: t.username.clone(),
            scopes: t.scopes.clone(),
            revoked: t.revoked,
            expired: t.expires_at.is_some_and(|e| e <= now_ms()),
            expires_at: t.expires_at.map(rfc3339),
            token: secret.map(str::to_owned),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Pipeline {
    pub id: u64,
    pub project_id: u64,
    #[serde(rename = "ref")]
    pub ref_name: String,
    pub sha: Option<String>,
    pub parent_pipeline_id: Option<u64>,
    pub status: CiStatus,
    pub created_at: String,
}

impl From<&model::Pipeline> for Pipeline {
    fn from(p: &model::Pipeline) -> Self {
        Self {
            id: p.id,
            project_id: p.project_id,
            ref_name: p.ref_name.clone(),
            sha: p.sha.clone(),
            parent_pipeline_id: p.parent_pipeline_id,
            status: p.status,
            created_at: rfc3339(p.created_at),
        }
    }
}

/// The pipeline a job belongs to, as GitLab nests it (`sha` and `status` where the
/// pipeline was read too: `GET .../jobs/:job_id` and the job listings).
#[derive(Serialize, ToSchema)]
pub struct JobPipeline {
    pub id: u64,
    pub project_id: u64,
    #[serde(rename = "ref")]
    pub ref_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub sha: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<CiStatus>,
}

/// A job; `token` only in the answer that creates it, the artifact fields only where
/// GitLab shows them (after an upload or `keep`, and in the job listing).
#[derive(Serialize, ToSchema)]
pub struct Job {
    pub id: u64,
    pub name: String,
    pub stage: String,
    #[serde(rename = "ref")]
    pub ref_name: String,
    pub pipeline_id: u64,
    pub pipeline: JobPipeline,
    pub status: CiStatus,
    pub created_at: String,
    /// arca starts a job when it is created.
    pub started_at: String,
    /// `null` while the job runs.
    pub finished_at: Option<String>,
    /// The job token: only when the job is created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifacts_file: Option<ArtifactsFile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<Vec<JobArtifact>>,
    /// Present (possibly `null`: kept) when the job has artifacts.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub artifacts_expire_at: Option<Option<String>>,
}

/// The job's archive.
#[derive(Serialize, ToSchema)]
pub struct ArtifactsFile {
    pub filename: String,
    pub size: u64,
}

/// One artifact of a job: the archive or a report.
#[derive(Serialize, ToSchema)]
pub struct JobArtifact {
    /// `archive`, or a report type such as `junit`.
    pub file_type: String,
    pub size: u64,
    pub filename: String,
    /// `zip`, `gzip` or `raw`.
    pub file_format: String,
}

impl Job {
    pub fn of(j: &model::Job, token: Option<&str>) -> Self {
        Self {
            id: j.id,
            name: j.name.clone(),
            stage: j.stage.clone(),
            ref_name: j.ref_name.clone(),
            pipeline_id: j.pipeline_id,
            pipeline: JobPipeline {
                id: j.pipeline_id,
                project_id: j.project_id,
                ref_name: j.ref_name.clone(),
                sha: None,
                status: None,
            },
            status: j.status,
            created_at: rfc3339(j.created_at),
            started_at: rfc3339(j.created_at),
            finished_at: j.finished_at.map(rfc3339),
            token: token.map(str::to_owned),
            artifacts_file: None,
            artifacts: None,
            artifacts_expire_at: None,
        }
    }

    /// A job as `GET .../jobs/:job_id` shows it: with its live artifacts and its pipeline's
    /// commit and status.
    pub fn full(j: &model::Job, artifacts: &[model::Artifact], pipeline: Option<&model::Pipeline>) -> Self {
        let mut v = Self::with_artifacts(j, artifacts);
        if let Some(p) = pipeline {
            v.pipeline.sha = Some(p.sha.clone());
            v.pipeline.status = Some(p.status);
        }
        v
    }

    /// A job with its live artifacts (its archive first), as GitLab shows it after `keep`.
    pub fn with_artifacts(j: &model::Job, artifacts: &[model::Artifact]) -> Self {
        let mut v = Self::of(j, None);
        if artifacts.is_empty() {
            return v;
        }
        let archive = artifacts.iter().find(|a| a.is_archive());
        v.artifacts_file = archive.map(|a| ArtifactsFile { filename: a.file_name(), size: a.size });
        v.artifacts = Some(
            artifacts
                .iter()
                .map(|a| JobArtifact {
                    file_type: a.file_type.clone(),
                    size: a.size,
                    filename: a.file_name(),
                    file_format: a.file_format.clone(),
                })
                .collect(),
        );
        // GitLab keeps one expiry per job; the archive's, else the report that lasts longest.
        let expiry = match archive {
            Some(a) => a.expire_at,
            None if artifacts.iter().any(|a| a.expire_at.is_none()) => None,
            None => artifacts.iter().filter_map(|a| a.expire_at).max(),
        };
        v.artifacts_expire_at = Some(expiry.map(rfc3339));
        v
    }
}

/// A share link; `url` (which holds its secret) only in the answer that creates it.
#[derive(Serialize, ToSchema)]
pub struct Share {
    pub id: u64,
    pub package_id: u64,
    pub file_name: String,
    pub created_at: String,
    pub expires_at: String,
    pub created_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Share {
    pub fn of(s: &model::Share, url: Option<String>) -> Self {
        Self {
            id: s.id,
            package_id: s.package_id,
            file_name: s.file_name.clone(),
            created_at: rfc3339(s.created_at),
            expires_at: rfc3339(s.expires_at),
            created_by: s.created_by.clone(),
            url,
        }
    }
}

/// One entry of a job's archive, read from its central directory.
#[derive(Serialize, ToSchema)]
pub struct ArchiveEntry {
    pub path: String,
    pub size: u64,
    pub compressed_size: u64,
    pub is_dir: bool,
}

/// A project's package settings; `keep_n_duplicated_package_files` as GitLab spells it
/// (`"1"` ... `"50"`, or `"all"`).
#[derive(Serialize, ToSchema)]
pub struct PackageSettings {
    pub generic_duplicates_allowed: bool,
    pub generic_duplicate_exception_regex: String,
    pub keep_n_duplicated_package_files: String,
    /// Per package name, only the newest N versions are kept (`null`: off).
    pub keep_n_versions: Option<u32>,
    /// Versions not used for this long go to the recycle bin (`null`: off).
    pub delete_unused_after: Option<String>,
    /// The same, in whole days (`null` when off or not whole days).
    pub delete_versions_not_downloaded_for_days: Option<u32>,
}

impl From<&model::PackageSettings> for PackageSettings {
    fn from(s: &model::PackageSettings) -> Self {
        const DAY_MS: u64 = 24 * 60 * 60 * 1000;
        let unused = s.unused_after_ms();
        Self {
            generic_duplicates_allowed: s.generic_duplicates_allowed,
            generic_duplicate_exception_regex: s.generic_duplicate_exception_regex.clone(),
            keep_n_duplicated_package_files: s
                .keep_n_duplicated_package_files
                .map_or_else(|| "all".to_owned(), |n| n.to_string()),
            keep_n_versions: s.keep_n_versions,
            delete_unused_after: unused
                .map(|ms| humantime::format_duration(std::time::Duration::from_millis(ms)).to_string()),
            delete_versions_not_downloaded_for_days: unused
                .filter(|ms| ms % DAY_MS == 0)
                .and_then(|ms| u32::try_from(ms / DAY_MS).ok()),
        }
    }
}

/// A version retention would move now, and why.
#[derive(Serialize, ToSchema)]
pub struct RetentionMove {
    pub id: u64,
    pub name: String,
    pub version: String,
    pub created_at: String,
    pub last_downloaded_at: Option<String>,
    /// `keep_n_versions` or `delete_unused_after`.
    pub rule: &'static str,
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct PackageLinks {
    pub web_path: String,
}

/// A package version: GitLab's package JSON plus arca's version-management fields. The
/// details view adds `metadata`, the recycle bin `recycled_at` and `recycled_by`.
#[derive(Serialize, ToSchema)]
pub struct Package {
    pub id: u64,
    pub name: String,
    pub version: String,
    #[schema(example = "generic")]
    pub package_type: &'static str,
    #[schema(example = "default")]
    pub status: &'static str,
    pub created_at: String,
    pub updated_at: String,
    pub pushed_by: String,
    pub description: String,
    pub size: u64,
    /// The newest file's name, MD5 and SHA-256.
    pub file_name: Option<String>,
    pub md5: Option<String>,
    pub sha256: Option<String>,
    pub download_count: u64,
    pub last_downloaded_at: Option<String>,
    pub disabled: bool,
    pub _links: PackageLinks,
    /// The version's custom metadata: in the details view only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// In the recycle bin only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub recycled_at: Option<Option<String>>,
    /// In the recycle bin only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub recycled_by: Option<Option<String>>,
}

impl From<&model::Package> for Package {
    fn from(p: &model::Package) -> Self {
        Self {
            id: p.id,
            name: p.name.clone(),
            version: p.version.clone(),
            package_type: "generic",
            status: p.status.as_str(),
            created_at: rfc3339(p.created_at),
            updated_at: rfc3339(p.updated_at),
            pushed_by: p.pushed_by.clone(),
            description: p.description.clone(),
            size: p.size,
            file_name: p.latest.as_ref().map(|f| f.file_name.clone()),
            md5: p.latest.as_ref().map(|f| f.md5.clone()),
            sha256: p.latest.as_ref().map(|f| f.sha256.clone()),
            download_count: p.download_count,
            last_downloaded_at: p.last_downloaded_at.map(rfc3339),
            disabled: p.disabled,
            _links: PackageLinks { web_path: format!("/api/v4/projects/{}/packages/{}", p.project_id, p.id) },
            metadata: None,
            recycled_at: None,
            recycled_by: None,
        }
    }
}

impl Package {
    /// The details view: with the version's custom metadata.
    pub fn details(p: &model::Package, metadata: BTreeMap<String, String>) -> Self {
        Self { metadata: Some(metadata), ..Self::from(p) }
    }

    /// A version in the recycle bin: when and by whom it was recycled.
    pub fn binned(p: &model::Package) -> Self {
        Self {
            recycled_at: Some(p.recycled_at.map(rfc3339)),
            recycled_by: Some(p.recycled_by.clone()),
            ..Self::from(p)
        }
    }
}

/// The API path a package file is downloaded from.
pub fn package_file_path(project_id: u64, name: &str, version: &str, file_name: &str) -> String {
    format!("/api/v4/projects/{project_id}/packages/generic/{name}/{version}/{file_name}")
}

#[derive(Serialize, ToSchema)]
pub struct FileUrl {
    pub url: String,
}

/// A package file, with GitLab's `select=package_file` fields (verification fields are
/// GitLab Geo's; arca verifies checksums on upload, so a stored file is `succeeded`).
#[derive(Serialize, ToSchema)]
pub struct PackageFile {
    pub id: u64,
    pub package_id: u64,
    pub created_at: String,
    pub updated_at: String,
    pub size: u64,
    pub file_store: u8,
    pub file_md5: String,
    /// `null` unless the upload sent `X-Checksum-Sha1` (GitLab stores only SHA-256 for
    /// generic package files).
    pub file_sha1: Option<String>,
    pub file_sha256: String,
    pub file_name: String,
    pub file: FileUrl,
    #[schema(value_type = Option<String>)]
    pub file_final_path: Option<()>,
    pub status: &'static str,
    pub verification_state: u8,
    pub verification_checksum: String,
    #[schema(value_type = Option<String>)]
    pub verification_failure: Option<()>,
    #[schema(value_type = Option<String>)]
    pub verification_retry_at: Option<()>,
    pub verification_retry_count: u32,
    pub verification_started_at: String,
    pub verified_at: String,
    pub pushed_by: String,
}

impl PackageFile {
    /// `f`, a file of version `package` (`(name, version)`).
    pub fn of(f: &model::PackageFile, package: (&str, &str)) -> Self {
        let created = rfc3339(f.created_at);
        Self {
            id: f.id,
            package_id: f.package_id,
            created_at: created.clone(),
            updated_at: created.clone(),
            size: f.size,
            file_store: 2,
            file_md5: f.md5.clone(),
            file_sha1: (!f.sha1.is_empty()).then(|| f.sha1.clone()),
            file_sha256: f.sha256.clone(),
            file_name: f.file_name.clone(),
            file: FileUrl { url: package_file_path(f.project_id, package.0, package.1, &f.file_name) },
            file_final_path: None,
            status: "default",
            verification_state: 2,
            verification_checksum: f.sha256.clone(),
            verification_failure: None,
            verification_retry_at: None,
            verification_retry_count: 0,
            verification_started_at: created.clone(),
            verified_at: created,
            pushed_by: f.pushed_by.clone(),
        }
    }
}

/// What a generic publish answers: GitLab's status line, or the stored file when asked
/// with `select=package_file`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum Published {
    Message(Message),
    File(Box<PackageFile>),
}

/// One metadata entry, as `PUT .../metadata/:key` stored it.
#[derive(Serialize, ToSchema)]
pub struct MetadataEntry {
    pub key: String,
    pub value: String,
}

/// An entry of a project's audit trail, as the store recorded it.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Event {
    pub created_at: String,
    /// The user name of who did it.
    pub author: String,
    /// Who did it, and with which kind of token.
    #[schema(value_type = Object)]
    pub actor: Value,
    /// `package_file.created`, `package.recycled`, ...
    pub action: String,
    pub package_id: Option<u64>,
    pub package_name: Option<String>,
    pub package_version: Option<String>,
    #[schema(value_type = Object)]
    pub details: Value,
}

/// An allowlist entry just added.
#[derive(Serialize, ToSchema)]
pub struct AllowlistEntry {
    pub source_project_id: u64,
    pub target_project_id: u64,
}

/// A project hook. Its secret is never shown: `has_secret` says whether deliveries are
/// signed.
#[derive(Serialize, ToSchema)]
pub struct Hook {
    pub id: u64,
    pub project_id: u64,
    pub url: String,
    pub events: Vec<arca_shared::webhooks::HookEvent>,
    pub has_secret: bool,
    pub created_at: String,
    pub created_by: String,
}

impl Hook {
    pub fn of(h: &arca_shared::webhooks::Hook) -> Self {
        Self {
            id: h.id,
            project_id: h.project_id,
            url: h.url.clone(),
            events: h.events.clone(),
            has_secret: h.secret.is_some(),
            created_at: rfc3339(h.created_at),
            created_by: h.created_by.clone(),
        }
    }
}
