//! Local stand-ins for testing the `Custom::SageMakerImageVersion` Lambda on loopback:
//!
//! * [`sagemaker::SageMakerStandIn`] — SageMaker image-version operations over AWS JSON 1.1;
//! * [`receiver::ResponseReceiver`] — the CloudFormation response bucket (S3 pre-signed PUT);
//! * [`runtime_api::RuntimeApi`] — the Lambda Runtime API, driven by the test;
//! * [`lambda::LambdaApi`] — Lambda's `Invoke` API, queueing on a Runtime API;
//! * [`sfn::StepFunctionsStandIn`] — Step Functions' `StartExecution`, recorded;
//! * [`function::FunctionProcess`] — runs the Lambda binary as Lambda would;
//! * [`tls::TestCa`] — a throw-away CA, to serve any of them over https.
//!
//! Every server runs on its own thread with its own tokio runtime, so it keeps
//! answering whatever the caller's runtime does.

mod http;
mod server;
mod sigv4;

pub mod arbitrary;
pub mod function;
pub mod lambda;
pub mod local;
pub mod pool;
pub mod receiver;
pub mod runtime_api;
pub mod sagemaker;
pub mod sfn;
pub mod tls;

pub use function::{FunctionProcess, Logs};
pub use lambda::{Invoke, LambdaApi, LambdaFault};
pub use pool::{FunctionPool, PoolConfig, PoolStats};
pub use receiver::{Put, ResponseReceiver};
pub use runtime_api::{Deadline, Invocation, Outcome, RuntimeApi};
pub use sagemaker::{Call, Fault, SageMakerStandIn, StandInConfig, VersionView};
pub use server::Listen;
pub use sfn::{Execution, StepFunctionsStandIn};
pub use tls::TestCa;
