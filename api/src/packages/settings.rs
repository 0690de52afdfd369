//! A project's package settings: `GET|PUT /projects/:id/packages/settings`.

use crate::views;
use arca_shared::http::{Params, Path};
use arca_shared::meta::versions::{Event, EventAction};
use arca_shared::model::Project;
use arca_shared::policy::Action;
use arca_shared::retention::{self, Reason};
use arca_shared::time::{now_ms, rfc3339};
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
    /// Days, `0` or `null` to switch off: `delete_unused_after` in days.
    #[serde(default, deserialize_with = "setting")]
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 36_500)]
    delete_versions_not_downloaded_for_days: Option<Setting>,
    /// Per package name, only the newest N versions are kept (by `created_at`; hidden and
    /// disabled versions count); `0` or `null` switches it off.
    #[serde(default, deserialize_with = "setting")]
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 1_000_000)]
    keep_n_versions: Option<Setting>,
    /// Versions not downloaded, restored or created for longer go: `5s`, `12h`, `30 days`;
    /// `0` or `null` switches it off.
    #[serde(default, deserialize_with = "setting")]
    #[schema(value_type = Option<String>, max_length = 64)]
    delete_unused_after: Option<Setting>,
}

/// A retention setting as sent: `null` (off), a number, or text (a form sends text).
#[derive(Debug, Clone, PartialEq)]
pub enum Setting {
    Off,
    Number(u64),
    Text(String),
}

fn setting<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Setting>, D::Error> {
    Ok(Some(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Setting::Off,
        // `357.0` is a whole number too, as JSON Schema's `integer` says.
        serde_json::Value::Number(n) => {
            let whole = n
                .as_u64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 1e15).map(|f| f as u64));
            match whole {
                Some(n) => Setting::Number(n),
                None => return Err(serde::de::Error::custom("a whole number")),
            }
        }
        serde_json::Value::String(t) => Setting::Text(t),
        _ => return Err(serde::de::Error::custom("a number, text or null")),
    }))
}

impl Setting {
    /// As a count: `None` is off.
    fn count(&self, field: &'static str, max: u64) -> ApiResult<Option<u32>> {
        let n = match self {
            Self::Off => 0,
            Self::Number(n) => *n,
            Self::Text(t) if t.trim().is_empty() => 0,
            Self::Text(t) => t.trim().parse().map_err(|_| ApiError::invalid(field))?,
        };
        if n > max {
            return Err(ApiError::invalid(field));
        }
        Ok(u32::try_from(n).ok().filter(|n| *n > 0))
    }

    /// As a duration in ms (a bare number is seconds): `None` is off.
    fn duration_ms(&self, field: &'static str) -> ApiResult<Option<u64>> {
        let ms = match self {
            Self::Off => 0,
            Self::Number(secs) => secs.checked_mul(1000).ok_or(ApiError::invalid(field))?,
            Self::Text(t) if t.trim().is_empty() || t.trim() == "0" => 0,
            Self::Text(t) => match arca_shared::expire_in::parse(t) {
                Ok(Some(d)) => u64::try_from(d.as_millis()).map_err(|_| ApiError::invalid(field))?,
                _ => return Err(ApiError::invalid(field)),
            },
        };
        // A hundred years at most, as the day count.
        if ms > 36_500 * DAY_MS {
            return Err(ApiError::invalid(field));
        }
        Ok(Some(ms).filter(|ms| *ms > 0))
    }
}

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

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
    // Everything is checked before anything changes: a bad value is a 400 and changes nothing.
    let by_days = change
        .delete_versions_not_downloaded_for_days
        .as_ref()
        .map(|d| d.count("delete_versions_not_downloaded_for_days", 36_500))
        .transpose()?
        .map(|days| days.map(|d| u64::from(d) * DAY_MS));
    let by_duration = change.delete_unused_after.as_ref().map(|d| d.duration_ms("delete_unused_after")).transpose()?;
    let unused = match (by_days, by_duration) {
        (Some(a), Some(b)) if a != b => {
            return Err(ApiError::bad_request(
                "delete_unused_after and delete_versions_not_downloaded_for_days disagree: send one",
            ));
        }
        (a, b) => b.or(a),
    };
    let keep_n = change.keep_n_versions.as_ref().map(|k| k.count("keep_n_versions", 1_000_000)).transpose()?;
    if let Some(ms) = unused {
        settings.delete_unused_after_ms = ms;
        // One stored form: the old day count is now read from the duration.
        settings.delete_versions_not_downloaded_for_days = None;
    }
    if let Some(n) = keep_n {
        settings.keep_n_versions = n;
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

/// `GET /projects/:id/packages/retention_preview` (maintainer): the versions a retention
/// run starting now would move to the recycle bin, and why; decided by the code the
/// cleanup worker runs.
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/packages/retention_preview", tag = "packages",
    responses((status = 200, description = "What the next run moves.", body = [views::RetentionMove]))
)]
pub async fn retention_preview(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<views::RetentionMove>>> {
    let project = app.project(&who, &id, Action::ManagePackages).await?;
    let plan = retention::preview(&app.meta, project.id, now_ms()).await?;
    Ok(Json(
        plan.into_iter()
            .map(|(p, reason)| views::RetentionMove {
                id: p.id,
                rule: match reason {
                    Reason::KeepNVersions(_) => "keep_n_versions",
                    Reason::Unused(_) => "delete_unused_after",
                },
                reason: reason.describe(),
                created_at: rfc3339(p.created_at),
                last_downloaded_at: p.last_downloaded_at.map(rfc3339),
                name: p.name,
                version: p.version,
            })
            .collect(),
    ))
}

/// The routes of this resource, every method of each path, with their descriptions.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(settings, update_settings)).routes(routes!(retention_preview))
}
