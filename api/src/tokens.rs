//! Tokens: personal access tokens (`/users/:user_id/personal_access_tokens`,
//! `/personal_access_tokens`, `/personal_access_tokens/self`,
//! `/personal_access_tokens/:token_id`) and deploy tokens
//! (`/projects/:id/deploy_tokens`).

use crate::paging::Paging;
use crate::views;
use arca_shared::auth::{DEPLOY_SCOPES, PAT_SCOPES, Principal, check_scopes, hash_token, new_token};
use arca_shared::http::{Params, Path, Query, list, opt_number};
use arca_shared::model::{DeployToken, PersonalAccessToken};
use arca_shared::pagination::PageParams;
use arca_shared::policy::Action;
use arca_shared::time::{now_ms, parse_expiry};
use arca_shared::{ApiError, ApiResult, AppState, Auth, validate};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Deserialize, ToSchema)]
pub struct NewToken {
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*\S[^\u0000-\u001f\u007f-\u009f]*$"
    )]
    name: String,
    /// A list, or one comma-separated string.
    #[serde(deserialize_with = "list")]
    #[schema(value_type = Vec<PatScope>, min_items = 1)]
    scopes: Vec<String>,
    /// `YYYY-MM-DD`, in the future.
    #[schema(format = Date)]
    expires_at: Option<String>,
}

/// The scopes of a personal access token (`PAT_SCOPES`).
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
enum PatScope {
    Api,
    ReadApi,
}

/// The scopes of a deploy token (`DEPLOY_SCOPES`).
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
enum DeployScope {
    ReadPackageRegistry,
    WritePackageRegistry,
}

/// Parses an optional `expires_at` (empty is none), refusing dates in the past.
pub fn expiry(raw: Option<&str>) -> ApiResult<Option<u64>> {
    match raw.filter(|s| !s.trim().is_empty()) {
        None => Ok(None),
        Some(s) => match parse_expiry(s) {
            Some(t) if t > now_ms() => Ok(Some(t)),
            _ => Err(ApiError::invalid("expires_at")),
        },
    }
}

pub fn token_name(name: &str) -> ApiResult<()> {
    Ok(validate::text("name", name)?)
}

/// `POST /users/:user_id/personal_access_tokens` (administrator): a token, its secret shown
/// this once.
#[utoipa::path(
    post, path = "/api/v4/users/{user_id}/personal_access_tokens", tag = "tokens",
    request_body = NewToken,
    responses((status = 201, description = "The token, with its secret this once.", body = views::PersonalAccessToken))
)]
pub async fn create_token(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(user_id): Path<u64>,
    Params(body): Params<NewToken>,
) -> ApiResult<(StatusCode, Json<views::PersonalAccessToken>)> {
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
    Ok((StatusCode::CREATED, Json(views::PersonalAccessToken::of(&pat, Some(&secret)))))
}

/// `GET /personal_access_tokens/:token_id`: one token, never its secret: the
/// administrator any, a user their own (another's is not found).
#[utoipa::path(
    get, path = "/api/v4/personal_access_tokens/{token_id}", tag = "tokens",
    responses((status = 200, description = "The token.", body = views::PersonalAccessToken))
)]
pub async fn show_token(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(token_id): Path<u64>,
) -> ApiResult<Json<views::PersonalAccessToken>> {
    if matches!(who, Principal::Anonymous) {
        return Err(ApiError::Unauthorized);
    }
    let pat = app.meta.pat(token_id).await?.ok_or(ApiError::NotFound("Personal Access Token"))?;
    if who.user_id() != Some(pat.user_id) {
        who.require_admin().map_err(|e| match e {
            ApiError::Forbidden => ApiError::NotFound("Personal Access Token"),
            other => other,
        })?;
    }
    Ok(Json(views::PersonalAccessToken::of(&pat, None)))
}

/// `DELETE /personal_access_tokens/:token_id`: revokes a token: the administrator any, a
/// user their own.
#[utoipa::path(
    delete, path = "/api/v4/personal_access_tokens/{token_id}", tag = "tokens",
    responses((status = 204, description = "Revoked."))
)]
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

/// The personal access token a request comes with; other kinds of token have none.
async fn own_token(app: &AppState, who: &Principal) -> ApiResult<PersonalAccessToken> {
    match who {
        Principal::User { token_id, .. } => {
            app.meta.pat(*token_id).await?.ok_or(ApiError::NotFound("Personal Access Token"))
        }
        Principal::Anonymous => Err(ApiError::Unauthorized),
        _ => Err(ApiError::ForbiddenBecause("only a personal access token has this")),
    }
}

/// `GET /personal_access_tokens/self`: the personal access token this request comes with
/// (what it may do, when it expires), never its secret.
#[utoipa::path(
    get, path = "/api/v4/personal_access_tokens/self", tag = "tokens",
    responses((status = 200, description = "The token.", body = views::PersonalAccessToken))
)]
pub async fn show_own_token(
    State(app): State<AppState>,
    Auth(who): Auth,
) -> ApiResult<Json<views::PersonalAccessToken>> {
    let pat = own_token(&app, &who).await?;
    Ok(Json(views::PersonalAccessToken::of(&pat, None)))
}

/// `DELETE /personal_access_tokens/self`: revokes the token this request comes with (a
/// `read_api` token may revoke itself, as GitLab allows).
#[utoipa::path(
    delete, path = "/api/v4/personal_access_tokens/self", tag = "tokens",
    responses((status = 204, description = "Revoked."))
)]
pub async fn revoke_own_token(State(app): State<AppState>, Auth(who): Auth) -> ApiResult<StatusCode> {
    let pat = own_token(&app, &who).await?;
    let token_id = pat.id;
    app.meta.revoke_pat(pat).await?;
    tracing::info!(token_id, "personal access token revoked by itself");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenFilter {
    /// Only this user's tokens (the administrator; a user sees only their own anyway).
    #[serde(default, deserialize_with = "opt_number")]
    #[param(value_type = Option<i64>, minimum = 1)]
    user_id: Option<u64>,
}

/// `GET /personal_access_tokens`: the administrator's view of every token (`user_id`
/// narrows it), a user's of their own; never a secret.
#[utoipa::path(
    get, path = "/api/v4/personal_access_tokens", tag = "tokens",
    params(TokenFilter, PageParams),
    responses((status = 200, description = "A page of the tokens, oldest first.", body = [views::PersonalAccessToken]))
)]
pub async fn list_tokens(
    State(app): State<AppState>,
    Auth(who): Auth,
    Query(filter): Query<TokenFilter>,
    paging: Paging,
) -> ApiResult<impl IntoResponse> {
    // Ids are 1 to i64::MAX, as the description says (JSON Schema's int64).
    if filter.user_id.is_some_and(|u| u == 0 || u > i64::MAX as u64) {
        return Err(ApiError::invalid("user_id"));
    }
    let only = match &who {
        Principal::Admin => filter.user_id,
        Principal::User { user, .. } if user.admin => filter.user_id,
        Principal::User { user, .. } => Some(user.id),
        Principal::Anonymous => return Err(ApiError::Unauthorized),
        _ => return Err(ApiError::Forbidden),
    };
    let mut pats = app.meta.all_pats().await?;
    pats.retain(|t| only.is_none_or(|u| t.user_id == u));
    let items: Vec<views::PersonalAccessToken> =
        paging.window(&pats).map(|t| views::PersonalAccessToken::of(t, None)).collect();
    Ok(paging.answer(pats.len() as u64, items))
}

/// `GET /projects/:id/deploy_tokens` (maintainer): the project's deploy tokens, revoked
/// ones included, never a secret.
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/deploy_tokens", tag = "tokens",
    params(PageParams),
    responses((status = 200, description = "A page of the deploy tokens, oldest first.", body = [views::DeployToken]))
)]
pub async fn list_deploy_tokens(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    paging: Paging,
) -> ApiResult<impl IntoResponse> {
    let project = app.project(&who, &id, Action::AdministerProject).await?;
    let mut tokens = app.meta.all_deploy_tokens().await?;
    tokens.retain(|t| t.project_id == project.id);
    let items: Vec<views::DeployToken> = paging.window(&tokens).map(|t| views::DeployToken::of(t, None)).collect();
    Ok(paging.answer(tokens.len() as u64, items))
}

#[derive(Deserialize, ToSchema)]
pub struct NewDeployToken {
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*\S[^\u0000-\u001f\u007f-\u009f]*$"
    )]
    name: String,
    /// A list, or one comma-separated string.
    #[serde(deserialize_with = "list")]
    #[schema(value_type = Vec<DeployScope>, min_items = 1)]
    scopes: Vec<String>,
    /// `YYYY-MM-DD`, in the future.
    #[schema(format = Date)]
    expires_at: Option<String>,
    #[schema(min_length = 1, max_length = 255, pattern = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")]
    username: Option<String>,
}

/// `POST /projects/:id/deploy_tokens` (maintainer): a deploy token, its secret shown this once.
#[utoipa::path(
    post, path = "/api/v4/projects/{id}/deploy_tokens", tag = "tokens",
    request_body = NewDeployToken,
    responses((status = 201, description = "The token, with its secret this once.", body = views::DeployToken))
)]
pub async fn create_deploy_token(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Params(body): Params<NewDeployToken>,
) -> ApiResult<(StatusCode, Json<views::DeployToken>)> {
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
    Ok((StatusCode::CREATED, Json(views::DeployToken::of(&dt, Some(&secret)))))
}

/// `GET /projects/:id/deploy_tokens/:token_id` (maintainer): one deploy token, never its
/// secret.
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/deploy_tokens/{token_id}", tag = "tokens",
    responses((status = 200, description = "The deploy token.", body = views::DeployToken))
)]
pub async fn show_deploy_token(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, token_id)): Path<(String, u64)>,
) -> ApiResult<Json<views::DeployToken>> {
    let project = app.project(&who, &id, Action::AdministerProject).await?;
    let dt = app.meta.deploy_token(token_id).await?.filter(|dt| dt.project_id == project.id);
    let dt = dt.ok_or(ApiError::NotFound("Deploy Token"))?;
    Ok(Json(views::DeployToken::of(&dt, None)))
}

/// `DELETE /projects/:id/deploy_tokens/:token_id` (maintainer): the token stops working.
#[utoipa::path(
    delete, path = "/api/v4/projects/{id}/deploy_tokens/{token_id}", tag = "tokens",
    responses((status = 204, description = "Revoked."))
)]
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

/// The routes of this resource, every method of each path, with their descriptions.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_token))
        .routes(routes!(list_tokens))
        .routes(routes!(show_own_token, revoke_own_token))
        .routes(routes!(show_token, revoke_token))
        .routes(routes!(list_deploy_tokens, create_deploy_token))
        .routes(routes!(show_deploy_token, revoke_deploy_token))
}
