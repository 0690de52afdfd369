//! The JSON shapes of API answers (GitLab's field names), rendered in one place so the
//! upload and download services answer alike.

use serde_json::{Value, json};

use crate::auth::Principal;
use crate::model::{DeployToken, Job, PersonalAccessToken, Pipeline, Project, User, Visibility};
use crate::time::rfc3339;

fn date(ms: Option<u64>) -> Value {
    ms.map(|t| Value::String(rfc3339(t)[..10].to_owned())).unwrap_or(Value::Null)
}

/// A user as `viewer` may see them: the e-mail address and the administrator flag only
/// to administrators and to the user themself, so that listing members (which any
/// maintainer of any project can do) does not hand out everyone's address.
pub fn user(u: &User, viewer: &Principal) -> Value {
    let mut v = json!({
        "id": u.id,
        "username": u.username,
        "name": u.username,
        "state": "active",
        "created_at": rfc3339(u.created_at),
    });
    let privileged = match viewer {
        Principal::Admin => true,
        Principal::User { user, .. } => user.admin || user.id == u.id,
        _ => false,
    };
    if privileged {
        v["email"] = json!(u.email);
        v["is_admin"] = json!(u.admin);
    }
    v
}

/// The person behind a principal, as `GET /user` shows them: a user, or the bootstrap
/// administrator as `root`. `None` for anonymous callers and machine tokens.
pub fn signed_in(who: &Principal) -> Option<Value> {
    match who {
        Principal::Admin => Some(json!({"id": 0, "username": "root", "is_admin": true})),
        Principal::User { user, .. } => Some(self::user(user, who)),
        _ => None,
    }
}

pub fn project(p: &Project) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "path": p.path,
        "path_with_namespace": p.path_with_namespace(),
        "name_with_namespace": format!("{} / {}", p.namespace, p.name),
        "namespace": { "path": p.namespace, "full_path": p.namespace, "name": p.namespace },
        "visibility": match p.visibility { Visibility::Public => "public", Visibility::Private => "private" },
        "created_at": rfc3339(p.created_at),
    })
}

/// A personal access token; `secret` only in the answer that creates it.
pub fn pat(t: &PersonalAccessToken, secret: Option<&str>) -> Value {
    let mut v = json!({
        "id": t.id,
        "name": t.name,
        "user_id": t.user_id,
        "scopes": t.scopes,
        "revoked": t.revoked,
        "active": !t.revoked && t.expires_at.is_none_or(|e| e > crate::time::now_ms()),
        "created_at": rfc3339(t.created_at),
        "expires_at": date(t.expires_at),
    });
    if let Some(s) = secret {
        v["token"] = Value::String(s.to_owned());
    }
    v
}

pub fn deploy_token(t: &DeployToken, secret: Option<&str>) -> Value {
    let mut v = json!({
        "id": t.id,
        "name": t.name,
        "username": t.username,
        "scopes": t.scopes,
        "revoked": t.revoked,
        "expired": t.expires_at.is_some_and(|e| e <= crate::time::now_ms()),
        "expires_at": t.expires_at.map(rfc3339),
    });
    if let Some(s) = secret {
        v["token"] = Value::String(s.to_owned());
    }
    v
}

fn status(s: crate::model::CiStatus) -> Value {
    serde_json::to_value(s).unwrap_or(Value::Null)
}

pub fn pipeline(p: &Pipeline) -> Value {
    json!({
        "id": p.id,
        "project_id": p.project_id,
        "ref": p.ref_name,
        "sha": p.sha,
        "parent_pipeline_id": p.parent_pipeline_id,
        "status": status(p.status),
        "created_at": rfc3339(p.created_at),
    })
}

/// A job; `token` only in the answer that creates it.
pub fn job(j: &Job, token: Option<&str>) -> Value {
    let mut v = json!({
        "id": j.id,
        "name": j.name,
        "stage": j.stage,
        "ref": j.ref_name,
        "pipeline_id": j.pipeline_id,
        "pipeline": { "id": j.pipeline_id, "project_id": j.project_id, "ref": j.ref_name },
        "status": status(j.status),
        "created_at": rfc3339(j.created_at),
    });
    if let Some(t) = token {
        v["token"] = Value::String(t.to_owned());
    }
    v
}

/// The API path a package file is downloaded from.
pub fn package_file_path(project_id: u64, name: &str, version: &str, file_name: &str) -> String {
    format!("/api/v4/projects/{project_id}/packages/generic/{name}/{version}/{file_name}")
}

/// A package version (GitLab's package JSON plus arca's version-management fields).
/// A project's package settings; `keep_n_duplicated_package_files` as GitLab spells it
/// (`"1"` ... `"50"`, or `"all"`).
pub fn package_settings(s: &crate::model::PackageSettings) -> Value {
    json!({
        "generic_duplicates_allowed": s.generic_duplicates_allowed,
        "generic_duplicate_exception_regex": s.generic_duplicate_exception_regex,
        "keep_n_duplicated_package_files": s.keep_n_duplicated_package_files.map_or("all".to_owned(), |n| n.to_string()),
        "delete_versions_not_downloaded_for_days": s.delete_versions_not_downloaded_for_days,
    })
}

pub fn package(p: &crate::model::Package) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "version": p.version,
        "package_type": "generic",
        "status": p.status.as_str(),
        "created_at": rfc3339(p.created_at),
        "updated_at": rfc3339(p.updated_at),
        "pushed_by": p.pushed_by,
        "description": p.description,
        "size": p.size,
        "file_name": p.latest.as_ref().map(|f| f.file_name.clone()),
        "md5": p.latest.as_ref().map(|f| f.md5.clone()),
        "sha256": p.latest.as_ref().map(|f| f.sha256.clone()),
        "download_count": p.download_count,
        "last_downloaded_at": p.last_downloaded_at.map(rfc3339),
        "disabled": p.disabled,
        "_links": {
            "web_path": format!("/api/v4/projects/{}/packages/{}", p.project_id, p.id),
        },
    })
}

/// A version with its custom metadata (the details view).
pub fn package_details(p: &crate::model::Package, metadata: &std::collections::BTreeMap<String, String>) -> Value {
    let mut v = package(p);
    v["metadata"] = json!(metadata);
    v
}

/// A version in the recycle bin: when and by whom it was recycled.
pub fn binned_package(p: &crate::model::Package) -> Value {
    let mut v = package(p);
    v["recycled_at"] = json!(p.recycled_at.map(rfc3339));
    v["recycled_by"] = json!(p.recycled_by);
    v
}

/// A package file, with GitLab's `select=package_file` fields (verification fields are
/// GitLab Geo's; arca verifies checksums on upload, so a stored file is `succeeded`).
pub fn package_file(f: &crate::model::PackageFile, package: (&str, &str)) -> Value {
    let created = rfc3339(f.created_at);
    json!({
        "id": f.id,
        "package_id": f.package_id,
        "created_at": created,
        "updated_at": created,
        "size": f.size,
        "file_store": 2,
        "file_md5": f.md5,
        "file_sha1": f.sha1,
        "file_sha256": f.sha256,
        "file_name": f.file_name,
        "file": { "url": package_file_path(f.project_id, package.0, package.1, &f.file_name) },
        "file_final_path": null,
        "status": "default",
        "verification_state": 2,
        "verification_checksum": f.sha256,
        "verification_failure": null,
        "verification_retry_at": null,
        "verification_retry_count": 0,
        "verification_started_at": created,
        "verified_at": created,
        "pushed_by": f.pushed_by,
    })
}

/// A job with its artifacts, as GitLab shows it after an upload or `keep`.
pub fn job_with_artifacts(j: &Job, artifact: Option<&crate::model::Artifact>) -> Value {
    let mut v = job(j, None);
    if let Some(a) = artifact {
        v["artifacts_file"] = json!({ "filename": "artifacts.zip", "size": a.size });
        v["artifacts"] =
            json!([{ "file_type": "archive", "size": a.size, "filename": "artifacts.zip", "file_format": "zip" }]);
        v["artifacts_expire_at"] = json!(a.expire_at.map(rfc3339));
    }
    v
}
