//! `Custom::SageMakerImageVersion`: a CloudFormation custom resource that
//! creates, updates and deletes SageMaker image versions.
//!
//! Where each part of the contract lives:
//! - `cloudformation`: the event, the answer and the PUT that sends it;
//! - `properties`: the property table, parsing, validation and diffing;
//! - `sagemaker`: the SageMaker operations, behind the `ImageVersions` seam;
//! - `lifecycle`: Create, Update and Delete on top of them;
//! - `deadline`: the time an invocation has;
//! - `handler`: one invocation, answered once, whatever happens.
//!
//! The binary is the product; the only other reader of this crate is the
//! contract test suite, which takes the property names from here.

mod cloudformation;
mod deadline;
mod handler;
mod lifecycle;
mod logging;
mod properties;
mod sagemaker;

pub use logging::init as init_logging;
pub use properties::{CLOUDFORMATION_PROPERTIES, PROPERTIES};

/// Serves Lambda's Runtime API, one event at a time, until the process ends.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let handler = handler::Handler::from_env();
    lambda_runtime::run(lambda_runtime::service_fn(move |event| handler.clone().handle(event))).await
}
