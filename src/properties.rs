//! The resource's properties: parsing, validation and the diff between
//! what a template asks for and what a version has.
//!
//! Everything here runs before any SageMaker call, so that a template mistake
//! FAILS with a Reason that names the property instead of a SageMaker error.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::{Map, Value};

const MAX_SHOWN_VALUE_CHARS: usize = 64;

/// The resource's own properties, in the contract's order.
pub const PROPERTIES: [&str; 11] = [
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
];

/// Properties that CloudFormation sets itself: accepted, not used.
pub const CLOUDFORMATION_PROPERTIES: [&str; 2] = ["ServiceToken", "ServiceTimeout"];

pub const JOB_TYPES: [&str; 3] = ["TRAINING", "INFERENCE", "NOTEBOOK_KERNEL"];
pub const PROCESSORS: [&str; 2] = ["CPU", "GPU"];
pub const VENDOR_GUIDANCE: [&str; 4] = ["NOT_PROVIDED", "STABLE", "TO_BE_ARCHIVED", "ARCHIVED"];

/// One thing wrong with the properties; its message is the FAILED Reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PropertyError {
    #[error("ResourceProperties must be a JSON object, not {0}")]
    NotAnObject(&'static str),
    #[error(
        "unknown property {name}; allowed properties are {} (and {})",
        PROPERTIES.join(", "),
        CLOUDFORMATION_PROPERTIES.join(", ")
    )]
    Unknown { name: String },
    #[error("property {0} is required")]
    Missing(&'static str),
    #[error("property {property} must be {expected}, not {found}")]
    WrongType {
        property: &'static str,
        expected: &'static str,
        found: &'static str,
    },
    #[error("property {property} has invalid value {value}: allowed is {allowed}")]
    Invalid {
        property: &'static str,
        value: Shown,
        allowed: String,
    },
    #[error("property Aliases lists {0} more than once: each alias may appear once")]
    DuplicateAlias(Shown),
}

/// Every problem found in one set of properties, reported together so that a
/// stack operator fixes the template in one go.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid properties: {}", join(.0))]
pub struct InvalidProperties(pub Vec<PropertyError>);

fn join(errors: &[PropertyError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// A user-supplied value, quoted and shortened for a Reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown(String);

impl Shown {
    fn of(value: &str) -> Self {
        match value.char_indices().nth(MAX_SHOWN_VALUE_CHARS) {
            Some((cut, _)) => Shown(format!("{:?}...", &value[..cut])),
            None => Shown(format!("{value:?}")),
        }
    }
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The metadata SageMaker keeps on a version and can change in place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    pub horovod: Option<bool>,
    pub job_type: Option<String>,
    pub ml_framework: Option<String>,
    pub programming_lang: Option<String>,
    pub processor: Option<String>,
    pub release_notes: Option<String>,
    pub vendor_guidance: Option<String>,
}

impl Metadata {
    /// The fields of `self` that differ from `actual`: what an in-place update
    /// sends. A field absent from `self` is left alone.
    pub fn changes_from(&self, actual: &Metadata) -> Metadata {
        fn differing<T: PartialEq + Clone>(wanted: &Option<T>, actual: &Option<T>) -> Option<T> {
            wanted.as_ref().filter(|w| actual.as_ref() != Some(*w)).cloned()
        }
        Metadata {
            horovod: differing(&self.horovod, &actual.horovod),
            job_type: differing(&self.job_type, &actual.job_type),
            ml_framework: differing(&self.ml_framework, &actual.ml_framework),
            programming_lang: differing(&self.programming_lang, &actual.programming_lang),
            processor: differing(&self.processor, &actual.processor),
            release_notes: differing(&self.release_notes, &actual.release_notes),
            vendor_guidance: differing(&self.vendor_guidance, &actual.vendor_guidance),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Metadata::default()
    }

    /// Property names set in `old` but not in `self`. SageMaker cannot clear
    /// a metadata field, so removing one from the template leaves its value.
    pub fn removed_since(&self, old: &Metadata) -> Vec<&'static str> {
        [
            ("Horovod", old.horovod.is_some() && self.horovod.is_none()),
            ("JobType", old.job_type.is_some() && self.job_type.is_none()),
            ("MLFramework", old.ml_framework.is_some() && self.ml_framework.is_none()),
            (
                "ProgrammingLang",
                old.programming_lang.is_some() && self.programming_lang.is_none(),
            ),
            ("Processor", old.processor.is_some() && self.processor.is_none()),
            (
                "ReleaseNotes",
                old.release_notes.is_some() && self.release_notes.is_none(),
            ),
            (
                "VendorGuidance",
                old.vendor_guidance.is_some() && self.vendor_guidance.is_none(),
            ),
        ]
        .into_iter()
        .filter_map(|(name, removed)| removed.then_some(name))
        .collect()
    }
}

/// The validated properties of one `Custom::SageMakerImageVersion`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageVersionProperties {
    pub image_name: String,
    pub base_image: String,
    pub region: Option<String>,
    /// The aliases the version must hold, and no others (absent = none).
    pub aliases: BTreeSet<String>,
    pub metadata: Metadata,
}

impl ImageVersionProperties {
    /// Parses CloudFormation's `ResourceProperties`. Scalars may arrive as
    /// strings (as CloudFormation sends them) or as native JSON.
    pub fn parse(value: &Value) -> Result<Self, InvalidProperties> {
        let map = match value {
            Value::Object(map) => map,
            other => {
                return Err(InvalidProperties(vec![PropertyError::NotAnObject(json_type(other))]));
            }
        };
        let mut errors = Vec::new();
        for name in map.keys() {
            if !is_known(name) {
                errors.push(PropertyError::Unknown {
                    name: Shown::of(name).0,
                });
            }
        }
        let mut reader = Reader { map, errors };
        let image_name = reader.required("ImageName", check_image_name);
        let base_image = reader.required("BaseImage", |v| check_length(v, 1, 255));
        let region = reader.optional("Region", check_region);
        let aliases = reader.aliases();
        let metadata = Metadata {
            horovod: reader.boolean("Horovod"),
            job_type: reader.optional("JobType", |v| check_enum(v, &JOB_TYPES)),
            ml_framework: reader.optional("MLFramework", check_framework),
            programming_lang: reader.optional("ProgrammingLang", check_framework),
            processor: reader.optional("Processor", |v| check_enum(v, &PROCESSORS)),
            release_notes: reader.optional("ReleaseNotes", |v| check_length(v, 1, 255)),
            vendor_guidance: reader.optional("VendorGuidance", |v| check_enum(v, &VENDOR_GUIDANCE)),
        };
        match (image_name, base_image, reader.errors.is_empty()) {
            (Some(image_name), Some(base_image), true) => Ok(ImageVersionProperties {
                image_name,
                base_image,
                region,
                aliases,
                metadata,
            }),
            _ => Err(InvalidProperties(reader.errors)),
        }
    }

    /// The properties whose change makes a new version: the names of those
    /// that differ between `old` and `self`. `default_region` stands in for
    /// an absent `Region`.
    pub fn replacement_reasons(&self, old: &Self, default_region: &str) -> Vec<&'static str> {
        let region = |p: &Self| p.region.clone().unwrap_or_else(|| default_region.to_owned());
        let mut changed = Vec::new();
        if self.image_name != old.image_name {
            changed.push("ImageName");
        }
        if self.base_image != old.base_image {
            changed.push("BaseImage");
        }
        if region(self) != region(old) {
            changed.push("Region");
        }
        changed
    }
}

/// The alias changes that bring `current` to `wanted`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AliasDiff {
    pub to_add: Vec<String>,
    pub to_delete: Vec<String>,
}

impl AliasDiff {
    pub fn between(wanted: &BTreeSet<String>, current: &BTreeSet<String>) -> Self {
        AliasDiff {
            to_add: wanted.difference(current).cloned().collect(),
            to_delete: current.difference(wanted).cloned().collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.to_add.is_empty() && self.to_delete.is_empty()
    }
}

fn is_known(name: &str) -> bool {
    PROPERTIES.contains(&name) || CLOUDFORMATION_PROPERTIES.contains(&name)
}

struct Reader<'a> {
    map: &'a Map<String, Value>,
    errors: Vec<PropertyError>,
}

impl Reader<'_> {
    /// A scalar as a string: CloudFormation stringifies scalars, local events
    /// often do not. `null` counts as absent.
    fn scalar(&mut self, property: &'static str) -> Option<String> {
        match self.map.get(property)? {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            other => {
                self.errors.push(PropertyError::WrongType {
                    property,
                    expected: "a string",
                    found: json_type(other),
                });
                None
            }
        }
    }

    fn optional(&mut self, property: &'static str, check: impl Fn(&str) -> Result<(), String>) -> Option<String> {
        let value = self.scalar(property)?;
        match check(&value) {
            Ok(()) => Some(value),
            Err(allowed) => {
                self.errors.push(PropertyError::Invalid {
                    property,
                    value: Shown::of(&value),
                    allowed,
                });
                None
            }
        }
    }

    fn required(&mut self, property: &'static str, check: impl Fn(&str) -> Result<(), String>) -> Option<String> {
        let present = matches!(self.map.get(property), Some(v) if !v.is_null());
        if !present {
            self.errors.push(PropertyError::Missing(property));
            return None;
        }
        self.optional(property, check)
    }

    fn boolean(&mut self, property: &'static str) -> Option<bool> {
        let value = self.scalar(property)?;
        if value.eq_ignore_ascii_case("true") {
            Some(true)
        } else if value.eq_ignore_ascii_case("false") {
            Some(false)
        } else {
            self.errors.push(PropertyError::Invalid {
                property,
                value: Shown::of(&value),
                allowed: "true or false".to_owned(),
            });
            None
        }
    }

    fn aliases(&mut self) -> BTreeSet<String> {
        let mut aliases = BTreeSet::new();
        let items = match self.map.get("Aliases") {
            None | Some(Value::Null) => return aliases,
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.errors.push(PropertyError::WrongType {
                    property: "Aliases",
                    expected: "a list of strings",
                    found: json_type(other),
                });
                return aliases;
            }
        };
        for item in items {
            let alias = match item {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => {
                    self.errors.push(PropertyError::WrongType {
                        property: "Aliases",
                        expected: "a list of strings",
                        found: json_type(other),
                    });
                    continue;
                }
            };
            if let Err(allowed) = check_alias(&alias) {
                self.errors.push(PropertyError::Invalid {
                    property: "Aliases",
                    value: Shown::of(&alias),
                    allowed,
                });
            } else if !aliases.insert(alias.clone()) {
                self.errors.push(PropertyError::DuplicateAlias(Shown::of(&alias)));
            }
        }
        aliases
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn check_length(value: &str, min: usize, max: usize) -> Result<(), String> {
    let chars = value.chars().count();
    if (min..=max).contains(&chars) {
        Ok(())
    } else {
        Err(format!("{min} to {max} characters (got {chars})"))
    }
}

fn check_enum(value: &str, allowed: &[&str]) -> Result<(), String> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(format!("one of {}", allowed.join(", ")))
    }
}

/// `[a-zA-Z0-9]([-.]?[a-zA-Z0-9]){0,62}`, full match.
fn check_image_name(value: &str) -> Result<(), String> {
    const RULE: &str = "1 to 63 letters, digits, '-' or '.', starting and ending with a letter or digit, \
         with no two '-'/'.' in a row ([a-zA-Z0-9]([-.]?[a-zA-Z0-9]){0,62})";
    let bytes = value.as_bytes();
    let separator = |b: &u8| *b == b'-' || *b == b'.';
    let valid = (1..=63).contains(&bytes.len())
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || separator(b))
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && !bytes.windows(2).any(|w| separator(&w[0]) && separator(&w[1]));
    if valid { Ok(()) } else { Err(RULE.to_owned()) }
}

/// `(?!^[.-])^([a-zA-Z0-9-_.]+)`, full match, 1-128 characters.
pub fn check_alias(value: &str) -> Result<(), String> {
    const RULE: &str = "1 to 128 letters, digits, '-', '_' or '.', not starting with '-' or '.'";
    let bytes = value.as_bytes();
    let valid = (1..=128).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !matches!(bytes.first(), Some(b'-' | b'.'));
    if valid { Ok(()) } else { Err(RULE.to_owned()) }
}

/// `[a-zA-Z]+ ?\d+\.\d+(\.\d+)?`, full match, 1-128 characters.
fn check_framework(value: &str) -> Result<(), String> {
    const RULE: &str = "a name and a version such as \"PyTorch 2.3\" or \"Python3.11.9\" \
         ([a-zA-Z]+ ?\\d+\\.\\d+(\\.\\d+)?, at most 128 characters)";
    fn digits(s: &str) -> (usize, &str) {
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        (n, &s[n..])
    }
    let matches = || {
        let letters = value.bytes().take_while(u8::is_ascii_alphabetic).count();
        if letters == 0 {
            return false;
        }
        let rest = &value[letters..];
        let rest = rest.strip_prefix(' ').unwrap_or(rest);
        let (major, rest) = digits(rest);
        let Some(rest) = rest.strip_prefix('.').filter(|_| major > 0) else {
            return false;
        };
        let (minor, rest) = digits(rest);
        if minor == 0 {
            return false;
        }
        match rest.strip_prefix('.') {
            None => rest.is_empty(),
            Some(patch) => {
                let (n, rest) = digits(patch);
                n > 0 && rest.is_empty()
            }
        }
    };
    if value.len() <= 128 && matches() {
        Ok(())
    } else {
        Err(RULE.to_owned())
    }
}

/// An AWS region name such as `us-east-1` or `us-gov-west-1`.
fn check_region(value: &str) -> Result<(), String> {
    const RULE: &str = "an AWS region name such as us-east-1 (lower-case letters and dashes, then a number)";
    let mut parts = value.split('-');
    let head = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    let valid = head.len() == 2
        && head.bytes().all(|b| b.is_ascii_lowercase())
        && rest.len() >= 2
        && rest[..rest.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && rest
            .last()
            .is_some_and(|n| (1..=2).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()));
    if valid { Ok(()) } else { Err(RULE.to_owned()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<ImageVersionProperties, InvalidProperties> {
        ImageVersionProperties::parse(&value)
    }

    fn reason(value: Value) -> String {
        parse(value).unwrap_err().to_string()
    }

    #[test]
    fn every_property_parses_in_cloudformation_string_form() {
        let props = parse(json!({
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:f",
            "ServiceTimeout": "900",
            "ImageName": "my-image.v2",
            "BaseImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:tag",
            "Region": "eu-west-1",
            "Aliases": ["latest", "v2.0_stable"],
            "Horovod": "TRUE",
            "JobType": "TRAINING",
            "MLFramework": "PyTorch 2.3",
            "ProgrammingLang": "Python 3.11.9",
            "Processor": "GPU",
            "ReleaseNotes": "first",
            "VendorGuidance": "STABLE"
        }))
        .unwrap();
        assert_eq!(props.image_name, "my-image.v2");
        assert_eq!(props.region.as_deref(), Some("eu-west-1"));
        assert_eq!(props.aliases.len(), 2);
        assert_eq!(props.metadata.horovod, Some(true));
        assert_eq!(props.metadata.programming_lang.as_deref(), Some("Python 3.11.9"));
    }

    #[test]
    fn native_json_scalars_are_accepted() {
        let props =
            parse(json!({"ImageName": "img", "BaseImage": "b", "Horovod": false, "ServiceTimeout": 300})).unwrap();
        assert_eq!(props.metadata.horovod, Some(false));
        let numeric = parse(json!({"ImageName": 123, "BaseImage": "b"})).unwrap();
        assert_eq!(numeric.image_name, "123");
    }

    #[test]
    fn required_properties_are_named_when_missing() {
        let reason = reason(json!({"ServiceToken": "x"}));
        assert!(reason.contains("property ImageName is required"), "{reason}");
        assert!(reason.contains("property BaseImage is required"), "{reason}");
    }

    #[test]
    fn unknown_property_names_fail_and_are_named() {
        let reason = reason(json!({"ImageName": "img", "BaseImage": "b", "Aliasses": ["a"]}));
        assert!(reason.contains("unknown property \"Aliasses\""), "{reason}");
        assert!(reason.contains("Aliases"), "{reason}");
    }

    #[test]
    fn image_name_pattern_is_full_match() {
        for bad in ["-img", "img-", "im--g", "im.-g", "im_g", "", &"a".repeat(64)] {
            let reason = reason(json!({"ImageName": bad, "BaseImage": "b"}));
            assert!(
                reason.contains("property ImageName has invalid value"),
                "{bad}: {reason}"
            );
        }
        for good in ["a", "a-b.c", "A1", &"a".repeat(63)] {
            assert!(parse(json!({"ImageName": good, "BaseImage": "b"})).is_ok(), "{good}");
        }
    }

    #[test]
    fn base_image_length_is_checked() {
        let reason = reason(json!({"ImageName": "img", "BaseImage": "x".repeat(256)}));
        assert!(
            reason.contains("BaseImage") && reason.contains("1 to 255 characters"),
            "{reason}"
        );
        assert!(reason.contains("..."), "long values are shortened: {reason}");
        let empty = self::reason(json!({"ImageName": "img", "BaseImage": ""}));
        assert!(empty.contains("BaseImage"), "{empty}");
    }

    #[test]
    fn aliases_must_match_pattern_and_be_unique() {
        let reason = reason(json!({"ImageName": "img", "BaseImage": "b", "Aliases": [".hidden", "ok", "ok"]}));
        assert!(
            reason.contains("property Aliases has invalid value \".hidden\""),
            "{reason}"
        );
        assert!(
            reason.contains("property Aliases lists \"ok\" more than once"),
            "{reason}"
        );
        let not_list = self::reason(json!({"ImageName": "img", "BaseImage": "b", "Aliases": "a"}));
        assert!(not_list.contains("Aliases must be a list of strings"), "{not_list}");
        let too_long = self::reason(json!({"ImageName": "img", "BaseImage": "b", "Aliases": ["a".repeat(129)]}));
        assert!(too_long.contains("Aliases"), "{too_long}");
    }

    #[test]
    fn enums_list_what_is_allowed() {
        let reason = reason(json!({"ImageName": "img", "BaseImage": "b", "JobType": "training",
            "Processor": "TPU", "VendorGuidance": "OLD"}));
        assert!(
            reason.contains(
                "JobType has invalid value \"training\": allowed is one of TRAINING, INFERENCE, NOTEBOOK_KERNEL"
            ),
            "{reason}"
        );
        assert!(reason.contains("Processor") && reason.contains("CPU, GPU"), "{reason}");
        assert!(
            reason.contains("VendorGuidance") && reason.contains("ARCHIVED"),
            "{reason}"
        );
    }

    #[test]
    fn framework_and_language_follow_the_version_pattern() {
        for good in ["PyTorch 2.3", "Python3.11", "TF 2.13.1"] {
            assert_eq!(check_framework(good), Ok(()), "{good}");
        }
        for bad in [
            "PyTorch",
            "2.3",
            "PyTorch 2",
            "PyTorch  2.3",
            "PyTorch 2.3.",
            "PyTorch 2.3.1.4",
            "Py-Torch 2.3",
        ] {
            assert!(check_framework(bad).is_err(), "{bad}");
        }
        let reason = reason(json!({"ImageName": "img", "BaseImage": "b", "ProgrammingLang": "python"}));
        assert!(reason.contains("ProgrammingLang"), "{reason}");
    }

    #[test]
    fn horovod_takes_booleans_in_any_case() {
        let reason = reason(json!({"ImageName": "img", "BaseImage": "b", "Horovod": "yes"}));
        assert!(
            reason.contains("Horovod has invalid value \"yes\": allowed is true or false"),
            "{reason}"
        );
    }

    #[test]
    fn region_must_be_a_region_name() {
        assert!(parse(json!({"ImageName": "i", "BaseImage": "b", "Region": "us-gov-west-1"})).is_ok());
        let reason = reason(json!({"ImageName": "i", "BaseImage": "b", "Region": "US-EAST-1"}));
        assert!(reason.contains("property Region has invalid value"), "{reason}");
    }

    #[test]
    fn properties_that_are_not_an_object_fail() {
        assert!(reason(json!(["ImageName"])).contains("must be a JSON object, not a list"));
        assert!(reason(json!("x")).contains("not a string"));
    }

    #[test]
    fn lists_and_objects_are_not_scalars() {
        let reason = reason(json!({"ImageName": {"a": 1}, "BaseImage": ["b"]}));
        assert!(
            reason.contains("property ImageName must be a string, not an object"),
            "{reason}"
        );
        assert!(
            reason.contains("property BaseImage must be a string, not a list"),
            "{reason}"
        );
    }

    #[test]
    fn shown_values_are_cut_at_a_character_boundary() {
        let shown = Shown::of(&"é".repeat(100)).to_string();
        assert!(shown.ends_with("..."));
        assert_eq!(shown.chars().filter(|c| *c == 'é').count(), MAX_SHOWN_VALUE_CHARS);
    }

    #[test]
    fn metadata_diff_sends_only_what_differs() {
        let wanted = Metadata {
            job_type: Some("TRAINING".into()),
            processor: Some("GPU".into()),
            ..Metadata::default()
        };
        let actual = Metadata {
            job_type: Some("TRAINING".into()),
            processor: Some("CPU".into()),
            release_notes: Some("kept".into()),
            ..Metadata::default()
        };
        assert_eq!(
            wanted.changes_from(&actual),
            Metadata {
                processor: Some("GPU".into()),
                ..Metadata::default()
            }
        );
        assert_eq!(wanted.removed_since(&actual), vec!["ReleaseNotes"]);
    }

    #[test]
    fn replacement_properties_are_image_name_base_image_and_region() {
        let old = parse(json!({"ImageName": "img", "BaseImage": "b", "ReleaseNotes": "x"})).unwrap();
        let same_region = parse(json!({"ImageName": "img", "BaseImage": "b", "Region": "us-east-1"})).unwrap();
        assert!(same_region.replacement_reasons(&old, "us-east-1").is_empty());
        let moved = parse(json!({"ImageName": "img2", "BaseImage": "c", "Region": "eu-west-1"})).unwrap();
        assert_eq!(
            moved.replacement_reasons(&old, "us-east-1"),
            vec!["ImageName", "BaseImage", "Region"]
        );
    }

    #[test]
    fn alias_diff_adds_and_deletes() {
        let wanted: BTreeSet<String> = ["a", "b"].map(String::from).into();
        let current: BTreeSet<String> = ["b", "c"].map(String::from).into();
        let diff = AliasDiff::between(&wanted, &current);
        assert_eq!(diff.to_add, vec!["a"]);
        assert_eq!(diff.to_delete, vec!["c"]);
    }
}
