//! Arbitrary JSON, as whole events and as properties, through the real
//! binary: each gets exactly one well-formed answer and `Ok` to Lambda, and
//! nothing is written to SageMaker before the properties are valid.
//!
//! 32 cases each; `PROPTEST_CASES=N` (the long-running profile) makes it N/8,
//! at least 32.

use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::select;
use proptest::string::string_regex;
use proptest::test_runner::{Config, TestRunner};
use sagemaker_image_version::{CLOUDFORMATION_PROPERTIES, PROPERTIES};
use serde_json::{Value, json};
use standins::Deadline;

use crate::harness::{Harness, props, request_id, version_arn};

fn config() -> Config {
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

/// The fields of a CloudFormation custom resource request.
const ENVELOPE_KEYS: [&str; 9] = [
    "RequestType",
    "ResponseURL",
    "StackId",
    "RequestId",
    "LogicalResourceId",
    "PhysicalResourceId",
    "ResourceType",
    "ResourceProperties",
    "OldResourceProperties",
];

fn property_names() -> Vec<&'static str> {
    PROPERTIES
        .iter()
        .chain(CLOUDFORMATION_PROPERTIES.iter())
        .copied()
        .collect()
}

/// Mostly names the function knows, sometimes anything.
fn key() -> impl Strategy<Value = String> {
    let known: Vec<&str> = ENVELOPE_KEYS.iter().copied().chain(property_names()).collect();
    prop_oneof![
        3 => select(known).prop_map(str::to_owned),
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
        string_regex("[a-zA-Z0-9 ._:/-]{0,40}").unwrap().prop_map(Value::String),
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
        3 => (select(property_names()), arbitrary_json()).prop_map(|(k, v)| {
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

/// Sends `event` with a fresh RequestId and a valid ResponseURL; checks the
/// one answer.
async fn assert_one_well_formed_answer(h: &Harness, mut event: Value) {
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
    assert!(
        outcome.is_response(),
        "Ok to Lambda: {:?}",
        String::from_utf8_lossy(outcome.bytes())
    );
    let answer = h.answer_to(&id).await;
    answer.assert_well_formed(&event);
    match answer.status() {
        "SUCCESS" => {}
        "FAILED" => {
            assert!(!answer.reason().is_empty());
            assert!(!answer.physical_id().is_empty(), "a FAILED answer has an id");
            if answer.reason().starts_with("invalid properties") {
                assert_eq!(h.writes(), writes_before, "no write before the properties are valid");
            }
        }
        other => panic!("Status {other:?}"),
    }
}

/// Runs the cases in one function process; proptest turns a failed case's
/// panic into a failure it shrinks.
fn run_through_binary(strategy: impl Strategy<Value = Value>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let h = rt.block_on(async {
        let h = Harness::start().await;
        h.sagemaker.set_delays(Duration::ZERO, Duration::ZERO);
        h
    });
    let result = TestRunner::new(config()).run(&strategy, |event| {
        rt.block_on(assert_one_well_formed_answer(&h, event));
        Ok(())
    });
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
