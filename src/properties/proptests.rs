//! Property-based tests of property parsing: `ImageVersionProperties::parse`.
//!
//! An independent oracle on purpose: the names, enum values and patterns
//! below are written again from the README's Properties table (the
//! contract its users read) and SageMaker's service model, not taken from
//! `table.rs`, so that a wrong row there is caught rather than copied.
//!
//! - arbitrary JSON never panics, and every error names a property;
//! - every value generated from the contract's patterns is accepted, as a
//!   string or as native JSON;
//! - for each constrained property, an independent oracle written from the
//!   contract's table decides accept/reject, and the parser agrees with it
//!   on arbitrary, near-valid and valid strings; rejections name the property.
//!
//! 256 cases per property by default; `PROPTEST_CASES=N` sets another count
//! (the long-running profile, e.g. `PROPTEST_CASES=100000`).

use super::ImageVersionProperties;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;
use serde_json::{Map, Value, json};
use standins::arbitrary::{self, regex};

const NAMES: [&str; 14] = [
    "ImageName",
    "BaseImage",
    "Region",
    "Aliases",
    "Horovod",
    "JobType",
    "MLFramework",
    "ProgrammingLang",
    "Processor",
    "ReleaseNotes",
    "VendorGuidance",
    "ExistingVersion",
    "ServiceToken",
    "ServiceTimeout",
];
const JOB_TYPES: [&str; 3] = ["TRAINING", "INFERENCE", "NOTEBOOK_KERNEL"];
const PROCESSORS: [&str; 2] = ["CPU", "GPU"];
const VENDOR_GUIDANCE: [&str; 4] = ["NOT_PROVIDED", "STABLE", "TO_BE_ARCHIVED", "ARCHIVED"];

fn config() -> Config {
    arbitrary::config(arbitrary::cases(256))
}

// --- Arbitrary JSON ---

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(NAMES.to_vec()).prop_map(str::to_owned),
        1 => any::<String>(),
        1 => regex("[A-Za-z]{1,12}"),
    ]
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    arbitrary::json(arbitrary::Names {
        event: &crate::EVENT_FIELDS,
        properties: &NAMES,
    })
}

/// Property maps: mostly objects keyed by property names.
fn arbitrary_properties() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::collection::vec((key(), arbitrary_json()), 0..14)
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        1 => arbitrary_json(),
    ]
}

// --- Valid values, from the contract's patterns ---

fn image_name() -> impl Strategy<Value = String> {
    regex("[a-zA-Z0-9]([-.]?[a-zA-Z0-9]){0,62}").prop_filter("1-63 characters", |s| s.len() <= 63)
}

fn alias() -> impl Strategy<Value = String> {
    regex("[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127}")
}

/// `[a-zA-Z]+ ?\d+\.\d+(\.\d+)?`, at most 128 characters.
fn framework() -> impl Strategy<Value = String> {
    regex("[a-zA-Z]{1,40} ?[0-9]{1,20}\\.[0-9]{1,20}(\\.[0-9]{1,20})?")
}

fn region() -> impl Strategy<Value = String> {
    regex("[a-z]{2}(-[a-z]{1,10}){1,2}-[0-9]{1,2}")
}

fn chars(min: usize, max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), min..=max).prop_map(|c| c.into_iter().collect())
}

/// Java's line terminators, which SageMaker's `.*` does not match.
const LINE_BREAKS: [char; 5] = ['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'];

fn one_line(min: usize, max: usize) -> impl Strategy<Value = String> {
    chars(min, max).prop_map(|s| s.replace(LINE_BREAKS, " "))
}

/// `true`/`false` in any case, as a string, or a JSON boolean.
fn boolean() -> impl Strategy<Value = (bool, Value)> {
    (any::<bool>(), prop::collection::vec(any::<bool>(), 5), any::<bool>()).prop_map(|(b, upper, native)| {
        let text: String = b
            .to_string()
            .chars()
            .zip(upper)
            .map(|(c, up)| if up { c.to_ascii_uppercase() } else { c })
            .collect();
        (b, if native { Value::Bool(b) } else { Value::String(text) })
    })
}

fn optional<T: std::fmt::Debug + Clone>(s: impl Strategy<Value = T>) -> impl Strategy<Value = Option<T>> {
    prop::option::weighted(0.7, s)
}

#[derive(Debug, Clone)]
struct Valid {
    json: Value,
    image_name: String,
    base_image: String,
    region: Option<String>,
    aliases: Vec<String>,
    horovod: Option<bool>,
    job_type: Option<String>,
    ml_framework: Option<String>,
    programming_lang: Option<String>,
    processor: Option<String>,
    release_notes: Option<String>,
    vendor_guidance: Option<String>,
}

fn valid_properties() -> impl Strategy<Value = Valid> {
    let names = (image_name(), one_line(1, 255), optional(region()));
    let lists = prop::collection::btree_set(alias(), 0..6);
    let metadata = (
        optional(boolean()),
        optional(select(JOB_TYPES.to_vec())),
        optional(framework()),
        optional(framework()),
        optional(select(PROCESSORS.to_vec())),
        optional(one_line(1, 255)),
        optional(select(VENDOR_GUIDANCE.to_vec())),
    );
    (names, lists, metadata, any::<bool>()).prop_map(
        |((image_name, base_image, region), aliases, (horovod, job, mlf, lang, proc_, notes, vendor), token)| {
            let mut map = Map::new();
            map.insert("ImageName".into(), json!(image_name));
            map.insert("BaseImage".into(), json!(base_image));
            if token {
                map.insert("ServiceToken".into(), json!("arn:aws:lambda:us-east-1:1:function:f"));
                map.insert("ServiceTimeout".into(), json!("900"));
            }
            let mut put = |k: &str, v: Option<Value>| {
                if let Some(v) = v {
                    map.insert(k.into(), v);
                }
            };
            put("Region", region.clone().map(Value::from));
            if !aliases.is_empty() {
                put("Aliases", Some(json!(aliases)));
            }
            put("Horovod", horovod.clone().map(|(_, v)| v));
            put("JobType", job.map(Value::from));
            put("MLFramework", mlf.clone().map(Value::from));
            put("ProgrammingLang", lang.clone().map(Value::from));
            put("Processor", proc_.map(Value::from));
            put("ReleaseNotes", notes.clone().map(Value::from));
            put("VendorGuidance", vendor.map(Value::from));
            Valid {
                json: Value::Object(map),
                image_name,
                base_image,
                region,
                aliases: aliases.into_iter().collect(),
                horovod: horovod.map(|(b, _)| b),
                job_type: job.map(str::to_owned),
                ml_framework: mlf,
                programming_lang: lang,
                processor: proc_.map(str::to_owned),
                release_notes: notes,
                vendor_guidance: vendor.map(str::to_owned),
            }
        },
    )
}

// --- Oracles: the contract's table, written independently of src/ ---

fn image_name_ok(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.split(['-', '.'])
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn alias_ok(s: &str) -> bool {
    (1..=128).contains(&s.chars().count())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && !s.starts_with(['.', '-'])
}

fn framework_ok(s: &str) -> bool {
    if s.chars().count() > 128 {
        return false;
    }
    let name_end = s.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(s.len());
    if name_end == 0 {
        return false;
    }
    let version = s[name_end..].strip_prefix(' ').unwrap_or(&s[name_end..]);
    let parts: Vec<&str> = version.split('.').collect();
    (2..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

fn length_ok(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.chars().count())
}

/// Strings to try against an oracle: arbitrary, from the pattern's
/// neighbourhood, valid, and valid with one character changed.
fn candidates(valid: BoxedStrategy<String>) -> impl Strategy<Value = String> {
    let mutated = (valid.clone(), any::<prop::sample::Index>(), any::<char>(), 0..3u8).prop_map(|(s, at, c, how)| {
        let mut chars: Vec<char> = s.chars().collect();
        let i = at.index(chars.len() + 1);
        match how {
            0 => chars.insert(i, c),
            1 if i < chars.len() => {
                chars.remove(i);
            }
            _ if i < chars.len() => chars[i] = ['-', '.', ' ', '_', c][i % 5],
            _ => chars.push(c),
        }
        chars.into_iter().collect()
    });
    prop_oneof![
        2 => valid,
        3 => mutated,
        2 => regex("[a-zA-Z0-9 ._-]{0,140}"),
        1 => regex("[a-z]{0,3}[ 0-9.]{0,8}"),
        1 => any::<String>(),
    ]
}

fn with_value(property: &str, value: &str) -> Value {
    let mut props = json!({ "ImageName": "img", "BaseImage": "base" });
    props[property] = if property == "Aliases" {
        json!([value])
    } else {
        json!(value)
    };
    props
}

/// The parser agrees with the oracle; a rejection names the property.
fn agrees(property: &str, value: &str, oracle: bool) -> Result<(), TestCaseError> {
    match ImageVersionProperties::parse(&with_value(property, value)) {
        Ok(parsed) => {
            prop_assert!(oracle, "{property} = {value:?} was accepted; the contract rejects it");
            let kept = match property {
                "ImageName" => Some(parsed.image_name().to_owned()),
                "BaseImage" => Some(parsed.base_image().to_owned()),
                "Aliases" => parsed.aliases.into_iter().next(),
                "MLFramework" | "ProgrammingLang" | "ReleaseNotes" => parsed.metadata.get(property).map(str::to_owned),
                _ => None,
            };
            prop_assert_eq!(kept.as_deref(), Some(value), "{} keeps its value as given", property);
        }
        Err(e) => {
            let reason = e.to_string();
            prop_assert!(!oracle, "{property} = {value:?} was rejected: {reason}");
            prop_assert!(
                reason.contains(&format!("property {property} has invalid value")),
                "the Reason names {}: {}",
                property,
                reason
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_json_never_panics_and_errors_name_a_property(value in arbitrary_properties()) {
        if let Err(e) = ImageVersionProperties::parse(&value) {
            prop_assert!(!e.0.is_empty(), "an error lists at least one problem");
            for problem in &e.0 {
                let text = problem.to_string();
                prop_assert!(
                    NAMES.iter().any(|n| text.contains(&format!("property {n} ")))
                        || text.starts_with("unknown property ")
                        || text.starts_with("ResourceProperties must be a JSON object"),
                    "{} names no property", text
                );
            }
            let reason = e.to_string();
            prop_assert!(reason.starts_with("invalid properties: "));
        }
    }

    #[test]
    fn unknown_property_names_are_named(name in any::<String>().prop_filter("not a property", |n| !NAMES.contains(&n.as_str()))) {
        let mut props = json!({ "ImageName": "img", "BaseImage": "base" });
        props[name.as_str()] = json!("x");
        let reason = ImageVersionProperties::parse(&props).unwrap_err().to_string();
        let shown: String = format!("{name:?}").chars().skip(1).take(20).collect();
        prop_assert!(reason.contains("unknown property "), "{}", reason);
        prop_assert!(reason.contains(shown.trim_end_matches('"')), "{} lacks {}", reason, shown);
    }

    #[test]
    fn every_valid_set_of_properties_is_accepted_as_given(valid in valid_properties()) {
        let parsed = ImageVersionProperties::parse(&valid.json)
            .map_err(|e| TestCaseError::fail(format!("{e} for {:#}", valid.json)))?;
        prop_assert_eq!(parsed.image_name(), &valid.image_name);
        prop_assert_eq!(parsed.base_image(), &valid.base_image);
        prop_assert_eq!(parsed.region(), valid.region.as_deref());
        prop_assert_eq!(parsed.aliases.iter().cloned().collect::<Vec<_>>(), valid.aliases);
        let m = parsed.metadata;
        prop_assert_eq!(m.get("Horovod"), valid.horovod.map(|b| if b { "true" } else { "false" }));
        prop_assert_eq!(m.get("JobType"), valid.job_type.as_deref());
        prop_assert_eq!(m.get("MLFramework"), valid.ml_framework.as_deref());
        prop_assert_eq!(m.get("ProgrammingLang"), valid.programming_lang.as_deref());
        prop_assert_eq!(m.get("Processor"), valid.processor.as_deref());
        prop_assert_eq!(m.get("ReleaseNotes"), valid.release_notes.as_deref());
        prop_assert_eq!(m.get("VendorGuidance"), valid.vendor_guidance.as_deref());
    }

    #[test]
    fn strings_follow_their_pattern_and_length(
        name in candidates(image_name().boxed()),
        alias_value in candidates(alias().boxed()),
        framework_value in candidates(framework().boxed()),
        text in prop_oneof![chars(0, 300), one_line(0, 300)],
    ) {
        agrees("ImageName", &name, image_name_ok(&name))?;
        agrees("Aliases", &alias_value, alias_ok(&alias_value))?;
        agrees("MLFramework", &framework_value, framework_ok(&framework_value))?;
        agrees("ProgrammingLang", &framework_value, framework_ok(&framework_value))?;
        let text_ok = length_ok(&text, 255) && !text.contains(LINE_BREAKS);
        agrees("BaseImage", &text, text_ok)?;
        agrees("ReleaseNotes", &text, text_ok)?;
    }

    #[test]
    fn service_timeout_is_whole_seconds_from_1_to_3600(
        value in prop_oneof![regex("[0-9]{1,5}"), regex("[-+ .0-9e]{0,6}"), any::<String>()],
    ) {
        let oracle = value.bytes().all(|b| b.is_ascii_digit()) && value.parse::<u64>().is_ok_and(|n| (1..=3600).contains(&n));
        let reason = ImageVersionProperties::parse(&with_value("ServiceTimeout", &value)).err().map(|e| e.to_string());
        prop_assert_eq!(reason.is_none(), oracle, "ServiceTimeout = {:?}: {:?}", value, reason);
        if let Some(reason) = reason {
            prop_assert!(reason.contains("property ServiceTimeout"), "{}", reason);
        }
    }

    #[test]
    fn existing_version_is_a_whole_number_from_1(
        value in prop_oneof![regex("[0-9]{1,12}"), regex("[-+ .0-9a-z]{0,6}"), any::<String>()],
    ) {
        let oracle = value.bytes().all(|b| b.is_ascii_digit()) && value.parse::<i32>().is_ok_and(|n| n >= 1);
        match ImageVersionProperties::parse(&with_value("ExistingVersion", &value)) {
            Ok(parsed) => {
                prop_assert!(oracle, "ExistingVersion = {:?} was accepted", value);
                prop_assert_eq!(parsed.existing_version(), value.parse().ok());
            }
            Err(e) => {
                let reason = e.to_string();
                prop_assert!(!oracle, "ExistingVersion = {:?} was rejected: {}", value, reason);
                prop_assert!(reason.contains("property ExistingVersion"), "{}", reason);
            }
        }
    }

    #[test]
    fn enums_accept_exactly_their_values(
        value in prop_oneof![
            select([JOB_TYPES.to_vec(), PROCESSORS.to_vec(), VENDOR_GUIDANCE.to_vec()].concat()).prop_map(str::to_owned),
            select([JOB_TYPES.to_vec(), PROCESSORS.to_vec(), VENDOR_GUIDANCE.to_vec()].concat())
                .prop_map(str::to_ascii_lowercase),
            regex("[A-Z_]{0,16}"),
            any::<String>(),
        ]
    ) {
        for (property, allowed) in [
            ("JobType", &JOB_TYPES[..]),
            ("Processor", &PROCESSORS[..]),
            ("VendorGuidance", &VENDOR_GUIDANCE[..]),
        ] {
            let result = ImageVersionProperties::parse(&with_value(property, &value));
            if allowed.contains(&value.as_str()) {
                prop_assert!(result.is_ok(), "{} = {:?}: {:?}", property, value, result);
            } else {
                let reason = result.unwrap_err().to_string();
                prop_assert!(reason.contains(&format!("property {property} has invalid value")), "{}", reason);
                for v in allowed {
                    prop_assert!(reason.contains(v), "the Reason lists what is allowed: {}", reason);
                }
            }
        }
    }

    #[test]
    fn horovod_takes_booleans_in_any_case((expected, value) in boolean()) {
        let mut props = json!({ "ImageName": "img", "BaseImage": "base" });
        props["Horovod"] = value;
        let parsed = ImageVersionProperties::parse(&props).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(parsed.metadata.get("Horovod"), Some(if expected { "true" } else { "false" }));
    }

    #[test]
    fn horovod_rejects_anything_else(value in any::<String>().prop_filter("not a boolean", |s| {
        !s.eq_ignore_ascii_case("true") && !s.eq_ignore_ascii_case("false")
    })) {
        let reason = ImageVersionProperties::parse(&with_value("Horovod", &value)).unwrap_err().to_string();
        prop_assert!(reason.contains("property Horovod has invalid value"), "{}", reason);
    }

    #[test]
    fn valid_regions_are_accepted(value in region()) {
        let parsed = ImageVersionProperties::parse(&with_value("Region", &value))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(parsed.region(), Some(value.as_str()));
    }

    #[test]
    fn regions_with_upper_case_or_no_number_are_rejected(
        value in prop_oneof![regex("[A-Z]{2}-[a-z]{2,8}-[0-9]"), regex("[a-z]{2}-[a-z]{2,8}"), regex("[a-z]{2}-[a-z]{2,8}-[0-9]{3}")]
    ) {
        let reason = ImageVersionProperties::parse(&with_value("Region", &value)).unwrap_err().to_string();
        prop_assert!(reason.contains("property Region has invalid value"), "{}", reason);
    }

    #[test]
    fn shown_values_are_shortened(value in chars(300, 2000), property in select(vec!["ImageName", "BaseImage", "ReleaseNotes", "MLFramework"])) {
        let reason = ImageVersionProperties::parse(&with_value(property, &value)).unwrap_err().to_string();
        // 64 characters kept, each at most 10 bytes once quoted (\u{10ffff}).
        prop_assert!(reason.len() < 64 * 10 + 600, "{} bytes", reason.len());
        prop_assert!(reason.contains("\"...: allowed is"), "the value is cut: {}", reason);
    }
}
