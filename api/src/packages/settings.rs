//! A project's package settings: `GET|PUT /projects/:id/packages/settings`.

use crate::views;
use arca_shared::http::{Params, Path};
use arca_shared::meta::versions::{Event, EventAction};
use arca_shared::model::Project;
use arca_shared::policy::Action;
use arca_shared::{ApiError, ApiResult, AppState, Auth, validate};
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `GET /projects/:id/packages/settings`: the project's package settings.
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/packages/settings", tag = "packages",
    responses((status = 200, description = "The settings.", body = views::PackageSettings))
)]
pub async fn settings(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<views::PackageSettings>> {
    let project = app.project(&who, &id, Action::ReadPackages).await?;
    Ok(Json(views::PackageSettings::from(&app.meta.package_settings(project.id).await?)))
}

/// GitLab's choices for `keep_n_duplicated_package_files`.
#[allow(dead_code)]
#[derive(ToSchema)]
enum KeepDuplicates {
    #[schema(rename = "1")]
    One,
    #[schema(rename = "10")]
    Ten,
    #[schema(rename = "20")]
    Twenty,
    #[schema(rename = "30")]
    Thirty,
    #[schema(rename = "40")]
    Forty,
    #[schema(rename = "50")]
    Fifty,
    #[schema(rename = "all")]
    All,
}

#[derive(Deserialize, ToSchema)]
pub struct SettingsChange {
    #[serde(default, deserialize_with = "arca_shared::http::opt_boolean")]
    #[schema(nullable = false)]
    generic_duplicates_allowed: Option<bool>,
    /// A regular expression; names and versions it matches may be duplicated anyway.
    #[schema(max_length = 255)]
    generic_duplicate_exception_regex: Option<String>,
    /// `1`, `10`, `20`, `30`, `40`, `50` (GitLab's choices) or `all`.
    #[serde(default, deserialize_with = "arca_shared::http::opt_string_or_number")]
    #[schema(value_type = Option<KeepDuplicates>)]
    keep_n_duplicated_package_files: Option<String>,
    /// Days, `0` to switch off.
    #[serde(default, deserialize_with = "arca_shared::http::opt_number")]
    #[schema(minimum = 0, maximum = 36_500)]
    delete_versions_not_downloaded_for_days: Option<u32>,
}

/// `PUT /projects/:id/packages/settings` (maintainer): changes the settings given.
#[utoipa::path(
    put, path = "/api/v4/projects/{id}/packages/settings", tag = "packages",
    request_body(content = Option<SettingsChange>, description = "Only the settings to change."),
    responses((status = 200, description = "The settings.", body = views::PackageSettings))
)]
pub async fn update_settings(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Params(change): Params<SettingsChange>,
) -> ApiResult<Json<views::PackageSettings>> {
    let project: Project = app.project(&who, &id, Action::ManagePackages).await?;
    let mut settings = app.meta.package_settings(project.id).await?;
    if let Some(allowed) = change.generic_duplicates_allowed {
        settings.generic_duplicates_allowed = allowed;
    }
    if let Some(re) = change.generic_duplicate_exception_regex {
        validate::exception_regex(&re)?;
        settings.generic_duplicate_exception_regex = re;
    }
    if let Some(keep) = change.keep_n_duplicated_package_files {
        settings.keep_n_duplicated_package_files = match keep.as_str() {
            "all" => None,
            "1" | "10" | "20" | "30" | "40" | "50" => keep.parse().ok(),
            _ => return Err(ApiError::invalid("keep_n_duplicated_package_files")),
        };
    }
    if let Some(days) = change.delete_versions_not_downloaded_for_days {
        if days > 36_500 {
            return Err(ApiError::invalid("delete_versions_not_downloaded_for_days"));
        }
        settings.delete_versions_not_downloaded_for_days = (days > 0).then_some(days);
    }
    app.meta.save_package_settings(project.id, &settings).await?;
    let event = Event {
        actor: &who.actor(),
        action: EventAction::PackageSettingsUpdated,
        package: None,
        detail: serde_json::to_value(views::PackageSettings::from(&settings)).unwrap_or_default(),
    };
    app.meta.record_event(project.id, event).await;
    tracing::info!(project_id = project.id, by = %who.username(), allowed = settings.generic_duplicates_allowed, "package settings changed");
    Ok(Json(views::PackageSettings::from(&settings)))
}

/// The routes of this resource, every method of each path, with their descriptions.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(settings, update_settings))
}
