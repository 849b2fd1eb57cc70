//! A SageMaker stand-in speaking the real wire protocol (AWS JSON 1.1) for the
//! image-version operations the function calls.
//!
//! Requests are `POST /` with `X-Amz-Target: SageMaker.<Operation>` and a SigV4
//! `Authorization` header (`crate::sigv4`); `router` logs each call, answers armed
//! `faults`, has the published service `model` judge the request, and hands the
//! members (`input`) to one of the `operations`, which
//! read and change the in-memory `state` (per region and image) and answer
//! through `errors`. Tests drive and inspect it through [`SageMakerStandIn`];
//! the scripts, which run it in another process, through the `admin` routes.

mod admin;
mod errors;
mod faults;
mod input;
mod model;
mod operations;
mod router;
mod state;

use std::sync::MutexGuard;
use std::time::Duration;

pub use faults::Fault;
use model::Model;
pub use state::{ACCOUNT_ID, image_arn, image_version_arn};
pub use state::{Call, VersionView};
use state::{Phase, State, Version};

use crate::server::{self, Listen, Server};

/// Start-up configuration.
#[derive(Clone, Debug)]
pub struct StandInConfig {
    /// Time a version stays `CREATING`.
    pub create_delay: Duration,
    /// Time a version stays `DELETING`.
    pub delete_delay: Duration,
    /// Caps the `ListAliases` page size (below `MaxResults`) to force pagination.
    pub alias_page_size: Option<usize>,
    /// Maximum number of versions an image may hold (`ResourceLimitExceeded` beyond).
    pub version_limit: Option<usize>,
    /// Images registered at start.
    pub images: Vec<String>,
}

impl Default for StandInConfig {
    fn default() -> Self {
        StandInConfig {
            create_delay: Duration::from_millis(100),
            delete_delay: Duration::from_millis(100),
            alias_page_size: None,
            version_limit: None,
            images: Vec::new(),
        }
    }
}

/// The SageMaker stand-in. Cheap to clone; the server stops when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct SageMakerStandIn {
    server: Server<State>,
}

impl SageMakerStandIn {
    /// Starts on `127.0.0.1:0` with the default configuration. Panics if it
    /// cannot bind or read the service model.
    pub async fn start() -> SageMakerStandIn {
        server::start_on_loopback("SageMaker stand-in", |addr| {
            Self::start_on(addr, StandInConfig::default())
        })
        .await
    }

    /// Starts on `listen` (an address, or `TestCa::listen` for https) with `config`.
    /// Fails (`NotFound`) when SageMaker's service model cannot be read: it
    /// judges every request, and there is no lenient mode without it.
    pub async fn start_on(listen: impl Into<Listen>, config: StandInConfig) -> std::io::Result<SageMakerStandIn> {
        let model = Model::shared(&operations::SERVED.map(|(name, _)| name))
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::NotFound, e.to_string()))?;
        let server = Server::start("sagemaker", listen.into(), State::new(config, model), router::handle)?;
        Ok(SageMakerStandIn { server })
    }

    /// `http://127.0.0.1:PORT` (or `https://`).
    pub fn endpoint(&self) -> String {
        self.server.endpoint()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.server.lock()
    }

    /// Registers an image (in every region).
    pub fn add_image(&self, name: &str) {
        self.state().registered.insert(name.to_string());
    }

    /// Sets the `CREATING` and `DELETING` durations for versions created/deleted from now on.
    pub fn set_delays(&self, create: Duration, delete: Duration) {
        let mut st = self.state();
        st.create_delay = create;
        st.delete_delay = delete;
    }

    /// Caps `ListAliases` pages at `n` items (min 1).
    pub fn set_alias_page_size(&self, n: usize) {
        self.state().alias_page_size = Some(n.max(1));
    }

    /// Limits how many versions an image may hold; `CreateImageVersion` beyond answers
    /// `ResourceLimitExceeded`.
    pub fn set_version_limit(&self, limit: Option<usize>) {
        self.state().version_limit = limit;
    }

    /// The next version created ends `CREATE_FAILED` with `reason` (calls queue up).
    pub fn fail_next_creation(&self, reason: impl Into<String>) {
        self.state().fail_creations.push_back(reason.into());
    }

    /// The next version deleted ends `DELETE_FAILED` with `reason` (calls queue up).
    pub fn fail_next_deletion(&self, reason: impl Into<String>) {
        self.state().fail_deletions.push_back(reason.into());
    }

    /// Injects `fault` into the next `count` calls of `op` (any operation when `None`).
    /// Faults are drawn first-come, first-served.
    pub fn inject(&self, op: Option<&str>, fault: Fault, count: u32) {
        self.state().faults.arm(op, fault, count);
    }

    /// How many injected faults are still pending.
    pub fn pending_faults(&self) -> u32 {
        self.state().faults.pending()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    pub fn calls_of(&self, op: &str) -> Vec<Call> {
        self.state()
            .calls
            .iter()
            .filter(|c| c.operation == op)
            .cloned()
            .collect()
    }

    /// Operation names of all calls, in order.
    pub fn operations(&self) -> Vec<String> {
        self.state().calls.iter().map(|c| c.operation.clone()).collect()
    }

    pub fn clear_calls(&self) {
        self.state().calls.clear();
    }

    pub fn count(&self, op: &str) -> usize {
        self.state().calls.iter().filter(|c| c.operation == op).count()
    }

    /// All versions of `image`, in every region, sorted by (region, version).
    pub fn versions(&self, image: &str) -> Vec<VersionView> {
        self.state().views(image)
    }

    /// Versions of `image` in `region`.
    pub fn versions_in(&self, region: &str, image: &str) -> Vec<VersionView> {
        self.versions(image)
            .into_iter()
            .filter(|v| v.region == region)
            .collect()
    }

    /// Version `n` of `image` (first region holding it).
    pub fn version(&self, image: &str, n: u32) -> Option<VersionView> {
        self.versions(image).into_iter().find(|v| v.version == n)
    }

    /// Detaches `alias` from whichever version of `image` holds it (every region).
    /// Returns whether anything changed.
    pub fn remove_alias_out_of_band(&self, image: &str, alias: &str) -> bool {
        let mut st = self.state();
        let mut changed = false;
        for img in st.images_named(image) {
            for v in img.versions.values_mut() {
                changed |= v.aliases.remove(alias);
            }
        }
        changed
    }

    /// Attaches `alias` to `version` of `image` (moving it away from another version if
    /// needed), in every region holding that version. Returns whether the version exists.
    pub fn add_alias_out_of_band(&self, image: &str, version: u32, alias: &str) -> bool {
        let mut st = self.state();
        let mut found = false;
        for img in st.images_named(image) {
            if !img.versions.contains_key(&version) {
                continue;
            }
            found = true;
            for v in img.versions.values_mut() {
                v.aliases.remove(alias);
            }
            if let Some(v) = img.versions.get_mut(&version) {
                v.aliases.insert(alias.to_string());
            }
        }
        found
    }

    /// Removes `version` of `image` at once (every region). Returns whether it existed.
    pub fn delete_version_out_of_band(&self, image: &str, version: u32) -> bool {
        let mut st = self.state();
        let mut found = false;
        for img in st.images_named(image) {
            found |= img.versions.remove(&version).is_some();
        }
        found
    }

    /// Creates a version directly in the `CREATED` state (registering the image if needed),
    /// taking `aliases` from the versions holding them, and returns its number.
    pub fn create_version_out_of_band(&self, region: &str, image: &str, base_image: &str, aliases: &[&str]) -> u32 {
        let mut st = self.state();
        st.registered.insert(image.to_string());
        let img = st.image_entry(region, image);
        for v in img.versions.values_mut() {
            for a in aliases {
                v.aliases.remove(*a);
            }
        }
        img.push(|number| Version {
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            ..Version::new(
                number,
                base_image.to_string(),
                format!("out-of-band-{number}"),
                Phase::Created,
            )
        })
    }
}
