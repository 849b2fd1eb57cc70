//! What the stand-in remembers: registered images, their versions per region,
//! the armed failures and faults, and the call log. Status transitions
//! (`CREATING` → `CREATED`/`CREATE_FAILED`, `DELETING` → gone/`DELETE_FAILED`)
//! are computed lazily from timestamps, when the state is next read.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use serde_json::Value;

use super::StandInConfig;
use super::errors::ApiError;
use super::faults::Faults;
use super::model::Model;
use crate::http;

/// The account id every ARN carries.
pub const ACCOUNT_ID: &str = "123456789012";

/// One request received (after the authentication check).
#[derive(Clone, Debug)]
pub struct Call {
    /// Operation name (the part of `X-Amz-Target` after `SageMaker.`).
    pub operation: String,
    /// The JSON body (a JSON string holding the raw text when it was not JSON).
    pub body: Value,
    /// Region from the credential scope.
    pub region: String,
    /// `Some(note)` when a fault was injected into this call (see [`super::Fault::note`]).
    pub fault: Option<String>,
    /// The connection that carried it, numbered in the order the server
    /// accepted them.
    pub connection: usize,
    pub at: Instant,
}

/// A snapshot of one image version, for inspection by tests (and by the
/// scripts, through `GET /_standin/versions`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VersionView {
    pub region: String,
    pub image_name: String,
    pub version: u32,
    /// `CREATING`, `CREATED`, `CREATE_FAILED`, `DELETING` or `DELETE_FAILED`.
    pub status: String,
    /// Sorted.
    pub aliases: Vec<String>,
    pub base_image: String,
    pub container_image: String,
    pub client_token: String,
    pub vendor_guidance: Option<String>,
    pub job_type: Option<String>,
    #[serde(rename = "MLFramework")]
    pub ml_framework: Option<String>,
    pub programming_lang: Option<String>,
    pub processor: Option<String>,
    pub horovod: Option<bool>,
    pub release_notes: Option<String>,
    pub failure_reason: Option<String>,
    pub arn: String,
    /// Epoch seconds.
    pub creation_time: f64,
    /// Epoch seconds.
    pub last_modified_time: f64,
}

pub(crate) struct State {
    /// Judges every request before an operation reads it.
    pub(crate) model: &'static Model,
    pub(crate) create_delay: Duration,
    pub(crate) delete_delay: Duration,
    pub(crate) alias_page_size: Option<usize>,
    pub(crate) version_limit: Option<usize>,
    pub(crate) registered: BTreeSet<String>,
    /// (region, image name) → state
    pub(crate) images: BTreeMap<(String, String), ImageState>,
    /// (region, `ClientToken`) → what the token was used for (see [`State::minted`]).
    pub(crate) tokens: BTreeMap<(String, String), Minted>,
    pub(crate) fail_creations: VecDeque<String>,
    pub(crate) fail_deletions: VecDeque<String>,
    pub(crate) faults: Faults,
    pub(crate) calls: Vec<Call>,
}

pub(crate) struct ImageState {
    pub(crate) next_version: u32,
    pub(crate) versions: BTreeMap<u32, Version>,
}

/// The optional members a version carries as given.
#[derive(Default, Clone)]
pub(crate) struct Meta {
    pub(crate) vendor_guidance: Option<String>,
    pub(crate) job_type: Option<String>,
    pub(crate) ml_framework: Option<String>,
    pub(crate) programming_lang: Option<String>,
    pub(crate) processor: Option<String>,
    pub(crate) horovod: Option<bool>,
    pub(crate) release_notes: Option<String>,
}

impl Meta {
    /// Sets every member `update` carries, keeping the others.
    pub(crate) fn update(&mut self, update: Meta) {
        fn keep<T>(new: Option<T>, old: &mut Option<T>) {
            if new.is_some() {
                *old = new;
            }
        }
        keep(update.vendor_guidance, &mut self.vendor_guidance);
        keep(update.job_type, &mut self.job_type);
        keep(update.ml_framework, &mut self.ml_framework);
        keep(update.programming_lang, &mut self.programming_lang);
        keep(update.processor, &mut self.processor);
        keep(update.horovod, &mut self.horovod);
        keep(update.release_notes, &mut self.release_notes);
    }
}

/// What a `CreateImageVersion` asked for: a `ClientToken` stands for one of these.
pub(crate) struct CreateRequest {
    pub(crate) image_name: String,
    pub(crate) base_image: String,
    /// A set: the same aliases in another order are the same request.
    pub(crate) aliases: BTreeSet<String>,
    pub(crate) meta: Meta,
}

impl CreateRequest {
    /// The members in which `other` asks for something else.
    pub(crate) fn differences(&self, other: &CreateRequest) -> Vec<&'static str> {
        let (a, b) = (&self.meta, &other.meta);
        [
            ("ImageName", self.image_name != other.image_name),
            ("BaseImage", self.base_image != other.base_image),
            ("Aliases", self.aliases != other.aliases),
            ("VendorGuidance", a.vendor_guidance != b.vendor_guidance),
            ("JobType", a.job_type != b.job_type),
            ("MLFramework", a.ml_framework != b.ml_framework),
            ("ProgrammingLang", a.programming_lang != b.programming_lang),
            ("Processor", a.processor != b.processor),
            ("Horovod", a.horovod != b.horovod),
            ("ReleaseNotes", a.release_notes != b.release_notes),
        ]
        .into_iter()
        .filter_map(|(member, differs)| differs.then_some(member))
        .collect()
    }
}

/// The version a `ClientToken` made, and the request it stood for.
pub(crate) struct Minted {
    pub(crate) request: CreateRequest,
    pub(crate) number: u32,
}

pub(crate) enum Phase {
    Creating { until: Instant, fail: Option<String> },
    Created,
    CreateFailed(String),
    Deleting { until: Instant, fail: Option<String> },
    DeleteFailed(String),
}

impl Phase {
    pub(crate) fn status(&self) -> &'static str {
        match self {
            Phase::Creating { .. } => "CREATING",
            Phase::Created => "CREATED",
            Phase::CreateFailed(_) => "CREATE_FAILED",
            Phase::Deleting { .. } => "DELETING",
            Phase::DeleteFailed(_) => "DELETE_FAILED",
        }
    }

    pub(crate) fn failure_reason(&self) -> Option<&str> {
        match self {
            Phase::CreateFailed(r) | Phase::DeleteFailed(r) => Some(r),
            _ => None,
        }
    }
}

pub(crate) struct Version {
    pub(crate) number: u32,
    pub(crate) base_image: String,
    pub(crate) container_image: String,
    pub(crate) client_token: String,
    pub(crate) meta: Meta,
    pub(crate) aliases: BTreeSet<String>,
    pub(crate) created: SystemTime,
    pub(crate) last_modified: SystemTime,
    pub(crate) phase: Phase,
}

impl Version {
    /// A new version of `base_image`, created now.
    pub(crate) fn new(number: u32, base_image: String, client_token: String, phase: Phase) -> Version {
        let now = SystemTime::now();
        Version {
            number,
            container_image: container_image(&base_image),
            base_image,
            client_token,
            meta: Meta::default(),
            aliases: BTreeSet::new(),
            created: now,
            last_modified: now,
            phase,
        }
    }

    fn view(&self, region: &str, image: &str) -> VersionView {
        let meta = self.meta.clone();
        VersionView {
            region: region.to_string(),
            image_name: image.to_string(),
            version: self.number,
            status: self.phase.status().to_string(),
            aliases: self.aliases.iter().cloned().collect(),
            base_image: self.base_image.clone(),
            container_image: self.container_image.clone(),
            client_token: self.client_token.clone(),
            vendor_guidance: meta.vendor_guidance,
            job_type: meta.job_type,
            ml_framework: meta.ml_framework,
            programming_lang: meta.programming_lang,
            processor: meta.processor,
            horovod: meta.horovod,
            release_notes: meta.release_notes,
            failure_reason: self.phase.failure_reason().map(str::to_string),
            arn: image_version_arn(region, image, self.number),
            creation_time: http::epoch_secs(self.created),
            last_modified_time: http::epoch_secs(self.last_modified),
        }
    }
}

impl ImageState {
    fn settle(&mut self, now: Instant, now_sys: SystemTime) {
        // The moment a phase ended, on the wall clock.
        let at = |until: Instant| {
            now_sys
                .checked_sub(now.saturating_duration_since(until))
                .unwrap_or(now_sys)
        };
        let mut gone = Vec::new();
        for v in self.versions.values_mut() {
            let next = match &mut v.phase {
                Phase::Creating { until, fail } if *until <= now => {
                    let t = at(*until);
                    Some((t, fail.take().map(Phase::CreateFailed).unwrap_or(Phase::Created)))
                }
                Phase::Deleting { until, fail } if *until <= now => match fail.take() {
                    Some(r) => Some((at(*until), Phase::DeleteFailed(r))),
                    None => {
                        gone.push(v.number);
                        None
                    }
                },
                _ => None,
            };
            if let Some((t, phase)) = next {
                v.last_modified = t;
                v.phase = phase;
            }
        }
        for n in gone {
            self.versions.remove(&n);
        }
    }

    pub(crate) fn alias_holder(&self, alias: &str) -> Option<u32> {
        self.versions
            .values()
            .find(|v| v.aliases.contains(alias))
            .map(|v| v.number)
    }

    /// Adds the version `make` builds with the next number, and returns that number
    /// (numbers are never reused).
    pub(crate) fn push(&mut self, make: impl FnOnce(u32) -> Version) -> u32 {
        let number = self.next_version;
        self.next_version += 1;
        self.versions.insert(number, make(number));
        number
    }

    /// The version named by `Version` or `Alias` (the latest when neither).
    pub(crate) fn resolve(
        &mut self,
        image: &str,
        version: Option<u32>,
        alias: Option<&str>,
    ) -> Result<&mut Version, ApiError> {
        let number = match (version, alias) {
            (Some(_), Some(_)) => {
                return Err(ApiError::validation("Only one of Version or Alias can be specified"));
            }
            (Some(n), None) => n,
            (None, Some(a)) => self.alias_holder(a).ok_or_else(|| {
                ApiError::not_found(format!("Image version with alias {a} of image {image} does not exist"))
            })?,
            (None, None) => *self
                .versions
                .keys()
                .next_back()
                .ok_or_else(|| ApiError::not_found(format!("Image version of image {image} does not exist")))?,
        };
        self.versions
            .get_mut(&number)
            .ok_or_else(|| ApiError::not_found(format!("Image version {number} of image {image} does not exist")))
    }
}

impl State {
    pub(crate) fn new(config: StandInConfig, model: &'static Model) -> State {
        State {
            model,
            create_delay: config.create_delay,
            delete_delay: config.delete_delay,
            alias_page_size: config.alias_page_size,
            version_limit: config.version_limit,
            registered: config.images.into_iter().collect(),
            images: BTreeMap::new(),
            tokens: BTreeMap::new(),
            fail_creations: VecDeque::new(),
            fail_deletions: VecDeque::new(),
            faults: Faults::default(),
            calls: Vec::new(),
        }
    }

    pub(crate) fn settle_all(&mut self) {
        let (now, now_sys) = (Instant::now(), SystemTime::now());
        for img in self.images.values_mut() {
            img.settle(now, now_sys);
        }
    }

    /// The settled versions of `image`, in every region, sorted by (region, version).
    pub(crate) fn views(&mut self, image: &str) -> Vec<VersionView> {
        self.settle_all();
        self.images
            .iter()
            .filter(|((_, name), _)| name == image)
            .flat_map(|((region, name), img)| img.versions.values().map(move |v| v.view(region, name)))
            .collect()
    }

    /// The settled state of `image` in every region that holds it.
    pub(crate) fn images_named<'a>(&'a mut self, image: &'a str) -> impl Iterator<Item = &'a mut ImageState> + 'a {
        self.settle_all();
        self.images
            .iter_mut()
            .filter(move |((_, name), _)| name == image)
            .map(|(_, img)| img)
    }

    /// The settled state of `image` in `region`, registered or not.
    pub(crate) fn image_entry(&mut self, region: &str, image: &str) -> &mut ImageState {
        let img = self
            .images
            .entry((region.to_string(), image.to_string()))
            .or_insert_with(|| ImageState {
                next_version: 1,
                versions: BTreeMap::new(),
            });
        img.settle(Instant::now(), SystemTime::now());
        img
    }

    /// What `token` was used for in `region`. A token stays used when its
    /// version is gone, as an idempotency token does: the same request
    /// again gets the first answer, not a second version (two deliveries of
    /// one request, one of which deleted what the first made, would
    /// otherwise answer two different versions).
    pub(crate) fn minted(&self, region: &str, token: &str) -> Option<&Minted> {
        self.tokens.get(&(region.to_string(), token.to_string()))
    }

    /// The settled state of a registered image, or `ResourceNotFound`.
    pub(crate) fn image(&mut self, region: &str, image: &str) -> Result<&mut ImageState, ApiError> {
        if !self.registered.contains(image) {
            return Err(ApiError::not_found(format!("Image {image} does not exist")));
        }
        Ok(self.image_entry(region, image))
    }
}

/// ARN of an image version.
pub fn image_version_arn(region: &str, image: &str, version: u32) -> String {
    format!(
        "arn:aws:sagemaker:{region}:{ACCOUNT_ID}:image-version/{}/{version}",
        image.to_lowercase()
    )
}

/// ARN of an image.
pub fn image_arn(region: &str, image: &str) -> String {
    format!("arn:aws:sagemaker:{region}:{ACCOUNT_ID}:image/{}", image.to_lowercase())
}

/// The deterministic `ContainerImage` for a `BaseImage`:
/// `<BaseImage without :tag>@sha256:<64 hex>`.
fn container_image(base_image: &str) -> String {
    let repo = if let Some((repo, _)) = base_image.split_once('@') {
        repo
    } else {
        match base_image.rfind(':') {
            Some(i) if !base_image[i..].contains('/') => &base_image[..i],
            _ => base_image,
        }
    };
    format!("{repo}@sha256:{}", http::hex64(base_image))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_image_replaces_the_tag_with_a_digest() {
        let c = container_image("123.dkr.ecr.us-east-1.amazonaws.com/repo:1.0");
        assert!(c.starts_with("123.dkr.ecr.us-east-1.amazonaws.com/repo@sha256:"));
        assert_eq!(c.len(), "123.dkr.ecr.us-east-1.amazonaws.com/repo@sha256:".len() + 64);
        assert!(container_image("localhost:5000/repo").starts_with("localhost:5000/repo@sha256:"));
        assert!(container_image("repo@sha256:abc").starts_with("repo@sha256:"));
        assert_eq!(container_image("a:1"), container_image("a:1"));
        assert_ne!(container_image("a:1"), container_image("a:2"));
    }
}
