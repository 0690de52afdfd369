//! Tokens: personal access tokens (`/users/:user_id/personal_access_tokens`,
//! `/personal_access_tokens/:token_id`) and deploy tokens (`/projects/:id/deploy_tokens`).

use arca_shared::auth::{DEPLOY_SCOPES, PAT_SCOPES, Principal, check_scopes, hash_token, new_token};
use arca_shared::http::{Params, Path, list};
use arca_shared::model::{DeployToken, PersonalAccessToken};
use arca_shared::policy::Action;
use arca_shared::time::{now_ms, parse_expiry};
use arca_shared::{ApiError, ApiResult, AppState, Auth, validate, views};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
pub struct NewToken {
    name: String,
    #[serde(deserialize_with = "list")]
    scopes: Vec<String>,
    expires_at: Option<String>,
}

/// Parses an optional `expires_at`, refusing dates in the past.
pub fn expiry(raw: Option<&str>) -> ApiResult<Option<u64>> {
    match raw {
        None => Ok(None),
        Some(s) => match parse_expiry(s) {
            Some(t) if t > now_ms() => Ok(Some(t)),
            _ => Err(ApiError::invalid("expires_at")),
        },
    }
}

pub fn token_name(name: &str) -> ApiResult<()> {
    if name.trim().is_empty() || name.len() > 255 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid("name"));
    }
    Ok(())
}

pub async fn create_token(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(user_id): Path<u64>,
    Params(body): Params<NewToken>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    who.require_admin()?;
    token_name(&body.name)?;
    check_scopes(&body.scopes, &PAT_SCOPES)?;
    let expires_at = expiry(body.expires_at.as_deref())?;
    if app.meta.user(user_id).await?.is_none() {
        return Err(ApiError::NotFound("User"));
    }
    let secret = new_token("arca-pat-");
    let pat = PersonalAccessToken {
        id: app.meta.next_pat_id().await?,
        user_id,
        name: body.name,
        scopes: body.scopes,
        created_at: now_ms(),
        expires_at,
        revoked: false,
        token_hash: hash_token(&secret),
    };
    app.meta.save_pat(&pat).await?;
    tracing::info!(token_id = pat.id, user_id, "personal access token created");
    Ok((StatusCode::CREATED, Json(views::pat(&pat, Some(&secret)))))
}

/// Revokes a token: the administrator any, a user their own.
pub async fn revoke_token(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(token_id): Path<u64>,
) -> ApiResult<StatusCode> {
    if matches!(who, Principal::Anonymous) {
        return Err(ApiError::Unauthorized);
    }
    let pat = app.meta.pat(token_id).await?.ok_or(ApiError::NotFound("Personal Access Token"))?;
    let own = who.user_id() == Some(pat.user_id) && matches!(who, Principal::User { read_only: false, .. });
    if !own {
        who.require_admin().map_err(|e| match e {
            // A stranger's token is not theirs to see.
            ApiError::Forbidden => ApiError::NotFound("Personal Access Token"),
            other => other,
        })?;
    }
    if !pat.revoked {
        app.meta.revoke_pat(pat).await?;
    }
    tracing::info!(token_id, "personal access token revoked");
    Ok(StatusCode::NO_CONTENT)
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

/// The routes of this resource, every method of each path.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v4/users/{user_id}/personal_access_tokens", post(create_token))
        .route("/api/v4/personal_access_tokens/{token_id}", delete(revoke_token))
        .route("/api/v4/projects/{id}/deploy_tokens", post(create_deploy_token))
        .route("/api/v4/projects/{id}/deploy_tokens/{token_id}", delete(revoke_deploy_token))
}
