//! A request's members, read once the service model has judged them
//! (`model`): types, required members and every constraint the model states
//! are checked there, so the readers here only read. What the model cannot
//! say stays here: no alias twice in one list, and the stand-in's own
//! pagination tokens.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::errors::ApiError;
use super::model::Model;
use super::state::Meta;

pub(crate) struct Input<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Input<'a> {
    /// The members of an `operation` request, if the model lets them through.
    pub(crate) fn parse(body: &'a Value, model: &Model, operation: &str) -> Result<Input<'a>, ApiError> {
        let map = match body {
            Value::Object(map) => map,
            Value::String(_) => return Err(ApiError::not_an_object("The request body is not valid JSON")),
            _ => return Err(ApiError::not_an_object("Expected a JSON object as the request body")),
        };
        model.judge(operation, map)?;
        Ok(Input { map })
    }

    /// JSON null is an absent member, as the model reads it.
    fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    fn string(&self, name: &str) -> Option<String> {
        self.get(name).and_then(Value::as_str).map(str::to_string)
    }

    fn required(&self, name: &str) -> String {
        self.string(name).expect("the model requires this member")
    }

    pub(crate) fn base_image(&self) -> String {
        self.required("BaseImage")
    }

    pub(crate) fn client_token(&self) -> String {
        self.required("ClientToken")
    }

    pub(crate) fn image_name(&self) -> String {
        self.required("ImageName")
    }

    /// The model bounds it (at least 0, and 32 bits on the wire).
    pub(crate) fn version(&self) -> Option<u32> {
        self.get("Version")
            .and_then(Value::as_u64)
            .and_then(|v| u32::try_from(v).ok())
    }

    pub(crate) fn alias(&self, name: &str) -> Option<String> {
        self.string(name)
    }

    /// An alias list holds no alias twice (the model does not say it).
    pub(crate) fn alias_list(&self, name: &str) -> Result<Vec<String>, ApiError> {
        let list: Vec<String> = self
            .get(name)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        let mut seen = BTreeSet::new();
        if let Some(a) = list.iter().find(|a| !seen.insert(a.as_str())) {
            return Err(ApiError::validation(format!("Duplicate alias '{a}' in {name}")));
        }
        Ok(list)
    }

    /// At most 100 a page when not given; the model bounds it to 1-100.
    pub(crate) fn max_results(&self) -> usize {
        self.get("MaxResults")
            .and_then(Value::as_u64)
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(100)
    }

    /// The offset a `NextToken` of this stand-in's (`<kind>-<offset>`) holds.
    pub(crate) fn next_token(&self, kind: &str) -> Result<usize, ApiError> {
        let Some(token) = self.string("NextToken") else {
            return Ok(0);
        };
        token
            .strip_prefix(kind)
            .and_then(|rest| rest.strip_prefix('-'))
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| ApiError::validation(format!("Invalid pagination token '{token}' for NextToken")))
    }

    pub(crate) fn meta(&self) -> Meta {
        Meta {
            vendor_guidance: self.string("VendorGuidance"),
            job_type: self.string("JobType"),
            ml_framework: self.string("MLFramework"),
            programming_lang: self.string("ProgrammingLang"),
            processor: self.string("Processor"),
            horovod: self.get("Horovod").and_then(Value::as_bool),
            release_notes: self.string("ReleaseNotes"),
        }
    }
}
