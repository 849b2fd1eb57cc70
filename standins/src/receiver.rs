//! The CloudFormation response bucket: behaves like S3 answering a pre-signed PUT.
//!
//! URLs issued by [`ResponseReceiver::response_url`] are checked byte for byte: a
//! PUT whose raw path decodes to an issued path but is spelled differently, or
//! whose query differs, gets S3's 403 `SignatureDoesNotMatch`. Any other path is
//! accepted (for hand-made events) and recorded.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use serde_json::{Value, json};

use crate::http::{self, Abort, Body, Reply};
use crate::server::{self, Armed, Listen, Server, Shared};

/// The logical resource id used in issued URLs.
pub const DEFAULT_LOGICAL_ID: &str = "ImageVersion";

/// The stack ARN used in issued URLs.
pub const STACK_ARN: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/demo/1a2b";

/// One request received by the bucket (accepted or refused).
#[derive(Clone, Debug)]
pub struct Put {
    pub method: String,
    /// Raw request path, exactly as received (not decoded).
    pub path: String,
    /// Raw query string (without `?`), empty when none.
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Status the receiver answered (0 for a hung request).
    pub status: u16,
    pub at: Instant,
}

impl Put {
    /// Parses the body as JSON.
    pub fn body_json(&self) -> serde_json::Result<Value> {
        serde_json::from_slice(&self.body)
    }

    /// The body as (lossy) text.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// First header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether this request is for `request_id` (raw or decoded path ends with it).
    pub fn is_for(&self, request_id: &str) -> bool {
        self.path.ends_with(request_id) || http::percent_decode(&self.path).ends_with(request_id)
    }

    fn to_json(&self) -> Value {
        let headers: serde_json::Map<String, Value> = self.headers.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        json!({
            "Method": self.method,
            "Path": self.path,
            "Query": self.query,
            "Headers": headers,
            "Body": self.body_text(),
            "Status": self.status,
        })
    }
}

struct Issued {
    request_id: String,
    query: String,
}

#[derive(Default)]
struct State {
    puts: Vec<Put>,
    /// raw path → issued URL
    issued: HashMap<String, Issued>,
    /// decoded path → raw path
    issued_decoded: HashMap<String, String>,
    fail: Armed<u16>,
    hang: u32,
}

impl State {
    /// Forgets the PUTs received, so that a resent event waits for its new
    /// answer; what was issued and armed stays.
    fn clear(&mut self) {
        self.puts.clear();
    }
}

/// The response bucket. Cheap to clone; the server stops when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct ResponseReceiver {
    server: Server<State>,
}

impl ResponseReceiver {
    /// Starts on `127.0.0.1:0`. Panics if it cannot bind.
    pub async fn start() -> ResponseReceiver {
        server::start_on_loopback("response receiver", Self::start_on).await
    }

    /// Starts on `listen` (an address, or `TestCa::listen` for https: then the
    /// issued URLs are `https://` ones).
    pub async fn start_on(listen: impl Into<Listen>) -> std::io::Result<ResponseReceiver> {
        let server = Server::start("receiver", listen.into(), State::default(), handle)?;
        Ok(ResponseReceiver { server })
    }

    /// `http://127.0.0.1:PORT` (or `https://`).
    pub fn endpoint(&self) -> String {
        self.server.endpoint()
    }

    /// A pre-signed-looking URL for `request_id` (logical id [`DEFAULT_LOGICAL_ID`]).
    pub fn response_url(&self, request_id: &str) -> String {
        self.response_url_for(DEFAULT_LOGICAL_ID, request_id)
    }

    /// A pre-signed-looking URL for `request_id` and `logical_id`, shaped like the ones
    /// CloudFormation issues (percent-encoded path, SigV4 query parameters).
    pub fn response_url_for(&self, logical_id: &str, request_id: &str) -> String {
        let key = format!("{STACK_ARN}|{logical_id}|{request_id}");
        let path = format!(
            "/cloudformation-custom-resource-response-useast1/{}",
            http::percent_encode_path(&key)
        );
        let query = format!(
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261127T000000Z&X-Amz-SignedHeaders=host&X-Amz-Expires=7200&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261127%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature={}",
            http::hex64(request_id)
        );
        let mut st = self.server.lock();
        st.issued_decoded.insert(http::percent_decode(&path), path.clone());
        st.issued.insert(
            path.clone(),
            Issued {
                request_id: request_id.to_string(),
                query: query.clone(),
            },
        );
        format!("{}{path}?{query}", self.endpoint())
    }

    /// Answers `status` (e.g. 500, 403, 503) to the next `n` PUTs.
    pub fn fail_next(&self, n: u32, status: u16) {
        self.server.lock().fail.arm(status, n);
    }

    /// Never answers the next `n` PUTs (holds the connection until the client goes away).
    pub fn hang_next(&self, n: u32) {
        self.server.lock().hang += n;
    }

    /// Every request received (admin routes excepted), in order.
    pub fn puts(&self) -> Vec<Put> {
        self.server.lock().puts.clone()
    }

    /// The requests answered 200.
    pub fn accepted(&self) -> Vec<Put> {
        self.server
            .lock()
            .puts
            .iter()
            .filter(|p| p.status == 200)
            .cloned()
            .collect()
    }

    /// Number of requests (any status) for `request_id`.
    pub fn count_for(&self, request_id: &str) -> usize {
        self.server.lock().puts.iter().filter(|p| p.is_for(request_id)).count()
    }

    /// Number of accepted (200) requests for `request_id`.
    pub fn accepted_count_for(&self, request_id: &str) -> usize {
        self.server
            .lock()
            .puts
            .iter()
            .filter(|p| p.status == 200 && p.is_for(request_id))
            .count()
    }

    pub fn clear(&self) {
        self.server.lock().clear();
    }

    /// Waits for the first accepted PUT for `request_id` (path ending with it).
    pub async fn wait_for(&self, request_id: &str, timeout: Duration) -> Option<Put> {
        wait_for(self.server.shared(), request_id, timeout).await
    }
}

async fn wait_for(inner: &Shared<State>, request_id: &str, timeout: Duration) -> Option<Put> {
    let deadline = tokio::time::Instant::now() + timeout;
    let accepted = |st: &mut State| {
        st.puts
            .iter()
            .find(|p| p.status == 200 && p.is_for(request_id))
            .cloned()
    };
    inner.wait_until(Some(deadline), accepted).await
}

fn s3_error(status: u16, code: &str, message: &str, extra: &str) -> Response<Body> {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message>{extra}<RequestId>{}</RequestId></Error>",
        &http::hex64(&http::new_id())[..16].to_uppercase()
    );
    http::response(status, &[("content-type", "application/xml")], xml)
}

fn signature_mismatch() -> Response<Body> {
    s3_error(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        "",
    )
}

async fn handle(inner: Arc<Shared<State>>, req: Request<Incoming>) -> Reply {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    if path.starts_with("/_receiver/") {
        return Ok(admin(&inner, req.method(), &path, &query).await);
    }
    let method = req.method().clone();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let content_type = header("content-type");
    let chunked = header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let has_length = header("content-length").is_some();
    let body = http::read_body(req.into_body()).await.to_vec();

    let (reply, hang) = {
        let mut st = inner.lock();
        let mut hang = false;
        let reply = if method != Method::PUT {
            s3_error(
                405,
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
                &format!("<Method>{method}</Method><ResourceType>OBJECT</ResourceType>"),
            )
        } else if let Some(status) = st.fail.draw() {
            let (code, message) = match status {
                403 => ("AccessDenied", "Access Denied"),
                404 => ("NoSuchKey", "The specified key does not exist."),
                503 => ("SlowDown", "Please reduce your request rate."),
                _ => ("InternalError", "We encountered an internal error. Please try again."),
            };
            s3_error(status, code, message, "")
        } else if st.hang > 0 {
            st.hang -= 1;
            hang = true;
            http::response(200, &[], "")
        } else if content_type.as_deref().is_some_and(|v| !v.is_empty()) {
            signature_mismatch()
        } else if chunked {
            s3_error(
                501,
                "NotImplemented",
                "A header you provided implies functionality that is not implemented",
                "<Header>Transfer-Encoding</Header>",
            )
        } else if !has_length {
            s3_error(
                411,
                "MissingContentLength",
                "You must provide the Content-Length HTTP header.",
                "",
            )
        } else if let Some(issued) = st.issued.get(&path) {
            if issued.query != query {
                signature_mismatch()
            } else {
                accepted_reply(&issued.request_id)
            }
        } else if st.issued_decoded.contains_key(&http::percent_decode(&path)) {
            // An issued URL whose path was re-encoded or decoded on the way.
            signature_mismatch()
        } else {
            accepted_reply("")
        };
        st.puts.push(Put {
            method: method.to_string(),
            path,
            query,
            headers,
            body,
            status: if hang { 0 } else { reply.status().as_u16() },
            at: Instant::now(),
        });
        (reply, hang)
    };
    inner.changed.notify_waiters();
    if hang {
        tokio::time::sleep(http::HANG_FOR).await;
        return Err(Abort);
    }
    Ok(reply)
}

fn accepted_reply(seed: &str) -> Response<Body> {
    let etag = format!("\"{}\"", &http::hex64(seed)[..32]);
    http::response(200, &[("etag", &etag), ("x-amz-request-id", &http::new_id())], "")
}

/// The routes the scripts read the bucket through (`standins serve` runs in another process).
async fn admin(inner: &Shared<State>, method: &Method, path: &str, query: &str) -> Response<Body> {
    match (method, path) {
        (&Method::GET, "/_receiver/puts") => {
            let puts: Vec<Value> = inner.lock().puts.iter().map(Put::to_json).collect();
            http::json_response(200, &Value::Array(puts))
        }
        (&Method::GET, "/_receiver/wait") => {
            let Some(id) = http::query_param(Some(query), "request_id") else {
                return http::json_response(400, &json!({"message": "request_id is required"}));
            };
            let ms = http::query_param(Some(query), "timeout_ms")
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(30_000);
            match wait_for(inner, &id, Duration::from_millis(ms)).await {
                Some(p) => http::json_response(200, &p.to_json()),
                None => http::json_response(404, &json!({"message": format!("no accepted PUT for {id}")})),
            }
        }
        (&Method::POST, "/_receiver/clear") => {
            inner.lock().clear();
            http::json_response(200, &json!({"cleared": true}))
        }
        _ => http::json_response(404, &json!({"message": format!("no admin route {method} {path}")})),
    }
}
