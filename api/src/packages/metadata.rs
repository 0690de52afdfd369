//! A version's custom metadata: `GET .../packages/:package_id/metadata`, `PUT|DELETE
//! .../metadata/:key`.

use arca_shared::http::{Params, Path};
use arca_shared::meta::versions::Event;
use arca_shared::policy::Action;
use arca_shared::{ApiError, ApiResult, AppState, Auth, validate};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::live_package;

pub async fn metadata(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, package_id)): Path<(String, u64)>,
) -> ApiResult<Json<Value>> {
    let project = app.project(&who, &id, Action::ReadPackages).await?;
    let package = app.meta.package(project.id, package_id).await?.ok_or(ApiError::NotFound("Package"))?;
    Ok(Json(serde_json::json!(app.meta.package_metadata(&package).await?)))
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

/// The routes of this resource, every method of each path.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v4/projects/{id}/packages/{package_id}/metadata", get(metadata))
        .route("/api/v4/projects/{id}/packages/{package_id}/metadata/{key}", put(set_metadata).delete(delete_metadata))
}
