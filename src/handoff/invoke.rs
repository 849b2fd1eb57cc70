//! The hand-off itself: an asynchronous `Invoke` (`InvocationType=Event`) of
//! the function ARN this invocation was invoked as, qualifier included.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_sdk_lambda::Client;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;

use crate::aws::CallFailure;

/// The longest wait between tries of the hand-off's `Invoke`: the hand-off
/// has only half the answer's reserve (`Budget::last_call_until`), and a
/// failure must be answered with its cause rather than "no answer in time".
const HAND_OFF_BACKOFF: Duration = Duration::from_millis(100);

/// Why a request could not be handed on; the Reason of its FAILED answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HandOffError {
    #[error("the runtime gave no function ARN to invoke")]
    NoFunctionArn,
    #[error("Lambda Invoke of {function} failed: {code}: {message}")]
    Invoke {
        function: String,
        code: String,
        message: String,
    },
}

/// The Lambda client, built at start-up: the function only ever invokes
/// itself, in its own region (`AWS_REGION`), so one client serves the process.
pub(crate) struct HandOff {
    client: Client,
}

impl HandOff {
    pub(crate) fn new(config: &SdkConfig) -> Self {
        // AWS_MAX_ATTEMPTS and the retry mode still apply; only the waits are short.
        let retries = config
            .retry_config()
            .cloned()
            .unwrap_or_else(RetryConfig::standard)
            .with_initial_backoff(HAND_OFF_BACKOFF)
            .with_max_backoff(HAND_OFF_BACKOFF);
        let conf = aws_sdk_lambda::config::Builder::from(config).retry_config(retries);
        HandOff {
            client: Client::from_conf(conf.build()),
        }
    }

    /// Queues `payload` as a new invocation of `function_arn`. Never logs
    /// the payload: it holds the ResponseURL.
    pub(crate) async fn invoke(&self, function_arn: &str, payload: Vec<u8>) -> Result<(), HandOffError> {
        if function_arn.is_empty() {
            return Err(HandOffError::NoFunctionArn);
        }
        self.client
            .invoke()
            .function_name(function_arn)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload))
            .send()
            .await
            .map(drop)
            .map_err(|e| {
                let failure = CallFailure::of(&e);
                HandOffError::Invoke {
                    function: function_arn.to_owned(),
                    code: failure.code().to_owned(),
                    message: failure.message().to_owned(),
                }
            })
    }
}
