//! Hostile input: forged `ResponseURL`s, huge and deeply nested events,
//! every JSON type in every property, bytes that are not UTF-8 or not JSON.
//! Whatever arrives, the function process keeps running, sends nothing where
//! it must not, logs no `ResponseURL` query, and answers the next event.

use std::time::Duration;

use sagemaker_image_version::{CLOUDFORMATION_PROPERTIES, PROPERTIES};
use serde_json::{Value, json};
use standins::{Deadline, Outcome};

use crate::harness::{Harness, props, version_arn, with};

const SIGNATURE: &str = "forgedurlsignaturevalue0123456789abcdef";

async fn quick_harness() -> Harness {
    let h = Harness::start().await;
    h.sagemaker.set_delays(Duration::ZERO, Duration::ZERO);
    h
}

async fn invoke_bytes(h: &Harness, payload: Vec<u8>) -> Outcome {
    h.invoke_raw(payload, Deadline::In(Duration::from_secs(30))).await
}

/// An event with a forged `ResponseURL`: no PUT anywhere, no SageMaker call,
/// an error logged without the query, `Ok` to Lambda.
async fn assert_refused(h: &Harness, url: &str, logged: &str) {
    let mut event = h.create_event(props());
    event["ResponseURL"] = json!(url);
    let puts_before = h.receiver.puts().len();
    let outcome = invoke_bytes(h, serde_json::to_vec(&event).unwrap()).await;
    assert!(outcome.is_response(), "returns Ok to Lambda: {outcome:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let puts = h.receiver.puts();
    assert_eq!(puts.len(), puts_before, "nothing was sent: {puts:?}");
    assert!(
        h.sagemaker.calls().is_empty(),
        "no work for an event that cannot be answered"
    );
    let logs = h.function.logs();
    assert!(logs.contains("this event cannot be answered"), "{logs}");
    assert!(
        logs.contains(logged),
        "the error names the problem ({logged:?}):\n{logs}"
    );
    assert!(!logs.contains(SIGNATURE), "the query is not logged:\n{logs}");
    h.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_a_non_loopback_host_is_refused() {
    let h = quick_harness().await;
    // TEST-NET-1: never routed; refused before any connection.
    let url = format!("http://192.0.2.1/bucket/key?X-Amz-Signature={SIGNATURE}");
    assert_refused(&h, &url, "the ResponseURL must be https").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_info_in_the_url_is_refused() {
    let h = quick_harness().await;
    let receiver = h.receiver.endpoint();
    let url = receiver.replacen("://", "://user:hunter2@", 1) + &format!("/bucket/key?X-Amz-Signature={SIGNATURE}");
    assert_refused(&h, &url, "must not carry user credentials").await;
    assert!(!h.function.logs().contains("hunter2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_api_itself_is_refused() {
    let h = quick_harness().await;
    let address = h.runtime.address();
    let port = address.rsplit(':').next().unwrap().to_owned();
    for url in [
        format!("http://{address}/2018-06-01/runtime/invocation/x/response?X-Amz-Signature={SIGNATURE}"),
        format!("http://localhost:{port}/2018-06-01/runtime/invocation/x/error?X-Amz-Signature={SIGNATURE}"),
        format!("http://127.1:{port}/2018-06-01/runtime/init/error?X-Amz-Signature={SIGNATURE}"),
    ] {
        assert_refused(&h, &url, "points at the Lambda Runtime API").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_kb_url_is_refused() {
    let h = quick_harness().await;
    let url = format!(
        "{}/{}?X-Amz-Signature={SIGNATURE}",
        h.receiver.endpoint(),
        "a".repeat(100 * 1024)
    );
    assert_refused(&h, &url, "bytes long").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_that_are_not_urls_are_refused() {
    let h = quick_harness().await;
    for url in [
        "".to_owned(),
        "not a url".to_owned(),
        format!("ftp://127.0.0.1/k?X-Amz-Signature={SIGNATURE}"),
        format!("file:///etc/passwd?X-Amz-Signature={SIGNATURE}"),
    ] {
        let logged = if url.starts_with("ftp") {
            "must be https"
        } else {
            "ResponseURL"
        };
        assert_refused(&h, &url, logged).await;
    }
}

/// Lambda's synchronous payload limit.
const SIX_MB: usize = 6 * 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_6_mb_event_is_answered_once() {
    let h = quick_harness().await;
    // 6 MB in one property: FAILED, the value shortened in a short Reason.
    let mut event = h.create_event(with(props(), json!({ "ReleaseNotes": "n".repeat(SIX_MB - 2048) })));
    let size = serde_json::to_vec(&event).unwrap().len();
    assert!(size <= SIX_MB && size > SIX_MB - 4096, "{size}");
    let answer = h.invoke(&event).await;
    answer.assert_failed_with("ReleaseNotes");
    assert!(answer.put.body.len() <= 4096, "{}", answer.put.body.len());
    assert_eq!(h.writes(), 0);

    // 6 MB beside valid properties: an ordinary SUCCESS.
    event = h.create_event(props());
    event["Padding"] = json!("p".repeat(SIX_MB - 2048));
    let answer = h.invoke(&event).await;
    answer.assert_success();
    assert_eq!(answer.physical_id(), version_arn(1));
    h.assert_still_serving().await;
}

/// `depth` arrays around a string, built without serde_json's parser (which
/// stops at 128 levels).
fn nested(depth: usize) -> Value {
    let mut value = json!("x");
    for _ in 0..depth {
        value = Value::Array(vec![value]);
    }
    value
}

fn nested_text(depth: usize) -> String {
    format!("{}\"x\"{}", "[".repeat(depth), "]".repeat(depth))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nesting_within_serde_json_limit_fails_naming_the_property() {
    let h = quick_harness().await;
    let event = h.create_event(with(props(), json!({ "Aliases": nested(100) })));
    let answer = h.invoke(&event).await;
    answer.assert_failed_with("Aliases must be a list of strings, not a list");
    assert_eq!(h.writes(), 0);
    h.assert_still_serving().await;
}

/// An event with 10,000 levels of arrays in a property, the `ResponseURL`
/// after it: deeper than serde_json parses (128 levels).
fn deeply_nested_event(h: &Harness) -> (String, Vec<u8>) {
    let event = h.create_event(props());
    let id = event["RequestId"].as_str().unwrap().to_owned();
    let mut text = serde_json::to_string(&event).unwrap();
    let marker = "\"ResourceProperties\":{";
    let at = text.find(marker).unwrap() + marker.len();
    text.insert_str(at, &format!("\"Aliases\":{},", nested_text(10_000)));
    (id, text.into_bytes())
}

/// Every event with a usable `ResponseURL` is answered, once, so the stack
/// does not wait an hour for a FAILED it never gets; the process goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deeply_nested_properties_are_answered() {
    let h = quick_harness().await;
    let (id, payload) = deeply_nested_event(&h);
    let outcome = invoke_bytes(&h, payload).await;
    assert!(
        outcome.is_response(),
        "the handler, not the runtime, takes the event: {}",
        String::from_utf8_lossy(outcome.bytes())
    );
    h.answer_to(&id).await.assert_failed_with("");
    assert_eq!(h.writes(), 0);
    h.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_that_are_not_utf8_do_not_stop_the_function() {
    let h = quick_harness().await;
    let event = h.create_event(props());
    let mut bytes = serde_json::to_vec(&event).unwrap();
    let marker = b"\"ImageName\":\"";
    let at = bytes.windows(marker.len()).position(|w| w == marker).unwrap() + marker.len();
    bytes.splice(at..at, [0xff, 0xfe, 0xc0, 0x80]);
    assert!(std::str::from_utf8(&bytes).is_err());
    let outcome = invoke_bytes(&h, bytes).await;
    println!("non-UTF-8: outcome {}", String::from_utf8_lossy(outcome.bytes()));
    assert_eq!(h.writes(), 0);
    h.assert_still_serving().await;

    // Not JSON at all.
    for garbage in [&b"{\"RequestType\": \"Create\", "[..], b"\x00\x01\x02", b"", b"{}}"] {
        let outcome = invoke_bytes(&h, garbage.to_vec()).await;
        println!("{garbage:?}: outcome {}", String::from_utf8_lossy(outcome.bytes()));
        h.assert_still_serving().await;
    }
    assert!(h.receiver.puts().iter().all(|p| p.status == 200));
}

/// Each property with a value of each JSON type: one answer each; a value
/// of the wrong type FAILS naming the property, before any SageMaker write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_json_type_in_every_property_is_answered() {
    let h = quick_harness().await;
    let names: Vec<&str> = PROPERTIES
        .iter()
        .chain(CLOUDFORMATION_PROPERTIES.iter())
        .copied()
        .collect();
    let values = [
        json!(null),
        json!(true),
        json!(false),
        json!(0),
        json!(-1.5e300),
        json!(18446744073709551615u64),
        json!(""),
        json!("TRAINING"),
        json!([]),
        json!(["a", 1]),
        json!({}),
        json!({ "Ref": "X" }),
    ];
    let (mut answered, mut succeeded) = (0, 0);
    for &name in &names {
        for value in &values {
            let mut properties = props();
            properties[name] = value.clone();
            let event = h.create_event(properties);
            let writes_before = h.writes();
            let answer = h.invoke(&event).await;
            answered += 1;
            let structured = value.is_array() || value.is_object();
            let cloudformation_set = name.starts_with("Service");
            if answer.status() == "SUCCESS" {
                succeeded += 1;
                assert!(
                    !structured || cloudformation_set || (name == "Aliases" && value.is_array()),
                    "{name} = {value} was accepted"
                );
            } else {
                if structured && !cloudformation_set {
                    assert!(answer.reason().contains(name), "{name} = {value}: {}", answer.reason());
                }
                if answer.reason().contains("invalid properties") {
                    assert_eq!(
                        h.writes(),
                        writes_before,
                        "{name} = {value}: no write before validation"
                    );
                }
            }
        }
    }
    println!("{answered} events answered, {succeeded} SUCCESS");
    assert_eq!(answered, names.len() * values.len());
    h.assert_still_serving().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_with_an_empty_physical_id_is_answered_with_a_placeholder() {
    let h = quick_harness().await;
    let event = h.delete_event("", props());
    let answer = h.invoke(&event).await;
    answer.assert_success();
    assert!(
        answer.physical_id().starts_with("no-image-version-"),
        "{}",
        answer.physical_id()
    );
    assert_eq!(h.writes(), 0);
}

/// A lone UTF-16 surrogate and a number out of range make the event no JSON
/// value; each id that can still be read is, and the event is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_that_is_no_json_value_is_answered_with_every_id_it_can_read() {
    let h = quick_harness().await;
    let mut event = h.create_event(props());
    let id = event["RequestId"].as_str().unwrap().to_owned();
    event["StackId"] = json!("STACK-MARK");
    let text = serde_json::to_string(&event)
        .unwrap()
        .replace("STACK-MARK", "stack\\ud800")
        .replace("\"ImageName\":", "\"Horovod\":1e400,\"ImageName\":");
    let outcome = invoke_bytes(&h, text.into_bytes()).await;
    assert!(outcome.is_response(), "{outcome:?}");
    let answer = h.answer_to(&id).await;
    answer.assert_failed_with("");
    assert_eq!(answer.body["StackId"], "stack\u{FFFD}");
    assert_eq!(answer.body["LogicalResourceId"], event["LogicalResourceId"]);
    assert_eq!(h.writes(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_too_long_for_a_4096_byte_answer_get_no_put_and_the_function_goes_on() {
    let h = quick_harness().await;
    let mut event = h.quick_delete_event();
    event["LogicalResourceId"] = json!("L".repeat(5000));
    let outcome = invoke_bytes(&h, serde_json::to_vec(&event).unwrap()).await;
    assert!(outcome.is_response(), "{outcome:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        h.receiver.puts().iter().all(|p| p.body.len() <= 4096),
        "no body over 4096 bytes is sent"
    );
    assert!(
        h.function.logs().contains("cannot be answered"),
        "{}",
        h.function.logs()
    );
    h.assert_still_serving().await;
}
