//! AWS JSON 1.1 answers: a success body, or an error as SageMaker encodes it
//! (`__type` and `message` in the body, `x-amzn-errortype` in the headers).

use serde_json::{Value, json};

use crate::http::{self, Reply};

const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

#[derive(Debug)]
pub(crate) struct ApiError {
    code: &'static str,
    message: String,
}

impl ApiError {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new("ResourceNotFound", message)
    }

    pub(crate) fn in_use(message: impl Into<String>) -> ApiError {
        ApiError::new("ResourceInUse", message)
    }

    pub(crate) fn validation(message: impl Into<String>) -> ApiError {
        ApiError::new("ValidationException", message)
    }

    /// The constraints a request broke, each as SageMaker words it
    /// (`Value 'x' at 'releaseNotes' failed to satisfy constraint: ...`).
    pub(crate) fn violations(violations: &[String]) -> ApiError {
        let n = violations.len();
        let plural = if n == 1 { "" } else { "s" };
        ApiError::validation(format!(
            "{n} validation error{plural} detected: {}",
            violations.join("; ")
        ))
    }

    /// A body that is not a JSON object.
    pub(crate) fn not_an_object(message: &str) -> ApiError {
        ApiError::new("SerializationException", message)
    }

    /// A member of the wrong JSON type, named by its path.
    pub(crate) fn wrong_type(member: &str, expected: &str) -> ApiError {
        ApiError::new(
            "SerializationException",
            format!("Unexpected value type for member '{member}': expected {expected}"),
        )
    }

    /// Only `InternalFailure` is the server's fault.
    fn status(&self) -> u16 {
        if self.code == "InternalFailure" { 500 } else { 400 }
    }

    pub(crate) fn reply(&self) -> Reply {
        let body = json!({"__type": self.code, "message": self.message});
        Ok(http::aws_error(self.status(), CONTENT_TYPE, self.code, &body))
    }
}

pub(crate) fn success(body: &Value) -> Reply {
    Ok(http::response(
        200,
        &[("content-type", CONTENT_TYPE), ("x-amzn-requestid", &http::new_id())],
        serde_json::to_vec(body).unwrap_or_default(),
    ))
}
