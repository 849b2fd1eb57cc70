//! `Custom::SageMakerImageVersion`: a CloudFormation custom resource that
//! creates, updates and deletes SageMaker image versions.
//!
//! Where each part of the contract lives:
//! - [`cloudformation`]: the event, the answer and the PUT that sends it;
//! - [`properties`]: parsing, validation and diffing of the properties;
//! - [`sagemaker`]: the SageMaker operations, behind the [`sagemaker::ImageVersions`] seam;
//! - [`lifecycle`]: Create, Update and Delete on top of them;
//! - [`deadline`]: the time an invocation has;
//! - [`handler`]: one invocation, answered once, whatever happens.

pub mod cloudformation;
pub mod deadline;
pub mod handler;
pub mod lifecycle;
pub mod logging;
pub mod properties;
pub mod sagemaker;

// The property names, for the contract tests to derive their lists from.
pub use properties::{CLOUDFORMATION_PROPERTIES, PROPERTIES};
