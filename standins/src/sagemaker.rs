//! A SageMaker stand-in speaking the real wire protocol (AWS JSON 1.1) for the
//! image-version operations.
//!
//! Requests are `POST /` with `X-Amz-Target: SageMaker.<Operation>` and a SigV4
//! `Authorization` header (its signature is not verified, but its credential
//! scope must name the `sagemaker` service; the region is taken from it).
//! State lives in memory, per region and image; status transitions
//! (`CREATING` → `CREATED`/`CREATE_FAILED`, `DELETING` → gone/`DELETE_FAILED`)
//! are computed lazily from timestamps.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hyper::body::Incoming;
use hyper::{HeaderMap, Method, Request};
use regex::Regex;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::http::{self, Abort, Handler, Reply, ServerHandle};

/// The account id every ARN carries.
pub const ACCOUNT_ID: &str = "123456789012";

/// The role ARN `DescribeImage` reports.
pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/standin-sagemaker-image-role";

/// The operations the stand-in implements.
pub const OPERATIONS: &[&str] = &[
    "CreateImageVersion",
    "DescribeImageVersion",
    "UpdateImageVersion",
    "DeleteImageVersion",
    "ListAliases",
    "ListImageVersions",
    "DescribeImage",
];

/// An injected fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// HTTP 400 `ThrottlingException`.
    Throttle,
    /// HTTP 500 `InternalFailure`.
    ServerError,
    /// Close the TCP connection without any response.
    Reset,
    /// Never answer: hold the connection until the client goes away (or 10 minutes).
    Hang,
}

impl Fault {
    /// The note recorded in the call log (also the name the admin API takes).
    pub fn note(self) -> &'static str {
        match self {
            Fault::Throttle => "throttle",
            Fault::ServerError => "500",
            Fault::Reset => "reset",
            Fault::Hang => "hang",
        }
    }

    /// Parses an admin-API fault name: `throttle`, `500` (or `server-error`), `reset`, `hang`.
    pub fn parse(name: &str) -> Option<Fault> {
        match name.to_ascii_lowercase().as_str() {
            "throttle" | "throttling" | "throttlingexception" => Some(Fault::Throttle),
            "500" | "server-error" | "servererror" | "internalfailure" => Some(Fault::ServerError),
            "reset" => Some(Fault::Reset),
            "hang" => Some(Fault::Hang),
            _ => None,
        }
    }
}

/// One request received (after the authentication check).
#[derive(Clone, Debug)]
pub struct Call {
    /// Operation name (the part of `X-Amz-Target` after `SageMaker.`).
    pub operation: String,
    /// The JSON body (a JSON string holding the raw text when it was not JSON).
    pub body: Value,
    /// Region from the credential scope.
    pub region: String,
    /// `Some(note)` when a fault was injected into this call (see [`Fault::note`]).
    pub fault: Option<String>,
    pub at: Instant,
}

/// Start-up configuration.
#[derive(Clone, Debug)]
pub struct StandInConfig {
    /// Time a version stays `CREATING`.
    pub create_delay: Duration,
    /// Time a version stays `DELETING`.
    pub delete_delay: Duration,
    /// Caps the `ListAliases` page size (below `MaxResults`) to force pagination.
    pub alias_page_size: Option<usize>,
    /// Caps the `ListImageVersions` page size.
    pub version_page_size: Option<usize>,
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
            version_page_size: None,
            version_limit: None,
            images: Vec::new(),
        }
    }
}

/// A snapshot of one image version, for inspection by tests.
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

/// The SageMaker stand-in. Cheap to clone; the server stops when the last clone is dropped.
#[derive(Clone)]
pub struct SageMakerStandIn {
    inner: Arc<Inner>,
    server: Arc<ServerHandle>,
}

impl std::fmt::Debug for SageMakerStandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SageMakerStandIn")
            .field("endpoint", &self.endpoint())
            .finish()
    }
}

impl SageMakerStandIn {
    /// Starts on `127.0.0.1:0` with the default configuration. Panics if it cannot bind.
    pub async fn start() -> SageMakerStandIn {
        Self::start_on("127.0.0.1:0".parse().unwrap(), StandInConfig::default())
            .await
            .expect("cannot start the SageMaker stand-in")
    }

    /// Starts on `addr` with `config`.
    pub async fn start_on(addr: SocketAddr, config: StandInConfig) -> std::io::Result<SageMakerStandIn> {
        Self::start_blocking(addr, config)
    }

    /// Same as [`SageMakerStandIn::start_on`], usable outside async code.
    pub fn start_blocking(addr: SocketAddr, config: StandInConfig) -> std::io::Result<SageMakerStandIn> {
        let now = SystemTime::now();
        let state = State {
            create_delay: config.create_delay,
            delete_delay: config.delete_delay,
            alias_page_size: config.alias_page_size,
            version_page_size: config.version_page_size,
            version_limit: config.version_limit,
            registered: config.images.iter().map(|n| (n.clone(), now)).collect(),
            images: BTreeMap::new(),
            fail_creations: VecDeque::new(),
            fail_deletions: VecDeque::new(),
            faults: Vec::new(),
            calls: Vec::new(),
        };
        let inner = Arc::new(Inner {
            state: Mutex::new(state),
        });
        let for_handler = inner.clone();
        let handler: Handler = Arc::new(move |req| {
            let inner = for_handler.clone();
            Box::pin(async move { inner.handle(req).await })
        });
        let server = http::serve("sagemaker", addr, handler)?;
        Ok(SageMakerStandIn {
            inner,
            server: Arc::new(server),
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// Stops serving (also happens when the last clone is dropped).
    pub fn stop(&self) {
        self.server.stop();
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.lock()
    }

    /// Registers an image (in every region).
    pub fn add_image(&self, name: &str) {
        self.state()
            .registered
            .entry(name.to_string())
            .or_insert_with(SystemTime::now);
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

    /// Caps `ListImageVersions` pages at `n` items (min 1).
    pub fn set_version_page_size(&self, n: usize) {
        self.state().version_page_size = Some(n.max(1));
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
    /// Faults are consumed first-come, first-served.
    pub fn inject(&self, op: Option<&str>, fault: Fault, count: u32) {
        if count == 0 {
            return;
        }
        self.state().faults.push(FaultRule {
            op: op.map(str::to_string),
            fault,
            remaining: count,
        });
    }

    /// Drops every pending injected fault.
    pub fn clear_faults(&self) {
        self.state().faults.clear();
    }

    /// How many injected faults are still pending.
    pub fn pending_faults(&self) -> u32 {
        self.state().faults.iter().map(|f| f.remaining).sum()
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
        let mut st = self.state();
        st.settle_all();
        st.images
            .iter()
            .filter(|((_, name), _)| name == image)
            .flat_map(|((region, name), img)| img.versions.values().map(move |v| v.view(region, name)))
            .collect()
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
        st.settle_all();
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
        st.settle_all();
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
        st.settle_all();
        let mut found = false;
        for img in st.images_named(image) {
            found |= img.versions.remove(&version).is_some();
        }
        found
    }

    /// Creates a version directly in the `CREATED` state (registering the image if needed)
    /// and returns its number.
    pub fn create_version_out_of_band(&self, region: &str, image: &str, base_image: &str, aliases: &[&str]) -> u32 {
        let mut st = self.state();
        st.registered.entry(image.to_string()).or_insert_with(SystemTime::now);
        st.settle_all();
        let img = st.image_entry(region, image);
        for v in img.versions.values_mut() {
            for a in aliases {
                v.aliases.remove(*a);
            }
        }
        let number = img.next_version;
        img.next_version += 1;
        let now = SystemTime::now();
        img.versions.insert(
            number,
            Version {
                number,
                base_image: base_image.to_string(),
                container_image: container_image(base_image),
                client_token: format!("out-of-band-{number}"),
                meta: Meta::default(),
                aliases: aliases.iter().map(|a| a.to_string()).collect(),
                created: now,
                last_modified: now,
                phase: Phase::Created,
            },
        );
        number
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
pub fn container_image(base_image: &str) -> String {
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

// ---------------------------------------------------------------------------
// State

struct FaultRule {
    op: Option<String>,
    fault: Fault,
    remaining: u32,
}

struct State {
    create_delay: Duration,
    delete_delay: Duration,
    alias_page_size: Option<usize>,
    version_page_size: Option<usize>,
    version_limit: Option<usize>,
    registered: BTreeMap<String, SystemTime>,
    /// (region, image name) → state
    images: BTreeMap<(String, String), ImageState>,
    fail_creations: VecDeque<String>,
    fail_deletions: VecDeque<String>,
    faults: Vec<FaultRule>,
    calls: Vec<Call>,
}

struct ImageState {
    next_version: u32,
    versions: BTreeMap<u32, Version>,
}

#[derive(Default, Clone)]
struct Meta {
    vendor_guidance: Option<String>,
    job_type: Option<String>,
    ml_framework: Option<String>,
    programming_lang: Option<String>,
    processor: Option<String>,
    horovod: Option<bool>,
    release_notes: Option<String>,
}

enum Phase {
    Creating { until: Instant, fail: Option<String> },
    Created,
    CreateFailed(String),
    Deleting { until: Instant, fail: Option<String> },
    DeleteFailed(String),
}

impl Phase {
    fn status(&self) -> &'static str {
        match self {
            Phase::Creating { .. } => "CREATING",
            Phase::Created => "CREATED",
            Phase::CreateFailed(_) => "CREATE_FAILED",
            Phase::Deleting { .. } => "DELETING",
            Phase::DeleteFailed(_) => "DELETE_FAILED",
        }
    }

    fn failure_reason(&self) -> Option<&str> {
        match self {
            Phase::CreateFailed(r) | Phase::DeleteFailed(r) => Some(r),
            _ => None,
        }
    }
}

struct Version {
    number: u32,
    base_image: String,
    container_image: String,
    client_token: String,
    meta: Meta,
    aliases: BTreeSet<String>,
    created: SystemTime,
    last_modified: SystemTime,
    phase: Phase,
}

impl Version {
    fn view(&self, region: &str, image: &str) -> VersionView {
        VersionView {
            region: region.to_string(),
            image_name: image.to_string(),
            version: self.number,
            status: self.phase.status().to_string(),
            aliases: self.aliases.iter().cloned().collect(),
            base_image: self.base_image.clone(),
            container_image: self.container_image.clone(),
            client_token: self.client_token.clone(),
            vendor_guidance: self.meta.vendor_guidance.clone(),
            job_type: self.meta.job_type.clone(),
            ml_framework: self.meta.ml_framework.clone(),
            programming_lang: self.meta.programming_lang.clone(),
            processor: self.meta.processor.clone(),
            horovod: self.meta.horovod,
            release_notes: self.meta.release_notes.clone(),
            failure_reason: self.phase.failure_reason().map(str::to_string),
            arn: image_version_arn(region, image, self.number),
            creation_time: epoch_secs(self.created),
            last_modified_time: epoch_secs(self.last_modified),
        }
    }

    fn describe(&self, region: &str, image: &str) -> Value {
        let mut out = Map::new();
        out.insert("BaseImage".into(), json!(self.base_image));
        out.insert("ContainerImage".into(), json!(self.container_image));
        out.insert("CreationTime".into(), epoch_json(self.created));
        if let Some(r) = self.phase.failure_reason() {
            out.insert("FailureReason".into(), json!(r));
        }
        out.insert("ImageArn".into(), json!(image_arn(region, image)));
        out.insert(
            "ImageVersionArn".into(),
            json!(image_version_arn(region, image, self.number)),
        );
        out.insert("ImageVersionStatus".into(), json!(self.phase.status()));
        out.insert("LastModifiedTime".into(), epoch_json(self.last_modified));
        out.insert("Version".into(), json!(self.number));
        let m = &self.meta;
        for (k, v) in [
            ("VendorGuidance", &m.vendor_guidance),
            ("JobType", &m.job_type),
            ("MLFramework", &m.ml_framework),
            ("ProgrammingLang", &m.programming_lang),
            ("Processor", &m.processor),
            ("ReleaseNotes", &m.release_notes),
        ] {
            if let Some(v) = v {
                out.insert(k.into(), json!(v));
            }
        }
        if let Some(h) = m.horovod {
            out.insert("Horovod".into(), json!(h));
        }
        Value::Object(out)
    }

    fn summary(&self, region: &str, image: &str) -> Value {
        let mut out = Map::new();
        out.insert("CreationTime".into(), epoch_json(self.created));
        if let Some(r) = self.phase.failure_reason() {
            out.insert("FailureReason".into(), json!(r));
        }
        out.insert("ImageArn".into(), json!(image_arn(region, image)));
        out.insert(
            "ImageVersionArn".into(),
            json!(image_version_arn(region, image, self.number)),
        );
        out.insert("ImageVersionStatus".into(), json!(self.phase.status()));
        out.insert("LastModifiedTime".into(), epoch_json(self.last_modified));
        out.insert("Version".into(), json!(self.number));
        Value::Object(out)
    }
}

fn epoch_secs(t: SystemTime) -> f64 {
    let ms = t.duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    ms as f64 / 1000.0
}

fn epoch_json(t: SystemTime) -> Value {
    json!(epoch_secs(t))
}

impl ImageState {
    fn settle(&mut self, now: Instant, now_sys: SystemTime) {
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

    fn alias_holder(&self, alias: &str) -> Option<u32> {
        self.versions
            .values()
            .find(|v| v.aliases.contains(alias))
            .map(|v| v.number)
    }
}

impl State {
    fn settle_all(&mut self) {
        let (now, now_sys) = (Instant::now(), SystemTime::now());
        for img in self.images.values_mut() {
            img.settle(now, now_sys);
        }
    }

    fn images_named<'a>(&'a mut self, image: &'a str) -> impl Iterator<Item = &'a mut ImageState> + 'a {
        self.images
            .iter_mut()
            .filter(move |((_, name), _)| name == image)
            .map(|(_, img)| img)
    }

    fn image_entry(&mut self, region: &str, image: &str) -> &mut ImageState {
        self.images
            .entry((region.to_string(), image.to_string()))
            .or_insert_with(|| ImageState {
                next_version: 1,
                versions: BTreeMap::new(),
            })
    }

    /// The settled state of a registered image, or `ResourceNotFound`.
    fn image(&mut self, region: &str, image: &str) -> Result<&mut ImageState, ApiError> {
        if !self.registered.contains_key(image) {
            return Err(ApiError::new(
                "ResourceNotFound",
                format!("Image {image} does not exist"),
            ));
        }
        let img = self.image_entry(region, image);
        img.settle(Instant::now(), SystemTime::now());
        Ok(img)
    }

    fn take_fault(&mut self, op: &str) -> Option<Fault> {
        let i = self
            .faults
            .iter()
            .position(|f| f.remaining > 0 && f.op.as_deref().is_none_or(|o| o == op))?;
        let fault = self.faults[i].fault;
        self.faults[i].remaining -= 1;
        if self.faults[i].remaining == 0 {
            self.faults.remove(i);
        }
        Some(fault)
    }
}

// ---------------------------------------------------------------------------
// Errors and input parsing

#[derive(Debug)]
struct ApiError {
    status: u16,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(code: &'static str, message: impl Into<String>) -> ApiError {
        let status = if code == "InternalFailure" { 500 } else { 400 };
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    fn validation(message: impl Into<String>) -> ApiError {
        ApiError::new("ValidationException", message)
    }

    fn constraint(value: &str, member: &str, constraint: &str) -> ApiError {
        ApiError::validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must {constraint}"
        ))
    }

    fn missing(member: &str) -> ApiError {
        ApiError::validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    }

    fn serialization(member: &str, expected: &str) -> ApiError {
        ApiError::new(
            "SerializationException",
            format!("Unexpected value type for member '{member}': expected {expected}"),
        )
    }
}

fn error_response(err: &ApiError) -> http::Reply {
    let body = json!({"__type": err.code, "message": err.message});
    Ok(http::response(
        err.status,
        &[
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amzn-errortype", err.code),
            ("x-amzn-requestid", &http::new_id()),
        ],
        serde_json::to_vec(&body).unwrap_or_default(),
    ))
}

fn success_response(body: &Value) -> http::Reply {
    Ok(http::response(
        200,
        &[
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amzn-requestid", &http::new_id()),
        ],
        serde_json::to_vec(body).unwrap_or_default(),
    ))
}

static IMAGE_NAME_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9](?:[-.]?[a-zA-Z0-9]){0,62}$").unwrap());
static FRAMEWORK_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z]+ ?[0-9]+\.[0-9]+(?:\.[0-9]+)?$").unwrap());
static CLIENT_TOKEN_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9-]+$").unwrap());

struct Input<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Input<'a> {
    fn parse(body: &'a Value) -> Result<Input<'a>, ApiError> {
        match body {
            Value::Object(map) => Ok(Input { map }),
            Value::String(_) => Err(ApiError::new(
                "SerializationException",
                "The request body is not valid JSON",
            )),
            _ => Err(ApiError::new(
                "SerializationException",
                "Expected a JSON object as the request body",
            )),
        }
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    fn string(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::serialization(name, "a string")),
        }
    }

    fn required(&self, name: &str) -> Result<String, ApiError> {
        self.string(name)?.ok_or_else(|| ApiError::missing(name))
    }

    fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) if i32::try_from(i).is_ok() => Ok(Some(i)),
                _ => Err(ApiError::serialization(name, "an integer")),
            },
            Some(_) => Err(ApiError::serialization(name, "an integer")),
        }
    }

    fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(ApiError::serialization(name, "a boolean")),
        }
    }

    fn string_list(&self, name: &str) -> Result<Option<Vec<String>>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(ApiError::serialization(name, "a list of strings")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(ApiError::serialization(name, "a list")),
        }
    }

    fn image_name(&self) -> Result<String, ApiError> {
        let name = self.required("ImageName")?;
        check_len(&name, "ImageName", 1, 63)?;
        check_pattern(
            &name,
            "ImageName",
            &IMAGE_NAME_RE,
            r"^[a-zA-Z0-9]([-.]?[a-zA-Z0-9]){0,62}$",
        )?;
        Ok(name)
    }

    fn version(&self) -> Result<Option<u32>, ApiError> {
        match self.int("Version")? {
            None => Ok(None),
            Some(v) if v >= 1 => Ok(Some(v as u32)),
            Some(v) => Err(ApiError::constraint(
                &v.to_string(),
                "Version",
                "have value greater than or equal to 1",
            )),
        }
    }

    fn alias(&self, name: &str) -> Result<Option<String>, ApiError> {
        let alias = self.string(name)?;
        if let Some(a) = &alias {
            check_alias(a, name)?;
        }
        Ok(alias)
    }

    fn alias_list(&self, name: &str) -> Result<Vec<String>, ApiError> {
        let list = self.string_list(name)?.unwrap_or_default();
        let mut seen = BTreeSet::new();
        for (i, a) in list.iter().enumerate() {
            check_alias(a, &format!("{name}.{}.member", i + 1))?;
            if !seen.insert(a.as_str()) {
                return Err(ApiError::validation(format!("Duplicate alias '{a}' in {name}")));
            }
        }
        Ok(list)
    }

    fn max_results(&self) -> Result<usize, ApiError> {
        match self.int("MaxResults")? {
            None => Ok(100),
            Some(n) if (1..=100).contains(&n) => Ok(n as usize),
            Some(n) => Err(ApiError::constraint(
                &n.to_string(),
                "MaxResults",
                "have value between 1 and 100",
            )),
        }
    }

    fn next_token(&self, kind: &str) -> Result<usize, ApiError> {
        let Some(token) = self.string("NextToken")? else {
            return Ok(0);
        };
        check_len(&token, "NextToken", 0, 8192)?;
        token
            .strip_prefix(kind)
            .and_then(|rest| rest.strip_prefix('-'))
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| ApiError::validation(format!("Invalid pagination token '{token}' for NextToken")))
    }

    fn meta(&self) -> Result<Meta, ApiError> {
        let enum_member = |name: &str, allowed: &[&str]| -> Result<Option<String>, ApiError> {
            let v = self.string(name)?;
            if let Some(s) = &v
                && !allowed.contains(&s.as_str())
            {
                return Err(ApiError::constraint(
                    s,
                    name,
                    &format!("satisfy enum value set: [{}]", allowed.join(", ")),
                ));
            }
            Ok(v)
        };
        let framework = |name: &str| -> Result<Option<String>, ApiError> {
            let v = self.string(name)?;
            if let Some(s) = &v {
                check_len(s, name, 1, 128)?;
                check_pattern(s, name, &FRAMEWORK_RE, r"^[a-zA-Z]+ ?\d+\.\d+(\.\d+)?$")?;
            }
            Ok(v)
        };
        let release_notes = self.string("ReleaseNotes")?;
        if let Some(s) = &release_notes {
            check_len(s, "ReleaseNotes", 1, 255)?;
        }
        Ok(Meta {
            vendor_guidance: enum_member(
                "VendorGuidance",
                &["NOT_PROVIDED", "STABLE", "TO_BE_ARCHIVED", "ARCHIVED"],
            )?,
            job_type: enum_member("JobType", &["TRAINING", "INFERENCE", "NOTEBOOK_KERNEL"])?,
            ml_framework: framework("MLFramework")?,
            programming_lang: framework("ProgrammingLang")?,
            processor: enum_member("Processor", &["CPU", "GPU"])?,
            horovod: self.boolean("Horovod")?,
            release_notes,
        })
    }
}

fn check_len(value: &str, member: &str, min: usize, max: usize) -> Result<(), ApiError> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(ApiError::constraint(
            value,
            member,
            &format!("have length between {min} and {max}, inclusive"),
        ));
    }
    Ok(())
}

fn check_pattern(value: &str, member: &str, re: &Regex, shown: &str) -> Result<(), ApiError> {
    if !re.is_match(value) {
        return Err(ApiError::constraint(
            value,
            member,
            &format!("satisfy regular expression pattern: {shown}"),
        ));
    }
    Ok(())
}

/// Alias: 1-128 characters from `[a-zA-Z0-9-_.]`, not starting with `.` or `-`
/// (SageMaker's `(?!^[.-])^([a-zA-Z0-9-_.]+)$`).
fn check_alias(alias: &str, member: &str) -> Result<(), ApiError> {
    check_len(alias, member, 1, 128)?;
    let ok_chars = alias
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let ok_start = !alias.starts_with(['.', '-']);
    if !ok_chars || !ok_start {
        return Err(ApiError::constraint(
            alias,
            member,
            "satisfy regular expression pattern: (?!^[.-])^([a-zA-Z0-9-_.]+)$",
        ));
    }
    Ok(())
}

/// Resolves the version named by `Version` or `Alias` (the latest when neither).
fn resolve<'a>(
    img: &'a mut ImageState,
    image: &str,
    version: Option<u32>,
    alias: Option<&str>,
) -> Result<&'a mut Version, ApiError> {
    let number = match (version, alias) {
        (Some(_), Some(_)) => {
            return Err(ApiError::validation("Only one of Version or Alias can be specified"));
        }
        (Some(n), None) => n,
        (None, Some(a)) => img.alias_holder(a).ok_or_else(|| {
            ApiError::new(
                "ResourceNotFound",
                format!("Image version with alias {a} of image {image} does not exist"),
            )
        })?,
        (None, None) => *img.versions.keys().next_back().ok_or_else(|| {
            ApiError::new(
                "ResourceNotFound",
                format!("Image version of image {image} does not exist"),
            )
        })?,
    };
    img.versions.get_mut(&number).ok_or_else(|| {
        ApiError::new(
            "ResourceNotFound",
            format!("Image version {number} of image {image} does not exist"),
        )
    })
}

// ---------------------------------------------------------------------------
// Request handling

struct Inner {
    state: Mutex<State>,
}

/// Returns the region of a well-formed SigV4 `Authorization` header for `sagemaker`.
fn auth_region(headers: &HeaderMap) -> Result<String, String> {
    let value = headers
        .get("authorization")
        .ok_or("Missing Authentication Token")?
        .to_str()
        .map_err(|_| "Malformed Authorization header")?;
    let rest = value
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("Authorization header requires the AWS4-HMAC-SHA256 algorithm")?;
    let (mut credential, mut signed, mut signature) = (None, false, false);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(c) = part.strip_prefix("Credential=") {
            credential = Some(c);
        } else if let Some(s) = part.strip_prefix("SignedHeaders=") {
            signed = !s.is_empty();
        } else if let Some(s) = part.strip_prefix("Signature=") {
            signature = !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
        }
    }
    let credential = credential.ok_or("Authorization header requires 'Credential' parameter")?;
    if !signed {
        return Err("Authorization header requires 'SignedHeaders' parameter".into());
    }
    if !signature {
        return Err("Authorization header requires 'Signature' parameter".into());
    }
    let scope: Vec<&str> = credential.split('/').collect();
    if scope.len() != 5 || scope[0].is_empty() || scope[2].is_empty() || scope[4] != "aws4_request" {
        return Err(format!(
            "Credential should be scoped to a valid region, not '{credential}'"
        ));
    }
    if scope[1].len() != 8 || !scope[1].bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "Credential should be scoped to a valid date, not '{}'",
            scope[1]
        ));
    }
    if scope[3] != "sagemaker" {
        return Err(format!(
            "Credential should be scoped to correct service: 'sagemaker', not '{}'",
            scope[3]
        ));
    }
    Ok(scope[2].to_string())
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock must not wedge every later test call.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Reply {
        if req.uri().path().starts_with("/_standin/") {
            return Ok(self.admin(req).await);
        }
        let region = match auth_region(req.headers()) {
            Ok(r) => r,
            Err(message) => {
                return error_response(&ApiError {
                    status: 400,
                    code: "MissingAuthenticationTokenException",
                    message,
                });
            }
        };
        let target = req
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let operation = target.strip_prefix("SageMaker.").unwrap_or(&target).to_string();
        let raw = http::read_body(req.into_body()).await;
        let body = if raw.iter().all(u8::is_ascii_whitespace) {
            json!({})
        } else {
            serde_json::from_slice(&raw).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&raw).into_owned()))
        };

        let fault = {
            let mut st = self.lock();
            let fault = st.take_fault(&operation);
            st.calls.push(Call {
                operation: operation.clone(),
                body: body.clone(),
                region: region.clone(),
                fault: fault.map(|f| f.note().to_string()),
                at: Instant::now(),
            });
            fault
        };
        match fault {
            Some(Fault::Throttle) => {
                return error_response(&ApiError::new("ThrottlingException", "Rate exceeded"));
            }
            Some(Fault::ServerError) => {
                return error_response(&ApiError::new(
                    "InternalFailure",
                    "An internal error occurred (injected by the stand-in)",
                ));
            }
            Some(Fault::Reset) => return Err(Abort),
            Some(Fault::Hang) => {
                tokio::time::sleep(http::HANG_FOR).await;
                return Err(Abort);
            }
            None => {}
        }
        if !target.starts_with("SageMaker.") || !OPERATIONS.contains(&operation.as_str()) {
            return error_response(&ApiError::new(
                "UnknownOperationException",
                format!("Unknown operation {target}"),
            ));
        }
        match self.operate(&region, &operation, &body) {
            Ok(out) => success_response(&out),
            Err(e) => error_response(&e),
        }
    }

    fn operate(&self, region: &str, op: &str, body: &Value) -> Result<Value, ApiError> {
        let input = Input::parse(body)?;
        let mut st = self.lock();
        match op {
            "CreateImageVersion" => create_image_version(&mut st, region, &input),
            "DescribeImageVersion" => {
                let image = input.image_name()?;
                let version = input.version()?;
                let alias = input.alias("Alias")?;
                let img = st.image(region, &image)?;
                let v = resolve(img, &image, version, alias.as_deref())?;
                Ok(v.describe(region, &image))
            }
            "UpdateImageVersion" => update_image_version(&mut st, region, &input),
            "DeleteImageVersion" => delete_image_version(&mut st, region, &input),
            "ListAliases" => list_aliases(&mut st, region, &input),
            "ListImageVersions" => list_image_versions(&mut st, region, &input),
            "DescribeImage" => {
                let image = input.image_name()?;
                st.image(region, &image)?;
                let created = st.registered[&image];
                Ok(json!({
                    "CreationTime": epoch_json(created),
                    "ImageArn": image_arn(region, &image),
                    "ImageName": image,
                    "ImageStatus": "CREATED",
                    "LastModifiedTime": epoch_json(created),
                    "RoleArn": ROLE_ARN,
                }))
            }
            _ => Err(ApiError::new(
                "UnknownOperationException",
                format!("Unknown operation {op}"),
            )),
        }
    }

    async fn admin(&self, req: Request<Incoming>) -> hyper::Response<http::Body> {
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let query = req.uri().query().map(str::to_string);
        let raw = http::read_body(req.into_body()).await;
        let body: Value = if raw.is_empty() {
            json!({})
        } else {
            match serde_json::from_slice(&raw) {
                Ok(v) => v,
                Err(e) => {
                    return http::json_response(400, &json!({"message": format!("invalid JSON: {e}")}));
                }
            }
        };
        let bad = |m: &str| http::json_response(400, &json!({ "message": m }));
        let ok = || http::json_response(200, &json!({}));
        match (&method, path.as_str()) {
            (&Method::POST, "/_standin/images") => match body.get("ImageName").and_then(Value::as_str) {
                Some(name) => {
                    self.lock()
                        .registered
                        .entry(name.to_string())
                        .or_insert_with(SystemTime::now);
                    ok()
                }
                None => bad("ImageName (string) is required"),
            },
            (&Method::POST, "/_standin/config") => {
                let mut st = self.lock();
                if let Some(ms) = body.get("CreateDelayMs").and_then(Value::as_u64) {
                    st.create_delay = Duration::from_millis(ms);
                }
                if let Some(ms) = body.get("DeleteDelayMs").and_then(Value::as_u64) {
                    st.delete_delay = Duration::from_millis(ms);
                }
                match body.get("AliasPageSize") {
                    Some(Value::Null) => st.alias_page_size = None,
                    Some(v) => st.alias_page_size = v.as_u64().map(|n| (n as usize).max(1)),
                    None => {}
                }
                match body.get("VersionPageSize") {
                    Some(Value::Null) => st.version_page_size = None,
                    Some(v) => st.version_page_size = v.as_u64().map(|n| (n as usize).max(1)),
                    None => {}
                }
                ok()
            }
            (&Method::POST, "/_standin/faults") => {
                let fault = match body.get("Fault") {
                    Some(Value::String(s)) => Fault::parse(s),
                    Some(Value::Number(n)) if n.as_u64() == Some(500) => Some(Fault::ServerError),
                    _ => None,
                };
                let Some(fault) = fault else {
                    return bad("Fault must be one of throttle, 500, reset, hang");
                };
                let op = body.get("Operation").and_then(Value::as_str).map(str::to_string);
                let count = body.get("Count").and_then(Value::as_u64).unwrap_or(1) as u32;
                if count > 0 {
                    self.lock().faults.push(FaultRule {
                        op,
                        fault,
                        remaining: count,
                    });
                }
                ok()
            }
            (&Method::POST, "/_standin/fail-next-creation") | (&Method::POST, "/_standin/fail-next-deletion") => {
                let reason = body
                    .get("Reason")
                    .and_then(Value::as_str)
                    .unwrap_or("Failure injected by the stand-in")
                    .to_string();
                let mut st = self.lock();
                if path.ends_with("creation") {
                    st.fail_creations.push_back(reason);
                } else {
                    st.fail_deletions.push_back(reason);
                }
                ok()
            }
            (&Method::GET, "/_standin/calls") => {
                let calls: Vec<Value> = self
                    .lock()
                    .calls
                    .iter()
                    .map(|c| {
                        json!({
                            "Operation": c.operation,
                            "Body": c.body,
                            "Region": c.region,
                            "Fault": c.fault,
                        })
                    })
                    .collect();
                http::json_response(200, &Value::Array(calls))
            }
            (&Method::POST, "/_standin/calls/clear") => {
                self.lock().calls.clear();
                ok()
            }
            (&Method::GET, "/_standin/versions") => {
                let Some(image) = http::query_param(query.as_deref(), "image") else {
                    return bad("query parameter image is required");
                };
                let mut st = self.lock();
                st.settle_all();
                let views: Vec<VersionView> = st
                    .images
                    .iter()
                    .filter(|((_, name), _)| *name == image)
                    .flat_map(|((region, name), img)| img.versions.values().map(move |v| v.view(region, name)))
                    .collect();
                http::json_response(200, &serde_json::to_value(views).unwrap_or(Value::Null))
            }
            _ => http::json_response(404, &json!({"message": format!("no admin route {method} {path}")})),
        }
    }
}

fn create_image_version(st: &mut State, region: &str, input: &Input<'_>) -> Result<Value, ApiError> {
    let base_image = input.required("BaseImage")?;
    check_len(&base_image, "BaseImage", 1, 255)?;
    if base_image.trim().is_empty() {
        return Err(ApiError::constraint(
            &base_image,
            "BaseImage",
            "satisfy regular expression pattern: .*\\S.*",
        ));
    }
    let client_token = input.required("ClientToken")?;
    check_len(&client_token, "ClientToken", 1, 36)?;
    check_pattern(&client_token, "ClientToken", &CLIENT_TOKEN_RE, "^[a-zA-Z0-9-]+$")?;
    let image = input.image_name()?;
    let aliases = input.alias_list("Aliases")?;
    let meta = input.meta()?;

    let create_delay = st.create_delay;
    let limit = st.version_limit;
    {
        let img = st.image(region, &image)?;
        if let Some(v) = img.versions.values().find(|v| v.client_token == client_token) {
            return Ok(json!({"ImageVersionArn": image_version_arn(region, &image, v.number)}));
        }
        if img.versions.values().any(|v| matches!(v.phase, Phase::Creating { .. })) {
            return Err(ApiError::new("ResourceInUse", "Resource was modified concurrently"));
        }
        if let Some(limit) = limit
            && img.versions.len() >= limit
        {
            return Err(ApiError::new(
                "ResourceLimitExceeded",
                format!("Image {image} already has the maximum number of versions ({limit})"),
            ));
        }
        for a in &aliases {
            if let Some(holder) = img.alias_holder(a) {
                return Err(ApiError::validation(format!(
                    "Alias {a} is already associated with version {holder} of image {image}"
                )));
            }
        }
    }
    let fail = st.fail_creations.pop_front();
    let img = st.image_entry(region, &image);
    let number = img.next_version;
    img.next_version += 1;
    let now = SystemTime::now();
    img.versions.insert(
        number,
        Version {
            number,
            container_image: container_image(&base_image),
            base_image,
            client_token,
            meta,
            aliases: aliases.into_iter().collect(),
            created: now,
            last_modified: now,
            phase: Phase::Creating {
                until: Instant::now() + create_delay,
                fail,
            },
        },
    );
    Ok(json!({"ImageVersionArn": image_version_arn(region, &image, number)}))
}

fn update_image_version(st: &mut State, region: &str, input: &Input<'_>) -> Result<Value, ApiError> {
    let image = input.image_name()?;
    let version = input.version()?;
    let alias = input.alias("Alias")?;
    let to_add = input.alias_list("AliasesToAdd")?;
    let to_delete = input.alias_list("AliasesToDelete")?;
    if let Some(a) = to_add.iter().find(|a| to_delete.contains(a)) {
        return Err(ApiError::validation(format!(
            "Alias {a} cannot be in both AliasesToAdd and AliasesToDelete"
        )));
    }
    let meta = input.meta()?;

    let img = st.image(region, &image)?;
    let number = resolve(img, &image, version, alias.as_deref())?.number;
    for a in &to_add {
        if let Some(holder) = img.alias_holder(a)
            && holder != number
        {
            return Err(ApiError::validation(format!(
                "Alias {a} is already associated with version {holder} of image {image}"
            )));
        }
    }
    let v = img.versions.get_mut(&number).expect("resolved version exists");
    if !matches!(v.phase, Phase::Created) {
        return Err(ApiError::new(
            "ResourceInUse",
            format!(
                "Image version {} is in status {} and cannot be updated",
                image_version_arn(region, &image, number),
                v.phase.status()
            ),
        ));
    }
    for a in &to_delete {
        if !v.aliases.contains(a) {
            return Err(ApiError::validation(format!(
                "Alias {a} is not associated with version {number} of image {image}"
            )));
        }
    }
    for a in &to_delete {
        v.aliases.remove(a);
    }
    v.aliases.extend(to_add);
    let m = &mut v.meta;
    macro_rules! set {
        ($($f:ident),*) => { $( if meta.$f.is_some() { m.$f = meta.$f.clone(); } )* };
    }
    set!(
        vendor_guidance,
        job_type,
        ml_framework,
        programming_lang,
        processor,
        horovod,
        release_notes
    );
    v.last_modified = SystemTime::now();
    Ok(json!({"ImageVersionArn": image_version_arn(region, &image, number)}))
}

fn delete_image_version(st: &mut State, region: &str, input: &Input<'_>) -> Result<Value, ApiError> {
    let image = input.image_name()?;
    let version = input.version()?;
    let alias = input.alias("Alias")?;
    if version.is_none() && alias.is_none() {
        return Err(ApiError::validation("Either Version or Alias must be specified"));
    }
    let delete_delay = st.delete_delay;
    let number = {
        let img = st.image(region, &image)?;
        let v = resolve(img, &image, version, alias.as_deref())?;
        let arn = image_version_arn(region, &image, v.number);
        match v.phase {
            Phase::Deleting { .. } => {
                return Err(ApiError::new(
                    "ResourceInUse",
                    format!("Image version {arn} is being deleted"),
                ));
            }
            Phase::Creating { .. } => {
                return Err(ApiError::new(
                    "ResourceInUse",
                    format!("Image version {arn} is being created"),
                ));
            }
            _ => v.number,
        }
    };
    let fail = st.fail_deletions.pop_front();
    let img = st.image_entry(region, &image);
    let v = img.versions.get_mut(&number).expect("resolved version exists");
    v.phase = Phase::Deleting {
        until: Instant::now() + delete_delay,
        fail,
    };
    v.last_modified = SystemTime::now();
    Ok(json!({}))
}

fn list_aliases(st: &mut State, region: &str, input: &Input<'_>) -> Result<Value, ApiError> {
    let image = input.image_name()?;
    let alias = input.alias("Alias")?;
    let version = input.version()?;
    let max = input.max_results()?;
    let offset = input.next_token("aliases")?;
    let page = max.min(st.alias_page_size.unwrap_or(usize::MAX)).max(1);
    let img = st.image(region, &image)?;
    let mut items: Vec<String> = match version {
        Some(n) => {
            let v = img.versions.get(&n).ok_or_else(|| {
                ApiError::new(
                    "ResourceNotFound",
                    format!("Image version {n} of image {image} does not exist"),
                )
            })?;
            v.aliases.iter().cloned().collect()
        }
        None => img.versions.values().flat_map(|v| v.aliases.iter().cloned()).collect(),
    };
    items.sort();
    if let Some(a) = &alias {
        items.retain(|x| x == a);
    }
    let mut out = Map::new();
    let end = (offset + page).min(items.len());
    let slice = if offset < items.len() { &items[offset..end] } else { &[] };
    out.insert("SageMakerImageVersionAliases".into(), json!(slice));
    if end < items.len() {
        out.insert("NextToken".into(), json!(format!("aliases-{end}")));
    }
    Ok(Value::Object(out))
}

fn list_image_versions(st: &mut State, region: &str, input: &Input<'_>) -> Result<Value, ApiError> {
    let image = input.image_name()?;
    let max = input.max_results()?;
    let offset = input.next_token("versions")?;
    let sort_by = input.string("SortBy")?.unwrap_or_else(|| "CREATION_TIME".into());
    if !["CREATION_TIME", "LAST_MODIFIED_TIME", "VERSION"].contains(&sort_by.as_str()) {
        return Err(ApiError::constraint(
            &sort_by,
            "SortBy",
            "satisfy enum value set: [CREATION_TIME, LAST_MODIFIED_TIME, VERSION]",
        ));
    }
    let sort_order = input.string("SortOrder")?.unwrap_or_else(|| "DESCENDING".into());
    if !["ASCENDING", "DESCENDING"].contains(&sort_order.as_str()) {
        return Err(ApiError::constraint(
            &sort_order,
            "SortOrder",
            "satisfy enum value set: [ASCENDING, DESCENDING]",
        ));
    }
    let page = max.min(st.version_page_size.unwrap_or(usize::MAX)).max(1);
    let img = st.image(region, &image)?;
    let mut versions: Vec<&Version> = img.versions.values().collect();
    match sort_by.as_str() {
        "LAST_MODIFIED_TIME" => versions.sort_by_key(|v| (v.last_modified, v.number)),
        "CREATION_TIME" => versions.sort_by_key(|v| (v.created, v.number)),
        _ => versions.sort_by_key(|v| v.number),
    }
    if sort_order == "DESCENDING" {
        versions.reverse();
    }
    let end = (offset + page).min(versions.len());
    let items: Vec<Value> = versions
        .get(offset..end)
        .unwrap_or(&[])
        .iter()
        .map(|v| v.summary(region, &image))
        .collect();
    let mut out = Map::new();
    out.insert("ImageVersions".into(), Value::Array(items));
    if end < versions.len() {
        out.insert("NextToken".into(), json!(format!("versions-{end}")));
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_image_strips_tag_only() {
        let c = container_image("123.dkr.ecr.us-east-1.amazonaws.com/repo:1.0");
        assert!(c.starts_with("123.dkr.ecr.us-east-1.amazonaws.com/repo@sha256:"));
        assert_eq!(c.len(), "123.dkr.ecr.us-east-1.amazonaws.com/repo@sha256:".len() + 64);
        assert!(container_image("localhost:5000/repo").starts_with("localhost:5000/repo@sha256:"));
        assert!(container_image("repo@sha256:abc").starts_with("repo@sha256:"));
        assert_eq!(container_image("a:1"), container_image("a:1"));
        assert_ne!(container_image("a:1"), container_image("a:2"));
    }

    #[test]
    fn alias_rules() {
        assert!(check_alias("latest", "Alias").is_ok());
        assert!(check_alias("v1.0_rc-2", "Alias").is_ok());
        assert!(check_alias("_x", "Alias").is_ok());
        assert!(check_alias(".x", "Alias").is_err());
        assert!(check_alias("-x", "Alias").is_err());
        assert!(check_alias("a b", "Alias").is_err());
        assert!(check_alias("", "Alias").is_err());
        assert!(check_alias(&"a".repeat(128), "Alias").is_ok());
        assert!(check_alias(&"a".repeat(129), "Alias").is_err());
    }

    #[test]
    fn image_name_and_framework_patterns() {
        assert!(IMAGE_NAME_RE.is_match("my-image.v2"));
        assert!(!IMAGE_NAME_RE.is_match("my--image"));
        assert!(!IMAGE_NAME_RE.is_match("-image"));
        assert!(!IMAGE_NAME_RE.is_match("image-"));
        assert!(IMAGE_NAME_RE.is_match(&"a".repeat(63)));
        assert!(FRAMEWORK_RE.is_match("PyTorch 2.1"));
        assert!(FRAMEWORK_RE.is_match("Python3.10.4"));
        assert!(!FRAMEWORK_RE.is_match("PyTorch  2.1"));
        assert!(!FRAMEWORK_RE.is_match("PyTorch 2"));
    }

    #[test]
    fn auth_parsing() {
        let mut h = HeaderMap::new();
        assert!(auth_region(&h).is_err());
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20261127/eu-west-1/sagemaker/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcdef0123"
                .parse()
                .unwrap(),
        );
        assert_eq!(auth_region(&h).unwrap(), "eu-west-1");
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20261127/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=ab"
                .parse()
                .unwrap(),
        );
        assert!(auth_region(&h).unwrap_err().contains("sagemaker"));
    }
}
