//! The configuration every AWS client is built from: `aws-config`'s default
//! chain (region, credentials, `AWS_ENDPOINT_URL_*`, retries), loaded once,
//! on first use rather than at start-up, so that a cold start does no work an
//! event may not need.

use std::sync::Arc;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use tokio::sync::OnceCell;

/// A hung connection must not use up the whole Lambda budget: each attempt
/// is cut short and retried by the SDK, then by the lifecycle.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Default)]
pub(crate) struct AwsConfig(Arc<OnceCell<SdkConfig>>);

impl AwsConfig {
    pub(crate) async fn get(&self) -> &SdkConfig {
        self.0
            .get_or_init(|| async {
                aws_config::defaults(BehaviorVersion::latest())
                    .timeout_config(
                        TimeoutConfig::builder()
                            .connect_timeout(CONNECT_TIMEOUT)
                            .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                            .build(),
                    )
                    .load()
                    .await
            })
            .await
    }
}
