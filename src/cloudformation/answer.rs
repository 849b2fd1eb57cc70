//! The answer CloudFormation reads from the response bucket.

use std::collections::BTreeMap;

use serde::Serialize;
use tracing::{error, info, warn};

use super::event::Envelope;

/// CloudFormation refuses a larger answer ("Response object is too long").
pub(crate) const MAX_BODY_BYTES: usize = 4096;

/// The id of a Create that never got a version: not an ARN, so that the
/// rollback Delete succeeds without a SageMaker call.
pub(crate) fn placeholder_id(request_id: &str) -> String {
    let request: String = request_id.chars().take(64).collect();
    format!("no-image-version-{request}")
}

/// The id an answer keeps: the request's own, or for a request that has
/// none (a Create) or an empty one (CloudFormation refuses it), one that is
/// not an ARN.
pub(crate) fn kept_id(request_id: &str, physical_id: Option<&str>) -> String {
    physical_id
        .filter(|id| !id.is_empty())
        .map_or_else(|| placeholder_id(request_id), str::to_owned)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum Status {
    Success,
    Failed,
}

/// The body of the PUT. Absent fields are left out, never `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Answer {
    pub(crate) status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
    pub(crate) physical_resource_id: String,
    pub(crate) stack_id: String,
    pub(crate) request_id: String,
    pub(crate) logical_resource_id: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) data: BTreeMap<String, String>,
}

impl Answer {
    pub(crate) fn success(envelope: &Envelope, physical_resource_id: String, data: BTreeMap<String, String>) -> Self {
        Answer {
            status: Status::Success,
            reason: None,
            physical_resource_id: kept_id(&envelope.request_id, Some(&physical_resource_id)),
            stack_id: envelope.stack_id.clone(),
            request_id: envelope.request_id.clone(),
            logical_resource_id: envelope.logical_resource_id.clone(),
            data,
        }
    }

    pub(crate) fn failed(envelope: &Envelope, physical_resource_id: String, reason: String) -> Self {
        Answer {
            status: Status::Failed,
            reason: Some(reason),
            physical_resource_id: kept_id(&envelope.request_id, Some(&physical_resource_id)),
            stack_id: envelope.stack_id.clone(),
            request_id: envelope.request_id.clone(),
            logical_resource_id: envelope.logical_resource_id.clone(),
            data: BTreeMap::new(),
        }
    }

    /// The JSON body, within [`MAX_BODY_BYTES`] by shortening the Reason at a
    /// character boundary. Ids are copied verbatim and never cut: when they
    /// alone make the body too long, there is no body CloudFormation takes.
    /// The body, with the answer logged; `None` when no body CloudFormation
    /// takes can be made of it.
    pub(crate) fn logged_body(&self) -> Option<Vec<u8>> {
        match self.status {
            Status::Success => info!(physical_resource_id = %self.physical_resource_id, "SUCCESS"),
            Status::Failed => warn!(
                physical_resource_id = %self.physical_resource_id,
                reason = self.reason.as_deref().unwrap_or_default(),
                "FAILED"
            ),
        }
        self.body()
            .inspect_err(|e| error!(error = %e, "this event cannot be answered"))
            .ok()
    }

    pub(crate) fn body(&self) -> Result<Vec<u8>, TooLong> {
        let body = serde_json::to_vec(self).expect("an answer of strings always serializes");
        if body.len() <= MAX_BODY_BYTES {
            return Ok(body);
        }
        let Some(reason) = self.reason.as_deref() else {
            return Err(TooLong(body.len()));
        };
        const MARK: &str = " [...]";
        let mut shortened = Answer {
            reason: Some(String::new()),
            ..self.clone()
        };
        let without_reason = serde_json::to_vec(&shortened)
            .expect("an answer of strings always serializes")
            .len();
        if without_reason + MARK.len() > MAX_BODY_BYTES {
            return Err(TooLong(without_reason));
        }
        let mut room = MAX_BODY_BYTES - without_reason - MARK.len();
        let kept: String = reason
            .chars()
            .take_while(|c| match room.checked_sub(escaped_len(*c)) {
                Some(left) => {
                    room = left;
                    true
                }
                None => false,
            })
            .collect();
        shortened.reason = Some(kept + MARK);
        Ok(serde_json::to_vec(&shortened).expect("an answer of strings always serializes"))
    }
}

/// An answer whose ids alone take more than CloudFormation accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the answer would be {0} bytes even with no Reason, over CloudFormation's {MAX_BODY_BYTES}: the event's ids \
     are too long to copy"
)]
pub(crate) struct TooLong(usize);

/// The bytes `c` takes inside a JSON string as serde_json writes it.
fn escaped_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{08}' | '\u{0c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn envelope() -> Envelope {
        Envelope {
            request_id: "r".into(),
            stack_id: "s".into(),
            logical_resource_id: "L".into(),
            ..Envelope::default()
        }
    }

    #[test]
    fn success_has_no_reason_and_no_nulls() {
        let data = [("Version".to_owned(), "1".to_owned())].into();
        let body: Value =
            serde_json::from_slice(&Answer::success(&envelope(), "arn".into(), data).body().unwrap()).unwrap();
        assert_eq!(body["Status"], "SUCCESS");
        assert!(body.get("Reason").is_none());
        assert_eq!(body["Data"]["Version"], "1");
        assert!(!serde_json::to_string(&body).unwrap().contains("null"));
    }

    #[test]
    fn a_long_non_ascii_reason_is_cut_at_a_character_boundary() {
        let reason = "é\"\u{1F600}\n\u{1}".repeat(3000);
        let body = Answer::failed(&envelope(), "p".into(), reason).body().unwrap();
        assert!(body.len() <= MAX_BODY_BYTES, "{}", body.len());
        let parsed: Value = serde_json::from_slice(&body).unwrap();
        assert!(parsed["Reason"].as_str().unwrap().ends_with("[...]"));
        assert!(
            body.len() > MAX_BODY_BYTES - 16,
            "the Reason keeps as much as fits: {}",
            body.len()
        );
    }

    #[test]
    fn an_empty_id_is_answered_with_the_placeholder() {
        let answer = Answer::success(&envelope(), String::new(), BTreeMap::new());
        assert_eq!(answer.physical_resource_id, placeholder_id("r"));
    }

    #[test]
    fn ids_too_long_to_fit_give_no_body() {
        let mut long = envelope();
        long.stack_id = "s".repeat(MAX_BODY_BYTES);
        assert!(Answer::failed(&long, "p".into(), "why".into()).body().is_err());
        assert!(Answer::success(&long, "p".into(), BTreeMap::new()).body().is_err());
    }
}
