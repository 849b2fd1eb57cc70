//! The response bucket: what an S3 pre-signed PUT gets, and what the tests and scripts see.

use std::time::Duration;

use standins::ResponseReceiver;

use crate::client::*;

const ANSWER: &[u8] = br#"{"Status":"SUCCESS","RequestId":"req-1","PhysicalResourceId":"p"}"#;

/// Splits an issued URL into (host, request target).
fn split(url: &str) -> (String, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let i = rest.find('/').unwrap();
    (rest[..i].to_string(), rest[i..].to_string())
}

/// A receiver, and the host and request target of the URL it issued for `request_id`.
async fn receiver_for(request_id: &str) -> (ResponseReceiver, String, String) {
    let rx = ResponseReceiver::start().await;
    let (host, target) = split(&rx.response_url(request_id));
    (rx, host, target)
}

/// Asserts S3's XML error `code`, answered with `status`.
fn assert_s3_error(r: &RawResponse, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert!(r.text().contains(&format!("<Code>{code}</Code>")), "{}", r.text());
}

/// PUTs the answer to `target`, with nothing but the headers S3 requires.
async fn put(host: &str, target: &str) -> RawResponse {
    request(host, "PUT", target, &[], ANSWER).await
}

#[tokio::test]
async fn issued_url_is_accepted_byte_for_byte() {
    let rx = ResponseReceiver::start().await;
    let url = rx.response_url("req-1");
    assert!(url.starts_with(&format!("{}/cloudformation-custom-resource-response-useast1/arn%3Aaws%3Acloudformation%3Aus-east-1%3A123456789012%3Astack/demo/1a2b%7CImageVersion%7Creq-1?X-Amz-Algorithm=AWS4-HMAC-SHA256&", rx.endpoint())), "{url}");
    let sig = url.rsplit("X-Amz-Signature=").next().unwrap();
    assert_eq!(sig.len(), 64);
    assert!(sig.bytes().all(|b| b.is_ascii_hexdigit()));
    let (host, target) = split(&url);
    let r = put(&host, &target).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.body.is_empty());
    let put = rx.wait_for("req-1", Duration::from_secs(1)).await.expect("accepted");
    assert_eq!(put.body_json().unwrap()["Status"], "SUCCESS");
    assert_eq!(put.status, 200);
    assert_eq!(put.path, target.split('?').next().unwrap());
    assert_eq!(put.header("content-length"), Some(ANSWER.len().to_string().as_str()));
    assert_eq!(rx.count_for("req-1"), 1);
    assert_eq!(rx.accepted().len(), 1);
}

#[tokio::test]
async fn content_type_is_refused_with_signature_mismatch() {
    let (rx, host, target) = receiver_for("req-ct").await;
    let r = request(&host, "PUT", &target, &[("Content-Type", "application/json")], ANSWER).await;
    assert_s3_error(&r, 403, "SignatureDoesNotMatch");
    // an empty Content-Type is fine
    let r = request(&host, "PUT", &target, &[("Content-Type", "")], ANSWER).await;
    assert_eq!(r.status, 200);
    assert_eq!(rx.count_for("req-ct"), 2);
    assert_eq!(rx.accepted_count_for("req-ct"), 1);
    assert_eq!(rx.puts()[0].status, 403);
}

#[tokio::test]
async fn chunked_is_not_implemented_length_is_required_and_only_put_is_allowed() {
    let (rx, host, target) = receiver_for("req-te").await;
    let r = request(&host, "PUT", &target, &[("Transfer-Encoding", "chunked")], ANSWER).await;
    assert_s3_error(&r, 501, "NotImplemented");
    let r = request(&host, "PUT", &target, &[("x-no-content-length", "")], b"").await;
    assert_s3_error(&r, 411, "MissingContentLength");
    let r = request(&host, "POST", &target, &[], ANSWER).await;
    assert_s3_error(&r, 405, "MethodNotAllowed");
    assert!(rx.wait_for("req-te", Duration::from_millis(50)).await.is_none());
    assert_eq!(
        rx.puts().iter().map(|p| p.status).collect::<Vec<_>>(),
        vec![501, 411, 405]
    );
}

#[tokio::test]
async fn re_encoded_path_or_changed_query_is_refused() {
    let (rx, host, target) = receiver_for("req-enc").await;
    let (path, query) = target.split_once('?').unwrap();
    // decoded path (what a URL re-serialiser might send)
    let decoded = path.replace("%3A", ":").replace("%2F", "/").replace("%7C", "|");
    let r = request(&host, "PUT", &format!("{decoded}?{query}"), &[], ANSWER).await;
    assert_eq!(r.status, 403, "decoded path must be refused");
    // lower-case escapes are a different byte string too
    let lower = path.replace("%3A", "%3a");
    let r = request(&host, "PUT", &format!("{lower}?{query}"), &[], ANSWER).await;
    assert_eq!(r.status, 403);
    // query decoded
    let r = request(
        &host,
        "PUT",
        &format!("{path}?{}", query.replace("%2F", "/")),
        &[],
        ANSWER,
    )
    .await;
    assert_eq!(r.status, 403);
    // query missing
    let r = request(&host, "PUT", path, &[], ANSWER).await;
    assert_s3_error(&r, 403, "SignatureDoesNotMatch");
    assert!(rx.accepted().is_empty());
    assert_eq!(rx.count_for("req-enc"), 4);
}

#[tokio::test]
async fn hand_made_paths_are_accepted() {
    let rx = ResponseReceiver::start().await;
    let host = host_of(&rx.endpoint());
    let r = request(&host, "PUT", "/anything/at/all/req-hand?x=1", &[], ANSWER).await;
    assert_eq!(r.status, 200);
    let put = rx.wait_for("req-hand", Duration::from_secs(1)).await.unwrap();
    assert_eq!(put.query, "x=1");
    assert_eq!(put.path, "/anything/at/all/req-hand");
}

#[tokio::test]
async fn armed_failures_and_hangs_answer_the_next_puts_in_order() {
    let (rx, host, target) = receiver_for("req-f").await;
    rx.fail_next(2, 500);
    rx.fail_next(1, 403);
    assert_eq!(put(&host, &target).await.status, 500);
    assert_eq!(put(&host, &target).await.status, 500);
    let r = put(&host, &target).await;
    assert_s3_error(&r, 403, "AccessDenied");
    rx.hang_next(1);
    let raw = build_request("PUT", &host, &target, &[], ANSWER);
    let waited = tokio::time::timeout(Duration::from_millis(300), send_raw(&host, &raw)).await;
    assert!(waited.is_err(), "a hung PUT must not be answered");
    assert_eq!(put(&host, &target).await.status, 200);
    assert_eq!(rx.count_for("req-f"), 5);
    assert_eq!(
        rx.puts().iter().map(|p| p.status).collect::<Vec<_>>(),
        vec![500, 500, 403, 0, 200]
    );
    assert!(rx.wait_for("req-f", Duration::from_secs(1)).await.is_some());
}

#[tokio::test]
async fn wait_for_is_woken_by_a_later_put() {
    let (rx, host, target) = receiver_for("req-w").await;
    let waiter = {
        let rx = rx.clone();
        tokio::spawn(async move { rx.wait_for("req-w", Duration::from_secs(5)).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(put(&host, &target).await.status, 200);
    let put = tokio::time::timeout(Duration::from_secs(2), waiter)
        .await
        .unwrap()
        .unwrap();
    assert!(put.is_some());
}

#[tokio::test]
async fn the_admin_api_waits_for_an_accepted_put_and_lists_every_put() {
    let rx = ResponseReceiver::start().await;
    let host = host_of(&rx.endpoint());
    let (_, target) = split(&rx.response_url("req-a"));
    rx.fail_next(1, 503);
    assert_eq!(put(&host, &target).await.status, 503);
    let r = request(&host, "GET", "/_receiver/wait?request_id=req-a&timeout_ms=50", &[], b"").await;
    assert_eq!(r.status, 404);
    assert_eq!(put(&host, &target).await.status, 200);
    let r = request(
        &host,
        "GET",
        "/_receiver/wait?request_id=req-a&timeout_ms=1000",
        &[],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    let put = r.json();
    assert_eq!(put["Status"], 200);
    assert_eq!(put["Body"], String::from_utf8_lossy(ANSWER).as_ref());
    assert!(put["Path"].as_str().unwrap().ends_with("req-a"));
    assert!(put["Query"].as_str().unwrap().starts_with("X-Amz-Algorithm="));
    let all = request(&host, "GET", "/_receiver/puts", &[], b"").await.json();
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_eq!(all[0]["Status"], 503);
    assert!(all[0]["Headers"].is_object());
}

#[tokio::test]
async fn the_admin_api_clears_the_puts_so_a_resent_event_waits_for_its_new_answer() {
    let rx = ResponseReceiver::start().await;
    let host = host_of(&rx.endpoint());
    let (_, target) = split(&rx.response_url("req-a"));
    assert_eq!(put(&host, &target).await.status, 200);
    assert_eq!(request(&host, "POST", "/_receiver/clear", &[], b"").await.status, 200);
    assert_eq!(
        request(&host, "GET", "/_receiver/puts", &[], b"").await.json(),
        serde_json::json!([])
    );
    let r = request(&host, "GET", "/_receiver/wait?request_id=req-a&timeout_ms=50", &[], b"").await;
    assert_eq!(r.status, 404, "the earlier answer is gone");
}
