//! What arca's services share: configuration, the metadata store (Redis), the blob store
//! (S3), authentication, the error type and its JSON mapping, metrics, validation and the
//! HTTP plumbing every service runs on.

#[cfg(feature = "server")]
pub mod app;
#[cfg(feature = "server")]
pub mod archive;
#[cfg(feature = "server")]
pub mod auth;
#[cfg(feature = "server")]
pub mod authcache;
#[cfg(feature = "server")]
pub mod blobs;
#[cfg(feature = "server")]
pub mod checksum;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod db;
#[cfg(feature = "server")]
pub mod downloads;
#[cfg(feature = "server")]
pub mod error;
pub mod expire_in;
#[cfg(feature = "server")]
pub mod http;
#[cfg(feature = "server")]
pub mod keys;
#[cfg(feature = "server")]
pub mod meta;
#[cfg(feature = "server")]
pub mod metrics;
#[cfg(feature = "server")]
pub mod model;
#[cfg(feature = "server")]
pub mod pagination;
#[cfg(feature = "server")]
pub mod policy;
#[cfg(feature = "server")]
pub mod presign;
#[cfg(feature = "server")]
pub mod service;
#[cfg(feature = "server")]
pub mod telemetry;
#[cfg(feature = "server")]
pub mod time;
pub mod validate;
pub mod zipcheck;
pub mod zipindex;

#[cfg(feature = "server")]
pub use app::{App, AppState, Auth};
#[cfg(feature = "server")]
pub use error::{ApiError, ApiResult};
