//! Reading projects: the ones the caller can see, and one by id or path.

use std::collections::BTreeSet;

use arca_shared::auth::Principal;
use arca_shared::http::{Path, Query};
use arca_shared::pagination::{Page, PageParams};
use arca_shared::policy::Action;
use arca_shared::{ApiError, ApiResult, AppState, Auth, views};
use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use serde_json::Value;

pub async fn show(State(app): State<AppState>, Auth(who): Auth, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let project = app.project(&who, &id, Action::View).await?;
    let mut v = views::project(&project);
    // As GitLab: the caller's own access level, which the console hides buttons by.
    let level = app.auth.access_level(&who, &project).await?;
    v["permissions"] = serde_json::json!({"project_access": level.map(|l| serde_json::json!({"access_level": l}))});
    Ok(Json(v))
}

/// `GET /api/v4/user`: who the token (or console session) belongs to.
pub async fn current_user(Auth(who): Auth) -> ApiResult<Json<Value>> {
    match views::signed_in(&who) {
        Some(user) => Ok(Json(user)),
        None if matches!(who, arca_shared::auth::Principal::Anonymous) => Err(ApiError::Unauthorized),
        None => Err(ApiError::Forbidden),
    }
}

/// The projects the caller can see, newest first: all for the administrator, else public
/// ones plus the caller's own (a member's, a deploy or job token's project).
pub async fn list(
    State(app): State<AppState>,
    Auth(who): Auth,
    Query(params): Query<PageParams>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let page = Page::from_params(&params)?;
    let admin = who.require_admin().is_ok() || matches!(who, Principal::User { ref user, .. } if user.admin);
    let mut ids: BTreeSet<u64> = if admin {
        app.meta.all_project_ids().await?.into_iter().collect()
    } else {
        app.meta.public_project_ids().await?.into_iter().collect()
    };
    match &who {
        Principal::User { user, .. } if !admin => ids.extend(app.meta.user_project_ids(user.id).await?),
        Principal::Deploy(dt) => {
            ids.insert(dt.project_id);
        }
        Principal::Job(job) => {
            ids.insert(job.project_id);
        }
        _ => {}
    }
    let total = ids.len() as u64;
    let window: Vec<u64> =
        ids.iter().rev().skip(page.offset() as usize).take(page.per_page as usize).copied().collect();
    let projects = app.meta.projects(&window).await?;
    Ok(super::paged(page, total, projects.iter().map(views::project).collect(), &uri, &headers))
}

/// `GET /projects/:id/job_token_scope/allowlist` (maintainer): the projects whose job
/// tokens may read this one's packages and artifacts.
pub async fn allowlist(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Value>>> {
    let project = app.project(&who, &id, Action::AdministerProject).await?;
    let ids = app.meta.allowlist(project.id).await?;
    Ok(Json(app.meta.projects(&ids).await?.iter().map(views::project).collect()))
}
