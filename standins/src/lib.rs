//! Local stand-ins for testing the `Custom::SageMakerImageVersion` Lambda on loopback:
//!
//! * [`sagemaker::SageMakerStandIn`] — SageMaker image-version operations over AWS JSON 1.1;
//! * [`receiver::ResponseReceiver`] — the CloudFormation response bucket (S3 pre-signed PUT);
//! * [`runtime_api::RuntimeApi`] — the Lambda Runtime API, driven by the test;
//! * [`function::FunctionProcess`] — runs the Lambda binary as Lambda would.
//!
//! Every server runs on its own thread with its own tokio runtime, so it keeps
//! answering whatever the caller's runtime does.

mod http;
mod server;

pub mod arbitrary;
pub mod function;
pub mod local;
pub mod receiver;
pub mod runtime_api;
pub mod sagemaker;

pub use function::FunctionProcess;
pub use receiver::{Put, ResponseReceiver};
pub use runtime_api::{Deadline, Outcome, RuntimeApi};
pub use sagemaker::{Call, Fault, SageMakerStandIn, StandInConfig, VersionView};
