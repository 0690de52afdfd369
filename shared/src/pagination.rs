//! GitLab-style offset pagination: `page` and `per_page` in, `X-Total`, `X-Total-Pages`,
//! `X-Page`, `X-Per-Page`, `X-Next-Page`, `X-Prev-Page` and `Link` out.

use axum::http::{HeaderMap, HeaderValue};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};

pub const MAX_PER_PAGE: u64 = 100;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page number, from 1.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 1_000_000_000)]
    pub page: Option<String>,
    /// Items per page; more than 100 is taken as 100.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 1_000_000_000)]
    pub per_page: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub page: u64,
    pub per_page: u64,
}

impl Page {
    /// GitLab clamps `per_page` to 100 and refuses what is not a positive number.
    pub fn from_params(p: &PageParams) -> ApiResult<Self> {
        let parse = |field: &str, raw: &Option<String>, default: u64| -> ApiResult<u64> {
            match raw {
                None => Ok(default),
                Some(s) => match s.trim().parse::<u64>() {
                    Ok(n) if (1..=1_000_000_000).contains(&n) => Ok(n),
                    _ => Err(ApiError::invalid(field)),
                },
            }
        };
        Ok(Self { page: parse("page", &p.page, 1)?, per_page: parse("per_page", &p.per_page, 20)?.min(MAX_PER_PAGE) })
    }

    pub fn offset(&self) -> u64 {
        (self.page - 1).saturating_mul(self.per_page)
    }

    /// The headers for a page of `total` items. `base` is the request URL without its
    /// query string; `query` the other parameters to carry into `Link`.
    pub fn headers(&self, total: u64, base: &str, query: &[(String, String)]) -> HeaderMap {
        let total_pages = total.div_ceil(self.per_page).max(1);
        let mut h = HeaderMap::new();
        let mut put = |name: &'static str, v: String| {
            if let Ok(v) = HeaderValue::from_str(&v) {
                h.insert(name, v);
            }
        };
        put("x-total", total.to_string());
        put("x-total-pages", total_pages.to_string());
        put("x-page", self.page.to_string());
        put("x-per-page", self.per_page.to_string());
        put("x-next-page", if self.page < total_pages { (self.page + 1).to_string() } else { String::new() });
        put("x-prev-page", if self.page > 1 { (self.page - 1).min(total_pages).to_string() } else { String::new() });
        let link = |page: u64, rel: &str| {
            let mut pairs: Vec<(String, String)> =
                query.iter().filter(|(k, _)| k != "page" && k != "per_page").cloned().collect();
            pairs.push(("page".into(), page.to_string()));
            pairs.push(("per_page".into(), self.per_page.to_string()));
            let qs = serde_urlencoded::to_string(&pairs).unwrap_or_default();
            format!("<{base}?{qs}>; rel=\"{rel}\"")
        };
        let mut links = Vec::new();
        if self.page > 1 {
            links.push(link((self.page - 1).min(total_pages), "prev"));
        }
        if self.page < total_pages {
            links.push(link(self.page + 1, "next"));
        }
        links.push(link(1, "first"));
        links.push(link(total_pages, "last"));
        put("link", links.join(", "));
        h
    }
}

/// The absolute URL of a request without its query, from the gateway's
/// `X-Forwarded-Proto` and `X-Forwarded-Host` (which it takes from a client only when that
/// client is a trusted proxy), else `Host`.
pub fn base_url(headers: &HeaderMap, path: &str) -> String {
    let host = ["x-forwarded-host", "host"]
        .iter()
        .find_map(|name| headers.get(*name).and_then(|v| v.to_str().ok()))
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .unwrap_or("localhost");
    let proto =
        headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).filter(|p| *p == "https").unwrap_or("http");
    format!("{proto}://{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(p: Option<&str>, pp: Option<&str>) -> ApiResult<Page> {
        Page::from_params(&PageParams { page: p.map(String::from), per_page: pp.map(String::from) })
    }

    #[test]
    fn defaults_clamps_and_refusals() {
        assert_eq!(page(None, None).expect("ok"), Page { page: 1, per_page: 20 });
        assert_eq!(page(Some("3"), Some("500")).expect("ok"), Page { page: 3, per_page: 100 });
        for (p, pp) in [(Some("0"), None), (Some("-1"), None), (None, Some("x")), (Some("99999999999999"), None)] {
            assert!(page(p, pp).is_err(), "{p:?} {pp:?}");
        }
    }

    #[test]
    fn headers_describe_the_page() {
        let h =
            Page { page: 2, per_page: 10 }.headers(25, "http://h/api/v4/projects", &[("search".into(), "x".into())]);
        assert_eq!(h["x-total"], "25");
        assert_eq!(h["x-total-pages"], "3");
        assert_eq!(h["x-next-page"], "3");
        assert_eq!(h["x-prev-page"], "1");
        let link = h["link"].to_str().expect("ascii");
        assert!(link.contains("<http://h/api/v4/projects?search=x&page=3&per_page=10>; rel=\"next\""), "{link}");
        let last = Page { page: 3, per_page: 10 }.headers(25, "http://h/p", &[]);
        assert_eq!(last["x-next-page"], "");
    }
}
