//! What a request ends in: the answer's id and attributes, or the Reason it
//! FAILED.

use std::collections::BTreeMap;

use crate::properties::InvalidProperties;
use crate::sagemaker::{ApiError, ErrorKind, NoRegion, VersionState};

/// A finished request: the id to answer and the attributes for `Fn::GetAtt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Done {
    pub(crate) physical_resource_id: String,
    pub(crate) data: BTreeMap<String, String>,
}

impl Done {
    pub(super) fn with_id(physical_resource_id: &str) -> Self {
        Done {
            physical_resource_id: physical_resource_id.to_owned(),
            data: BTreeMap::new(),
        }
    }

    pub(super) fn version(state: &VersionState) -> Self {
        let data = [
            ("Arn", state.arn.clone()),
            ("ImageVersionArn", state.arn.clone()),
            ("ImageArn", state.image_arn.clone()),
            ("Version", state.version.to_string()),
            ("ContainerImage", state.container_image.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        Done {
            physical_resource_id: state.arn.clone(),
            data,
        }
    }
}

/// Why a request FAILED; the message is the answer's Reason.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LifecycleError {
    #[error(transparent)]
    Properties(#[from] InvalidProperties),
    #[error(transparent)]
    NoRegion(#[from] NoRegion),
    #[error(
        "SageMaker image {image} does not exist in {region}: create the AWS::SageMaker::Image first \
         (reference it or use DependsOn) ({source})"
    )]
    ImageNotFound {
        image: String,
        region: String,
        source: ApiError,
    },
    #[error("SageMaker could not create image version {arn}: {reason}")]
    CreateFailed { arn: String, reason: String },
    #[error("SageMaker could not delete image version {arn}: {reason}")]
    DeleteFailed { arn: String, reason: String },
    #[error("image version {arn} is {status} while it was being created")]
    Disappeared { arn: String, status: String },
    #[error(
        "cannot take over version {version} of SageMaker image {image} in {region} (ExistingVersion): {why}; \
         nothing was changed"
    )]
    NotAdopted {
        image: String,
        region: String,
        version: i32,
        why: String,
    },
    #[error(
        "cannot take over version {version} of SageMaker image {image} (ExistingVersion): its BaseImage is \
         {actual:?}, the template's is {wanted:?}; set BaseImage to the version's, or leave out ExistingVersion \
         to create a new version; nothing was changed"
    )]
    BaseImageMismatch {
        image: String,
        version: i32,
        actual: String,
        wanted: String,
    },
    #[error(
        "ExistingVersion cannot change to {wanted} on a resource that holds version {held}: a resource takes \
         over a version only when it is created. To manage version {wanted}, declare it as a new resource \
         (a new logical id); to keep this one, restore or remove ExistingVersion"
    )]
    ExistingVersionChanged { wanted: i32, held: i32 },
    #[error("SageMaker returned {arn:?}, which is not an image version ARN")]
    UnexpectedArn { arn: String },
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// Why a run of the lifecycle stopped short of [`Done`].
#[derive(Debug)]
pub(crate) enum Halt {
    /// The request FAILS with this.
    Failed(LifecycleError),
    /// Not done yet, and nothing failed: one step at a time, the lifecycle
    /// stopped where it would have waited, or on a call worth trying again
    /// (a waiting lifecycle retries those itself); the next step goes on.
    Pending,
}

impl From<LifecycleError> for Halt {
    fn from(error: LifecycleError) -> Self {
        match error {
            LifecycleError::Api(e) if e.is_retryable() => Halt::Pending,
            e => Halt::Failed(e),
        }
    }
}

impl From<ApiError> for Halt {
    fn from(error: ApiError) -> Self {
        LifecycleError::from(error).into()
    }
}

impl From<InvalidProperties> for Halt {
    fn from(error: InvalidProperties) -> Self {
        Halt::Failed(error.into())
    }
}

impl From<NoRegion> for Halt {
    fn from(error: NoRegion) -> Self {
        Halt::Failed(error.into())
    }
}

pub(super) fn image_error(error: ApiError, image: &str, region: &str) -> LifecycleError {
    if error.kind == ErrorKind::NotFound {
        LifecycleError::ImageNotFound {
            image: image.to_owned(),
            region: region.to_owned(),
            source: error,
        }
    } else {
        error.into()
    }
}
