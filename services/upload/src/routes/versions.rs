//! Version management (docs/ARCHITECTURE.md, "Version management"): edit or disable one
//! version, its custom metadata, and the recycle bin. Every change lands in the project's
//! audit trail.

use arca_shared::http::{Params, Path, opt_boolean};
use arca_shared::meta::versions::{Event, Restored};
use arca_shared::model::{Package, Project};
use arca_shared::policy::Action;
use arca_shared::time::now_ms;
use arca_shared::{ApiError, ApiResult, App, AppState, Auth, validate, views};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::packages::description;

async fn live_package(app: &App, project: &Project, package_id: u64) -> ApiResult<Package> {
    app.meta.package(project.id, package_id).await?.ok_or(ApiError::NotFound("Package"))
}

#[derive(Deserialize)]
pub struct PackageChange {
    description: Option<String>,
    #[serde(default, deserialize_with = "opt_boolean")]
    disabled: Option<bool>,
}

/// `PATCH .../packages/:package_id`: a developer may edit the description; disabling or
/// enabling a version is a maintainer's call.
pub async fn update(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, package_id)): Path<(String, u64)>,
    Params(change): Params<PackageChange>,
) -> ApiResult<Json<Value>> {
    let need = if change.disabled.is_some() { Action::ManagePackages } else { Action::PublishPackages };
    let project = app.project(&who, &id, need).await?;
    let package = live_package(&app, &project, package_id).await?;
    let new_description = change.description.as_deref().map(|d| description(Some(d))).transpose()?;
    if new_description.is_none() && change.disabled.is_none() {
        return Err(ApiError::bad_request("give description or disabled"));
    }
    if !app.meta.update_package(&package, new_description.as_deref(), change.disabled).await? {
        return Err(ApiError::NotFound("Package"));
    }
    let actor = who.actor();
    if let Some(disabled) = change.disabled.filter(|d| *d != package.disabled) {
        let action = if disabled { "package.disabled" } else { "package.enabled" };
        app.meta
            .record_event(
                project.id,
                Event { actor: &actor, action, package: Some((&package).into()), detail: json!({}) },
            )
            .await;
    }
    if let Some(d) = &new_description {
        let detail = json!({ "description": d });
        app.meta
            .record_event(
                project.id,
                Event {
                    actor: &actor,
                    action: "package.description_changed",
                    package: Some((&package).into()),
                    detail,
                },
            )
            .await;
    }
    tracing::info!(project_id = project.id, package_id, by = %actor.username, disabled = ?change.disabled, "package version updated");
    let updated = live_package(&app, &project, package_id).await?;
    let metadata = app.meta.package_metadata(&updated).await?;
    Ok(Json(views::package_details(&updated, &metadata)))
}

#[derive(Deserialize)]
pub struct MetadataValue {
    value: String,
}

pub async fn set_metadata(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, package_id, key)): Path<(String, u64, String)>,
    Params(body): Params<MetadataValue>,
) -> ApiResult<Json<Value>> {
    let project = app.project(&who, &id, Action::PublishPackages).await?;
    validate::metadata_key(&key)?;
    validate::metadata_value(&body.value)?;
    let package = live_package(&app, &project, package_id).await?;
    app.meta.set_package_metadata(&package, &key, &body.value).await?;
    let detail = json!({ "key": key, "value": body.value });
    app.meta
        .record_event(
            project.id,
            Event { actor: &who.actor(), action: "package.metadata_set", package: Some((&package).into()), detail },
        )
        .await;
    Ok(Json(json!({ "key": key, "value": body.value })))
}

pub async fn delete_metadata(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, package_id, key)): Path<(String, u64, String)>,
) -> ApiResult<StatusCode> {
    let project = app.project(&who, &id, Action::PublishPackages).await?;
    validate::metadata_key(&key)?;
    let package = live_package(&app, &project, package_id).await?;
    if !app.meta.delete_package_metadata(&package, &key).await? {
        return Err(ApiError::NotFound("Metadata"));
    }
    let detail = json!({ "key": key });
    app.meta
        .record_event(
            project.id,
            Event { actor: &who.actor(), action: "package.metadata_deleted", package: Some((&package).into()), detail },
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE .../packages/:package_id`: to the recycle bin.
pub async fn recycle(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, package_id)): Path<(String, u64)>,
) -> ApiResult<StatusCode> {
    let project = app.project(&who, &id, Action::ManagePackages).await?;
    let package = live_package(&app, &project, package_id).await?;
    let actor = who.actor();
    if !app.meta.recycle_package(&package, &actor.username).await? {
        return Err(ApiError::NotFound("Package"));
    }
    app.meta
        .record_event(
            project.id,
            Event { actor: &actor, action: "package.recycled", package: Some((&package).into()), detail: json!({}) },
        )
        .await;
    tracing::info!(project_id = project.id, package_id, by = %actor.username, "package version recycled");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST .../packages/:package_id/restore`: back exactly as it was. When the same name
/// and version was published again meanwhile, the restore is refused (409) and the
/// recycled version stays in the bin: it is never merged into, or overwrites, the newer one.
pub async fn restore(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, package_id)): Path<(String, u64)>,
) -> ApiResult<Json<Value>> {
    let project = app.project(&who, &id, Action::ManagePackages).await?;
    let binned = app.meta.binned_package(project.id, package_id).await?.ok_or(ApiError::NotFound("Package"))?;
    match app.meta.restore_package(&binned).await? {
        Restored::Yes => {}
        Restored::NotInBin => return Err(ApiError::NotFound("Package")),
        Restored::Republished => {
            return Err(ApiError::Conflict(format!(
                "{} {} was published again after it was recycled; delete that version first to restore this one",
                binned.name, binned.version
            )));
        }
    }
    let actor = who.actor();
    app.meta
        .record_event(
            project.id,
            Event { actor: &actor, action: "package.restored", package: Some((&binned).into()), detail: json!({}) },
        )
        .await;
    tracing::info!(project_id = project.id, package_id, by = %actor.username, "package version restored");
    let restored = live_package(&app, &project, package_id).await?;
    let metadata = app.meta.package_metadata(&restored).await?;
    Ok(Json(views::package_details(&restored, &metadata)))
}

/// `DELETE .../packages/recycle_bin/:package_id`: for good; the worker removes the blobs.
pub async fn purge(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, package_id)): Path<(String, u64)>,
) -> ApiResult<StatusCode> {
    let project = app.project(&who, &id, Action::ManagePackages).await?;
    let binned = app.meta.binned_package(project.id, package_id).await?.ok_or(ApiError::NotFound("Package"))?;
    if !app.meta.purge_package(project.id, package_id, now_ms()).await? {
        return Err(ApiError::NotFound("Package"));
    }
    let actor = who.actor();
    app.meta
        .record_event(
            project.id,
            Event { actor: &actor, action: "package.purged", package: Some((&binned).into()), detail: json!({}) },
        )
        .await;
    tracing::info!(project_id = project.id, package_id, by = %actor.username, "package version purged");
    Ok(StatusCode::NO_CONTENT)
}
