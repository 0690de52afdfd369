//! Users: `GET /user` (whose token this is) and `POST /users` (administrators).

use crate::views;
use arca_shared::http::{Params, boolean};
use arca_shared::{ApiError, ApiResult, AppState, Auth, validate};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `GET /api/v4/user`: who the token (or console session) belongs to.
#[utoipa::path(
    get, path = "/api/v4/user", tag = "users",
    responses((status = 200, description = "The user.", body = views::User))
)]
pub async fn current_user(Auth(who): Auth) -> ApiResult<Json<views::User>> {
    match views::User::signed_in(&who) {
        Some(user) => Ok(Json(user)),
        None if matches!(who, arca_shared::auth::Principal::Anonymous) => Err(ApiError::Unauthorized),
        None => Err(ApiError::Forbidden),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct NewUser {
    #[schema(min_length = 1, max_length = 255, pattern = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")]
    username: String,
    #[schema(format = Email)]
    email: Option<String>,
    #[serde(default, deserialize_with = "boolean")]
    admin: bool,
}

/// `POST /users` (administrator): a user.
#[utoipa::path(
    post, path = "/api/v4/users", tag = "users",
    request_body = NewUser,
    responses((status = 201, description = "The user.", body = views::User), (status = 409, description = "The username is taken.", body = views::Error))
)]
pub async fn create(
    State(app): State<AppState>,
    Auth(who): Auth,
    Params(body): Params<NewUser>,
) -> ApiResult<(StatusCode, Json<views::User>)> {
    who.require_admin()?;
    validate::slug("username", &body.username)?;
    // An empty address is no address, as a form that leaves the field blank sends it.
    let email = body.email.filter(|e| !e.is_empty());
    if let Some(email) = &email {
        validate::email(email)?;
    }
    let user = app.meta.create_user(&body.username, email, body.admin).await?;
    tracing::info!(user_id = user.id, username = %user.username, "user created");
    Ok((StatusCode::CREATED, Json(views::User::of(&user, &who))))
}

/// The routes of this resource, every method of each path, with their descriptions.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(current_user)).routes(routes!(create))
}
