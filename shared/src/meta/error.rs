//! What can go wrong in the metadata store, in the store's own terms. The HTTP layer maps
//! it to a status once (`impl From<StoreError> for ApiError`); the cleanup worker logs it.

/// The error of every [`super::Meta`] call.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Redis could not be reached, dropped the connection or timed out: the caller may retry.
    #[error("redis unavailable: {0}")]
    Unavailable(redis::RedisError),
    /// Redis answered with an error (a failed script, a key of the wrong type).
    #[error("redis: {0}")]
    Redis(redis::RedisError),
    /// A record that does not parse (damaged, or written by something that is not arca).
    #[error("corrupt record {what}: {detail}")]
    Corrupt { what: String, detail: String },
    /// The write would break a uniqueness rule (a taken username or project path).
    #[error("{0}")]
    Conflict(&'static str),
    /// The record the write needs is no longer there (`"Package"`, `"Project"`).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A limit the store enforces, e.g. metadata entries per version.
    #[error("{0}")]
    Limit(String),
}

impl StoreError {
    pub(crate) fn corrupt(what: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        Self::Corrupt { what: what.into(), detail: detail.to_string() }
    }
}

impl From<redis::RedisError> for StoreError {
    fn from(err: redis::RedisError) -> Self {
        if err.is_io_error() || err.is_timeout() || err.is_connection_dropped() || err.is_connection_refusal() {
            Self::Unavailable(err)
        } else {
            Self::Redis(err)
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
