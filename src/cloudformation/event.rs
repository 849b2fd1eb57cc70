//! The event, parsed in two stages: the fields needed to answer are read
//! leniently from raw JSON first, so that an event the typed parse rejects
//! still gets its FAILED answer.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use lambda_runtime::LambdaEvent;

use crate::deadline::Budget;
use crate::lifecycle::Work;
use crate::properties::{self, ImageVersionProperties, InvalidProperties};

/// What an answer needs, whatever else is wrong with the event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Envelope {
    pub(crate) request_type: Option<String>,
    pub(crate) response_url: Option<String>,
    pub(crate) stack_id: String,
    pub(crate) request_id: String,
    pub(crate) logical_resource_id: String,
    pub(crate) physical_resource_id: Option<String>,
}

impl Envelope {
    pub(crate) fn from_value(event: &Value) -> Self {
        let text = |name: &str| event.get(name).and_then(Value::as_str).map(str::to_owned);
        Envelope {
            request_type: text("RequestType"),
            response_url: text("ResponseURL"),
            stack_id: text("StackId").unwrap_or_default(),
            request_id: text("RequestId").unwrap_or_default(),
            logical_resource_id: text("LogicalResourceId").unwrap_or_default(),
            physical_resource_id: text("PhysicalResourceId").filter(|id| !id.is_empty()),
        }
    }
}

/// The fields of a CloudFormation custom-resource event, the envelope's
/// first (the property-based tests generate events with these).
pub const EVENT_FIELDS: [&str; 10] = [
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
];

/// The fields of an envelope, by name.
const ENVELOPE_FIELDS: &[&str] = EVENT_FIELDS.split_at(6).0;

/// One invocation as both modes take it in: the event's envelope whatever
/// happens, the event as JSON, the time it has and the function it was
/// invoked as.
pub(crate) struct Received {
    pub(crate) envelope: Envelope,
    pub(crate) event: Result<Value, EventError>,
    pub(crate) budget: Budget,
    pub(crate) function_arn: String,
}

impl Received {
    /// The invocation, and the span its log lines carry.
    pub(crate) fn of(invocation: LambdaEvent<Box<RawValue>>) -> (Self, tracing::Span) {
        let (payload, context) = invocation.into_parts();
        let (envelope, event) = read(payload.get());
        let span = span(&envelope);
        let budget = Budget::from_deadline_ms(context.deadline);
        let function_arn = context.invoked_function_arn;
        let received = Received {
            envelope,
            event,
            budget,
            function_arn,
        };
        (received, span)
    }
}

/// Stage one: the event as JSON, and its envelope whatever happens.
pub(crate) fn read(raw: &str) -> (Envelope, Result<Value, EventError>) {
    match serde_json::from_str::<Value>(raw) {
        Ok(event) => (Envelope::from_value(&event), Ok(event)),
        Err(e) => (lenient_envelope(raw), Err(EventError::Malformed(e.to_string()))),
    }
}

/// The envelope of an event that is not a [`Value`] (nested too deep, a
/// number out of range, a lone UTF-16 surrogate): each top-level member is
/// taken as raw text, and each field of the envelope read on its own, so
/// that one bad member costs only itself.
fn lenient_envelope(raw: &str) -> Envelope {
    let Ok(members) = serde_json::from_str::<BTreeMap<&str, &RawValue>>(raw) else {
        return Envelope::default();
    };
    let present = ENVELOPE_FIELDS
        .iter()
        .filter_map(|name| Some((name.to_string(), Value::String(lenient_text(members.get(name)?.get())?))));
    Envelope::from_value(&Value::Object(present.collect()))
}

/// A member's text: a string as JSON reads it, with any lone surrogate
/// escape as U+FFFD; any other scalar as it is written.
fn lenient_text(raw: &str) -> Option<String> {
    if let Ok(text) = serde_json::from_str::<String>(raw) {
        return Some(text);
    }
    if !raw.starts_with('"') {
        return (!raw.starts_with(['{', '['])).then(|| raw.to_owned());
    }
    serde_json::from_str(&without_lone_surrogates(raw)).ok()
}

/// `raw` with each `\uXXXX` escape of a surrogate without its partner
/// written as `\uFFFD`.
fn without_lone_surrogates(raw: &str) -> String {
    let surrogate = |at: usize| -> Option<u16> {
        let unit = u16::from_str_radix(raw.get(at + 2..at + 6)?, 16).ok()?;
        (raw.get(at..at + 2) == Some("\\u") && (0xD800..=0xDFFF).contains(&unit)).then_some(unit)
    };
    let (mut out, mut at) = (String::with_capacity(raw.len()), 0);
    while let Some(c) = raw[at..].chars().next() {
        if raw[at..].starts_with("\\\\") {
            out.push_str("\\\\");
            at += 2;
            continue;
        }
        match surrogate(at) {
            Some(0xD800..=0xDBFF) if surrogate(at + 6).is_some_and(|low| low >= 0xDC00) => {
                out.push_str(&raw[at..at + 12]);
                at += 12;
            }
            Some(_) => {
                out.push_str("\\uFFFD");
                at += 6;
            }
            None => {
                out.push(c);
                at += c.len_utf8();
            }
        }
    }
    out
}

/// The span every log line of one request carries: what it is and to what.
fn span(envelope: &Envelope) -> tracing::Span {
    tracing::info_span!(
        "custom_resource",
        request_type = envelope.request_type.as_deref().unwrap_or("-"),
        logical_resource_id = %envelope.logical_resource_id,
        request_id = %envelope.request_id,
        physical_resource_id = envelope.physical_resource_id.as_deref().unwrap_or("-"),
    )
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum EventError {
    #[error("unknown RequestType {0:?}: expected Create, Update or Delete")]
    UnknownRequestType(String),
    #[error("the event has no RequestType: expected Create, Update or Delete")]
    NoRequestType,
    #[error("the event is not a valid CloudFormation custom resource request: {0}")]
    Malformed(String),
    #[error(transparent)]
    Properties(#[from] InvalidProperties),
}

/// What either mode's event holds past its envelope: CloudFormation's
/// request and the Provider framework's differ only in fields not read here.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Fields {
    request_id: String,
    resource_properties: Value,
    old_resource_properties: Option<Value>,
    physical_resource_id: Option<String>,
}

/// Stage two, for both modes: the typed request, its properties checked.
/// `original_id` stands in for the event's `PhysicalResourceId` (the input
/// of `isComplete` carries the one `onEvent` answered).
pub(crate) fn parse(event: &Value, envelope: &Envelope, original_id: Option<String>) -> Result<Work, EventError> {
    let request_type = check_request_type(envelope)?;
    let fields = Fields::deserialize(event).map_err(|e| EventError::Malformed(e.to_string()))?;
    let missing = |field: &str| EventError::Malformed(format!("missing field `{field}`"));
    let physical_id = original_id.or(fields.physical_resource_id);
    Ok(match request_type {
        RequestType::Create => Work::Create {
            request_id: fields.request_id,
            props: ImageVersionProperties::parse(&fields.resource_properties)?,
        },
        RequestType::Update => {
            let old = fields
                .old_resource_properties
                .ok_or_else(|| missing("OldResourceProperties"))?;
            Work::Update {
                request_id: fields.request_id,
                physical_id: physical_id.ok_or_else(|| missing("PhysicalResourceId"))?,
                props: ImageVersionProperties::parse(&fields.resource_properties)?,
                old: ImageVersionProperties::parse(&old).ok(),
            }
        }
        RequestType::Delete => Work::Delete {
            physical_id: physical_id.ok_or_else(|| missing("PhysicalResourceId"))?,
            image_name: properties::image_name(&fields.resource_properties),
        },
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestType {
    Create,
    Update,
    Delete,
}

/// Create, Update or Delete: anything else is named in the Reason.
pub(crate) fn check_request_type(envelope: &Envelope) -> Result<RequestType, EventError> {
    match envelope.request_type.as_deref() {
        Some("Create") => Ok(RequestType::Create),
        Some("Update") => Ok(RequestType::Update),
        Some("Delete") => Ok(RequestType::Delete),
        Some(other) => Err(EventError::UnknownRequestType(other.chars().take(64).collect())),
        None => Err(EventError::NoRequestType),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create() -> Value {
        json!({
            "RequestType": "Create",
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:f",
            "ResponseURL": "https://bucket.s3.amazonaws.com/path?X-Amz-Signature=abc",
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
            "RequestId": "r-1",
            "ResourceType": "Custom::SageMakerImageVersion",
            "LogicalResourceId": "Version",
            "ResourceProperties": {"ServiceToken": "x", "ImageName": "img", "BaseImage": "repo:1"}
        })
    }

    #[test]
    fn a_full_event_parses_with_undocumented_fields_tolerated() {
        let mut event = create();
        event["SomethingNew"] = json!(1);
        let envelope = Envelope::from_value(&event);
        assert_eq!(envelope.request_id, "r-1");
        assert!(matches!(parse(&event, &envelope, None), Ok(Work::Create { .. })));
    }

    #[test]
    fn an_event_too_deep_for_a_value_still_yields_its_envelope() {
        let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
        let raw = format!(
            r#"{{"RequestType":"Create","ResponseURL":"https://x/y","RequestId":"r-3","StackId":"s","LogicalResourceId":"L","ResourceProperties":{{"Aliases":{deep}}}}}"#
        );
        let (envelope, event) = read(&raw);
        assert_eq!(envelope.request_id, "r-3");
        assert_eq!(envelope.response_url.as_deref(), Some("https://x/y"));
        assert!(matches!(event, Err(EventError::Malformed(_))));
    }

    #[test]
    fn invalid_properties_fail_the_parse_naming_the_property() {
        let mut event = create();
        event["ResourceProperties"]["Processor"] = json!("TPU");
        let envelope = Envelope::from_value(&event);
        let err = parse(&event, &envelope, None).unwrap_err();
        assert!(matches!(err, EventError::Properties(_)), "{err:?}");
        assert!(err.to_string().contains("property Processor"), "{err}");
    }

    #[test]
    fn a_delete_reads_no_property_but_a_valid_image_name() {
        let mut event = create();
        event["RequestType"] = json!("Delete");
        event["PhysicalResourceId"] = json!("arn:aws:sagemaker:us-east-1:1:image-version/img/1");
        event["ResourceProperties"] = json!({"ImageName": "Img", "Processor": "TPU", "Typo": 1});
        let envelope = Envelope::from_value(&event);
        match parse(&event, &envelope, None) {
            Ok(Work::Delete { image_name, .. }) => assert_eq!(image_name.as_deref(), Some("Img")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_unknown_request_type_is_named() {
        let mut event = create();
        event["RequestType"] = json!("Upsert");
        let envelope = Envelope::from_value(&event);
        assert_eq!(
            parse(&event, &envelope, None).unwrap_err(),
            EventError::UnknownRequestType("Upsert".into())
        );
    }

    #[test]
    fn a_malformed_event_keeps_what_an_answer_needs() {
        let event = json!({"RequestType": "Update", "ResponseURL": "https://x/y", "RequestId": "r-2",
            "StackId": "s", "LogicalResourceId": "L", "PhysicalResourceId": "p"});
        let envelope = Envelope::from_value(&event);
        assert_eq!(envelope.physical_resource_id.as_deref(), Some("p"));
        assert!(matches!(parse(&event, &envelope, None), Err(EventError::Malformed(_))));
    }

    #[test]
    fn an_event_with_an_unreadable_member_still_yields_every_readable_id() {
        let raw = r#"{"RequestType":"Create","ResponseURL":"https://x/y","RequestId":1e400,
            "StackId":"s\ud800t","LogicalResourceId":"L\ud83d\ude00","PhysicalResourceId":[[[1]]],"X":"\udc00"}"#;
        let (envelope, event) = read(raw);
        assert!(matches!(event, Err(EventError::Malformed(_))));
        assert_eq!(envelope.response_url.as_deref(), Some("https://x/y"));
        assert_eq!(envelope.request_id, "1e400");
        assert_eq!(envelope.stack_id, "s\u{FFFD}t");
        assert_eq!(envelope.logical_resource_id, "L\u{1F600}");
        assert_eq!(envelope.physical_resource_id, None);
    }

    #[test]
    fn ids_deeper_than_a_value_can_be_are_skipped_alone() {
        let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
        let raw = format!(r#"{{"ResponseURL":"https://x/y","RequestId":"r","PhysicalResourceId":{deep}}}"#);
        let (envelope, _) = read(&raw);
        assert_eq!(
            (envelope.request_id.as_str(), envelope.response_url.as_deref()),
            ("r", Some("https://x/y"))
        );
    }
}
