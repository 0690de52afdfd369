//! The one error type of the HTTP layer and its mapping to the JSON bodies clients get
//! (`{"message"}`, `{"error"}`).
//!
//! Handlers return `Result<_, ApiError>`. What a client sees is decided here and only
//! here; internal causes (a Redis error, an S3 error) are logged with context and never
//! sent to the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("401 Unauthorized")]
    Unauthorized,
    #[error("403 Forbidden")]
    Forbidden,
    /// 403 with GitLab's longer message, e.g. `403 Forbidden - package version is disabled`.
    #[error("403 Forbidden - {0}")]
    ForbiddenBecause(&'static str),
    #[error("404 Project Not Found")]
    ProjectNotFound,
    /// 404 for something other than a project: `404 Package Not Found`, `404 User Not Found`.
    #[error("404 {0} Not Found")]
    NotFound(&'static str),
    /// A rejected parameter: `{"error": "<field> is invalid"}`.
    #[error("{0} is invalid")]
    InvalidParam(String),
    /// A malformed request, with a message for the client.
    #[error("400 Bad request - {0}")]
    BadRequest(String),
    /// 400 whose message is the reason alone, as GitLab words some: `another artifact of
    /// the same type already exists`.
    #[error("{0}")]
    BadRequestPlain(&'static str),
    #[error("409 Conflict - {0}")]
    Conflict(String),
    /// 409 whose message is the reason alone, as GitLab words some: `pipeline is not running`.
    #[error("{0}")]
    ConflictPlain(String),
    /// A request that reached the service that does not answer its method (the gateway
    /// sends reads to the download service and writes to the upload service).
    #[error("421 Misdirected Request - {0}")]
    Misdirected(&'static str),
    #[error("413 Payload Too Large")]
    PayloadTooLarge,
    /// A conditional request (`If-Match`, `If-None-Match`) whose condition is false.
    #[error("412 Precondition Failed")]
    PreconditionFailed,
    #[error("416 Range Not Satisfiable")]
    RangeNotSatisfiable,
    /// Redis or S3 cannot be reached: fail fast, the client may retry.
    #[error("503 Service Unavailable")]
    Unavailable(String),
    /// Anything else; the detail is logged, the client sees a generic 500.
    #[error("500 Internal Server Error")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::BadRequest(msg.into())
    }

    pub fn invalid(field: impl Into<String>) -> Self {
        Self::InvalidParam(field.into())
    }

    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        Self::Internal(format!("{context}: {err}"))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::ForbiddenBecause(_) => StatusCode::FORBIDDEN,
            Self::ProjectNotFound | Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::InvalidParam(_) | Self::BadRequest(_) | Self::BadRequestPlain(_) => StatusCode::BAD_REQUEST,
            Self::Conflict(_) | Self::ConflictPlain(_) => StatusCode::CONFLICT,
            Self::Misdirected(_) => StatusCode::MISDIRECTED_REQUEST,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match &self {
            Self::InvalidParam(_) => json!({ "error": self.to_string() }),
            Self::Unavailable(cause) => {
                tracing::error!(error = %cause, "dependency unavailable");
                json!({ "message": "503 Service Unavailable - storage backend unreachable, retry later" })
            }
            Self::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                json!({ "message": self.to_string() })
            }
            _ => json!({ "message": self.to_string() }),
        };
        let mut resp = (status, Json(body)).into_response();
        match self {
            Self::Unauthorized => {
                resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"arca\""));
            }
            Self::Unavailable(_) => {
                resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        resp
    }
}

impl From<crate::meta::StoreError> for ApiError {
    fn from(err: crate::meta::StoreError) -> Self {
        use crate::meta::StoreError;
        match err {
            StoreError::Unavailable(_) => Self::Unavailable(err.to_string()),
            StoreError::Redis(_) | StoreError::Corrupt { .. } => Self::Internal(err.to_string()),
            StoreError::Conflict(why) => Self::Conflict(why.to_owned()),
            StoreError::NotFound(what) => Self::NotFound(what),
            StoreError::Limit(why) => Self::BadRequest(why),
        }
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> Self {
        Self::BadRequest(rejection.body_text())
    }
}

/// A path that does not parse (`/projects/1/packages/abc`) names no route, as in GitLab.
impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(_: axum::extract::rejection::PathRejection) -> Self {
        Self::NotFound("Route")
    }
}

impl From<crate::validate::Invalid> for ApiError {
    fn from(err: crate::validate::Invalid) -> Self {
        Self::InvalidParam(err.0)
    }
}

impl From<crate::blobs::BlobError> for ApiError {
    fn from(err: crate::blobs::BlobError) -> Self {
        match err {
            crate::blobs::BlobError::Unavailable(e) => Self::Unavailable(format!("s3: {e}")),
            crate::blobs::BlobError::NotFound => Self::NotFound("File"),
            crate::blobs::BlobError::InvalidRange => Self::RangeNotSatisfiable,
            crate::blobs::BlobError::Other(e) => Self::Internal(format!("s3: {e}")),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::StoreError;

    #[test]
    fn store_errors_become_the_status_a_client_can_act_on() {
        let refused = redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let cases = [
            (StoreError::from(refused), StatusCode::SERVICE_UNAVAILABLE),
            (StoreError::corrupt("user:1", "expected value"), StatusCode::INTERNAL_SERVER_ERROR),
            (StoreError::Conflict("Username has already been taken"), StatusCode::CONFLICT),
            (StoreError::NotFound("Package"), StatusCode::NOT_FOUND),
            (StoreError::Limit("a version holds at most 20 metadata entries".into()), StatusCode::BAD_REQUEST),
        ];
        for (err, status) in cases {
            let shown = err.to_string();
            assert_eq!(ApiError::from(err).status(), status, "{shown}");
        }
    }
}
