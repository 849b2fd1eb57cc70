//! `Custom::SageMakerImageVersion`: a CloudFormation custom resource that
//! creates, updates and deletes SageMaker image versions.
//!
//! Where each part of the contract lives:
//! - `cloudformation`: the event, the answer and the PUT that sends it;
//! - `properties`: the property table, parsing, validation and diffing;
//! - `sagemaker`: the SageMaker operations, behind the `ImageVersions` seam;
//! - `lifecycle`: Create, Update and Delete on top of them;
//! - `conclusion`: what a finished request answers, in either mode;
//! - `deadline`: the time an invocation has;
//! - `handler`: direct mode, one invocation: answered once whatever happens,
//!   or handed on;
//! - `handoff`: requests longer than one invocation, the chain and its record;
//! - `provider`: CDK's Provider framework mode (`onEvent`, `isComplete`).
//!
//! The binary is the product; the only other reader of this crate is the
//! contract test suite, which takes the property names from here.

mod aws;
mod cloudformation;
mod conclusion;
mod config;
mod deadline;
mod handler;
mod handoff;
mod lifecycle;
mod logging;
mod properties;
mod provider;
mod sagemaker;
mod tls;

pub use cloudformation::event::EVENT_FIELDS;
use config::{Config, Mode};
pub use logging::init as init_logging;
pub use properties::{CLOUDFORMATION_PROPERTIES, PROPERTIES};

/// This release: logged at start and sent as the SDK's app name, so that
/// CloudTrail shows which release made a call.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Serves Lambda's Runtime API, one event at a time, until the process ends:
/// as the function CloudFormation invokes, or with `PROVIDER_FRAMEWORK=cdk`
/// as the `onEvent` and `isComplete` handler of CDK's Provider framework.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    use lambda_runtime::service_fn;
    let (config, refusal) = Config::from_env();
    tracing::info!(version = VERSION, mode = ?config.mode, "starting");
    if let Some(e) = &refusal {
        tracing::error!(error = %e, "every request is answered FAILED until the configuration is fixed");
    }
    // Every client is built before the first event, from one read of the
    // trust roots, so that the first event costs what later ones do.
    let roots = tls::TrustRoots::load();
    let aws = aws::load(&roots).await;
    // Each runtime future is boxed: two of them inline make a type too deep
    // for the compiler's layout query.
    match config.mode {
        Mode::Provider => {
            let provider = provider::Provider::with(&config, &aws, refusal);
            Box::pin(lambda_runtime::run(service_fn(move |event| {
                provider.clone().handle(event)
            })))
            .await
        }
        Mode::Direct => {
            let handler = handler::Handler::with(&config, &roots, &aws, refusal);
            Box::pin(lambda_runtime::run(service_fn(move |event| {
                handler.clone().handle(event)
            })))
            .await
        }
    }
}
