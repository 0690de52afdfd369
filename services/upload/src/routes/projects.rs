//! Projects, their members and their deploy tokens.

use arca_shared::auth::{DEPLOY_SCOPES, Principal, check_scopes, hash_token, new_token};
use arca_shared::http::{Params, Path, list, number};
use arca_shared::meta::StoreError;
use arca_shared::model::{DeployToken, Project, Visibility, access};
use arca_shared::policy::Action;
use arca_shared::time::now_ms;
use arca_shared::{ApiError, ApiResult, AppState, Auth, validate, views};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::users::{expiry, token_name};

#[derive(Deserialize)]
pub struct NewProject {
    name: String,
    path: Option<String>,
    namespace: Option<String>,
    visibility: Option<Visibility>,
}

pub async fn create(
    State(app): State<AppState>,
    Auth(who): Auth,
    Params(body): Params<NewProject>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    who.require_api_user()?;
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.len() > 255 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid("name"));
    }
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
    };
    let owner = who.user_id().map(|id| (id, access::OWNER));
    app.meta.create_project(&project, owner).await.map_err(|e| match e {
        StoreError::Conflict(why) => ApiError::bad_request(why),
        other => other.into(),
    })?;
    tracing::info!(project_id = project.id, path = %project.path_with_namespace(), "project created");
    Ok((StatusCode::CREATED, Json(views::project(&project))))
}

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

#[derive(Deserialize)]
pub struct NewDeployToken {
    name: String,
    #[serde(deserialize_with = "list")]
    scopes: Vec<String>,
    expires_at: Option<String>,
    username: Option<String>,
}

pub async fn create_deploy_token(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Params(body): Params<NewDeployToken>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let project = app.project(&who, &id, Action::AdministerProject).await?;
    token_name(&body.name)?;
    check_scopes(&body.scopes, &DEPLOY_SCOPES)?;
    let expires_at = expiry(body.expires_at.as_deref())?;
    let token_id = app.meta.next_deploy_token_id().await?;
    let username = match body.username {
        None => format!("gitlab+deploy-token-{token_id}"),
        Some(custom) => {
            // `pushed_by` shows this name: it must not pass for a person, nor for another
            // deploy token's default name.
            validate::slug("username", &custom.replace('+', "_"))?;
            let lower = custom.to_ascii_lowercase();
            if lower == "root" || lower.starts_with("gitlab+deploy-token") || app.meta.username_exists(&custom).await? {
                return Err(ApiError::invalid("username"));
            }
            custom
        }
    };
    let secret = new_token("arca-dt-");
    let dt = DeployToken {
        id: token_id,
        project_id: project.id,
        name: body.name,
        username,
        scopes: body.scopes,
        created_at: now_ms(),
        expires_at,
        revoked: false,
        token_hash: hash_token(&secret),
    };
    app.meta.save_deploy_token(&dt).await?;
    tracing::info!(project_id = project.id, token_id, "deploy token created");
    Ok((StatusCode::CREATED, Json(views::deploy_token(&dt, Some(&secret)))))
}

pub async fn revoke_deploy_token(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, token_id)): Path<(String, u64)>,
) -> ApiResult<StatusCode> {
    let project = app.project(&who, &id, Action::AdministerProject).await?;
    let dt = app.meta.deploy_token(token_id).await?.filter(|dt| dt.project_id == project.id);
    let dt = dt.ok_or(ApiError::NotFound("Deploy Token"))?;
    if !dt.revoked {
        app.meta.revoke_deploy_token(dt).await?;
    }
    tracing::info!(project_id = project.id, token_id, "deploy token revoked");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct AllowlistEntry {
    #[serde(deserialize_with = "number")]
    target_project_id: u64,
}

/// `POST /projects/:id/job_token_scope/allowlist` `{target_project_id}` (maintainer): the
/// job tokens of the target project may read this one from now on. The caller must be
/// able to see the target: an id they cannot see answers as one that does not exist.
pub async fn allowlist_add(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Params(body): Params<AllowlistEntry>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let project = app.project(&who, &id, Action::AdministerProject).await?;
    let target = app.project(&who, &body.target_project_id.to_string(), Action::View).await?;
    if !app.meta.allowlist_add(project.id, target.id).await? {
        return Err(ApiError::Conflict("target project is already in the job token scope".into()));
    }
    tracing::info!(project_id = project.id, target_project_id = target.id, by = %who.username(), "job token allowlist entry added");
    Ok((StatusCode::CREATED, Json(json!({"source_project_id": project.id, "target_project_id": target.id}))))
}

/// `DELETE /projects/:id/job_token_scope/allowlist/:target_project_id` (maintainer): the
/// target's job tokens lose access at once (every request reads the allowlist).
pub async fn allowlist_remove(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, target_id)): Path<(String, u64)>,
) -> ApiResult<StatusCode> {
    let project = app.project(&who, &id, Action::AdministerProject).await?;
    if !app.meta.allowlist_remove(project.id, target_id).await? {
        return Err(ApiError::NotFound("Allowlist Entry"));
    }
    tracing::info!(project_id = project.id, target_project_id = target_id, by = %who.username(), "job token allowlist entry removed");
    Ok(StatusCode::NO_CONTENT)
}
