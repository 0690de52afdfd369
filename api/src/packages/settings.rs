//! A project's package settings: `GET|PUT /projects/:id/packages/settings`.

use arca_shared::http::{Params, Path};
use arca_shared::meta::versions::Event;
use arca_shared::model::Project;
use arca_shared::policy::Action;
use arca_shared::{ApiError, ApiResult, AppState, Auth, views};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

pub async fn settings(State(app): State<AppState>, Auth(who): Auth, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let project = app.project(&who, &id, Action::ReadPackages).await?;
    Ok(Json(views::package_settings(&app.meta.package_settings(project.id).await?)))
}

#[derive(Deserialize)]
pub struct SettingsChange {
    #[serde(default, deserialize_with = "arca_shared::http::opt_boolean")]
    generic_duplicates_allowed: Option<bool>,
    generic_duplicate_exception_regex: Option<String>,
    /// `1`, `10`, `20`, `30`, `40`, `50` (GitLab's choices) or `all`.
    #[serde(default, deserialize_with = "arca_shared::http::opt_string_or_number")]
    keep_n_duplicated_package_files: Option<String>,
    /// Days, `0` to switch off.
    #[serde(default, deserialize_with = "arca_shared::http::opt_number")]
    delete_versions_not_downloaded_for_days: Option<u32>,
}

pub async fn update_settings(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Params(change): Params<SettingsChange>,
) -> ApiResult<Json<Value>> {
    let project: Project = app.project(&who, &id, Action::ManagePackages).await?;
    let mut settings = app.meta.package_settings(project.id).await?;
    if let Some(allowed) = change.generic_duplicates_allowed {
        settings.generic_duplicates_allowed = allowed;
    }
    if let Some(re) = change.generic_duplicate_exception_regex {
        // Rust's regex runs in linear time, like GitLab's RE2, so a user's pattern cannot
        // stall a publish; the size limit bounds its compiled form.
        let ok = re.len() <= 255 && regex::RegexBuilder::new(&re).size_limit(1 << 20).build().is_ok();
        if !ok {
            return Err(ApiError::invalid("generic_duplicate_exception_regex"));
        }
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
        action: "package_settings.updated",
        package: None,
        detail: views::package_settings(&settings),
    };
    app.meta.record_event(project.id, event).await;
    tracing::info!(project_id = project.id, by = %who.username(), allowed = settings.generic_duplicates_allowed, "package settings changed");
    Ok(Json(views::package_settings(&settings)))
}

/// The routes of this resource, every method of each path.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/api/v4/projects/{id}/packages/settings", get(settings).put(update_settings))
}
