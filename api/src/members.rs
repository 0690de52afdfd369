//! Project members: `POST /projects/:id/members`.

use arca_shared::auth::Principal;
use arca_shared::http::{Params, Path, number};
use arca_shared::model::access;
use arca_shared::policy::Action;
use arca_shared::{ApiError, ApiResult, AppState, Auth, views};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
pub struct NewMember {
    #[serde(deserialize_with = "number")]
    user_id: u64,
    #[serde(deserialize_with = "number")]
    access_level: u8,
}

pub async fn add_member(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Params(body): Params<NewMember>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let project = app.project(&who, &id, Action::AdministerProject).await?;
    if !access::ALL.contains(&body.access_level) {
        return Err(ApiError::invalid("access_level"));
    }
    // Only owners (and the administrator) make owners, as in GitLab.
    if body.access_level == access::OWNER && who.require_admin().is_err() {
        let own_level = match &who {
            Principal::User { user, .. } => app.meta.member_level(project.id, user.id).await?,
            _ => None,
        };
        if own_level != Some(access::OWNER) {
            return Err(ApiError::Forbidden);
        }
    }
    let user = app.meta.user(body.user_id).await?.ok_or(ApiError::NotFound("User"))?;
    if !app.meta.add_member(project.id, user.id, body.access_level).await? {
        return Err(ApiError::Conflict("Member already exists".into()));
    }
    tracing::info!(project_id = project.id, user_id = user.id, access_level = body.access_level, "member added");
    let mut v = views::user(&user, &who);
    v["access_level"] = json!(body.access_level);
    Ok((StatusCode::CREATED, Json(v)))
}

/// The routes of this resource, every method of each path.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/api/v4/projects/{id}/members", post(add_member))
}
