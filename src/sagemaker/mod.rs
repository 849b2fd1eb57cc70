//! The SageMaker operations the handler needs, behind a small seam: the
//! lifecycle is written against [`ImageVersions`], the real implementation in
//! [`sdk`] goes through `aws-sdk-sagemaker`.

pub(crate) mod arn;
#[cfg(test)]
pub(crate) mod fake;
pub(crate) mod sdk;

use std::collections::BTreeSet;
use std::future::Future;

use crate::properties::Metadata;

pub(crate) use arn::ImageVersionArn;

/// How a failed SageMaker call is to be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// `ResourceNotFound`: the image or version does not exist.
    NotFound,
    /// `ResourceInUse`: another version of the image is being created, or
    /// this one is being created or deleted. Worth waiting for.
    InUse,
    /// Throttling, a 5xx, a timeout or a broken connection. Worth retrying.
    Transient,
    /// Anything else (validation, access denied, limits, a refused TLS
    /// certificate): retrying won't help.
    Rejected,
}

/// A SageMaker call that failed, with the code SageMaker sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SageMaker {operation} failed: {code}: {message}")]
pub(crate) struct ApiError {
    pub(crate) kind: ErrorKind,
    pub(crate) operation: &'static str,
    pub(crate) code: String,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn is_retryable(&self) -> bool {
        matches!(self.kind, ErrorKind::InUse | ErrorKind::Transient)
    }

    /// An alias change SageMaker refused because the aliases are no longer
    /// as they were read (`ValidationException`: the alias is held by
    /// another version, or not by this one): worth reading them again.
    pub(crate) fn is_out_of_date(&self) -> bool {
        self.operation == "UpdateImageVersion" && self.code == "ValidationException"
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VersionStatus {
    Creating,
    Created,
    CreateFailed,
    Deleting,
    DeleteFailed,
    Other(String),
}

/// The statuses the lifecycle tells apart, as SageMaker writes them.
const STATUSES: [(VersionStatus, &str); 5] = [
    (VersionStatus::Creating, "CREATING"),
    (VersionStatus::Created, "CREATED"),
    (VersionStatus::CreateFailed, "CREATE_FAILED"),
    (VersionStatus::Deleting, "DELETING"),
    (VersionStatus::DeleteFailed, "DELETE_FAILED"),
];

impl std::fmt::Display for VersionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VersionStatus::Other(status) => f.write_str(status),
            known => f.write_str(STATUSES.iter().find(|(s, _)| s == known).map_or("", |(_, wire)| wire)),
        }
    }
}

impl VersionStatus {
    pub(crate) fn from_wire(status: &str) -> Self {
        STATUSES
            .iter()
            .find(|(_, wire)| *wire == status)
            .map_or_else(|| VersionStatus::Other(status.to_owned()), |(s, _)| s.clone())
    }
}

/// What `DescribeImageVersion` says of one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VersionState {
    pub(crate) arn: String,
    pub(crate) image_arn: String,
    pub(crate) version: i32,
    pub(crate) status: VersionStatus,
    pub(crate) failure_reason: Option<String>,
    pub(crate) base_image: String,
    pub(crate) container_image: String,
    pub(crate) metadata: Metadata,
}

/// The input of `CreateImageVersion`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewVersion<'a> {
    pub(crate) image_name: &'a str,
    pub(crate) base_image: &'a str,
    pub(crate) client_token: &'a str,
    pub(crate) metadata: &'a Metadata,
}

/// The input of `UpdateImageVersion` besides the version's identity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct VersionUpdate {
    pub(crate) aliases_to_add: Vec<String>,
    pub(crate) aliases_to_delete: Vec<String>,
    pub(crate) metadata: Metadata,
}

impl VersionUpdate {
    pub(crate) fn is_empty(&self) -> bool {
        self.aliases_to_add.is_empty() && self.aliases_to_delete.is_empty() && self.metadata.is_empty()
    }
}

/// The SageMaker image-version operations, one method per API call.
pub(crate) trait ImageVersions: Send + Sync {
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

/// The function has no region of its own, and the properties name none.
#[derive(Debug, thiserror::Error)]
#[error("no AWS region is configured for the function: set the Region property or the AWS_REGION environment variable")]
pub(crate) struct NoRegion;

/// Where the operations run: one [`ImageVersions`] per region.
pub(crate) trait Regions: Send + Sync {
    type Api: ImageVersions;

    /// The function's own region, which an absent `Region` property means.
    fn default_region(&self) -> impl Future<Output = Result<String, NoRegion>> + Send;

    /// The operations in `region`.
    fn api(&self, region: &str) -> impl Future<Output = Self::Api> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_and_print_as_sagemaker_writes_them() {
        for wire in [
            "CREATING",
            "CREATED",
            "CREATE_FAILED",
            "DELETING",
            "DELETE_FAILED",
            "UPDATING",
        ] {
            assert_eq!(VersionStatus::from_wire(wire).to_string(), wire);
        }
        assert_eq!(VersionStatus::from_wire("CREATED"), VersionStatus::Created);
        assert_eq!(
            VersionStatus::from_wire("UPDATING"),
            VersionStatus::Other("UPDATING".into())
        );
    }
}
