//! Every S3 request the SDK sends is counted and timed by operation
//! (`arca_s3_request_duration_seconds`, `arca_s3_errors_total`); presigning is not a request.

/// Times every S3 operation and counts failures (`arca_s3_*`), labelled by operation.
#[derive(Debug)]
pub(super) struct S3Metrics;

#[derive(Clone, Debug)]
pub(super) struct Started(std::time::Instant);

impl aws_smithy_types::config_bag::Storable for Started {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

impl aws_sdk_s3::config::Intercept for S3Metrics {
    fn name(&self) -> &'static str {
        "arca-s3-metrics"
    }

    fn read_before_execution(
        &self,
        _context: &aws_sdk_s3::config::interceptors::BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        cfg.interceptor_state().store_put(Started(std::time::Instant::now()));
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &aws_sdk_s3::config::interceptors::FinalizerInterceptorContextRef<'_>,
        _runtime_components: &aws_sdk_s3::config::RuntimeComponents,
        cfg: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let operation = cfg
            .load::<aws_smithy_runtime_api::client::orchestrator::Metadata>()
            .map(|m| m.name().to_owned())
            .unwrap_or_else(|| "unknown".to_owned());
        if let Some(Started(at)) = cfg.load::<Started>() {
            crate::metrics::S3_DURATION.with_label_values(&[&operation]).observe(at.elapsed().as_secs_f64());
        }
        if !matches!(context.output_or_error(), Some(Ok(_))) {
            crate::metrics::S3_ERRORS.with_label_values(&[&operation]).inc();
        }
        Ok(())
    }
}
