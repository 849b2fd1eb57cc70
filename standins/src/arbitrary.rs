//! Generators of hostile input for property-based tests: arbitrary JSON, and
//! CloudFormation events and properties that are mostly, but not always, of
//! the right shape. Shared by the product's in-process tests and the tests
//! that send the same events through the real binary.

use proptest::prelude::*;
use proptest::sample::select;
use proptest::string::string_regex;
use proptest::test_runner::Config;
use serde_json::{Map, Value, json};

/// The names the generators favour as object keys: an event's fields and
/// its properties, as the product under test spells them.
#[derive(Debug, Clone, Copy)]
pub struct Names {
    pub event: &'static [&'static str],
    pub properties: &'static [&'static str],
}

/// `PROPTEST_CASES`, else `default`: the long-running profile sets it.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `cases` cases, and no failure file written to the tree.
pub fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

pub fn regex(pattern: &str) -> impl Strategy<Value = String> + use<> {
    string_regex(pattern).expect("a valid generator pattern")
}

/// Object keys: mostly the names an event or its properties use.
fn key(names: Names) -> impl Strategy<Value = String> {
    let known: Vec<&'static str> = names.event.iter().chain(names.properties).copied().collect();
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
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        regex("[a-zA-Z0-9 ._:/-]{0,80}").prop_map(Value::String),
        select(vec![
            "Create",
            "Update",
            "Delete",
            "test-image",
            "true",
            "FALSE",
            "TRAINING",
            "GPU",
            "STABLE",
            "us-east-1",
            "PyTorch 2.3",
            "",
            "arn:aws:sagemaker:us-east-1:123456789012:image-version/test-image/1",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ]
}

/// Any JSON, up to four levels deep, with keys from `names` among others.
pub fn json(names: Names) -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key(names), inner), 0..6).prop_map(|p| Value::Object(p.into_iter().collect())),
        ]
    })
}

/// Properties: arbitrary JSON, or the `valid` ones with one of the
/// properties replaced by arbitrary JSON (so that some get through to
/// SageMaker).
pub fn properties(names: Names, valid: Value) -> impl Strategy<Value = Value> {
    let one_wrong = valid.clone();
    prop_oneof![
        2 => json(names),
        3 => (select(names.properties.to_vec()), json(names)).prop_map(move |(k, v)| {
            let mut p = one_wrong.clone();
            p[k] = v;
            p
        }),
        1 => Just(valid),
    ]
}

/// An event: envelope fields of any JSON type (mostly the right one), a
/// RequestType of the three or not, arbitrary extra fields. No ResponseURL:
/// the caller adds one it can receive at, or none.
pub fn event(names: Names, valid: Value) -> impl Strategy<Value = Value> {
    let request_type = prop_oneof![
        3 => select(vec!["Create", "Update", "Delete"]).prop_map(Value::from),
        1 => json(names),
    ];
    let text_or_any = || {
        prop_oneof![
            3 => any::<String>().prop_map(Value::String),
            1 => json(names),
        ]
    };
    (
        request_type,
        prop::option::of(text_or_any()),
        prop::option::of(text_or_any()),
        prop::option::of(text_or_any()),
        prop::option::of(properties(names, valid.clone())),
        prop::option::of(properties(names, valid)),
        prop::collection::vec((any::<String>(), json(names)), 0..4),
    )
        .prop_map(|(kind, stack, logical, physical, props, old, extra)| {
            let mut event: Map<String, Value> = extra.into_iter().collect();
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

/// Whether a JSON value holds a `null` anywhere: no answer may.
pub fn holds_null(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.iter().any(holds_null),
        Value::Object(map) => map.values().any(holds_null),
        _ => false,
    }
}
