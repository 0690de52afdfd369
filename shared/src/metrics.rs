//! Prometheus metrics, declared once, namespaced `arca_`, labelled by route template.

use std::sync::LazyLock;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, TextEncoder, register_histogram_vec,
    register_int_counter_vec, register_int_gauge,
};

pub static HTTP_REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        Opts::new("arca_http_requests_total", "HTTP requests answered, by route template and status."),
        &["service", "route", "method", "status"]
    )
    .expect("metric registers once")
});

pub static HTTP_DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        HistogramOpts::new("arca_http_request_duration_seconds", "Time to answer an HTTP request (until headers).")
            .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0]),
        &["service", "route", "method"]
    )
    .expect("metric registers once")
});

pub static HTTP_IN_FLIGHT: LazyLock<prometheus::IntGaugeVec> = LazyLock::new(|| {
    prometheus::register_int_gauge_vec!(
        Opts::new("arca_http_requests_in_flight", "Requests being answered now."),
        &["service"]
    )
    .expect("metric registers once")
});

pub static UPSTREAM_ERRORS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        Opts::new("arca_gateway_upstream_errors_total", "Requests the gateway could not hand to an upstream."),
        &["upstream", "kind"]
    )
    .expect("metric registers once")
});

pub static AUTH_RATE_LIMITED: LazyLock<prometheus::IntCounter> = LazyLock::new(|| {
    prometheus::register_int_counter!(
        "arca_gateway_auth_rate_limited_total",
        "Requests refused with 429 because their client had too many failed authentications."
    )
    .expect("metric registers once")
});

pub static CLEANUP_LAST_RUN: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "arca_cleanup_last_success_timestamp_seconds",
        "Unix time of the cleanup worker's last successful run."
    )
    .expect("metric registers once")
});

pub static UPLOADED_BYTES: LazyLock<prometheus::IntCounter> = LazyLock::new(|| {
    prometheus::register_int_counter!("arca_uploaded_bytes_total", "Bytes of package files and artifacts stored.")
        .expect("metric registers once")
});

pub static DOWNLOADS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        Opts::new("arca_downloads_total", "File downloads served, by how (redirect or proxy)."),
        &["mode"]
    )
    .expect("metric registers once")
});

pub static PROXIED_BYTES: LazyLock<prometheus::IntCounter> = LazyLock::new(|| {
    prometheus::register_int_counter!("arca_proxied_bytes_total", "Bytes streamed to clients by the download service.")
        .expect("metric registers once")
});

pub static RETENTION_MOVED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        Opts::new("arca_retention_versions_moved_total", "Versions retention moved to the recycle bin, by rule."),
        &["rule"]
    )
    .expect("metric registers once")
});

pub static BLOBS_DELETED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        Opts::new("arca_cleanup_blobs_deleted_total", "Objects the cleanup worker deleted, by reason."),
        &["reason"]
    )
    .expect("metric registers once")
});

pub static ARCHIVE_RANGE_BYTES: LazyLock<prometheus::IntCounter> = LazyLock::new(|| {
    prometheus::register_int_counter!(
        "arca_archive_range_read_bytes_total",
        "Bytes read from S3 with range requests to serve files from inside artifact archives."
    )
    .expect("metric registers once")
});

pub static CLEANUP_BYTES_DELETED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        Opts::new("arca_cleanup_bytes_deleted_total", "Bytes the cleanup worker deleted, by reason (where known)."),
        &["reason"]
    )
    .expect("metric registers once")
});

pub static CLEANUP_RUN_DURATION: LazyLock<prometheus::Histogram> = LazyLock::new(|| {
    prometheus::register_histogram!(
        "arca_cleanup_run_duration_seconds",
        "Time one cleanup pass takes.",
        vec![0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0]
    )
    .expect("metric registers once")
});

pub static CLEANUP_ERRORS: LazyLock<prometheus::IntCounter> = LazyLock::new(|| {
    prometheus::register_int_counter!("arca_cleanup_errors_total", "Cleanup passes that failed.")
        .expect("metric registers once")
});

pub static CLEANUP_QUEUE_DEPTH: LazyLock<prometheus::IntGaugeVec> = LazyLock::new(|| {
    prometheus::register_int_gauge_vec!(
        Opts::new("arca_cleanup_queue_depth", "Work waiting for the cleanup worker, by queue."),
        &["queue"]
    )
    .expect("metric registers once")
});

pub static S3_DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        HistogramOpts::new("arca_s3_request_duration_seconds", "Time S3 operations take, retries included.")
            .buckets(vec![0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0]),
        &["operation"]
    )
    .expect("metric registers once")
});

pub static S3_ERRORS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(Opts::new("arca_s3_errors_total", "S3 operations that failed."), &["operation"])
        .expect("metric registers once")
});

pub static REDIS_DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        HistogramOpts::new("arca_redis_command_duration_seconds", "Time Redis commands and pipelines take.")
            .buckets(vec![0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 3.0]),
        &["kind"]
    )
    .expect("metric registers once")
});

pub static REDIS_ERRORS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        Opts::new("arca_redis_errors_total", "Redis commands and pipelines that failed."),
        &["kind"]
    )
    .expect("metric registers once")
});

pub static WEBHOOK_EVENTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        Opts::new("arca_webhook_events_total", "Webhook deliveries queued, one per event and hook, by event."),
        &["event"]
    )
    .expect("metric registers once")
});

pub static WEBHOOK_DELIVERIES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        Opts::new(
            "arca_webhook_deliveries_total",
            "Webhook delivery attempts by result: delivered, http_error, timeout, unreachable, refused (an address \
             a hook may not reach), abandoned (retried for ARCA_WEBHOOK_RETRY_FOR), dropped (the hook is gone)."
        ),
        &["result"]
    )
    .expect("metric registers once")
});

pub static WEBHOOK_DURATION: LazyLock<prometheus::Histogram> = LazyLock::new(|| {
    prometheus::register_histogram!(
        "arca_webhook_delivery_duration_seconds",
        "Time from connecting to a webhook receiver to its answer (or the timeout).",
        vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]
    )
    .expect("metric registers once")
});

/// Forces registration, so every series exists (at zero) from the first scrape.
pub fn init() {
    LazyLock::force(&HTTP_REQUESTS);
    LazyLock::force(&HTTP_DURATION);
    LazyLock::force(&HTTP_IN_FLIGHT);
    LazyLock::force(&UPSTREAM_ERRORS);
    LazyLock::force(&AUTH_RATE_LIMITED);
    LazyLock::force(&CLEANUP_LAST_RUN);
    LazyLock::force(&UPLOADED_BYTES);
    LazyLock::force(&DOWNLOADS);
    LazyLock::force(&PROXIED_BYTES);
    LazyLock::force(&BLOBS_DELETED);
    LazyLock::force(&RETENTION_MOVED);
    LazyLock::force(&ARCHIVE_RANGE_BYTES);
    LazyLock::force(&CLEANUP_BYTES_DELETED);
    LazyLock::force(&CLEANUP_RUN_DURATION);
    LazyLock::force(&CLEANUP_ERRORS);
    LazyLock::force(&CLEANUP_QUEUE_DEPTH);
    LazyLock::force(&S3_DURATION);
    LazyLock::force(&S3_ERRORS);
    LazyLock::force(&REDIS_DURATION);
    LazyLock::force(&REDIS_ERRORS);
    LazyLock::force(&WEBHOOK_EVENTS);
    LazyLock::force(&WEBHOOK_DURATION);
    for result in ["delivered", "http_error", "timeout", "unreachable", "refused", "abandoned", "dropped"] {
        WEBHOOK_DELIVERIES.with_label_values(&[result]);
    }
}

/// The default registry in Prometheus text format.
pub fn render() -> String {
    let mut buf = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&prometheus::gather(), &mut buf) {
        tracing::error!(error = %e, "encoding metrics");
    }
    String::from_utf8(buf).unwrap_or_default()
}
