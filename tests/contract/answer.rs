//! An answer as the response bucket received it, and what every answer must be.

use serde_json::Value;
use standins::Put;
use standins::arbitrary::holds_null;

#[derive(Debug, Clone)]
pub struct Answer {
    pub put: Put,
    pub body: Value,
}

impl From<Put> for Answer {
    fn from(put: Put) -> Self {
        let body = put.body_json().expect("the answer is JSON");
        Answer { put, body }
    }
}

impl Answer {
    pub fn status(&self) -> &str {
        self.body["Status"].as_str().unwrap_or_default()
    }

    pub fn reason(&self) -> &str {
        self.body["Reason"].as_str().unwrap_or_default()
    }

    pub fn physical_id(&self) -> &str {
        self.body["PhysicalResourceId"].as_str().unwrap_or_default()
    }

    pub fn data(&self, key: &str) -> &str {
        self.body["Data"][key].as_str().unwrap_or_default()
    }

    pub fn assert_success(&self) -> &Self {
        assert_eq!(self.status(), "SUCCESS", "{:#}", self.body);
        self
    }

    pub fn assert_failed_with(&self, needle: &str) -> &Self {
        assert_eq!(self.status(), "FAILED", "{:#}", self.body);
        assert!(
            self.reason().contains(needle),
            "Reason {:?} lacks {needle:?}",
            self.reason()
        );
        self
    }

    /// A well-formed answer to `event`, as CloudFormation and S3 read it: the
    /// ids copied verbatim (an id that is not text is sent as ""), no null,
    /// at most 4096 bytes of UTF-8 in one PUT with a byte Content-Length and
    /// an empty Content-Type.
    pub fn assert_well_formed(&self, event: &Value) {
        for key in ["StackId", "RequestId", "LogicalResourceId"] {
            let sent = event.get(key).and_then(Value::as_str).unwrap_or_default();
            assert_eq!(self.body[key].as_str(), Some(sent), "{key} is copied verbatim");
        }
        assert!(!holds_null(&self.body), "no null values: {:#}", self.body);
        std::str::from_utf8(&self.put.body).expect("the body is UTF-8");
        assert!(self.put.body.len() <= 4096, "{} bytes", self.put.body.len());
        assert_eq!(self.put.method, "PUT");
        let length = self.put.body.len().to_string();
        assert_eq!(self.put.header("content-length"), Some(length.as_str()));
        assert_eq!(self.put.header("content-type").unwrap_or_default(), "");
        assert!(self.put.header("transfer-encoding").is_none());
    }
}
