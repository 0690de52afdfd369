//! Users: `GET /user` (whose token this is) and `POST /users` (administrators).

use arca_shared::http::{Params, boolean};
use arca_shared::{ApiError, ApiResult, AppState, Auth, validate, views};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

/// `GET /api/v4/user`: who the token (or console session) belongs to.
pub async fn current_user(Auth(who): Auth) -> ApiResult<Json<Value>> {
    match views::signed_in(&who) {
        Some(user) => Ok(Json(user)),
        None if matches!(who, arca_shared::auth::Principal::Anonymous) => Err(ApiError::Unauthorized),
        None => Err(ApiError::Forbidden),
    }
}

#[derive(Deserialize)]
pub struct NewUser {
    username: String,
    email: Option<String>,
    #[serde(default, deserialize_with = "boolean")]
    admin: bool,
}

pub async fn create(
    State(app): State<AppState>,
    Auth(who): Auth,
    Params(body): Params<NewUser>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    who.require_admin()?;
    validate::slug("username", &body.username)?;
    if let Some(email) = &body.email
        && (email.len() > 255 || !email.contains('@') || email.chars().any(char::is_control))
    {
        return Err(ApiError::invalid("email"));
    }
    let user = app.meta.create_user(&body.username, body.email, body.admin).await?;
    tracing::info!(user_id = user.id, username = %user.username, "user created");
    Ok((StatusCode::CREATED, Json(views::user(&user, &who))))
}

/// The routes of this resource, every method of each path.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/api/v4/user", get(current_user)).route("/api/v4/users", post(create))
}
