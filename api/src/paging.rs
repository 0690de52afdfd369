//! Listings answered a page at a time, with GitLab's pagination headers.

use arca_shared::ApiError;
use arca_shared::pagination::{Page, PageParams, base_url};
use axum::Json;
use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::response::IntoResponse;
use serde::Serialize;

/// The page a listing request asks for (`page`, `per_page`) and what its answer's
/// pagination headers need: the request's URL and its other parameters (never its token
/// parameters), which `Link` carries to the next page.
pub(crate) struct Paging {
    pub(crate) page: Page,
    base: String,
    query: Vec<(String, String)>,
}

impl<S: Send + Sync> FromRequestParts<S> for Paging {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let uri = parts.extensions.get::<OriginalUri>().map_or(&parts.uri, |o| &o.0);
        let raw = uri.query().unwrap_or("");
        let params: PageParams = serde_urlencoded::from_str(raw).map_err(|e| ApiError::bad_request(e.to_string()))?;
        let query = serde_urlencoded::from_str::<Vec<(String, String)>>(raw)
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| k != "private_token" && k != "job_token")
            .collect();
        Ok(Self { page: Page::from_params(&params)?, base: base_url(&parts.headers, uri.path()), query })
    }
}

impl Paging {
    /// The items of this page, out of a whole listing held in memory.
    pub(crate) fn window<'a, T>(&self, items: &'a [T]) -> impl Iterator<Item = &'a T> + use<'a, T> {
        items.iter().skip(self.page.offset() as usize).take(self.page.per_page as usize)
    }

    /// This page of a listing of `total` items, with GitLab's pagination headers.
    pub(crate) fn answer<T: Serialize>(&self, total: u64, items: Vec<T>) -> impl IntoResponse + use<T> {
        (self.page.headers(total, &self.base, &self.query), Json(items))
    }
}
