//! The local run's facts, written once: where the stand-ins listen, the
//! function's environment against them, and the lifecycle the events of
//! `events/` walk through with what CloudFormation must read back from each.
//! The tests, `standins demo` and the scripts (through `standins env`) all
//! read them from here.

/// The SageMaker stand-in of `make demo` and `make watch`.
pub const SAGEMAKER_ADDR: &str = "127.0.0.1:9001";
/// The response receiver: the events of `events/` name it in their `ResponseURL`.
pub const RECEIVER_ADDR: &str = "127.0.0.1:9002";
/// `cargo lambda watch`'s invoke port (its default, 9000, is left alone).
pub const INVOKE_PORT: u16 = 9010;

/// The region the function runs in locally, and the one the events' ARNs name.
pub const REGION: &str = "us-east-1";
/// The image the stand-in of `make demo` and `make watch` knows.
pub const DEMO_IMAGE: &str = "demo-image";

/// Credentials the function signs with locally. They are secrets as far as
/// the tests are concerned: no log line may hold them.
pub const ACCESS_KEY_ID: &str = "AKIDLOCALSTANDIN";
pub const SECRET_ACCESS_KEY: &str = "local-secret-access-key-value";
pub const SESSION_TOKEN: &str = "local-session-token-value";

/// The function's environment against a SageMaker stand-in at `sagemaker_endpoint`:
/// the SDK's default chain picks all of it up, as it would on Lambda.
pub fn function_env(sagemaker_endpoint: &str) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL_SAGEMAKER", sagemaker_endpoint),
        ("AWS_REGION", REGION),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
        ("AWS_SESSION_TOKEN", SESSION_TOKEN),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("CFN_ALLOW_LOOPBACK_RESPONSE_URL", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}
