//! Users and personal access tokens (instance administration).

use arca_shared::auth::{PAT_SCOPES, Principal, check_scopes, hash_token, new_token};
use arca_shared::http::{Params, Path, boolean, list};
use arca_shared::model::PersonalAccessToken;
use arca_shared::time::{now_ms, parse_expiry};
use arca_shared::{ApiError, ApiResult, AppState, Auth, validate, views};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;

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
