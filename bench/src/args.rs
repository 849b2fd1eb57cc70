//! The command line (scripts/bench.sh passes every path) and `BENCH_SHORT`.

use std::path::PathBuf;
use std::time::Duration;

use crate::harness::Subject;
use crate::sizes::Package;

pub const USAGE: &str = "usage: bench --function BIN --function-zip ZIP --baseline BOOTSTRAP \
--baseline-handler PY --baseline-zip ZIP --baseline-venv DIR --baseline-site-packages DIR \
[--build-seconds S]   (BENCH_SHORT=1: short mode; CFN_HAND_OFF is passed to the function in the queue; \
BENCH_QUEUE=BUILD/TIMEOUT in seconds, e.g. 3/5: the queue's build time and function timeout; \
BENCH_QUEUE_ONLY=1: only the queue)";

#[derive(Debug)]
pub struct Args {
    function: PathBuf,
    function_zip: PathBuf,
    baseline: PathBuf,
    baseline_handler: PathBuf,
    baseline_zip: PathBuf,
    baseline_venv: PathBuf,
    baseline_site_packages: PathBuf,
    pub build_seconds: Option<f64>,
    pub short: bool,
    /// `CFN_HAND_OFF` as the bench got it, for the function in the queue:
    /// `false` measures the function as it was before hand-offs.
    hand_off: Option<String>,
    /// `BENCH_QUEUE`: the queue's build time and function timeout, for
    /// seeing how the trade-off between calls and idle time moves with them.
    pub queue: Option<(Duration, Duration)>,
    pub queue_only: bool,
}

fn flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

fn queue_plan() -> Result<Option<(Duration, Duration)>, String> {
    let Ok(value) = std::env::var("BENCH_QUEUE") else {
        return Ok(None);
    };
    let seconds = |s: &str| s.trim().parse().map(Duration::from_secs);
    match value.split_once('/').map(|(b, t)| (seconds(b), seconds(t))) {
        Some((Ok(build), Ok(timeout))) => Ok(Some((build, timeout))),
        _ => Err(format!(
            "BENCH_QUEUE: BUILD/TIMEOUT in whole seconds, e.g. 3/5, not {value}"
        )),
    }
}

impl Args {
    pub fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut get = std::collections::HashMap::new();
        while let Some(flag) = args.next() {
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            get.insert(flag, value);
        }
        let mut path = |flag: &str| {
            get.remove(flag)
                .map(PathBuf::from)
                .ok_or_else(|| format!("missing {flag}"))
        };
        let parsed = Args {
            function: path("--function")?,
            function_zip: path("--function-zip")?,
            baseline: path("--baseline")?,
            baseline_handler: path("--baseline-handler")?,
            baseline_zip: path("--baseline-zip")?,
            baseline_venv: path("--baseline-venv")?,
            baseline_site_packages: path("--baseline-site-packages")?,
            build_seconds: get
                .remove("--build-seconds")
                .map(|s| s.parse().map_err(|_| format!("--build-seconds: not a number: {s}")))
                .transpose()?,
            short: flag("BENCH_SHORT"),
            hand_off: std::env::var("CFN_HAND_OFF").ok(),
            queue: queue_plan()?,
            queue_only: flag("BENCH_QUEUE_ONLY"),
        };
        match get.keys().next() {
            Some(unknown) => Err(format!("unknown argument {unknown}")),
            None => Ok(parsed),
        }
    }

    pub fn rust(&self) -> Subject {
        Subject {
            name: "Rust",
            program: self.function.clone(),
            envs: vec![("RUST_LOG".into(), "warn".into())],
            package: Package::Binary {
                binary: self.function.clone(),
                zip: self.function_zip.clone(),
            },
        }
    }

    /// The Rust subject as the queue runs it: with `CFN_HAND_OFF` as the bench
    /// got it (`false` measures the function as it was before hand-offs).
    pub fn rust_in_the_queue(&self) -> Subject {
        let mut subject = self.rust();
        subject
            .envs
            .extend(self.hand_off.iter().map(|v| ("CFN_HAND_OFF".to_owned(), v.clone())));
        subject
    }

    /// The baseline's `bootstrap` finds `python3` on PATH: the venv's first.
    pub fn python(&self) -> Subject {
        let path = std::env::var("PATH").unwrap_or_default();
        let venv_bin = self.baseline_venv.join("bin");
        Subject {
            name: "Python",
            program: self.baseline.clone(),
            envs: vec![
                ("PATH".into(), format!("{}:{path}", venv_bin.display())),
                ("PYTHONDONTWRITEBYTECODE".into(), "1".into()),
            ],
            package: Package::Script {
                handler: self.baseline_handler.clone(),
                zip: self.baseline_zip.clone(),
                site_packages: self.baseline_site_packages.clone(),
            },
        }
    }
}
