//! What arca's services share: configuration, the metadata store (Redis), the blob store
//! (S3), authentication, the error type and its JSON mapping, metrics, validation and the
//! HTTP plumbing every service runs on.

pub mod app;
pub mod archive;
pub mod auth;
pub mod blobs;
pub mod checksum;
pub mod config;
pub mod db;
pub mod error;
pub mod expire_in;
pub mod http;
pub mod keys;
pub mod meta;
pub mod metrics;
pub mod model;
pub mod openapi;
pub mod pagination;
pub mod service;
pub mod telemetry;
pub mod time;
pub mod validate;
pub mod views;

pub use app::{App, AppState, Auth};
pub use error::{ApiError, ApiResult};
