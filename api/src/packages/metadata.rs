//! A version's custom metadata: `GET .../packages/:package_id/metadata`, `PUT|DELETE
//! .../metadata/:key`.

use std::collections::BTreeMap;

use arca_shared::http::{Params, Path};
use arca_shared::meta::versions::{Event, EventAction};
use arca_shared::policy::Action;
use arca_shared::{ApiError, ApiResult, AppState, Auth, validate};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::live_package;
use crate::views;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `GET /projects/:id/packages/:package_id/metadata`: the version's custom metadata.
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/packages/{package_id}/metadata", tag = "packages",
    responses((status = 200, description = "Key/value pairs.", body = BTreeMap<String, String>))
)]
pub async fn metadata(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, package_id)): Path<(String, u64)>,
) -> ApiResult<Json<BTreeMap<String, String>>> {
    let project = app.project(&who, &id, Action::ReadPackages).await?;
    let package = app.meta.package(project.id, package_id).await?.ok_or(ApiError::NotFound("Package"))?;
    Ok(Json(app.meta.package_metadata(&package).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct MetadataValue {
    /// At most 4,096 bytes, no control characters.
    #[schema(max_length = 4096, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    value: String,
}

/// `PUT /projects/:id/packages/:package_id/metadata/:key`: sets one metadata entry.
#[utoipa::path(
    put, path = "/api/v4/projects/{id}/packages/{package_id}/metadata/{key}", tag = "packages",
    request_body = MetadataValue,
    responses((status = 200, description = "The entry as stored.", body = views::MetadataEntry))
)]
pub async fn set_metadata(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, package_id, key)): Path<(String, u64, String)>,
    Params(body): Params<MetadataValue>,
) -> ApiResult<Json<views::MetadataEntry>> {
    let project = app.project(&who, &id, Action::PublishPackages).await?;
    validate::metadata_key(&key)?;
    validate::metadata_value(&body.value)?;
    let package = live_package(&app, &project, package_id).await?;
    app.meta.set_package_metadata(&package, &key, &body.value).await?;
    let detail = json!({ "key": key, "value": body.value });
    app.meta
        .record_event(
            project.id,
            Event {
                actor: &who.actor(),
                action: EventAction::PackageMetadataSet,
                package: Some((&package).into()),
                detail,
            },
        )
        .await;
    Ok(Json(views::MetadataEntry { key, value: body.value }))
}

/// `DELETE /projects/:id/packages/:package_id/metadata/:key`: removes one metadata entry.
#[utoipa::path(
    delete, path = "/api/v4/projects/{id}/packages/{package_id}/metadata/{key}", tag = "packages",
    responses((status = 204, description = "Deleted."))
)]
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
            Event {
                actor: &who.actor(),
                action: EventAction::PackageMetadataDeleted,
                package: Some((&package).into()),
                detail,
            },
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// The routes of this resource, every method of each path, with their descriptions.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metadata)).routes(routes!(set_metadata, delete_metadata))
}
