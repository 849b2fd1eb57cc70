//! [`ImageVersions`] over `aws-sdk-sagemaker`, and the clients it needs, one
//! per region, built once from the process's AWS configuration.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use aws_config::{Region, SdkConfig};
use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sagemaker::operation::describe_image_version::DescribeImageVersionOutput;

use super::{
    ApiError, ErrorKind, ImageVersions, NewVersion, NoRegion, Regions, VersionState, VersionStatus, VersionUpdate,
};
use crate::aws::CallFailure;
use crate::properties::{Metadata, table};

/// [`Regions`] over the SDK: clients by region, the default region's built
/// at start-up with the configuration.
pub struct SdkRegions {
    config: SdkConfig,
    by_region: Mutex<HashMap<String, SdkImageVersions>>,
}

impl SdkRegions {
    pub(crate) fn new(config: SdkConfig) -> Self {
        let regions = SdkRegions {
            config,
            by_region: Mutex::default(),
        };
        if let Some(region) = regions.config.region() {
            regions.client(region.as_ref());
        }
        regions
    }

    /// The client for `region`, made on first use and kept for later events.
    fn client(&self, region: &str) -> SdkImageVersions {
        let mut by_region = self.by_region.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        by_region
            .entry(region.to_owned())
            .or_insert_with(|| {
                let conf = aws_sdk_sagemaker::config::Builder::from(&self.config)
                    .region(Region::new(region.to_owned()))
                    .build();
                SdkImageVersions {
                    client: Client::from_conf(conf),
                }
            })
            .clone()
    }
}

impl Regions for SdkRegions {
    type Api = SdkImageVersions;

    async fn default_region(&self) -> Result<String, NoRegion> {
        self.config.region().map(|r| r.to_string()).ok_or(NoRegion)
    }

    async fn api(&self, region: &str) -> SdkImageVersions {
        self.client(region)
    }
}

/// [`ImageVersions`] through the real SDK.
#[derive(Clone, Debug)]
pub(crate) struct SdkImageVersions {
    client: Client,
}

/// Classifies an SDK error by its code and status, never by its message.
fn api_error<E>(operation: &'static str, err: SdkError<E>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let failure = CallFailure::of(&err);
    let kind = match &failure {
        CallFailure::Answered { code, status, .. } => match code.as_str() {
            "ResourceNotFound" => ErrorKind::NotFound,
            "ResourceInUse" => ErrorKind::InUse,
            "ThrottlingException"
            | "Throttling"
            | "ThrottledException"
            | "RequestLimitExceeded"
            | "TooManyRequestsException"
            | "RequestThrottledException" => ErrorKind::Transient,
            _ if *status >= 500 => ErrorKind::Transient,
            _ => ErrorKind::Rejected,
        },
        CallFailure::NotBuilt(_) | CallFailure::CertificateRefused(_) => ErrorKind::Rejected,
        CallFailure::NoAnswer(_) => ErrorKind::Transient,
    };
    ApiError {
        kind,
        operation,
        code: failure.code().to_owned(),
        message: failure.message().to_owned(),
    }
}

/// Which version `DescribeImageVersion` reads: always one named, since a
/// describe that names neither reads the image's latest version, which is
/// another request's when versions of one image are made at once.
enum Which<'a> {
    Version(i32),
    Alias(&'a str),
}

impl SdkImageVersions {
    async fn describe_one(&self, image_name: &str, which: Which<'_>) -> Result<DescribeImageVersionOutput, ApiError> {
        let request = self.client.describe_image_version().image_name(image_name);
        let request = match which {
            Which::Version(version) => request.version(version),
            Which::Alias(alias) => request.alias(alias),
        };
        request.send().await.map_err(|e| api_error("DescribeImageVersion", e))
    }
}

fn state_of(out: DescribeImageVersionOutput) -> VersionState {
    VersionState {
        arn: out.image_version_arn().unwrap_or_default().to_owned(),
        image_arn: out.image_arn().unwrap_or_default().to_owned(),
        version: out.version().unwrap_or_default(),
        status: VersionStatus::from_wire(out.image_version_status().map(|s| s.as_str()).unwrap_or_default()),
        failure_reason: out.failure_reason().map(str::to_owned),
        base_image: out.base_image().unwrap_or_default().to_owned(),
        container_image: out.container_image().unwrap_or_default().to_owned(),
        metadata: Metadata::from_values(|name| {
            let (_, member) = table::metadata_members().find(|(n, _)| *n == name)?;
            (member.read)(&out)
        }),
    }
}

impl ImageVersions for SdkImageVersions {
    async fn create(&self, new: &NewVersion<'_>) -> Result<String, ApiError> {
        const OP: &str = "CreateImageVersion";
        let request = new
            .metadata
            .members()
            .fold(self.client.create_image_version(), |r, (member, value)| {
                (member.on_create)(r, value)
            });
        let out = request
            .image_name(new.image_name)
            .base_image(new.base_image)
            .client_token(new.client_token)
            .send()
            .await
            .map_err(|e| api_error(OP, e))?;
        out.image_version_arn().map(str::to_owned).ok_or_else(|| ApiError {
            kind: ErrorKind::Rejected,
            operation: OP,
            code: "MissingImageVersionArn".to_owned(),
            message: "the response has no ImageVersionArn".to_owned(),
        })
    }

    async fn describe(&self, image_name: &str, version: i32) -> Result<VersionState, ApiError> {
        self.describe_one(image_name, Which::Version(version))
            .await
            .map(state_of)
    }

    async fn holder_of(&self, image_name: &str, alias: &str) -> Result<Option<i32>, ApiError> {
        match self.describe_one(image_name, Which::Alias(alias)).await {
            Ok(out) => Ok(out.version()),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn update(&self, image_name: &str, version: i32, update: &VersionUpdate) -> Result<(), ApiError> {
        let non_empty = |aliases: &Vec<String>| (!aliases.is_empty()).then(|| aliases.clone());
        let request = update
            .metadata
            .members()
            .fold(self.client.update_image_version(), |r, (member, value)| {
                (member.on_update)(r, value)
            });
        request
            .image_name(image_name)
            .version(version)
            .set_aliases_to_add(non_empty(&update.aliases_to_add))
            .set_aliases_to_delete(non_empty(&update.aliases_to_delete))
            .send()
            .await
            .map(drop)
            .map_err(|e| api_error("UpdateImageVersion", e))
    }

    async fn delete(&self, image_name: &str, version: i32) -> Result<(), ApiError> {
        self.client
            .delete_image_version()
            .image_name(image_name)
            .version(version)
            .send()
            .await
            .map(drop)
            .map_err(|e| api_error("DeleteImageVersion", e))
    }

    async fn aliases(&self, image_name: &str, version: Option<i32>) -> Result<BTreeSet<String>, ApiError> {
        self.client
            .list_aliases()
            .image_name(image_name)
            .set_version(version)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<String>, _>>()
            .await
            .map(BTreeSet::from_iter)
            .map_err(|e| api_error("ListAliases", e))
    }
}
