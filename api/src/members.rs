//! Project members: `GET|POST /projects/:id/members`, `GET|PUT|DELETE
//! .../members/:user_id` (maintainers; owners for owners).

use crate::paging::Paging;
use crate::views;
use arca_shared::auth::Principal;
use arca_shared::http::{Params, Path, number};
use arca_shared::model::access;
use arca_shared::pagination::PageParams;
use arca_shared::policy::Action;
use arca_shared::{ApiError, ApiResult, AppState, Auth};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `GET /projects/:id/members` (maintainer): the project's members with their access
/// levels, by user id.
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/members", tag = "projects",
    params(PageParams),
    responses((status = 200, description = "A page of the members.", body = [views::User]))
)]
pub async fn list(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    paging: Paging,
) -> ApiResult<impl IntoResponse> {
    let project = app.project(&who, &id, Action::AdministerProject).await?;
    let members = app.meta.members(project.id).await?;
    let mut items = Vec::new();
    for (user_id, level) in paging.window(&members) {
        if let Some(user) = app.meta.user(*user_id).await? {
            items.push(views::User { access_level: Some(*level), ..views::User::of(&user, &who) });
        }
    }
    Ok(paging.answer(members.len() as u64, items))
}

/// `GET /projects/:id/members/:user_id` (maintainer): one member.
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/members/{user_id}", tag = "projects",
    responses((status = 200, description = "The member.", body = views::User))
)]
pub async fn show(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, user_id)): Path<(String, u64)>,
) -> ApiResult<Json<views::User>> {
    let project = app.project(&who, &id, Action::AdministerProject).await?;
    let level = app.meta.member_level(project.id, user_id).await?.ok_or(ApiError::NotFound("Member"))?;
    let user = app.meta.user(user_id).await?.ok_or(ApiError::NotFound("Member"))?;
    Ok(Json(views::User { access_level: Some(level), ..views::User::of(&user, &who) }))
}

#[derive(Deserialize, ToSchema)]
pub struct NewMember {
    #[serde(deserialize_with = "number")]
    #[schema(minimum = 1)]
    user_id: u64,
    /// GitLab's levels: 10 guest, 20 reporter, 30 developer, 40 maintainer, 50 owner.
    #[serde(deserialize_with = "number")]
    #[schema(minimum = 10, maximum = 50, multiple_of = 10)]
    access_level: u8,
}

/// `POST /projects/:id/members` (maintainer): adds a user with a GitLab access level.
#[utoipa::path(
    post, path = "/api/v4/projects/{id}/members", tag = "projects",
    request_body = NewMember,
    responses((status = 201, description = "The member.", body = views::User), (status = 409, description = "Already a member.", body = views::Error))
)]
pub async fn add_member(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Params(body): Params<NewMember>,
) -> ApiResult<(StatusCode, Json<views::User>)> {
    let project = app.project(&who, &id, Action::AdministerProject).await?;
    if !access::ALL.contains(&body.access_level) {
        return Err(ApiError::invalid("access_level"));
    }
    if body.access_level == access::OWNER {
        require_owner(&app, &who, project.id).await?;
    }
    let user = app.meta.user(body.user_id).await?.ok_or(ApiError::NotFound("User"))?;
    if !app.meta.add_member(project.id, user.id, body.access_level).await? {
        return Err(ApiError::Conflict("Member already exists".into()));
    }
    tracing::info!(project_id = project.id, user_id = user.id, access_level = body.access_level, "member added");
    let member = views::User { access_level: Some(body.access_level), ..views::User::of(&user, &who) };
    Ok((StatusCode::CREATED, Json(member)))
}

/// Only owners (and the administrator) make, change or remove owners, as in GitLab.
async fn require_owner(app: &AppState, who: &Principal, project_id: u64) -> ApiResult<()> {
    if who.require_admin().is_ok() {
        return Ok(());
    }
    let own_level = match who {
        Principal::User { user, .. } => app.meta.member_level(project_id, user.id).await?,
        _ => None,
    };
    if own_level == Some(access::OWNER) { Ok(()) } else { Err(ApiError::Forbidden) }
}

#[derive(Deserialize, ToSchema)]
pub struct MemberChange {
    /// GitLab's levels: 10 guest, 20 reporter, 30 developer, 40 maintainer, 50 owner.
    #[serde(deserialize_with = "number")]
    #[schema(minimum = 10, maximum = 50, multiple_of = 10)]
    access_level: u8,
}

/// `PUT /projects/:id/members/:user_id` (maintainer): changes a member's access level;
/// the change holds within the 1 s a service may remember a membership.
#[utoipa::path(
    put, path = "/api/v4/projects/{id}/members/{user_id}", tag = "projects",
    request_body = MemberChange,
    responses((status = 200, description = "The member.", body = views::User))
)]
pub async fn change(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, user_id)): Path<(String, u64)>,
    Params(body): Params<MemberChange>,
) -> ApiResult<Json<views::User>> {
    let project = app.project(&who, &id, Action::AdministerProject).await?;
    if !access::ALL.contains(&body.access_level) {
        return Err(ApiError::invalid("access_level"));
    }
    let current = app.meta.member_level(project.id, user_id).await?.ok_or(ApiError::NotFound("Member"))?;
    if current == access::OWNER || body.access_level == access::OWNER {
        require_owner(&app, &who, project.id).await?;
    }
    let user = app.meta.user(user_id).await?.ok_or(ApiError::NotFound("Member"))?;
    if !app.meta.change_member(project.id, user_id, body.access_level).await? {
        return Err(ApiError::NotFound("Member"));
    }
    tracing::info!(project_id = project.id, user_id, access_level = body.access_level, "member changed");
    Ok(Json(views::User { access_level: Some(body.access_level), ..views::User::of(&user, &who) }))
}

/// `DELETE /projects/:id/members/:user_id` (maintainer): the user's access ends within the
/// 1 s a service may remember a membership.
#[utoipa::path(
    delete, path = "/api/v4/projects/{id}/members/{user_id}", tag = "projects",
    responses((status = 204, description = "Removed."))
)]
pub async fn remove(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, user_id)): Path<(String, u64)>,
) -> ApiResult<StatusCode> {
    let project = app.project(&who, &id, Action::AdministerProject).await?;
    let current = app.meta.member_level(project.id, user_id).await?.ok_or(ApiError::NotFound("Member"))?;
    if current == access::OWNER {
        require_owner(&app, &who, project.id).await?;
    }
    app.meta.remove_member(project.id, user_id).await?;
    tracing::info!(project_id = project.id, user_id, "member removed");
    Ok(StatusCode::NO_CONTENT)
}

/// The routes of this resource, every method of each path, with their descriptions.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, add_member)).routes(routes!(show, change, remove))
}
