//! Users: `GET /user` (whose token this is); `GET|POST /users`, `GET|DELETE
//! /users/:user_id` and `POST /users/:user_id/block|unblock` (administrators).

use crate::paging::Paging;
use crate::views;
use arca_shared::auth::Principal;
use arca_shared::http::{Params, Path, Query, boolean};
use arca_shared::pagination::PageParams;
use arca_shared::{ApiError, ApiResult, AppState, Auth, validate};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
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
        None if matches!(who, Principal::Anonymous) => Err(ApiError::Unauthorized),
        None => Err(ApiError::Forbidden),
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserFilter {
    /// Only the user of this name (any case).
    username: Option<String>,
    /// Only users whose name or e-mail address contains this (any case).
    search: Option<String>,
}

/// `GET /users` (administrator): every user, oldest first; `username` and `search` narrow
/// the list as GitLab's do.
#[utoipa::path(
    get, path = "/api/v4/users", tag = "users",
    params(UserFilter, PageParams),
    responses((status = 200, description = "A page of the users.", body = [views::User]))
)]
pub async fn list(
    State(app): State<AppState>,
    Auth(who): Auth,
    Query(filter): Query<UserFilter>,
    paging: Paging,
) -> ApiResult<impl IntoResponse> {
    who.require_admin()?;
    let username = filter.username.map(|u| u.to_lowercase());
    let search = filter.search.map(|s| s.to_lowercase());
    let mut users = app.meta.all_users().await?;
    users.retain(|u| {
        username.as_ref().is_none_or(|n| u.username.to_lowercase() == *n)
            && search.as_ref().is_none_or(|s| {
                u.username.to_lowercase().contains(s) || u.email.as_ref().is_some_and(|e| e.to_lowercase().contains(s))
            })
    });
    let items: Vec<views::User> = paging.window(&users).map(|u| views::User::of(u, &who)).collect();
    Ok(paging.answer(users.len() as u64, items))
}

/// `GET /users/:user_id` (administrator): one user.
#[utoipa::path(
    get, path = "/api/v4/users/{user_id}", tag = "users",
    responses((status = 200, description = "The user.", body = views::User))
)]
pub async fn show(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(user_id): Path<u64>,
) -> ApiResult<Json<views::User>> {
    who.require_admin()?;
    let user = app.meta.user(user_id).await?.ok_or(ApiError::NotFound("User"))?;
    Ok(Json(views::User::of(&user, &who)))
}

/// `DELETE /users/:user_id` (administrator): the user is gone. Their tokens stop at once
/// (blocked first, then deleted with their console sessions), their memberships end, and
/// their personal projects (those in their namespace) are deleted like `DELETE
/// /projects/:id`. A request that fails half way can be repeated.
#[utoipa::path(
    delete, path = "/api/v4/users/{user_id}", tag = "users",
    responses((status = 204, description = "Deleted."))
)]
pub async fn delete(State(app): State<AppState>, Auth(who): Auth, Path(user_id): Path<u64>) -> ApiResult<StatusCode> {
    who.require_admin()?;
    let user = app.meta.user(user_id).await?.ok_or(ApiError::NotFound("User"))?;
    if who.user_id() == Some(user_id) {
        return Err(ApiError::ForbiddenBecause("an administrator cannot delete themselves"));
    }
    app.meta.set_user_blocked(user_id, true).await?;
    for pat in app.meta.all_pats().await?.into_iter().filter(|t| t.user_id == user_id) {
        app.meta.delete_pat(&pat).await?;
    }
    let member_of = app.meta.user_project_ids(user_id).await?;
    for project_id in &member_of {
        app.meta.remove_member(*project_id, user_id).await?;
    }
    let all = app.meta.all_project_ids().await?;
    let mut personal = 0;
    for project in app.meta.projects(&all).await? {
        if project.namespace.eq_ignore_ascii_case(&user.username) {
            crate::projects::delete_project(&app, &project, &who.username()).await?;
            personal += 1;
        }
    }
    app.meta.delete_user(&user).await?;
    tracing::info!(user_id, memberships = member_of.len(), personal, by = %who.username(), "user deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /users/:user_id/block` (administrator): the user's tokens and console sessions are
/// refused from now on (within the 1 s that a service may remember who a token is).
/// Answers `true`, as GitLab does.
#[utoipa::path(
    post, path = "/api/v4/users/{user_id}/block", tag = "users",
    responses((status = 201, description = "Blocked: `true`.", body = bool, content_type = "application/json"))
)]
pub async fn block(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(user_id): Path<u64>,
) -> ApiResult<(StatusCode, Json<bool>)> {
    set_blocked(&app, &who, user_id, true).await
}

/// `POST /users/:user_id/unblock` (administrator): the user's tokens work again.
#[utoipa::path(
    post, path = "/api/v4/users/{user_id}/unblock", tag = "users",
    responses((status = 201, description = "Unblocked: `true`.", body = bool, content_type = "application/json"))
)]
pub async fn unblock(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(user_id): Path<u64>,
) -> ApiResult<(StatusCode, Json<bool>)> {
    set_blocked(&app, &who, user_id, false).await
}

async fn set_blocked(
    app: &AppState,
    who: &Principal,
    user_id: u64,
    blocked: bool,
) -> ApiResult<(StatusCode, Json<bool>)> {
    who.require_admin()?;
    if !app.meta.set_user_blocked(user_id, blocked).await? {
        return Err(ApiError::NotFound("User"));
    }
    tracing::info!(user_id, blocked, by = %who.username(), "user block changed");
    Ok((StatusCode::CREATED, Json(true)))
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
    OpenApiRouter::new()
        .routes(routes!(current_user))
        .routes(routes!(list, create))
        .routes(routes!(show, delete))
        .routes(routes!(block))
        .routes(routes!(unblock))
}
