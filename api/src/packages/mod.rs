//! The Packages API: a package version is a name and version with its files
//! (`/projects/:id/packages`, `.../packages/:package_id`); its files, metadata, the recycle
//! bin, settings and the audit trail are the submodules.

mod archive;
mod events;
pub(crate) mod files;
mod metadata;
mod recycle_bin;
mod settings;
pub(crate) mod shares;

use crate::generic::description;
use crate::paging::Paging;
use crate::views;
use arca_shared::http::{Params, Path, Query, opt_boolean};
use arca_shared::meta::packages::{ListQuery, Order};
use arca_shared::meta::versions::{Event, EventAction};
use arca_shared::model::{Package, Project};
use arca_shared::pagination::PageParams;
use arca_shared::policy::Action;
use arca_shared::{ApiError, ApiResult, App, AppState, Auth, validate};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// One of GitLab's package types; arca holds only `generic` ones.
    #[param(value_type = Option<PackageType>)]
    package_type: Option<String>,
    /// Packages whose name contains this.
    #[param(max_length = 255, pattern = r"^[A-Za-z0-9._+-]*$")]
    package_name: Option<String>,
    /// One version.
    #[param(max_length = 255, pattern = r"^$|^(?!.*\.\.)(\.?[A-Za-z0-9_+-]+\.?)+$")]
    package_version: Option<String>,
    #[param(value_type = Option<OrderBy>)]
    order_by: Option<String>,
    #[param(value_type = Option<SortOrder>)]
    sort: Option<String>,
}

/// `GET /projects/:id/packages`: the project's packages, one entry per version.
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/packages", tag = "packages",
    params(ListParams, PageParams),
    responses((status = 200, description = "A page of the packages, one entry per version.", body = [views::Package]))
)]
pub async fn list(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Query(params): Query<ListParams>,
    paging: Paging,
) -> ApiResult<impl IntoResponse> {
    let project = app.project(&who, &id, Action::ReadPackages).await?;
    let page = paging.page;
    let order = match params.order_by.as_deref() {
        None | Some("created_at") => Order::CreatedAt,
        Some("name") => Order::Name,
        Some("version") => Order::Version,
        Some(_) => return Err(ApiError::invalid("order_by")),
    };
    let desc = match params.sort.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(ApiError::invalid("sort")),
    };
    if let Some(n) = params.package_name.as_deref().filter(|n| !n.is_empty()) {
        validate::package_name(n)?;
    }
    if let Some(v) = params.package_version.as_deref().filter(|v| !v.is_empty()) {
        validate::package_version(v)?;
    }
    let (total, packages) = match params.package_type.as_deref() {
        // Every package arca holds is generic.
        None | Some("") | Some("generic") => {
            let q = ListQuery {
                name: params.package_name.filter(|n| !n.is_empty()),
                version: params.package_version.filter(|v| !v.is_empty()),
                order,
                desc,
                offset: page.offset(),
                limit: page.per_page,
            };
            app.meta.list_packages(project.id, &q).await?
        }
        // GitLab's other package types: valid to ask for, and arca holds none of them.
        Some(t) if GITLAB_PACKAGE_TYPES.contains(&t) => (0, Vec::new()),
        Some(_) => return Err(ApiError::invalid("package_type")),
    };
    Ok(paging.answer(total, packages.iter().map(views::Package::from).collect()))
}

/// The sort keys of `GET .../packages` (described; the handler reads the text).
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
enum OrderBy {
    CreatedAt,
    Name,
    Version,
}

#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
enum SortOrder {
    Asc,
    Desc,
}

/// [`GITLAB_PACKAGE_TYPES`], described.
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
enum PackageType {
    Maven,
    Npm,
    Conan,
    Nuget,
    Pypi,
    Composer,
    Generic,
    Golang,
    Debian,
    Rubygems,
    Helm,
    TerraformModule,
    Rpm,
    MlModel,
    Cargo,
    Conda,
}

/// The package types GitLab knows (`generic` among them).
const GITLAB_PACKAGE_TYPES: [&str; 16] = [
    "maven",
    "npm",
    "conan",
    "nuget",
    "pypi",
    "composer",
    "generic",
    "golang",
    "debian",
    "rubygems",
    "helm",
    "terraform_module",
    "rpm",
    "ml_model",
    "cargo",
    "conda",
];

/// `GET /projects/:id/packages/:package_id`: one version, with its details and metadata.
#[utoipa::path(
    get, path = "/api/v4/projects/{id}/packages/{package_id}", tag = "packages",
    responses((status = 200, description = "The version, with its details and metadata.", body = views::Package))
)]
pub async fn show(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, package_id)): Path<(String, u64)>,
) -> ApiResult<Json<views::Package>> {
    let project = app.project(&who, &id, Action::ReadPackages).await?;
    let package = app.meta.package(project.id, package_id).await?.ok_or(ApiError::NotFound("Package"))?;
    let metadata = app.meta.package_metadata(&package).await?;
    Ok(Json(views::Package::details(&package, metadata)))
}

pub(crate) async fn live_package(app: &App, project: &Project, package_id: u64) -> ApiResult<Package> {
    app.meta.package(project.id, package_id).await?.ok_or(ApiError::NotFound("Package"))
}

#[derive(Deserialize, ToSchema)]
#[schema(min_properties = 1)]
pub struct PackageChange {
    /// At most 4,096 bytes; tabs and line breaks are the only control characters allowed.
    #[serde(default, deserialize_with = "arca_shared::http::present")]
    #[schema(nullable = false, max_length = 4096, pattern = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$")]
    description: Option<String>,
    #[serde(default, deserialize_with = "opt_boolean")]
    #[schema(nullable = false)]
    disabled: Option<bool>,
}

/// `PATCH .../packages/:package_id`: a developer may edit the description; disabling or
/// enabling a version is a maintainer's call.
#[utoipa::path(
    patch, path = "/api/v4/projects/{id}/packages/{package_id}", tag = "packages",
    request_body(content = PackageChange, description = "What changes: at least one of the two."),
    responses((status = 200, description = "The version.", body = views::Package))
)]
pub async fn update(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, package_id)): Path<(String, u64)>,
    Params(change): Params<PackageChange>,
) -> ApiResult<Json<views::Package>> {
    let need = if change.disabled.is_some() { Action::ManagePackages } else { Action::PublishPackages };
    let project = app.project(&who, &id, need).await?;
    let package = live_package(&app, &project, package_id).await?;
    let new_description = change.description.as_deref().map(|d| description(Some(d))).transpose()?;
    if new_description.is_none() && change.disabled.is_none() {
        return Err(ApiError::bad_request("give description or disabled"));
    }
    if !app.meta.update_package(&package, new_description.as_deref(), change.disabled).await? {
        return Err(ApiError::NotFound("Package"));
    }
    let actor = who.actor();
    if let Some(disabled) = change.disabled.filter(|d| *d != package.disabled) {
        let action = if disabled { EventAction::PackageDisabled } else { EventAction::PackageEnabled };
        app.meta.record_event(project.id, Event::about(&actor, action, (&package).into())).await;
    }
    if let Some(d) = &new_description {
        let detail = json!({ "description": d });
        app.meta
            .record_event(
                project.id,
                Event {
                    actor: &actor,
                    action: EventAction::PackageDescriptionChanged,
                    package: Some((&package).into()),
                    detail,
                },
            )
            .await;
    }
    tracing::info!(project_id = project.id, package_id, by = %actor.username, disabled = ?change.disabled, "package version updated");
    let updated = live_package(&app, &project, package_id).await?;
    let metadata = app.meta.package_metadata(&updated).await?;
    Ok(Json(views::Package::details(&updated, metadata)))
}

/// `DELETE .../packages/:package_id`: to the recycle bin.
#[utoipa::path(
    delete, path = "/api/v4/projects/{id}/packages/{package_id}", tag = "packages",
    responses((status = 204, description = "Moved to the recycle bin."))
)]
pub async fn recycle(
    State(app): State<AppState>,
    Auth(who): Auth,
    Path((id, package_id)): Path<(String, u64)>,
) -> ApiResult<StatusCode> {
    let project = app.project(&who, &id, Action::ManagePackages).await?;
    let package = live_package(&app, &project, package_id).await?;
    let actor = who.actor();
    if !app.meta.recycle_package(&package, &actor.username).await? {
        return Err(ApiError::NotFound("Package"));
    }
    app.meta.record_event(project.id, Event::about(&actor, EventAction::PackageRecycled, (&package).into())).await;
    tracing::info!(project_id = project.id, package_id, by = %actor.username, "package version recycled");
    Ok(StatusCode::NO_CONTENT)
}

/// The routes of this resource and its submodules, every method of each path.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(files::routes())
        .merge(metadata::routes())
        .merge(recycle_bin::routes())
        .merge(settings::routes())
        .merge(events::routes())
        .merge(archive::routes())
        .merge(shares::routes())
        .routes(routes!(list))
        .routes(routes!(show, update, recycle))
}
