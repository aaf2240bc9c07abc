//! AWS clients from the SDK's own environment: region (`AWS_REGION`), credentials (the default provider
//! chain: environment, profile, web identity, ECS task role, instance metadata) and endpoints
//! (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_KINESIS`, `AWS_ENDPOINT_URL_DYNAMODB`), checked before the worker
//! starts so that a missing region or missing credentials is a clear error, never a timeout later.

use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use kcl_checkpoint::{DynamoDbLeaseStore, LeaseStore, RetryPolicy};
use kcl_core::policy::KinesisStreamDestination;
use kcl_core::source::{FanOutSource, KinesisSource};
use kcl_core::{FailureDestination, RecordSource};

use super::env::{OnFailure, RetrievalMode, ServiceConfig, StreamName};
use super::ServiceError;

/// How long the credentials check at start may take.
const CREDENTIALS_CHECK: Duration = Duration::from_secs(10);

/// The loaded SDK configuration with the endpoints the clients will use.
#[derive(Debug, Clone)]
pub struct AwsSetup {
    /// The SDK configuration (region, credentials, endpoint).
    pub sdk: SdkConfig,
    /// Where Kinesis requests go, for messages.
    pub kinesis_endpoint: String,
    /// Where DynamoDB requests go, for messages.
    pub dynamodb_endpoint: String,
}

/// The endpoint a service client uses, read as the SDK reads it: the service-specific variable, then
/// `AWS_ENDPOINT_URL`, else the regional endpoint (unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is true).
fn endpoint_for(
    lookup: &dyn Fn(&str) -> Option<String>,
    service_var: &str,
    service: &str,
    region: &str,
) -> String {
    let ignore =
        lookup("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let configured = (!ignore)
        .then(|| lookup(service_var).or_else(|| lookup("AWS_ENDPOINT_URL")))
        .flatten()
        .filter(|v| !v.trim().is_empty());
    configured.unwrap_or_else(|| format!("https://{service}.{region}.amazonaws.com"))
}

impl AwsSetup {
    /// Loads the SDK configuration from the environment and checks region and credentials.
    ///
    /// # Errors
    ///
    /// [`ServiceError::MissingRegion`], [`ServiceError::Credentials`].
    pub async fn from_env() -> Result<Self, ServiceError> {
        let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
        let Some(region) = sdk.region().map(ToString::to_string) else {
            return Err(ServiceError::MissingRegion);
        };
        let provider = sdk
            .credentials_provider()
            .ok_or_else(|| ServiceError::Credentials {
                source: "no credentials provider is configured".into(),
            })?;
        use aws_credential_types::provider::ProvideCredentials as _;
        match tokio::time::timeout(CREDENTIALS_CHECK, provider.provide_credentials()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(ServiceError::Credentials { source: Box::new(e) }),
            Err(_) => {
                return Err(ServiceError::Credentials {
                    source: format!(
                        "the credentials provider chain did not answer within {} s",
                        CREDENTIALS_CHECK.as_secs()
                    )
                    .into(),
                })
            }
        }
        let lookup = |k: &str| std::env::var(k).ok();
        Ok(AwsSetup {
            kinesis_endpoint: endpoint_for(&lookup, "AWS_ENDPOINT_URL_KINESIS", "kinesis", &region),
            dynamodb_endpoint: endpoint_for(&lookup, "AWS_ENDPOINT_URL_DYNAMODB", "dynamodb", &region),
            sdk,
        })
    }

    /// The lease store: DynamoDB (the Java KCL 2.x table format) with the default retry policy.
    ///
    /// # Errors
    ///
    /// [`ServiceError::Store`] for an invalid table name.
    pub fn lease_store(&self, config: &ServiceConfig) -> Result<Arc<dyn LeaseStore>, ServiceError> {
        DynamoDbLeaseStore::builder(aws_sdk_dynamodb::Client::new(&self.sdk), &config.lease_table)
            .create_table_if_missing(config.create_lease_table)
            .endpoint(&self.dynamodb_endpoint)
            .build_with_retry(RetryPolicy::default())
            .map_err(ServiceError::Store)
    }

    /// The record source for the configured stream and retrieval mode.
    pub fn record_source(&self, config: &ServiceConfig) -> Arc<dyn RecordSource> {
        let client = aws_sdk_kinesis::Client::new(&self.sdk);
        match (&config.stream, config.retrieval_mode) {
            (StreamName::Name(name), RetrievalMode::FanOut) => Arc::new(
                FanOutSource::new(client, name, &config.consumer_name).with_endpoint(&self.kinesis_endpoint),
            ),
            (StreamName::Arn(arn), RetrievalMode::FanOut) => {
                // Fan-out addresses consumers by stream name; an ARN stream falls back to polling.
                tracing::warn!(stream = %arn, "KCL_RETRIEVAL_MODE=fanout needs a stream name; polling the ARN instead");
                Arc::new(KinesisSource::with_stream_arn(client, arn).with_endpoint(&self.kinesis_endpoint))
            }
            (StreamName::Name(name), RetrievalMode::Polling) => {
                Arc::new(KinesisSource::new(client, name).with_endpoint(&self.kinesis_endpoint))
            }
            (StreamName::Arn(arn), RetrievalMode::Polling) => {
                Arc::new(KinesisSource::with_stream_arn(client, arn).with_endpoint(&self.kinesis_endpoint))
            }
        }
    }

    /// The on-failure destination the configuration names, if any: a Kinesis stream written through the
    /// same SDK configuration (region, credentials, endpoint) as the source, or a JSON-lines file.
    ///
    /// # Errors
    ///
    /// [`ServiceError::OnFailureFile`] when the file cannot be opened.
    pub fn on_failure_destination(
        &self,
        config: &ServiceConfig,
    ) -> Result<Option<Arc<dyn FailureDestination>>, ServiceError> {
        match &config.on_failure {
            Some(OnFailure::Stream(stream)) => Ok(Some(Arc::new(KinesisStreamDestination::new(
                aws_sdk_kinesis::Client::new(&self.sdk),
                stream.as_str(),
            )))),
            Some(OnFailure::File(path)) => super::on_failure_file(path).map(Some),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_follow_the_sdk_precedence() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
        };
        let none = vars(&[]);
        assert_eq!(
            endpoint_for(&none, "AWS_ENDPOINT_URL_KINESIS", "kinesis", "eu-west-1"),
            "https://kinesis.eu-west-1.amazonaws.com"
        );
        let both = vars(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:2"),
        ]);
        assert_eq!(
            endpoint_for(&both, "AWS_ENDPOINT_URL_DYNAMODB", "dynamodb", "r"),
            "http://127.0.0.1:2"
        );
        assert_eq!(
            endpoint_for(&both, "AWS_ENDPOINT_URL_KINESIS", "kinesis", "r"),
            "http://127.0.0.1:1"
        );
        let ignored = vars(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ]);
        assert_eq!(
            endpoint_for(&ignored, "AWS_ENDPOINT_URL_KINESIS", "kinesis", "r"),
            "https://kinesis.r.amazonaws.com"
        );
    }
}
