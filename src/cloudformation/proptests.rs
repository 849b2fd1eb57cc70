//! Property-based tests of events and answers, 256 cases each
//! (`PROPTEST_CASES=N` for the long-running profile):
//! - arbitrary JSON events never panic the two-stage parse, and only
//!   Create/Update/Delete get through;
//! - arbitrary Unicode Reasons and Data give a body of at most 4096 bytes,
//!   valid UTF-8 and valid JSON, ids copied verbatim, the Reason kept whole
//!   when it fits and cut at a character boundary with a mark when not.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};
use standins::arbitrary::{self, holds_null, regex};

use super::answer::{Answer as CfnAnswer, MAX_BODY_BYTES as MAX, placeholder_id};
use super::event::{self, Envelope};
use crate::lifecycle::Work;
use crate::properties::PROPERTIES;

/// The names arbitrary events and JSON favour: this crate's own.
const NAMES: arbitrary::Names = arbitrary::Names {
    event: &event::EVENT_FIELDS,
    properties: &PROPERTIES,
};

const MARK: &str = " [...]";

fn valid_properties() -> Value {
    json!({"ImageName": "test-image", "BaseImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:1.0"})
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
    // An empty id is answered as the placeholder: CloudFormation refuses it.
    let physical = match physical {
        "" => placeholder_id(&envelope.request_id),
        id => id.to_owned(),
    };
    prop_assert_eq!(body["PhysicalResourceId"].as_str(), Some(physical.as_str()));
    prop_assert!(!holds_null(body), "no null: {}", body);
    Ok(())
}

proptest! {
    #![proptest_config(arbitrary::config(arbitrary::cases(256)))]

    #[test]
    fn arbitrary_events_never_panic_the_parse(
        event in arbitrary::event(NAMES, valid_properties()),
        any_json in arbitrary::json(NAMES),
    ) {
        for event in [event, any_json] {
            let envelope = Envelope::from_value(&event);
            prop_assert_eq!(&envelope.request_id, event.get("RequestId").and_then(Value::as_str).unwrap_or(""));
            match event::parse(&event, &envelope, None) {
                Ok(request) => {
                    let kind = match request {
                        Work::Create { .. } => "Create",
                        Work::Update { .. } => "Update",
                        Work::Delete { .. } => "Delete",
                    };
                    prop_assert_eq!(envelope.request_type.as_deref(), Some(kind));
                }
                Err(e) => {
                    let reason = e.to_string();
                    prop_assert!(!reason.is_empty());
                    let answer = CfnAnswer::failed(&envelope, "placeholder".into(), reason);
                    let body = answer.body().unwrap();
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
        let body = answer.body().unwrap();
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
        let body = answer.body().unwrap();
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
        let body = answer.body().unwrap();
        prop_assert!(body.len() <= MAX, "{} bytes", body.len());
        let parsed: Value = serde_json::from_slice(&body).map_err(|e| TestCaseError::fail(e.to_string()))?;
        check_ids(&parsed, &envelope, &physical)?;
        prop_assert_eq!(parsed["Status"].as_str(), Some("SUCCESS"));
        prop_assert!(parsed.get("Reason").is_none());
        let back: BTreeMap<String, String> = serde_json::from_value(parsed["Data"].clone()).unwrap();
        prop_assert_eq!(back, data);
    }
}
