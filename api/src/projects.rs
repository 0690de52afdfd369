//! Projects: `GET|POST /projects`, `GET|PUT|DELETE /projects/:id`.

use std::collections::BTreeSet;

use crate::paging::Paging;
use crate::views;
use arca_shared::auth::Principal;
use arca_shared::http::{Params, Path};
use arca_shared::meta::StoreError;
use arca_shared::model::{Project, Visibility, access};
use arca_shared::pagination::PageParams;
use arca_shared::policy::Action;
use arca_shared::time::now_ms;
use arca_shared::{ApiError, ApiResult, AppState, Auth, validate};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `GET /projects/:id`: one project, with the caller's own access level.
#[utoipa::path(
    get, path = "/api/v4/projects/{id}", tag = "projects",
    responses((status = 200, description = "The project, with the caller's access level.", body = views::Project))
)]
pub async fn show(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<views::Project>> {
    let project = app.project(&who, &id, Action::View).await?;
    let mut v = views::Project::from(&project);
    // As GitLab: the caller's own access level, which the console hides buttons by.
    let level = app.auth.access_level(&who, &project).await?;
    v.permissions =
        Some(views::Permissions { project_access: level.map(|access_level| views::AccessLevel { access_level }) });
    Ok(Json(v))
}

/// `GET /projects`: the projects the caller can see, newest first: all for the administrator, else public
/// ones plus the caller's own (a member's, a deploy or job token's project).
#[utoipa::path(
    get, path = "/api/v4/projects", tag = "projects",
    params(PageParams),
    responses((status = 200, description = "A page of the projects the caller can see.", body = [views::Project]))
)]
pub async fn list(State(app): State<AppState>, Auth(who): Auth, paging: Paging) -> ApiResult<impl IntoResponse> {
    let page = paging.page;
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
    Ok(paging.answer(total, projects.iter().map(views::Project::from).collect()))
}

#[derive(Deserialize, ToSchema)]
pub struct NewProject {
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*\S[^\u0000-\u001f\u007f-\u009f]*$"
    )]
    name: String,
    #[schema(min_length = 1, max_length = 255, pattern = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")]
    path: Option<String>,
    #[schema(min_length = 1, max_length = 255, pattern = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")]
    namespace: Option<String>,
    visibility: Option<Visibility>,
}

/// `POST /projects`: a project in the caller's namespace (or the one given, for the
/// administrator); the creator becomes its owner.
#[utoipa::path(
    post, path = "/api/v4/projects", tag = "projects",
    request_body = NewProject,
    responses((status = 201, description = "The project.", body = views::Project), (status = 409, description = "The path is taken.", body = views::Error))
)]
pub async fn create(
    State(app): State<AppState>,
    Auth(who): Auth,
    Params(body): Params<NewProject>,
) -> ApiResult<(StatusCode, Json<views::Project>)> {
    who.require_api_user()?;
    let name = body.name.trim().to_owned();
    validate::text("name", &name)?;
    let path = body.path.unwrap_or_else(|| validate::path_from_name(&name));
    validate::slug("path", &path)?;
    let own_namespace = who.username();
    let namespace = body.namespace.unwrap_or_else(|| own_namespace.clone());
    validate::slug("namespace", &namespace)?;
    // Without groups, a user's namespace is their own name; only the administrator may
    // create projects elsewhere (and so stand up shared namespaces).
    if who.require_admin().is_err() && !namespace.eq_ignore_ascii_case(&own_namespace) {
        return Err(ApiError::Forbidden);
    }
    let project = Project {
        id: app.meta.next_project_id().await?,
        name,
        path,
        namespace,
        visibility: body.visibility.unwrap_or(Visibility::Private),
        created_at: now_ms(),
        creator_id: who.user_id().unwrap_or(0),
        description: None,
    };
    let owner = who.user_id().map(|id| (id, access::OWNER));
    app.meta.create_project(&project, owner).await.map_err(|e| match e {
        StoreError::Conflict(why) => ApiError::bad_request(why),
        other => other.into(),
    })?;
    tracing::info!(project_id = project.id, path = %project.path_with_namespace(), "project created");
    Ok((StatusCode::CREATED, Json(views::Project::from(&project))))
}

#[derive(Deserialize, ToSchema)]
#[schema(min_properties = 1)]
pub struct ProjectChange {
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*\S[^\u0000-\u001f\u007f-\u009f]*$"
    )]
    name: Option<String>,
    /// Empty clears it.
    #[schema(max_length = 10000)]
    description: Option<String>,
    visibility: Option<Visibility>,
}

/// `PUT /projects/:id` (maintainer): a new name, description or visibility. The path stays
/// (as GitLab's name change leaves it); a project made private is hidden from outsiders at
/// once.
#[utoipa::path(
    put, path = "/api/v4/projects/{id}", tag = "projects",
    request_body = ProjectChange,
    responses((status = 200, description = "The project.", body = views::Project))
)]
pub async fn update(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Params(body): Params<ProjectChange>,
) -> ApiResult<Json<views::Project>> {
    let mut project = app.project(&who, &id, Action::AdministerProject).await?;
    if body.name.is_none() && body.description.is_none() && body.visibility.is_none() {
        return Err(ApiError::bad_request("at least one of name, description, visibility must be given"));
    }
    if let Some(name) = body.name {
        let name = name.trim().to_owned();
        validate::text("name", &name)?;
        project.name = name;
    }
    if let Some(description) = body.description {
        if !description.is_empty() {
            validate::description(&description)?;
        }
        project.description = Some(description).filter(|d| !d.is_empty());
    }
    if let Some(visibility) = body.visibility {
        project.visibility = visibility;
    }
    if !app.meta.update_project(&project).await? {
        return Err(ApiError::ProjectNotFound);
    }
    tracing::info!(project_id = project.id, by = %who.username(), "project changed");
    Ok(Json(views::Project::from(&project)))
}

/// `DELETE /projects/:id` (owner or administrator): the project is gone at once for every
/// reader; its packages, artifacts, pipelines, members, tokens, allowlist entries and blobs
/// are removed by the cleanup worker within a pass. 202, as GitLab answers.
#[utoipa::path(
    delete, path = "/api/v4/projects/{id}", tag = "projects",
    responses((status = 202, description = "Deleted; the cleanup worker removes what it held.", body = views::Message))
)]
pub async fn delete(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<views::Message>)> {
    let project = app.project(&who, &id, Action::DeleteProject).await?;
    delete_project(&app, &project, &who.username()).await?;
    Ok((StatusCode::ACCEPTED, Json(views::Message { message: "202 Accepted" })))
}

/// Hides a project and queues the removal of everything under it.
pub(crate) async fn delete_project(app: &AppState, project: &Project, by: &str) -> ApiResult<()> {
    if !app.meta.delete_project(project).await? {
        return Err(ApiError::ProjectNotFound);
    }
    tracing::info!(project_id = project.id, path = %project.path_with_namespace(), by, "project deleted");
    Ok(())
}

/// The routes of this resource, every method of each path, with their descriptions.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(show, update, delete))
}
