//! Arbitrary JSON, as whole events and as properties, through the real
//! binary: each gets exactly one well-formed answer and `Ok` to Lambda, and
//! nothing is written to SageMaker before the properties are valid.
//!
//! 32 cases each; `PROPTEST_CASES=N` (the long-running profile) makes it N/8,
//! at least 32.

use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestRunner};
use sagemaker_image_version::{EVENT_FIELDS, PROPERTIES};
use serde_json::{Value, json};
use standins::{Deadline, arbitrary};

use crate::harness::{Harness, props, request_id, version_arn};

/// The names arbitrary events favour: the product's own.
const NAMES: arbitrary::Names = arbitrary::Names {
    event: &EVENT_FIELDS,
    properties: &PROPERTIES,
};

fn config() -> Config {
    let cases = arbitrary::cases(256) / 8;
    Config {
        max_shrink_iters: 64,
        ..arbitrary::config(cases.max(32))
    }
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
    run_through_binary(arbitrary::event(NAMES, props()));
}

#[test]
fn arbitrary_properties_get_one_well_formed_answer() {
    let strategy = (
        select(vec!["Create", "Update", "Delete"]),
        arbitrary::properties(NAMES, props()),
        arbitrary::properties(NAMES, props()),
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
