//! Conditional publish: `If-Match` and `If-None-Match` on the generic `PUT`, as RFC 9110
//! (§13.1.1, §13.1.2) defines them against the ETag a download answers with (`"<sha256>"`
//! of the newest file of that name).
//!
//! The headers are read against the current file before the body is taken (a refused
//! publish never uploads its bytes), and the outcome is decided again atomically when the
//! file commits ([`Precondition`]): of concurrent `If-None-Match: *` publishes exactly one
//! succeeds.

use arca_shared::meta::packages::Precondition;
use arca_shared::model::PackageFile;
use arca_shared::{ApiError, ApiResult};
use axum::http::{HeaderMap, HeaderName, header};

/// An `If-Match` or `If-None-Match` field value.
#[derive(Debug, PartialEq, Eq)]
pub enum Tags {
    /// `*`
    Any,
    /// Entity tags: `(weak, opaque tag without its quotes)`.
    List(Vec<(bool, String)>),
}

impl Tags {
    /// Parses a field value; `None` when it is malformed.
    pub fn parse(value: &str) -> Option<Self> {
        if value.trim() == "*" {
            return Some(Self::Any);
        }
        let mut tags = Vec::new();
        let mut rest = value;
        loop {
            rest = rest.trim_start_matches([' ', '\t', ',']);
            if rest.is_empty() {
                break;
            }
            let weak = rest.starts_with("W/");
            if weak {
                rest = &rest[2..];
            }
            let inner = rest.strip_prefix('"')?;
            let end = inner.find('"')?;
            let opaque = &inner[..end];
            // etagc: %x21 / %x23-7E / obs-text.
            if !opaque.bytes().all(|b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80) {
                return None;
            }
            tags.push((weak, opaque.to_owned()));
            rest = inner[end + 1..].trim_start_matches([' ', '\t']);
            if !(rest.is_empty() || rest.starts_with(',')) {
                return None;
            }
        }
        if tags.is_empty() { None } else { Some(Self::List(tags)) }
    }

    /// Strong comparison (`If-Match`): a weak tag never matches.
    fn matches_strongly(&self, sha256: &str) -> bool {
        match self {
            Self::Any => true,
            Self::List(tags) => tags.iter().any(|(weak, t)| !weak && t == sha256),
        }
    }

    /// Weak comparison (`If-None-Match`).
    pub(crate) fn matches_weakly(&self, sha256: &str) -> bool {
        match self {
            Self::Any => true,
            Self::List(tags) => tags.iter().any(|(_, t)| t == sha256),
        }
    }
}

/// The conditional headers of a publish, if any.
#[derive(Debug, Default)]
pub struct Conditions {
    if_match: Option<Tags>,
    if_none_match: Option<Tags>,
}

/// Every line of a header, joined as one list; malformed (or not text) is a failed
/// precondition, as RFC 9110 leaves it to the server.
fn field(headers: &HeaderMap, name: HeaderName) -> ApiResult<Option<Tags>> {
    let mut values = Vec::new();
    for v in headers.get_all(name) {
        values.push(v.to_str().map_err(|_| ApiError::PreconditionFailed)?);
    }
    if values.is_empty() {
        return Ok(None);
    }
    Tags::parse(&values.join(",")).map(Some).ok_or(ApiError::PreconditionFailed)
}

impl Conditions {
    pub fn from_headers(headers: &HeaderMap) -> ApiResult<Self> {
        Ok(Self { if_match: field(headers, header::IF_MATCH)?, if_none_match: field(headers, header::IF_NONE_MATCH)? })
    }

    pub fn is_empty(&self) -> bool {
        self.if_match.is_none() && self.if_none_match.is_none()
    }

    /// Did `If-Match` match (the publish replaces that file, duplicates refused or not)?
    pub fn replaces(&self) -> bool {
        self.if_match.is_some()
    }

    /// Evaluates the headers against the newest file of that name now; on success, what
    /// must still hold when the file commits.
    pub fn evaluate(&self, current: Option<&PackageFile>) -> ApiResult<Precondition> {
        if self.is_empty() {
            return Ok(Precondition::None);
        }
        if let Some(tags) = &self.if_match
            && !current.is_some_and(|f| tags.matches_strongly(&f.sha256))
        {
            return Err(ApiError::PreconditionFailed);
        }
        if let Some(tags) = &self.if_none_match
            && current.is_some_and(|f| tags.matches_weakly(&f.sha256))
        {
            return Err(ApiError::PreconditionFailed);
        }
        Ok(match current {
            Some(f) => Precondition::Is(f.id),
            None => Precondition::Absent,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn file(id: u64, sha256: &str) -> PackageFile {
        PackageFile {
            id,
            package_id: 1,
            project_id: 1,
            file_name: "f".into(),
            size: 1,
            md5: String::new(),
            sha1: String::new(),
            sha256: sha256.into(),
            blob_key: String::new(),
            created_at: 0,
            pushed_by: String::new(),
        }
    }

    fn conditions(pairs: &[(HeaderName, &'static str)]) -> ApiResult<Conditions> {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(name.clone(), HeaderValue::from_static(value));
        }
        Conditions::from_headers(&h)
    }

    #[test]
    fn tags_parse_as_rfc_9110_writes_them() {
        assert_eq!(Tags::parse("*"), Some(Tags::Any));
        assert_eq!(Tags::parse(" \"abc\" "), Some(Tags::List(vec![(false, "abc".into())])));
        assert_eq!(
            Tags::parse("W/\"a\", \"b\",\"c,d\""),
            Some(Tags::List(vec![(true, "a".into()), (false, "b".into()), (false, "c,d".into())]))
        );
        assert_eq!(Tags::parse("\"\""), Some(Tags::List(vec![(false, String::new())])));
        for bad in ["abc", "\"abc", "W/abc", "\"a\" \"b\"", "\"a b\"", "", " , ", "*, \"a\"", "w/\"a\""] {
            assert_eq!(Tags::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn if_none_match_star_creates_only() {
        let c = conditions(&[(header::IF_NONE_MATCH, "*")]).expect("parses");
        assert_eq!(c.evaluate(None).expect("absent"), Precondition::Absent);
        assert!(matches!(c.evaluate(Some(&file(3, "x"))), Err(ApiError::PreconditionFailed)));
        assert!(!c.replaces());
    }

    #[test]
    fn if_match_replaces_only_what_it_names_strongly() {
        let c = conditions(&[(header::IF_MATCH, "\"old\", \"other\"")]).expect("parses");
        assert_eq!(c.evaluate(Some(&file(3, "old"))).expect("matches"), Precondition::Is(3));
        assert!(matches!(c.evaluate(Some(&file(3, "new"))), Err(ApiError::PreconditionFailed)));
        assert!(matches!(c.evaluate(None), Err(ApiError::PreconditionFailed)));
        assert!(c.replaces());
        let weak = conditions(&[(header::IF_MATCH, "W/\"old\"")]).expect("parses");
        assert!(matches!(weak.evaluate(Some(&file(3, "old"))), Err(ApiError::PreconditionFailed)));
        let any = conditions(&[(header::IF_MATCH, "*")]).expect("parses");
        assert_eq!(any.evaluate(Some(&file(4, "z"))).expect("exists"), Precondition::Is(4));
        assert!(matches!(any.evaluate(None), Err(ApiError::PreconditionFailed)));
    }

    #[test]
    fn malformed_headers_fail_the_precondition_and_none_changes_nothing() {
        assert!(matches!(conditions(&[(header::IF_MATCH, "garbage")]), Err(ApiError::PreconditionFailed)));
        assert!(matches!(conditions(&[(header::IF_NONE_MATCH, "\"open")]), Err(ApiError::PreconditionFailed)));
        let none = conditions(&[]).expect("none");
        assert!(none.is_empty());
        assert_eq!(none.evaluate(Some(&file(1, "a"))).expect("none"), Precondition::None);
        // Lines of one header are one list.
        let two = conditions(&[(header::IF_MATCH, "\"a\""), (header::IF_MATCH, "\"b\"")]).expect("parses");
        assert_eq!(two.evaluate(Some(&file(9, "b"))).expect("second line"), Precondition::Is(9));
    }
}
