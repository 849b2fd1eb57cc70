//! Reading and validating request members, with the messages and constraints
//! SageMaker reports: a missing or malformed member is a `ValidationException`,
//! a member of the wrong JSON type a `SerializationException`.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use super::errors::ApiError;
use super::state::Meta;

static IMAGE_NAME_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9](?:[-.]?[a-zA-Z0-9]){0,62}$").unwrap());
static FRAMEWORK_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z]+ ?[0-9]+\.[0-9]+(?:\.[0-9]+)?$").unwrap());
static CLIENT_TOKEN_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9-]+$").unwrap());

pub(crate) struct Input<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Input<'a> {
    pub(crate) fn parse(body: &'a Value) -> Result<Input<'a>, ApiError> {
        match body {
            Value::Object(map) => Ok(Input { map }),
            Value::String(_) => Err(ApiError::not_an_object("The request body is not valid JSON")),
            _ => Err(ApiError::not_an_object("Expected a JSON object as the request body")),
        }
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    fn string(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::wrong_type(name, "a string")),
        }
    }

    fn required(&self, name: &str) -> Result<String, ApiError> {
        self.string(name)?.ok_or_else(|| ApiError::missing(name))
    }

    fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) if i32::try_from(i).is_ok() => Ok(Some(i)),
                _ => Err(ApiError::wrong_type(name, "an integer")),
            },
            Some(_) => Err(ApiError::wrong_type(name, "an integer")),
        }
    }

    fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(ApiError::wrong_type(name, "a boolean")),
        }
    }

    fn string_list(&self, name: &str) -> Result<Option<Vec<String>>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(ApiError::wrong_type(name, "a list of strings")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(ApiError::wrong_type(name, "a list")),
        }
    }

    /// `BaseImage`: 1-255 characters, not all blank.
    pub(crate) fn base_image(&self) -> Result<String, ApiError> {
        let base_image = self.required("BaseImage")?;
        check_len(&base_image, "BaseImage", 1, 255)?;
        if base_image.trim().is_empty() {
            return Err(ApiError::constraint(
                &base_image,
                "BaseImage",
                "satisfy regular expression pattern: .*\\S.*",
            ));
        }
        Ok(base_image)
    }

    /// `ClientToken`: 1-36 characters from `[a-zA-Z0-9-]`.
    pub(crate) fn client_token(&self) -> Result<String, ApiError> {
        let token = self.required("ClientToken")?;
        check_len(&token, "ClientToken", 1, 36)?;
        check_pattern(&token, "ClientToken", &CLIENT_TOKEN_RE, "^[a-zA-Z0-9-]+$")?;
        Ok(token)
    }

    pub(crate) fn image_name(&self) -> Result<String, ApiError> {
        let name = self.required("ImageName")?;
        check_len(&name, "ImageName", 1, 63)?;
        check_pattern(
            &name,
            "ImageName",
            &IMAGE_NAME_RE,
            r"^[a-zA-Z0-9]([-.]?[a-zA-Z0-9]){0,62}$",
        )?;
        Ok(name)
    }

    pub(crate) fn version(&self) -> Result<Option<u32>, ApiError> {
        match self.int("Version")? {
            None => Ok(None),
            Some(v) if v >= 1 => Ok(Some(v as u32)),
            Some(v) => Err(ApiError::constraint(
                &v.to_string(),
                "Version",
                "have value greater than or equal to 1",
            )),
        }
    }

    pub(crate) fn alias(&self, name: &str) -> Result<Option<String>, ApiError> {
        let alias = self.string(name)?;
        if let Some(a) = &alias {
            check_alias(a, name)?;
        }
        Ok(alias)
    }

    pub(crate) fn alias_list(&self, name: &str) -> Result<Vec<String>, ApiError> {
        let list = self.string_list(name)?.unwrap_or_default();
        let mut seen = BTreeSet::new();
        for (i, a) in list.iter().enumerate() {
            check_alias(a, &format!("{name}.{}.member", i + 1))?;
            if !seen.insert(a.as_str()) {
                return Err(ApiError::validation(format!("Duplicate alias '{a}' in {name}")));
            }
        }
        Ok(list)
    }

    pub(crate) fn max_results(&self) -> Result<usize, ApiError> {
        match self.int("MaxResults")? {
            None => Ok(100),
            Some(n) if (1..=100).contains(&n) => Ok(n as usize),
            Some(n) => Err(ApiError::constraint(
                &n.to_string(),
                "MaxResults",
                "have value between 1 and 100",
            )),
        }
    }

    pub(crate) fn next_token(&self, kind: &str) -> Result<usize, ApiError> {
        let Some(token) = self.string("NextToken")? else {
            return Ok(0);
        };
        check_len(&token, "NextToken", 0, 8192)?;
        token
            .strip_prefix(kind)
            .and_then(|rest| rest.strip_prefix('-'))
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| ApiError::validation(format!("Invalid pagination token '{token}' for NextToken")))
    }

    pub(crate) fn meta(&self) -> Result<Meta, ApiError> {
        let enum_member = |name: &str, allowed: &[&str]| -> Result<Option<String>, ApiError> {
            let v = self.string(name)?;
            if let Some(s) = &v
                && !allowed.contains(&s.as_str())
            {
                return Err(ApiError::constraint(
                    s,
                    name,
                    &format!("satisfy enum value set: [{}]", allowed.join(", ")),
                ));
            }
            Ok(v)
        };
        let framework = |name: &str| -> Result<Option<String>, ApiError> {
            let v = self.string(name)?;
            if let Some(s) = &v {
                check_len(s, name, 1, 128)?;
                check_pattern(s, name, &FRAMEWORK_RE, r"^[a-zA-Z]+ ?\d+\.\d+(\.\d+)?$")?;
            }
            Ok(v)
        };
        let release_notes = self.string("ReleaseNotes")?;
        if let Some(s) = &release_notes {
            check_len(s, "ReleaseNotes", 1, 255)?;
        }
        Ok(Meta {
            vendor_guidance: enum_member(
                "VendorGuidance",
                &["NOT_PROVIDED", "STABLE", "TO_BE_ARCHIVED", "ARCHIVED"],
            )?,
            job_type: enum_member("JobType", &["TRAINING", "INFERENCE", "NOTEBOOK_KERNEL"])?,
            ml_framework: framework("MLFramework")?,
            programming_lang: framework("ProgrammingLang")?,
            processor: enum_member("Processor", &["CPU", "GPU"])?,
            horovod: self.boolean("Horovod")?,
            release_notes,
        })
    }
}

fn check_len(value: &str, member: &str, min: usize, max: usize) -> Result<(), ApiError> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(ApiError::constraint(
            value,
            member,
            &format!("have length between {min} and {max}, inclusive"),
        ));
    }
    Ok(())
}

fn check_pattern(value: &str, member: &str, re: &Regex, shown: &str) -> Result<(), ApiError> {
    if !re.is_match(value) {
        return Err(ApiError::constraint(
            value,
            member,
            &format!("satisfy regular expression pattern: {shown}"),
        ));
    }
    Ok(())
}

/// Alias: 1-128 characters from `[a-zA-Z0-9-_.]`, not starting with `.` or `-`
/// (SageMaker's `(?!^[.-])^([a-zA-Z0-9-_.]+)$`).
fn check_alias(alias: &str, member: &str) -> Result<(), ApiError> {
    check_len(alias, member, 1, 128)?;
    let ok_chars = alias
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let ok_start = !alias.starts_with(['.', '-']);
    if !ok_chars || !ok_start {
        return Err(ApiError::constraint(
            alias,
            member,
            "satisfy regular expression pattern: (?!^[.-])^([a-zA-Z0-9-_.]+)$",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_1_to_128_word_characters_not_starting_with_a_dot_or_dash() {
        assert!(check_alias("latest", "Alias").is_ok());
        assert!(check_alias("v1.0_rc-2", "Alias").is_ok());
        assert!(check_alias("_x", "Alias").is_ok());
        assert!(check_alias(".x", "Alias").is_err());
        assert!(check_alias("-x", "Alias").is_err());
        assert!(check_alias("a b", "Alias").is_err());
        assert!(check_alias("", "Alias").is_err());
        assert!(check_alias(&"a".repeat(128), "Alias").is_ok());
        assert!(check_alias(&"a".repeat(129), "Alias").is_err());
    }

    #[test]
    fn image_names_and_frameworks_follow_sagemakers_patterns() {
        assert!(IMAGE_NAME_RE.is_match("my-image.v2"));
        assert!(!IMAGE_NAME_RE.is_match("my--image"));
        assert!(!IMAGE_NAME_RE.is_match("-image"));
        assert!(!IMAGE_NAME_RE.is_match("image-"));
        assert!(IMAGE_NAME_RE.is_match(&"a".repeat(63)));
        assert!(FRAMEWORK_RE.is_match("PyTorch 2.1"));
        assert!(FRAMEWORK_RE.is_match("Python3.10.4"));
        assert!(!FRAMEWORK_RE.is_match("PyTorch  2.1"));
        assert!(!FRAMEWORK_RE.is_match("PyTorch 2"));
    }
}
