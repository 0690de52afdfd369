//! Project webhooks: `POST|GET /projects/:id/hooks`, `GET|PUT|DELETE .../hooks/:hook_id`
//! and the delivery log, `GET .../hooks/:hook_id/deliveries` (maintainers).
//!
//! A hook's URL is checked when it is saved: http or https, no credentials, and every
//! address its host resolves to must be one a hook may reach (docs/WEBHOOKS.md). The
//! cleanup worker checks again at every delivery. The secret signs deliveries and is never
//! shown, not even in the answer that creates the hook.

use crate::paging::Paging;
use crate::views;
use arca_shared::http::{Params, Path};
use arca_shared::pagination::PageParams;
use arca_shared::policy::Action;
use arca_shared::time::now_ms;
use arca_shared::webhooks::{self, Attempt, Hook, HookEvent};
use arca_shared::{ApiError, ApiResult, AppState, Auth};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// A project holds at most this many hooks.
const MAX_HOOKS: usize = 20;
const MAX_SECRET_LEN: usize = 256;

#[derive(Deserialize, ToSchema)]
pub struct NewHook {
    /// Where deliveries are POSTed: `http` or `https`, without credentials.
    #[schema(max_length = 2048)]
    url: String,
    /// Signs every delivery (`X-Arca-Signature: sha256=<hex HMAC-SHA256 of the body>`);
    /// never shown again.
    #[schema(max_length = 256)]
    secret: Option<String>,
    /// The events to deliver; every event when left out.
    events: Option<Vec<String>>,
}

/// The events a hook asks for: known names, at least one, each once.
fn parse_events(names: &[String]) -> ApiResult<Vec<HookEvent>> {
    if names.is_empty() {
        return Err(ApiError::bad_request("events: give at least one event"));
    }
    let mut events = Vec::new();
    for name in names {
        let event = HookEvent::parse(name.trim())
            .ok_or_else(|| ApiError::bad_request(format!("events: unknown event {name:?}")))?;
        if !events.contains(&event) {
            events.push(event);
        }
    }
    Ok(events)
}

/// A secret as given: none when empty, at most [`MAX_SECRET_LEN`] bytes.
fn parse_secret(secret: Option<String>) -> ApiResult<Option<String>> {
    let secret = secret.filter(|s| !s.is_empty());
    if secret.as_ref().is_some_and(|s| s.len() > MAX_SECRET_LEN) {
        return Err(ApiError::bad_request(format!("secret: at most {MAX_SECRET_LEN} bytes")));
    }
    Ok(secret)
}

/// A hook URL that is well formed and leads only where a hook may go, checked now (DNS
/// included, bounded by `ARCA_WEBHOOK_TIMEOUT`); as the URL parser writes it.
async fn checked_url(app: &AppState, raw: &str) -> ApiResult<String> {
    let target = webhooks::parse_url(raw).map_err(ApiError::bad_request)?;
    let checked = tokio::time::timeout(
        app.config.webhooks.timeout,
        webhooks::resolve(&target, app.config.webhooks.allow_private),
    )
    .await
    .map_err(|_| ApiError::bad_request("url: its host did not resolve in time"))?;
    checked.map_err(|why| ApiError::bad_request(format!("url: {why}")))?;
    Ok(target.url.to_string())
}

async fn found(app: &AppState, project_id: u64, hook_id: u64) -> ApiResult<Hook> {
    app.meta.hook(project_id, hook_id).await?.ok_or(ApiError::NotFound("Hook"))
}

/// `POST /projects/:id/hooks` (maintainer): a new hook.
#[utoipa::path(
    post, path = "/api/v4/projects/{id}/hooks", tag = "hooks",
    request_body = NewHook,
    responses(
        (status = 201, description = "The hook (its secret is not shown).", body = views::Hook),
        (status = 400, description = "A URL that is not http(s), carries credentials or leads to an address a hook may not reach; an unknown event."),
    )
)]
pub async fn create(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Params(body): Params<NewHook>,
) -> ApiResult<(StatusCode, Json<views::Hook>)> {
    let project = app.project(&who, &id, Action::AdministerProject).await?;
    let events = match body.events {
        None => HookEvent::ALL.to_vec(),
        Some(names) => parse_events(&names)?,
    };
    let secret = parse_secret(body.secret)?;
    let url = checked_url(&app, &body.url).await?;
    if app.meta.hooks(project.id).await?.len() >= MAX_HOOKS {
        return Err(ApiError::bad_request(format!("a project has at most {MAX_HOOKS} hooks")));
    }
    let hook = Hook {
        id: app.meta.next_hook_id().await?,
        project_id: project.id,
        url,
        events,
        secret,
        created_at: now_ms(),
        created_by: who.username(),
    };
    app.meta.create_hook(&hook).await?;
    tracing::info!(project_id = project.id, hook_id = hook.id, by = %hook.created_by, "hook created");
    Ok((StatusCode::CREATED, Json(views::Hook::of(&hook))))
}

/// `GET /projects/:id/hooks` (maintainer): the project's hooks, oldest first.
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/hooks", tag = "hooks",
    params(PageParams),
    responses((status = 200, description = "The project's hooks, oldest first.", body = [views::Hook]))
)]
pub async fn list(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    paging: Paging,
) -> ApiResult<impl IntoResponse> {
    let project = app.project(&who, &id, Action::AdministerProject).await?;
    let hooks = app.meta.hooks(project.id).await?;
    let shown: Vec<views::Hook> = paging.window(&hooks).map(views::Hook::of).collect();
    Ok(paging.answer(hooks.len() as u64, shown))
}

/// `GET /projects/:id/hooks/:hook_id` (maintainer).
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/hooks/{hook_id}", tag = "hooks",
    responses((status = 200, description = "The hook.", body = views::Hook))
)]
pub async fn get(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, hook_id)): Path<(String, u64)>,
) -> ApiResult<Json<views::Hook>> {
    let project = app.project(&who, &id, Action::AdministerProject).await?;
    Ok(Json(views::Hook::of(&found(&app, project.id, hook_id).await?)))
}

#[derive(Deserialize, ToSchema)]
pub struct HookChange {
    /// A new URL, checked as when a hook is created.
    #[schema(max_length = 2048)]
    url: Option<String>,
    /// A new secret; an empty string removes it (deliveries are then unsigned).
    #[schema(max_length = 256)]
    secret: Option<String>,
    /// The events to deliver from now on (at least one).
    events: Option<Vec<String>>,
}

/// `PUT /projects/:id/hooks/:hook_id` (maintainer): changes the URL, the secret or the
/// events; what is left out stays. Deliveries already queued go to the hook as it is when
/// they are sent. The delivery log is kept.
#[utoipa::path(
    put, path = "/api/v4/projects/{id}/hooks/{hook_id}", tag = "hooks",
    request_body = HookChange,
    responses(
        (status = 200, description = "The hook as changed (its secret is not shown).", body = views::Hook),
        (status = 400, description = "Nothing to change, or a URL, secret or event refused as on creation."),
    )
)]
pub async fn update(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, hook_id)): Path<(String, u64)>,
    Params(change): Params<HookChange>,
) -> ApiResult<Json<views::Hook>> {
    let project = app.project(&who, &id, Action::AdministerProject).await?;
    let mut hook = found(&app, project.id, hook_id).await?;
    if change.url.is_none() && change.secret.is_none() && change.events.is_none() {
        return Err(ApiError::bad_request("give url, secret or events"));
    }
    if let Some(names) = &change.events {
        hook.events = parse_events(names)?;
    }
    if change.secret.is_some() {
        hook.secret = parse_secret(change.secret)?;
    }
    if let Some(raw) = &change.url {
        hook.url = checked_url(&app, raw).await?;
    }
    if !app.meta.update_hook(&hook).await? {
        return Err(ApiError::NotFound("Hook"));
    }
    tracing::info!(project_id = project.id, hook_id, by = %who.username(), "hook changed");
    Ok(Json(views::Hook::of(&hook)))
}

/// `DELETE /projects/:id/hooks/:hook_id` (maintainer): the hook and its delivery log; its
/// queued deliveries are dropped.
#[utoipa::path(
    delete, path = "/api/v4/projects/{id}/hooks/{hook_id}", tag = "hooks",
    responses((status = 204, description = "Deleted."))
)]
pub async fn delete(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, hook_id)): Path<(String, u64)>,
) -> ApiResult<StatusCode> {
    let project = app.project(&who, &id, Action::AdministerProject).await?;
    if !app.meta.delete_hook(project.id, hook_id).await? {
        return Err(ApiError::NotFound("Hook"));
    }
    tracing::info!(project_id = project.id, hook_id, by = %who.username(), "hook deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /projects/:id/hooks/:hook_id/deliveries` (maintainer): the recent attempts, newest
/// first (the last 100).
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/hooks/{hook_id}/deliveries", tag = "hooks",
    params(PageParams),
    responses((status = 200, description = "Recent attempts, newest first.", body = [Attempt]))
)]
pub async fn deliveries(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, hook_id)): Path<(String, u64)>,
    paging: Paging,
) -> ApiResult<impl IntoResponse> {
    let project = app.project(&who, &id, Action::AdministerProject).await?;
    found(&app, project.id, hook_id).await?;
    let page = paging.page;
    let (total, attempts) = app.meta.hook_deliveries(project.id, hook_id, page.offset(), page.per_page).await?;
    Ok(paging.answer(total, attempts))
}

/// The routes of this resource, every method of each path, with their descriptions.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create, list)).routes(routes!(get, update, delete)).routes(routes!(deliveries))
}
