//! Request and response helpers shared by the stand-ins.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Response, StatusCode};

pub(crate) type Body = Full<Bytes>;

/// Returned by a handler to drop the connection without writing any response.
#[derive(Debug)]
pub(crate) struct Abort;

impl std::fmt::Display for Abort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection aborted on purpose")
    }
}

impl std::error::Error for Abort {}

pub(crate) type Reply = Result<Response<Body>, Abort>;

/// How long a "hang" holds a connection at most.
pub(crate) const HANG_FOR: Duration = Duration::from_secs(600);

/// Reads the whole request body (empty on error).
pub(crate) async fn read_body(body: Incoming) -> Bytes {
    match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => Bytes::new(),
    }
}

pub(crate) fn response(status: u16, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Response<Body> {
    let mut builder =
        Response::builder().status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    builder.body(Full::new(body.into())).expect("valid response")
}

pub(crate) fn json_response(status: u16, value: &serde_json::Value) -> Response<Body> {
    response(
        status,
        &[("content-type", "application/json")],
        serde_json::to_vec(value).unwrap_or_default(),
    )
}

/// An AWS error answer: the error code in `x-amzn-errortype` (which every AWS
/// SDK reads first) and a body in the service's own shape.
pub(crate) fn aws_error(status: u16, content_type: &str, code: &str, body: &serde_json::Value) -> Response<Body> {
    response(
        status,
        &[
            ("content-type", content_type),
            ("x-amzn-errortype", code),
            ("x-amzn-requestid", &new_id()),
        ],
        serde_json::to_vec(body).unwrap_or_default(),
    )
}

/// Percent-decodes `s` (bytes that do not form a valid escape are kept as is).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex_val(bytes[i + 1]), hex_val(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters and `/`
/// (the way S3 object keys appear in pre-signed URLs).
pub(crate) fn percent_encode_path(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Parses a query string into decoded pairs (`+` is a space).
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

/// A request header as text, when it is there and is text.
pub(crate) fn header<'a>(headers: &'a hyper::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(crate) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query_pairs(query).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// A simple deterministic 256-bit hash rendered as 64 lowercase hex characters
/// (four FNV-1a 64 lanes with different seeds; not cryptographic, just stable).
pub(crate) fn hex64(input: &str) -> String {
    let mut out = String::with_capacity(64);
    for lane in 0u64..4 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ lane.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for b in input.bytes().chain(lane.to_le_bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // final avalanche (splitmix64)
        h ^= h >> 30;
        h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^= h >> 27;
        h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^= h >> 31;
        out.push_str(&format!("{h:016x}"));
    }
    out
}

/// A fresh UUID-shaped identifier (unique within the process).
pub(crate) fn new_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let h = hex64(&format!("{nanos}-{n}-{}", std::process::id()));
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// Epoch milliseconds, as Lambda's Runtime API writes a deadline.
pub(crate) fn epoch_ms(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Epoch seconds with milliseconds, as AWS's JSON protocols write times.
pub(crate) fn epoch_secs(t: std::time::SystemTime) -> f64 {
    epoch_ms(t) as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_round_trip() {
        let key = "arn:aws:cloudformation:us-east-1:1:stack/demo/1a2b|Id|req 1";
        let enc = percent_encode_path(key);
        assert_eq!(
            enc,
            "arn%3Aaws%3Acloudformation%3Aus-east-1%3A1%3Astack/demo/1a2b%7CId%7Creq%201"
        );
        assert_eq!(percent_decode(&enc), key);
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("a%2fb"), "a/b");
    }

    #[test]
    fn query_parsing() {
        let q = Some("image=my%2Dimage&x=a+b&flag");
        assert_eq!(query_param(q, "image").as_deref(), Some("my-image"));
        assert_eq!(query_param(q, "x").as_deref(), Some("a b"));
        assert_eq!(query_param(q, "flag").as_deref(), Some(""));
        assert_eq!(query_param(None, "x"), None);
    }

    #[test]
    fn hashes_are_stable_hex() {
        let h = hex64("abc");
        assert_eq!(h.len(), 64);
        assert!(h.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(h, hex64("abc"));
        assert_ne!(h, hex64("abd"));
        assert_ne!(new_id(), new_id());
    }
}
