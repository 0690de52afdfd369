//! Listings answered a page at a time, with GitLab's pagination headers.

use arca_shared::pagination::{Page, base_url};
use axum::Json;
use axum::extract::OriginalUri;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use serde::Serialize;

/// A page of a listing with GitLab's pagination headers. The request's other parameters
/// are carried into `Link`, its token parameters never are.
pub(crate) fn paged<T: Serialize>(
    page: Page,
    total: u64,
    items: Vec<T>,
    uri: &OriginalUri,
    headers: &HeaderMap,
) -> impl IntoResponse + use<T> {
    let query: Vec<(String, String)> = serde_urlencoded::from_str::<Vec<(String, String)>>(uri.query().unwrap_or(""))
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k != "private_token" && k != "job_token")
        .collect();
    (page.headers(total, &base_url(headers, uri.path()), &query), Json(items))
}
