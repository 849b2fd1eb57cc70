//! Property-based tests of events and answers.
//!
//! In process, against the library API (`Envelope::from_value`,
//! `event::parse`, `Answer::body`), 256 cases each:
//! - arbitrary JSON events never panic the two-stage parse, and only
//!   Create/Update/Delete get through;
//! - arbitrary Unicode Reasons and Data give a body of at most 4096 bytes,
//!   valid UTF-8 and valid JSON, ids copied verbatim, the Reason kept whole
//!   when it fits and cut at a character boundary with a mark when not.
//!
//! Through the real binary, 32 cases each: arbitrary JSON as whole events
//! and as properties gets exactly one well-formed answer and `Ok` to Lambda.
//!
//! `PROPTEST_CASES=N` sets the in-process count to N and the binary count to
//! N/8 (at least 32): the long-running profile.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::string::string_regex;
use proptest::test_runner::{Config, TestRunner};
use sagemaker_image_version::cloudformation::event::{self, Request};
use sagemaker_image_version::cloudformation::{Answer as CfnAnswer, Envelope};
use serde_json::{Value, json};
use standins::Deadline;

const MAX: usize = 4096;
const MARK: &str = " [...]";

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

fn config() -> Config {
    Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    }
}

fn binary_config() -> Config {
    Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse::<u32>().ok())
            .map_or(32, |n| (n / 8).max(32)),
        failure_persistence: None,
        max_shrink_iters: 64,
        ..Config::default()
    }
}

fn regex(pattern: &str) -> impl Strategy<Value = String> + use<> {
    string_regex(pattern).expect("a valid generator pattern")
}

// --- Arbitrary JSON ---

const KEYS: [&str; 20] = [
    "RequestType",
    "ResponseURL",
    "StackId",
    "RequestId",
    "LogicalResourceId",
    "PhysicalResourceId",
    "ResourceType",
    "ResourceProperties",
    "OldResourceProperties",
    "ServiceToken",
    "ImageName",
    "BaseImage",
    "Region",
    "Aliases",
    "Horovod",
    "JobType",
    "MLFramework",
    "Processor",
    "ReleaseNotes",
    "VendorGuidance",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(KEYS.to_vec()).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        regex("[a-zA-Z0-9 ._:/-]{0,40}").prop_map(Value::String),
        select(vec![
            "Create",
            "Update",
            "Delete",
            "test-image",
            "true",
            "GPU",
            "arn:aws:sagemaker:us-east-1:123456789012:image-version/test-image/1",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ]
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6).prop_map(|p| Value::Object(p.into_iter().collect())),
        ]
    })
}

/// Properties: arbitrary JSON, or valid ones with one property replaced by
/// arbitrary JSON (so that some get through to SageMaker).
fn arbitrary_properties() -> impl Strategy<Value = Value> {
    prop_oneof![
        2 => arbitrary_json(),
        3 => (select(KEYS[9..].to_vec()), arbitrary_json()).prop_map(|(k, v)| {
            let mut p = props();
            p[k] = v;
            p
        }),
        1 => Just(props()),
    ]
}

/// An event: envelope fields of any JSON type (mostly the right one), a
/// RequestType of the three or not, arbitrary extra fields.
fn arbitrary_event() -> impl Strategy<Value = Value> {
    let request_type = prop_oneof![
        3 => select(vec!["Create", "Update", "Delete"]).prop_map(Value::from),
        1 => arbitrary_json(),
    ];
    let text_or_any = || {
        prop_oneof![
            3 => any::<String>().prop_map(Value::String),
            1 => arbitrary_json(),
        ]
    };
    (
        request_type,
        prop::option::of(text_or_any()),
        prop::option::of(text_or_any()),
        prop::option::of(text_or_any()),
        prop::option::of(arbitrary_properties()),
        prop::option::of(arbitrary_properties()),
        prop::collection::vec((any::<String>(), arbitrary_json()), 0..4),
    )
        .prop_map(|(kind, stack, logical, physical, props, old, extra)| {
            let mut event = serde_json::Map::new();
            for (k, v) in extra {
                event.insert(k, v);
            }
            event.insert("RequestType".into(), kind);
            event.insert("ResourceType".into(), json!("Custom::SageMakerImageVersion"));
            for (k, v) in [
                ("StackId", stack),
                ("LogicalResourceId", logical),
                ("PhysicalResourceId", physical),
                ("ResourceProperties", props),
                ("OldResourceProperties", old),
            ] {
                if let Some(v) = v {
                    event.insert(k.into(), v);
                }
            }
            Value::Object(event)
        })
}

// --- Answers ---

/// An id of at most 100 characters of any kind: with five of them, the ids
/// alone stay under 4096 bytes even if every character needs a 6-byte escape.
fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<char>(), 0..=100).prop_map(|c| c.into_iter().collect()),
        regex("[a-zA-Z0-9:/-]{1,100}"),
    ]
}

fn envelope() -> impl Strategy<Value = Envelope> {
    (id(), id(), id(), prop::option::of(id())).prop_map(|(stack_id, request_id, logical, physical)| Envelope {
        request_type: Some("Create".into()),
        response_url: None,
        stack_id,
        request_id,
        logical_resource_id: logical,
        physical_resource_id: physical,
    })
}

fn reason() -> impl Strategy<Value = String> {
    prop_oneof![
        // Anything, up to well past the limit.
        prop::collection::vec(any::<char>(), 0..6000).prop_map(|c| c.into_iter().collect()),
        // What JSON escapes: quotes, backslashes, control characters.
        prop::collection::vec(
            select(vec!['"', '\\', '\n', '\u{1}', '\u{1f}', 'é', '😀', 'a']),
            0..6000
        )
        .prop_map(|c| c.into_iter().collect()),
        regex("[ -~]{3000,5000}"),
    ]
}

fn data() -> impl Strategy<Value = BTreeMap<String, String>> {
    let value = prop::collection::vec(any::<char>(), 0..=64).prop_map(|c| c.into_iter().collect::<String>());
    (value.clone(), value.clone(), value.clone(), value).prop_map(|(arn, image, version, container)| {
        [
            ("Arn", arn.clone()),
            ("ImageVersionArn", arn),
            ("ImageArn", image),
            ("Version", version),
            ("ContainerImage", container),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    })
}

fn check_ids(body: &Value, envelope: &Envelope, physical: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(body["StackId"].as_str(), Some(envelope.stack_id.as_str()));
    prop_assert_eq!(body["RequestId"].as_str(), Some(envelope.request_id.as_str()));
    prop_assert_eq!(
        body["LogicalResourceId"].as_str(),
        Some(envelope.logical_resource_id.as_str())
    );
    prop_assert_eq!(body["PhysicalResourceId"].as_str(), Some(physical));
    prop_assert!(!holds_null(body), "no null: {}", body);
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_events_never_panic_the_parse(event in arbitrary_event(), any_json in arbitrary_json()) {
        for event in [event, any_json] {
            let envelope = Envelope::from_value(&event);
            prop_assert_eq!(&envelope.request_id, event.get("RequestId").and_then(Value::as_str).unwrap_or(""));
            match event::parse(event.clone(), &envelope) {
                Ok(request) => {
                    let kind = match request {
                        Request::Create(_) => "Create",
                        Request::Update(_) => "Update",
                        Request::Delete(_) => "Delete",
                        _ => "other",
                    };
                    prop_assert_eq!(envelope.request_type.as_deref(), Some(kind));
                }
                Err(e) => {
                    let reason = e.to_string();
                    prop_assert!(!reason.is_empty());
                    let answer = CfnAnswer::failed(&envelope, "placeholder".into(), reason);
                    let body = answer.body();
                    prop_assert!(std::str::from_utf8(&body).is_ok());
                    let parsed: Value = serde_json::from_slice(&body).map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert_eq!(parsed["Status"].as_str(), Some("FAILED"));
                }
            }
        }
    }

    #[test]
    fn failed_answers_fit_in_4096_bytes(envelope in envelope(), reason in reason()) {
        let physical = envelope.physical_resource_id.clone().unwrap_or_else(|| "p".into());
        let answer = CfnAnswer::failed(&envelope, physical.clone(), reason.clone());
        let body = answer.body();
        prop_assert!(body.len() <= MAX, "{} bytes", body.len());
        let text = std::str::from_utf8(&body).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let parsed: Value = serde_json::from_str(text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        check_ids(&parsed, &envelope, &physical)?;
        prop_assert_eq!(parsed["Status"].as_str(), Some("FAILED"));
        let sent = parsed["Reason"].as_str().unwrap_or_default();
        let whole = serde_json::to_vec(&answer).unwrap().len() <= MAX;
        if whole {
            prop_assert_eq!(sent, reason.as_str(), "a Reason that fits is kept whole");
        } else {
            let kept = sent.strip_suffix(MARK).ok_or_else(|| TestCaseError::fail("a cut Reason ends with the mark"))?;
            prop_assert!(reason.starts_with(kept), "the Reason is cut, not changed");
        }
    }

    #[test]
    fn a_cut_reason_keeps_as_much_as_fits(envelope in envelope(), reason in reason()) {
        let answer = CfnAnswer::failed(&envelope, "p".into(), reason.clone());
        let body = answer.body();
        if serde_json::to_vec(&answer).unwrap().len() > MAX {
            let parsed: Value = serde_json::from_slice(&body).unwrap();
            let kept = parsed["Reason"].as_str().unwrap().strip_suffix(MARK).unwrap().to_owned();
            // One more character of the original would not have fitted.
            let next = reason[kept.len()..].chars().next().unwrap();
            let mut longer = answer.clone();
            longer.reason = Some(format!("{kept}{next}{MARK}"));
            let longer_len = serde_json::to_vec(&longer).unwrap().len();
            prop_assert!(
                longer_len > MAX,
                "the Reason was cut to {} of {} bytes although {} more fitted ({} bytes sent)",
                kept.len(), reason.len(), next.len_utf8(), body.len()
            );
        }
    }

    #[test]
    fn success_answers_with_unicode_data_fit_and_round_trip(envelope in envelope(), data in data()) {
        let physical = "arn:aws:sagemaker:us-east-1:123456789012:image-version/img/1".to_owned();
        let answer = CfnAnswer::success(&envelope, physical.clone(), data.clone());
        let body = answer.body();
        prop_assert!(body.len() <= MAX, "{} bytes", body.len());
        let parsed: Value = serde_json::from_slice(&body).map_err(|e| TestCaseError::fail(e.to_string()))?;
        check_ids(&parsed, &envelope, &physical)?;
        prop_assert_eq!(parsed["Status"].as_str(), Some("SUCCESS"));
        prop_assert!(parsed.get("Reason").is_none());
        let back: BTreeMap<String, String> = serde_json::from_value(parsed["Data"].clone()).unwrap();
        prop_assert_eq!(back, data);
    }
}

// --- Through the real binary ---

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Sends `event` with a fresh RequestId and a valid ResponseURL; checks the
/// one answer.
async fn one_well_formed_answer(h: &Harness, mut event: Value) -> Result<(), TestCaseError> {
    let id = request_id();
    event["RequestId"] = json!(id);
    event["ResponseURL"] = json!(h.receiver.response_url(&id));
    let writes_before = h.writes();
    let outcome = h
        .invoke_raw(
            serde_json::to_vec(&event).unwrap(),
            Deadline::In(Duration::from_secs(30)),
        )
        .await;
    prop_assert!(
        outcome.is_response(),
        "Ok to Lambda: {:?}",
        String::from_utf8_lossy(outcome.bytes())
    );
    let put = h
        .receiver
        .wait_for(&id, Duration::from_secs(5))
        .await
        .ok_or_else(|| TestCaseError::fail(format!("no answer to {event}")))?;
    prop_assert_eq!(h.receiver.count_for(&id), 1, "exactly one PUT");
    let answer = Answer::from(put);
    let body = &answer.body;
    let text_of = |k: &str| event.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    for key in ["StackId", "RequestId", "LogicalResourceId"] {
        let expected = text_of(key);
        prop_assert_eq!(body[key].as_str(), Some(expected.as_str()), "{} copied", key);
    }
    prop_assert!(!holds_null(body));
    prop_assert!(answer.put.body.len() <= MAX, "{} bytes", answer.put.body.len());
    let length = answer.put.body.len().to_string();
    prop_assert_eq!(answer.put.header("content-length"), Some(length.as_str()));
    prop_assert_eq!(answer.put.header("content-type").unwrap_or_default(), "");
    match answer.status() {
        "SUCCESS" => {}
        "FAILED" => {
            prop_assert!(!answer.reason().is_empty());
            prop_assert!(!answer.physical_id().is_empty(), "a FAILED answer has an id");
            if answer.reason().starts_with("invalid properties") {
                prop_assert_eq!(h.writes(), writes_before, "no write before the properties are valid");
            }
        }
        other => prop_assert!(false, "Status {other:?}"),
    }
    Ok(())
}

fn run_through_binary(strategy: impl Strategy<Value = Value>) {
    let rt = runtime();
    let h = rt.block_on(async {
        let h = Harness::start().await;
        h.sagemaker.set_delays(Duration::ZERO, Duration::ZERO);
        h
    });
    let mut runner = TestRunner::new(binary_config());
    let result = runner.run(&strategy, |event| rt.block_on(one_well_formed_answer(&h, event)));
    if let Err(e) = result {
        panic!("{e}\nlogs:\n{}", h.function.logs());
    }
    assert!(h.function.is_running());
    println!(
        "{} events answered, {} SageMaker calls",
        h.receiver.accepted().len(),
        h.sagemaker.calls().len()
    );
}

#[test]
fn arbitrary_whole_events_get_one_well_formed_answer() {
    run_through_binary(arbitrary_event());
}

#[test]
fn arbitrary_properties_get_one_well_formed_answer() {
    let strategy = (
        select(vec!["Create", "Update", "Delete"]),
        arbitrary_properties(),
        arbitrary_properties(),
    )
        .prop_map(|(kind, props, old)| {
            let mut event = json!({
                "RequestType": kind,
                "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/test/1a2b",
                "LogicalResourceId": "ImageVersion",
                "ResourceType": "Custom::SageMakerImageVersion",
                "ResourceProperties": props,
            });
            if kind != "Create" {
                event["PhysicalResourceId"] = json!(version_arn(1));
            }
            if kind == "Update" {
                event["OldResourceProperties"] = old;
            }
            event
        });
    run_through_binary(strategy);
}
