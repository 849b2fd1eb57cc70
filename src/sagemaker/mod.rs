//! The SageMaker operations the handler needs, behind a small seam: the
//! lifecycle is written against [`ImageVersions`], the real implementation in
//! [`sdk`] goes through `aws-sdk-sagemaker`.

pub mod arn;
pub mod sdk;

use std::collections::BTreeSet;
use std::future::Future;

use crate::properties::Metadata;

pub use arn::ImageVersionArn;

/// How a failed SageMaker call is to be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// `ResourceNotFound`: the image or version does not exist.
    NotFound,
    /// `ResourceInUse`: another version of the image is being created, or
    /// this one is being created or deleted. Worth waiting for.
    InUse,
    /// Throttling, a 5xx, a timeout or a broken connection. Worth retrying.
    Transient,
    /// Anything else (validation, access denied, limits): retrying won't help.
    Rejected,
}

/// A SageMaker call that failed, with the code SageMaker sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SageMaker {operation} failed: {code}: {message}")]
pub struct ApiError {
    pub kind: ErrorKind,
    pub operation: &'static str,
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind, ErrorKind::InUse | ErrorKind::Transient)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionStatus {
    Creating,
    Created,
    CreateFailed,
    Deleting,
    DeleteFailed,
    Other(String),
}

impl VersionStatus {
    pub fn from_wire(status: &str) -> Self {
        match status {
            "CREATING" => VersionStatus::Creating,
            "CREATED" => VersionStatus::Created,
            "CREATE_FAILED" => VersionStatus::CreateFailed,
            "DELETING" => VersionStatus::Deleting,
            "DELETE_FAILED" => VersionStatus::DeleteFailed,
            other => VersionStatus::Other(other.to_owned()),
        }
    }
}

/// What `DescribeImageVersion` says of one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionState {
    pub arn: String,
    pub image_arn: String,
    pub version: i32,
    pub status: VersionStatus,
    pub failure_reason: Option<String>,
    pub container_image: String,
    pub metadata: Metadata,
}

/// The input of `CreateImageVersion`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVersion<'a> {
    pub image_name: &'a str,
    pub base_image: &'a str,
    pub client_token: &'a str,
    pub aliases: Vec<String>,
    pub metadata: &'a Metadata,
}

/// The input of `UpdateImageVersion` besides the version's identity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionUpdate {
    pub aliases_to_add: Vec<String>,
    pub aliases_to_delete: Vec<String>,
    pub metadata: Metadata,
}

impl VersionUpdate {
    pub fn is_empty(&self) -> bool {
        self.aliases_to_add.is_empty() && self.aliases_to_delete.is_empty() && self.metadata.is_empty()
    }
}

/// The SageMaker image-version operations, one method per API call.
pub trait ImageVersions: Send + Sync {
    /// `CreateImageVersion`: the new version's ARN.
    fn create(&self, new: &NewVersion<'_>) -> impl Future<Output = Result<String, ApiError>> + Send;

    /// `DescribeImageVersion` by number, never "the latest".
    fn describe(&self, image_name: &str, version: i32) -> impl Future<Output = Result<VersionState, ApiError>> + Send;

    /// `DescribeImageVersion` by alias: the version holding it, if any.
    fn holder_of(&self, image_name: &str, alias: &str) -> impl Future<Output = Result<Option<i32>, ApiError>> + Send;

    /// `UpdateImageVersion`.
    fn update(
        &self,
        image_name: &str,
        version: i32,
        update: &VersionUpdate,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// `DeleteImageVersion`.
    fn delete(&self, image_name: &str, version: i32) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// `ListAliases`, all pages: of one version, or of the whole image.
    fn aliases(
        &self,
        image_name: &str,
        version: Option<i32>,
    ) -> impl Future<Output = Result<BTreeSet<String>, ApiError>> + Send;
}

/// Where the operations run: one [`ImageVersions`] per region.
pub trait Regions: Send + Sync {
    type Api: ImageVersions;

    /// The function's own region, which an absent `Region` property means.
    fn default_region(&self) -> impl Future<Output = Result<String, sdk::NoRegion>> + Send;

    /// The operations in `region`.
    fn api(&self, region: &str) -> impl Future<Output = Self::Api> + Send;
}
