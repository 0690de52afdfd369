//! What arca's services share: configuration, the metadata store (Redis), the blob store
//! (S3), authentication, the error type and its JSON mapping, metrics and the
//! HTTP plumbing every service runs on.

pub mod app;
pub mod archive;
pub mod auth;
pub mod authcache;
pub mod blobs;
pub mod checksum;
pub mod config;
pub mod db;
pub mod downloads;
pub mod error;
pub mod http;
pub mod keys;
pub mod meta;
pub mod metrics;
pub mod model;
pub mod pagination;
pub mod policy;
pub mod presign;
pub mod retention;
pub mod service;
pub mod telemetry;
pub mod time;
pub mod webhooks;

pub use app::{App, AppState, Auth};
pub use error::{ApiError, ApiResult};
// The pure rules live in their own crate (fuzzed alone); services reach them through here.
pub use arca_core::{artifact_type, expire_in, validate, zipcheck, zipindex};
