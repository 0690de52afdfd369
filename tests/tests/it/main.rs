//! The integration tests, one module per area, linked into one binary: each test starts
//! its own Redis, S3 server and stack, so they share nothing but the process. The two
//! tests that read process-wide counters (`gateway_streaming`, `artifacts_range`) keep
//! binaries of their own.
mod artifacts;
mod auth;
mod authz;
mod beyond;
mod cleanup;
mod clients;
mod cluster;
mod console;
mod faults;
mod freshness;
mod gateway;
mod hostile;
mod load;
mod management;
mod openapi;
mod ops;
mod packages;
mod readme;
mod runner;
mod scaleout;
mod sentinel;
mod versions;
mod webhooks;
