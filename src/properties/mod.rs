//! The resource's properties: parsing, validation and the diff between
//! what a template asks for and what a version has, all driven by the rows
//! of [`table`].
//!
//! Everything here runs before any SageMaker call, so that a template mistake
//! FAILS with a Reason that names the property instead of a SageMaker error.

mod metadata;
mod rules;
pub(crate) mod table;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};

pub(crate) use metadata::Metadata;
use table::{BASE_IMAGE, EXISTING_VERSION, IMAGE_NAME, Kind, REGION, SERVICE_TIMEOUT};
pub use table::{CLOUDFORMATION_PROPERTIES, PROPERTIES};

const MAX_SHOWN_VALUE_CHARS: usize = 64;

/// One thing wrong with the properties; its message is the FAILED Reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PropertyError {
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
pub(crate) struct InvalidProperties(pub(crate) Vec<PropertyError>);

fn join(errors: &[PropertyError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// A user-supplied value, quoted and shortened for a Reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shown(String);

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

/// The validated properties of one `Custom::SageMakerImageVersion`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImageVersionProperties {
    /// Every scalar given, checked, by property name.
    scalars: BTreeMap<&'static str, String>,
    /// The aliases the version must hold, and no others (absent = none).
    pub(crate) aliases: BTreeSet<String>,
    pub(crate) metadata: Metadata,
}

impl ImageVersionProperties {
    /// Parses CloudFormation's `ResourceProperties`. Scalars may arrive as
    /// strings (as CloudFormation sends them) or as native JSON.
    pub(crate) fn parse(value: &Value) -> Result<Self, InvalidProperties> {
        let map = match value {
            Value::Object(map) => map,
            other => {
                return Err(InvalidProperties(vec![PropertyError::NotAnObject(json_type(other))]));
            }
        };
        let mut reader = Reader {
            map,
            errors: map
                .keys()
                .filter(|name| table::find(name).is_none())
                .map(|name| PropertyError::Unknown {
                    name: Shown::of(name).0,
                })
                .collect(),
        };
        let mut scalars = BTreeMap::new();
        let mut aliases = BTreeSet::new();
        for property in &table::ALL {
            match property.kind {
                Kind::Any => {}
                Kind::AliasList => aliases = reader.aliases(property.name),
                kind => {
                    if let Some(value) = reader.scalar(property.name, kind, property.required) {
                        scalars.insert(property.name, value);
                    }
                }
            }
        }
        if !reader.errors.is_empty() {
            return Err(InvalidProperties(reader.errors));
        }
        let metadata = Metadata::from_values(|name| scalars.remove(name));
        Ok(ImageVersionProperties {
            scalars,
            aliases,
            metadata,
        })
    }

    pub(crate) fn image_name(&self) -> &str {
        &self.scalars[IMAGE_NAME]
    }

    pub(crate) fn base_image(&self) -> &str {
        &self.scalars[BASE_IMAGE]
    }

    pub(crate) fn region(&self) -> Option<&str> {
        self.scalars.get(REGION).map(String::as_str)
    }

    /// The version to take over at Create instead of creating one.
    pub(crate) fn existing_version(&self) -> Option<i32> {
        self.scalars.get(EXISTING_VERSION).and_then(|v| v.parse().ok())
    }
}

/// The `ServiceTimeout` of `properties` when it is valid, whatever else is
/// wrong with them: what bounds a request, a Delete's included.
pub(crate) fn service_timeout(properties: &Value) -> Option<Duration> {
    valid_scalar(properties, SERVICE_TIMEOUT)?
        .parse()
        .ok()
        .map(Duration::from_secs)
}

/// The `ImageName` of `properties` when it is valid, whatever else is wrong
/// with them: a Delete checks nothing else.
pub(crate) fn image_name(properties: &Value) -> Option<String> {
    valid_scalar(properties, IMAGE_NAME)
}

/// One scalar property, read and checked on its own.
fn valid_scalar(properties: &Value, name: &'static str) -> Option<String> {
    let Value::Object(map) = properties else {
        return None;
    };
    let mut reader = Reader {
        map,
        errors: Vec::new(),
    };
    reader.scalar(name, table::find(name).expect("a row of the table").kind, false)
}

/// The alias changes that bring `current` to `wanted`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AliasDiff {
    pub(crate) to_add: Vec<String>,
    pub(crate) to_delete: Vec<String>,
}

impl AliasDiff {
    pub(crate) fn between(wanted: &BTreeSet<String>, current: &BTreeSet<String>) -> Self {
        AliasDiff {
            to_add: wanted.difference(current).cloned().collect(),
            to_delete: current.difference(wanted).cloned().collect(),
        }
    }
}

struct Reader<'a> {
    map: &'a Map<String, Value>,
    errors: Vec<PropertyError>,
}

impl Reader<'_> {
    /// A checked scalar as a string: CloudFormation stringifies scalars,
    /// local events often do not. `null` counts as absent.
    fn scalar(&mut self, property: &'static str, kind: Kind, required: bool) -> Option<String> {
        let value = match self.map.get(property) {
            None | Some(Value::Null) => {
                if required {
                    self.errors.push(PropertyError::Missing(property));
                }
                return None;
            }
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(other) => {
                self.errors.push(PropertyError::WrongType {
                    property,
                    expected: "a string",
                    found: json_type(other),
                });
                return None;
            }
        };
        let checked = match kind {
            Kind::Boolean => ["true", "false"]
                .into_iter()
                .find(|b| value.eq_ignore_ascii_case(b))
                .map(str::to_owned)
                .ok_or_else(|| "true or false".to_owned()),
            kind => rules::check(kind, &value).map(|()| value.clone()),
        };
        checked
            .map_err(|allowed| {
                self.errors.push(PropertyError::Invalid {
                    property,
                    value: Shown::of(&value),
                    allowed,
                })
            })
            .ok()
    }

    fn aliases(&mut self, property: &'static str) -> BTreeSet<String> {
        let mut aliases = BTreeSet::new();
        let wrong_type = |found| PropertyError::WrongType {
            property,
            expected: "a list of strings",
            found,
        };
        let items = match self.map.get(property) {
            None | Some(Value::Null) => return aliases,
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.errors.push(wrong_type(json_type(other)));
                return aliases;
            }
        };
        for item in items {
            let alias = match item {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => {
                    self.errors.push(wrong_type(json_type(other)));
                    continue;
                }
            };
            if let Err(allowed) = rules::check(Kind::AliasList, &alias) {
                self.errors.push(PropertyError::Invalid {
                    property,
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

#[cfg(test)]
mod proptests;

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
        assert_eq!(props.image_name(), "my-image.v2");
        assert_eq!(props.region(), Some("eu-west-1"));
        assert_eq!(props.aliases.len(), 2);
        assert_eq!(props.metadata.get("Horovod"), Some("true"));
        assert_eq!(props.metadata.get("ProgrammingLang"), Some("Python 3.11.9"));
    }

    #[test]
    fn native_json_scalars_are_accepted() {
        let props =
            parse(json!({"ImageName": "img", "BaseImage": "b", "Horovod": false, "ServiceTimeout": 300})).unwrap();
        assert_eq!(props.metadata.get("Horovod"), Some("false"));
        let numeric = parse(json!({"ImageName": 123, "BaseImage": "b"})).unwrap();
        assert_eq!(numeric.image_name(), "123");
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
                "JobType has invalid value \"training\": allowed is one of INFERENCE, NOTEBOOK_KERNEL, TRAINING"
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
    fn each_rule_says_what_is_allowed() {
        for (property, value, allowed) in [
            ("ImageName", json!("-img"), "([-.]?[a-zA-Z0-9]){0,62}"),
            ("BaseImage", json!("x".repeat(256)), "1 to 255 characters (got 256)"),
            ("Aliases", json!([".hidden"]), "not starting with '-' or '.'"),
            (
                "Aliases",
                json!([{"Name": "latest"}]),
                "Aliases must be a list of strings, not an object",
            ),
            (
                "Aliases",
                json!("latest"),
                "Aliases must be a list of strings, not a string",
            ),
            ("MLFramework", json!("PyTorch"), "[a-zA-Z]+ ?\\d+\\.\\d+(\\.\\d+)?"),
            ("ReleaseNotes", json!(""), "1 to 255 characters (got 0)"),
            ("ReleaseNotes", json!("n".repeat(256)), "1 to 255 characters (got 256)"),
            ("Region", json!("useast1"), "an AWS region name"),
            ("Region", json!("mars"), "an AWS region name"),
            ("ExistingVersion", json!("0"), "a whole number from 1"),
            ("ProgrammingLang", json!("python"), "invalid value \"python\""),
            (
                "Horovod",
                json!("yes"),
                "invalid value \"yes\": allowed is true or false",
            ),
        ] {
            let mut props = json!({"ImageName": "img", "BaseImage": "b"});
            props[property] = value.clone();
            let reason = reason(props);
            assert!(
                reason.contains(&format!("property {property} ")),
                "{property} = {value}: {reason}"
            );
            assert!(
                reason.contains(allowed),
                "{property} = {value}: {reason} lacks {allowed}"
            );
        }
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
    fn alias_diff_adds_and_deletes() {
        let wanted: BTreeSet<String> = ["a", "b"].map(String::from).into();
        let current: BTreeSet<String> = ["b", "c"].map(String::from).into();
        let diff = AliasDiff::between(&wanted, &current);
        assert_eq!(diff.to_add, vec!["a"]);
        assert_eq!(diff.to_delete, vec!["c"]);
    }
}
