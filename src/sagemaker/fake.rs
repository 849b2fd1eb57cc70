//! An in-memory SageMaker behind the seam, for the lifecycle's and the
//! provider's rules on paused time.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};

use super::{
    ApiError, ErrorKind, ImageVersions, NewVersion, NoRegion, Regions, VersionState, VersionStatus, VersionUpdate,
};
use crate::properties::Metadata;

pub(crate) const ARN_PREFIX: &str = "arn:aws:sagemaker:us-east-1:123456789012:image-version/img/";

#[derive(Debug, Clone)]
pub(crate) struct FakeVersion {
    pub(crate) status: VersionStatus,
    pub(crate) aliases: BTreeSet<String>,
    pub(crate) base_image: String,
    pub(crate) metadata: Metadata,
    /// Describes left before CREATING becomes `then`, or DELETING goes.
    pub(crate) polls_left: u32,
    pub(crate) then: VersionStatus,
}

#[derive(Debug, Default)]
pub(crate) struct FakeState {
    pub(crate) versions: BTreeMap<i32, FakeVersion>,
    pub(crate) next: i32,
    /// Each token used, with the version it made and what it was sent with.
    pub(crate) tokens: BTreeMap<String, (i32, String, Metadata)>,
    pub(crate) calls: Vec<String>,
    /// Errors to answer, first come first served, by operation.
    pub(crate) errors: VecDeque<(&'static str, ErrorKind)>,
    pub(crate) image_missing: bool,
    pub(crate) polls: u32,
    /// Versions created from now on end CREATE_FAILED.
    pub(crate) creations_fail: bool,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Fake(Arc<Mutex<FakeState>>);

impl Fake {
    pub(crate) fn state(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.0.lock().unwrap()
    }

    pub(crate) fn with_version(self, number: i32, aliases: &[&str]) -> Self {
        {
            let mut s = self.state();
            s.versions.insert(
                number,
                FakeVersion {
                    status: VersionStatus::Created,
                    aliases: aliases.iter().map(|a| a.to_string()).collect(),
                    base_image: "repo:1".into(),
                    metadata: Default::default(),
                    polls_left: 0,
                    then: VersionStatus::Created,
                },
            );
            s.next = s.next.max(number);
        }
        self
    }

    pub(crate) fn fail(&self, operation: &'static str, kind: ErrorKind) {
        self.state().errors.push_back((operation, kind));
    }

    pub(crate) fn calls(&self) -> Vec<String> {
        self.state().calls.clone()
    }

    pub(crate) fn writes(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| !c.starts_with("Describe") && !c.starts_with("List"))
            .collect()
    }

    fn call(&self, operation: &'static str, detail: String) -> Result<(), ApiError> {
        let mut s = self.state();
        s.calls.push(format!("{operation}{detail}"));
        if let Some(i) = s.errors.iter().position(|(op, _)| *op == operation) {
            let (_, kind) = s.errors.remove(i).unwrap();
            return Err(error(operation, kind));
        }
        Ok(())
    }
}

/// An error of `kind` with a code SageMaker sends for it: a refusal is a
/// `ValidationException`, as most of SageMaker's are.
fn error(operation: &'static str, kind: ErrorKind) -> ApiError {
    let code = match kind {
        ErrorKind::Rejected => "ValidationException".to_owned(),
        other => format!("{other:?}"),
    };
    ApiError {
        kind,
        operation,
        code,
        message: "fake".into(),
    }
}

impl ImageVersions for Fake {
    async fn create(&self, new: &NewVersion<'_>) -> Result<String, ApiError> {
        self.call("CreateImageVersion", format!("({})", new.base_image))?;
        let mut s = self.state();
        if s.image_missing {
            return Err(error("CreateImageVersion", ErrorKind::NotFound));
        }
        // As AWS idempotency tokens: the same request again gets the first
        // answer, a token reused with other parameters is refused.
        if let Some((existing, base_image, metadata)) = s.tokens.get(new.client_token) {
            if base_image != new.base_image || metadata != new.metadata {
                return Err(error("CreateImageVersion", ErrorKind::Rejected));
            }
            return Ok(format!("{ARN_PREFIX}{existing}"));
        }
        s.next += 1;
        let number = s.next;
        let polls = s.polls;
        let then = if s.creations_fail {
            VersionStatus::CreateFailed
        } else {
            VersionStatus::Created
        };
        s.tokens.insert(
            new.client_token.to_owned(),
            (number, new.base_image.to_owned(), new.metadata.clone()),
        );
        s.versions.insert(
            number,
            FakeVersion {
                status: VersionStatus::Creating,
                aliases: BTreeSet::new(),
                base_image: new.base_image.to_owned(),
                metadata: new.metadata.clone(),
                polls_left: polls,
                then,
            },
        );
        Ok(format!("{ARN_PREFIX}{number}"))
    }

    async fn describe(&self, _image: &str, version: i32) -> Result<VersionState, ApiError> {
        self.call("DescribeImageVersion", format!("({version})"))?;
        let mut s = self.state();
        let Some(v) = s.versions.get_mut(&version) else {
            return Err(error("DescribeImageVersion", ErrorKind::NotFound));
        };
        if v.polls_left == 0 {
            match (&v.status, &v.then) {
                (VersionStatus::Creating, then) => v.status = then.clone(),
                (VersionStatus::Deleting, VersionStatus::DeleteFailed) => v.status = VersionStatus::DeleteFailed,
                (VersionStatus::Deleting, _) => {
                    s.versions.remove(&version);
                    return Err(error("DescribeImageVersion", ErrorKind::NotFound));
                }
                _ => {}
            }
        } else {
            v.polls_left -= 1;
        }
        Ok(VersionState {
            arn: format!("{ARN_PREFIX}{version}"),
            image_arn: "arn:aws:sagemaker:us-east-1:123456789012:image/img".into(),
            version,
            status: v.status.clone(),
            failure_reason: matches!(v.status, VersionStatus::CreateFailed | VersionStatus::DeleteFailed)
                .then(|| "the base image does not exist".to_owned()),
            base_image: v.base_image.clone(),
            container_image: "repo@sha256:0".into(),
            metadata: v.metadata.clone(),
        })
    }

    async fn holder_of(&self, _image: &str, alias: &str) -> Result<Option<i32>, ApiError> {
        self.call("DescribeImageVersion", format!("(alias {alias})"))?;
        Ok(self
            .state()
            .versions
            .iter()
            .find(|(_, v)| v.aliases.contains(alias))
            .map(|(n, _)| *n))
    }

    async fn update(&self, _image: &str, version: i32, update: &VersionUpdate) -> Result<(), ApiError> {
        self.call(
            "UpdateImageVersion",
            format!(
                "({version} +{:?} -{:?} {:?})",
                update.aliases_to_add, update.aliases_to_delete, update.metadata
            ),
        )?;
        let mut s = self.state();
        // As SageMaker: an alias held by another version, or deleted from a
        // version that does not hold it, is refused.
        let out_of_date = error("UpdateImageVersion", ErrorKind::Rejected);
        let held_elsewhere = |a: &String| s.versions.iter().any(|(n, v)| *n != version && v.aliases.contains(a));
        if update.aliases_to_add.iter().any(held_elsewhere) {
            return Err(out_of_date);
        }
        let v = s
            .versions
            .get_mut(&version)
            .ok_or_else(|| error("UpdateImageVersion", ErrorKind::NotFound))?;
        if update.aliases_to_delete.iter().any(|a| !v.aliases.contains(a)) {
            return Err(out_of_date);
        }
        v.aliases.extend(update.aliases_to_add.iter().cloned());
        v.aliases.retain(|a| !update.aliases_to_delete.contains(a));
        let (sent, kept) = (&update.metadata, &v.metadata);
        v.metadata = Metadata::from_values(|name| sent.get(name).or(kept.get(name)).map(str::to_owned));
        Ok(())
    }

    async fn delete(&self, _image: &str, version: i32) -> Result<(), ApiError> {
        self.call("DeleteImageVersion", format!("({version})"))?;
        let mut s = self.state();
        let polls = s.polls;
        let v = s
            .versions
            .get_mut(&version)
            .ok_or_else(|| error("DeleteImageVersion", ErrorKind::NotFound))?;
        v.status = VersionStatus::Deleting;
        v.polls_left = polls;
        Ok(())
    }

    async fn aliases(&self, _image: &str, version: Option<i32>) -> Result<BTreeSet<String>, ApiError> {
        self.call("ListAliases", version.map(|v| format!("({v})")).unwrap_or_default())?;
        let s = self.state();
        Ok(s.versions
            .iter()
            .filter(|(n, _)| version.is_none_or(|v| v == **n))
            .flat_map(|(_, v)| v.aliases.iter().cloned())
            .collect())
    }
}

impl Regions for Fake {
    type Api = Fake;

    async fn default_region(&self) -> Result<String, NoRegion> {
        Ok("us-east-1".to_owned())
    }

    async fn api(&self, _region: &str) -> Fake {
        self.clone()
    }
}
