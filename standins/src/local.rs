//! The local run's facts, written once: where the stand-ins listen, the
//! function's environment against them, and the lifecycle the events of
//! `events/` walk through with what CloudFormation must read back from each.
//! The tests, `standins demo` and the scripts (through `standins env`) all
//! read them from here.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// The SageMaker stand-in of `make demo` and `make watch`.
pub const SAGEMAKER_ADDR: &str = "127.0.0.1:9001";
/// The response receiver: the events of `events/` name it in their `ResponseURL`.
pub const RECEIVER_ADDR: &str = "127.0.0.1:9002";
/// Lambda's `Invoke` API, in front of the function `standins serve --function` runs.
pub const LAMBDA_ADDR: &str = "127.0.0.1:9003";
/// Step Functions' `StartExecution`, for CDK's Provider framework.
pub const SFN_ADDR: &str = "127.0.0.1:9004";
/// `cargo lambda watch`'s invoke port (its default, 9000, is left alone).
pub const INVOKE_PORT: u16 = 9010;

/// The region the function runs in locally, and the one the events' ARNs name.
pub const REGION: &str = "us-east-1";
/// The image the stand-in of `make demo` and `make watch` knows.
pub const DEMO_IMAGE: &str = "demo-image";

/// A second image, with a version made by hand (outside any stack) that the
/// `adopt` events take over with `ExistingVersion`.
pub const HANDMADE_IMAGE: &str = "handmade-image";
pub const HANDMADE_BASE_IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/handmade:1.0";

/// Makes the local world on a fresh stand-in: both images, and the
/// hand-made version 1 of [`HANDMADE_IMAGE`] with an alias of its own.
pub fn prepare(sagemaker: &crate::SageMakerStandIn) {
    sagemaker.add_image(DEMO_IMAGE);
    sagemaker.create_version_out_of_band(REGION, HANDMADE_IMAGE, HANDMADE_BASE_IMAGE, &["by-hand"]);
}

/// Credentials the function signs with locally. They are secrets as far as
/// the tests are concerned: no log line may hold them.
pub const ACCESS_KEY_ID: &str = "AKIDLOCALSTANDIN";
pub const SECRET_ACCESS_KEY: &str = "local-secret-access-key-value";
pub const SESSION_TOKEN: &str = "local-session-token-value";

/// The function's environment against a SageMaker stand-in at `sagemaker_endpoint`:
/// the SDK's default chain picks all of it up, as it would on Lambda.
pub fn function_env(sagemaker_endpoint: &str) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL_SAGEMAKER", sagemaker_endpoint),
        ("AWS_REGION", REGION),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
        ("AWS_SESSION_TOKEN", SESSION_TOKEN),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("CFN_ALLOW_LOOPBACK_RESPONSE_URL", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Where the lifecycle's event files live, relative to the workspace root.
pub const EVENTS_DIR: &str = "events";

/// What CloudFormation must read back from one event of the lifecycle. Every
/// answer also echoes the event's `RequestId`, `StackId` and `LogicalResourceId`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// `SUCCESS` naming image version N of [`DEMO_IMAGE`]: its ARN is the
    /// `PhysicalResourceId` and `Data.Arn`, N is `Data.Version` (a create or a replacement).
    NewVersion(u32),
    /// `SUCCESS` naming the hand-made version N of [`HANDMADE_IMAGE`], taken over.
    TakenOver(u32),
    /// `SUCCESS` keeping the event's `PhysicalResourceId` (an in-place update or a delete).
    SamePhysicalId,
    /// `FAILED`, with a `Reason` naming each of these, and for a Create a
    /// `PhysicalResourceId` that is not an ARN (so its rollback deletes nothing).
    FailedNaming(&'static [&'static str]),
}

/// One event of `events/` and what its answer must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// The event file's name without `.json`.
    pub event: &'static str,
    pub expected: Expected,
}

/// The events of `events/` in the order they must be sent to one fresh
/// stand-in: a stack's life from create to delete; a hand-made version
/// refused for its BaseImage, then taken over and deleted; then a bad create.
pub const LIFECYCLE: &[Step] = &[
    Step {
        event: "create",
        expected: Expected::NewVersion(1),
    },
    Step {
        event: "update-in-place",
        expected: Expected::SamePhysicalId,
    },
    Step {
        event: "update-replacement",
        expected: Expected::NewVersion(2),
    },
    Step {
        event: "delete-replaced",
        expected: Expected::SamePhysicalId,
    },
    Step {
        event: "delete",
        expected: Expected::SamePhysicalId,
    },
    Step {
        event: "adopt-mismatch",
        expected: Expected::FailedNaming(&["ExistingVersion", "BaseImage", HANDMADE_BASE_IMAGE]),
    },
    Step {
        event: "adopt",
        expected: Expected::TakenOver(1),
    },
    Step {
        event: "delete-adopted",
        expected: Expected::SamePhysicalId,
    },
    Step {
        event: "create-bad-input",
        expected: Expected::FailedNaming(&["ImageName", "JobType", "Aliasses"]),
    },
];

impl Step {
    /// The step of the event file at `path`, by its name.
    pub fn of_file(path: &Path) -> Option<&'static Step> {
        let name = path.file_name()?.to_str()?.strip_suffix(".json")?;
        LIFECYCLE.iter().find(|step| step.event == name)
    }

    /// The event file under `dir`.
    pub fn path_in(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.json", self.event))
    }
}

/// The versions the lifecycle creates: none may be left when it has run.
pub fn versions_created() -> impl Iterator<Item = u32> {
    LIFECYCLE.iter().filter_map(|step| match step.expected {
        Expected::NewVersion(n) => Some(n),
        _ => None,
    })
}

/// The ARN of version `n` of [`DEMO_IMAGE`], as the events and the stand-in name it.
pub fn demo_version_arn(n: u32) -> String {
    crate::sagemaker::image_version_arn(REGION, DEMO_IMAGE, n)
}

/// The lifecycle's event files in `dir`, in order; an error names every event
/// file of `dir` the lifecycle leaves out and every step whose file is missing.
pub fn lifecycle_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut problems = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?.path();
        if path.extension().is_some_and(|ext| ext == "json") && Step::of_file(&path).is_none() {
            problems.push(format!(
                "{} is not in the lifecycle: add it, with its expected answer, to standins::local::LIFECYCLE",
                path.display()
            ));
        }
    }
    let files: Vec<PathBuf> = LIFECYCLE.iter().map(|step| step.path_in(dir)).collect();
    for file in &files {
        if !file.is_file() {
            problems.push(format!("{} is in the lifecycle but does not exist", file.display()));
        }
    }
    problems.sort();
    if problems.is_empty() {
        Ok(files)
    } else {
        Err(problems.join("\n"))
    }
}

impl Expected {
    /// Every way `answer` (the body PUT to the event's `ResponseURL`) differs
    /// from what `event` must get; empty when it is right.
    pub fn mismatches(&self, event: &Value, answer: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        let mut expect = |what: &str, got: &Value, want: &Value| {
            if got != want {
                errors.push(format!("{what}: expected {want}, got {got}"));
            }
        };
        for key in ["RequestId", "StackId", "LogicalResourceId"] {
            expect(key, &answer[key], &event[key]);
        }
        let status = if matches!(self, Expected::FailedNaming(_)) {
            "FAILED"
        } else {
            "SUCCESS"
        };
        expect("Status", &answer["Status"], &json!(status));
        match *self {
            Expected::NewVersion(n) | Expected::TakenOver(n) => {
                let image = if matches!(self, Expected::NewVersion(_)) {
                    DEMO_IMAGE
                } else {
                    HANDMADE_IMAGE
                };
                let arn = json!(crate::sagemaker::image_version_arn(REGION, image, n));
                expect("PhysicalResourceId", &answer["PhysicalResourceId"], &arn);
                expect("Data.Arn", &answer["Data"]["Arn"], &arn);
                expect("Data.Version", &answer["Data"]["Version"], &json!(n.to_string()));
            }
            Expected::SamePhysicalId => {
                expect(
                    "PhysicalResourceId",
                    &answer["PhysicalResourceId"],
                    &event["PhysicalResourceId"],
                );
            }
            Expected::FailedNaming(names) => {
                let id = answer["PhysicalResourceId"].as_str().unwrap_or_default();
                if event["RequestType"] == "Create" && id.starts_with("arn:") {
                    errors.push(format!("a FAILED Create must not answer an ARN: {id}"));
                }
                let reason = answer["Reason"].as_str().unwrap_or_default();
                for name in names.iter().filter(|name| !reason.contains(*name)) {
                    errors.push(format!("Reason does not name {name}: {reason:?}"));
                }
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str) -> Value {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(EVENTS_DIR)
            .join(format!("{name}.json"));
        serde_json::from_str(&std::fs::read_to_string(path).expect("event file")).expect("JSON")
    }

    /// The answer a correct function gives to `event` with `status` and `physical_id`.
    fn answer(event: &Value, status: &str, physical_id: &Value) -> Value {
        json!({
            "Status": status,
            "PhysicalResourceId": physical_id,
            "RequestId": event["RequestId"],
            "StackId": event["StackId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": {},
        })
    }

    fn scratch_dir(name: &str, files: &[&str]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("standins-local-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        for file in files {
            std::fs::write(dir.join(file), "{}").expect("scratch file");
        }
        dir
    }

    #[test]
    fn the_lifecycle_covers_exactly_the_event_files_of_events_dir() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(EVENTS_DIR);
        let files = lifecycle_files(&dir).expect("every event file in the lifecycle, every step with a file");
        assert_eq!(files.len(), LIFECYCLE.len());
    }

    #[test]
    fn an_event_file_left_out_of_the_lifecycle_is_named() {
        let mut names: Vec<String> = LIFECYCLE.iter().map(|s| format!("{}.json", s.event)).collect();
        names.push("extra.json".to_owned());
        let dir = scratch_dir("extra", &names.iter().map(String::as_str).collect::<Vec<_>>());
        let error = lifecycle_files(&dir).expect_err("extra.json is not in the lifecycle");
        assert!(error.contains("extra.json is not in the lifecycle"), "{error}");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_step_without_its_event_file_is_named() {
        let names: Vec<String> = LIFECYCLE[1..].iter().map(|s| format!("{}.json", s.event)).collect();
        let dir = scratch_dir("missing", &names.iter().map(String::as_str).collect::<Vec<_>>());
        let error = lifecycle_files(&dir).expect_err("the first step's file is missing");
        assert!(
            error.contains(&format!(
                "{}.json is in the lifecycle but does not exist",
                LIFECYCLE[0].event
            )),
            "{error}"
        );
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn the_lifecycle_leaves_no_created_version_behind_for_lack_of_a_delete() {
        // Each version created is deleted by a later event naming its ARN.
        for n in versions_created() {
            let arn = json!(demo_version_arn(n));
            assert!(
                LIFECYCLE
                    .iter()
                    .any(|s| s.event.starts_with("delete") && event(s.event)["PhysicalResourceId"] == arn),
                "no delete event for version {n}"
            );
        }
    }

    #[test]
    fn a_new_version_answer_names_the_version_in_its_physical_id_and_data() {
        let create = event("create");
        let arn = json!(demo_version_arn(1));
        let mut right = answer(&create, "SUCCESS", &arn);
        right["Data"] = json!({"Arn": arn, "Version": "1"});
        assert_eq!(
            Expected::NewVersion(1).mismatches(&create, &right),
            Vec::<String>::new()
        );

        let mut wrong = right.clone();
        wrong["Data"]["Version"] = json!(1);
        assert_eq!(
            Expected::NewVersion(1).mismatches(&create, &wrong).len(),
            1,
            "Data.Version is a string"
        );
        wrong = right.clone();
        wrong["PhysicalResourceId"] = json!(demo_version_arn(2));
        assert_eq!(Expected::NewVersion(1).mismatches(&create, &wrong).len(), 1);
    }

    #[test]
    fn an_update_in_place_or_delete_answer_keeps_the_events_physical_id() {
        let delete = event("delete");
        let kept = answer(&delete, "SUCCESS", &delete["PhysicalResourceId"]);
        assert_eq!(
            Expected::SamePhysicalId.mismatches(&delete, &kept),
            Vec::<String>::new()
        );
        let other = answer(&delete, "SUCCESS", &json!("something-else"));
        assert_eq!(Expected::SamePhysicalId.mismatches(&delete, &other).len(), 1);
    }

    #[test]
    fn every_answer_echoes_the_request_stack_and_logical_ids() {
        let delete = event("delete");
        for key in ["RequestId", "StackId", "LogicalResourceId"] {
            let mut wrong = answer(&delete, "SUCCESS", &delete["PhysicalResourceId"]);
            wrong[key] = json!("other");
            let mismatches = Expected::SamePhysicalId.mismatches(&delete, &wrong);
            assert!(
                mismatches.len() == 1 && mismatches[0].starts_with(key),
                "{mismatches:?}"
            );
        }
    }

    #[test]
    fn a_failed_answer_must_name_every_listed_property_in_its_reason() {
        let bad = event("create-bad-input");
        let expected = Expected::FailedNaming(&["ImageName", "JobType"]);
        let mut failed = answer(&bad, "FAILED", &json!("placeholder"));
        failed["Reason"] = json!("ImageName is required; JobType must be one of ...");
        assert_eq!(expected.mismatches(&bad, &failed), Vec::<String>::new());
        failed["Reason"] = json!("ImageName is required");
        assert_eq!(
            expected.mismatches(&bad, &failed),
            ["Reason does not name JobType: \"ImageName is required\""]
        );
        let succeeded = answer(&bad, "SUCCESS", &json!("placeholder"));
        assert!(
            expected
                .mismatches(&bad, &succeeded)
                .iter()
                .any(|m| m.starts_with("Status"))
        );
    }
}
