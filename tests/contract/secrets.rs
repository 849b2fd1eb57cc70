//! No secret in the logs, whatever happens and at whatever log level: the
//! main paths (success, every failure kind, the deadline, the answer's PUT
//! failing) run in one function process per log configuration, and all it
//! wrote is searched for signatures, credentials and the `ResponseURL` query.
//! (A panic in the handler is tested in process, with the handler's unit tests.)

use std::time::Duration;

use serde_json::{Value, json};
use standins::local::REGION;
use standins::{Deadline, Fault};

use crate::answer::Answer;
use crate::harness::{BASE_IMAGE, Harness, IMAGE, SECRETS, props, with};

/// Everything that must not be logged: the harness's list, plus the query of
/// every `ResponseURL` handed to the function and its signature alone.
struct Forbidden(Vec<String>);

impl Forbidden {
    fn new() -> Self {
        Forbidden(SECRETS.iter().map(|s| s.to_string()).collect())
    }

    fn url_of(&mut self, event: &Value) {
        let url = event["ResponseURL"].as_str().unwrap_or_default();
        if let Some((_, query)) = url.split_once('?') {
            self.0.push(query.to_owned());
            for pair in query.split('&') {
                if let Some(signature) = pair.strip_prefix("X-Amz-Signature=") {
                    self.0.push(signature.to_owned());
                }
            }
        }
    }
}

async fn invoke(h: &Harness, forbidden: &mut Forbidden, event: &Value) -> Answer {
    forbidden.url_of(event);
    h.invoke(event).await
}

/// Invokes without expecting an accepted answer.
async fn invoke_unanswered(h: &Harness, forbidden: &mut Forbidden, event: &Value, deadline: Duration) {
    forbidden.url_of(event);
    let outcome = h
        .invoke_raw(serde_json::to_vec(event).unwrap(), Deadline::In(deadline))
        .await;
    assert!(outcome.is_response(), "{outcome:?}");
}

/// A property's value: the info level logs which properties changed, never
/// their values (a template's properties may hold what its author would not log).
const PROPERTY_VALUE: &str = "release-notes-not-for-the-logs";

/// Runs every path once; returns what must not appear in the logs.
async fn exercise(h: &Harness) -> Forbidden {
    let mut forbidden = Forbidden::new();
    let f = &mut forbidden;

    // Success: Create (an alias moved from another version), Update in
    // place, Update by replacement, Delete.
    h.sagemaker
        .create_version_out_of_band(REGION, IMAGE, BASE_IMAGE, &["stable"]);
    let with_alias = with(props(), json!({ "Aliases": ["stable"], "Horovod": "true" }));
    let created = invoke(h, f, &h.create_event(with_alias.clone())).await;
    created.assert_success();
    let v2 = created.physical_id().to_owned();
    let changed = with(
        with_alias.clone(),
        json!({ "ReleaseNotes": PROPERTY_VALUE, "Aliases": ["stable", "x"] }),
    );
    invoke(h, f, &h.update_event(&v2, changed.clone(), with_alias.clone()))
        .await
        .assert_success();
    let moved = with(changed.clone(), json!({ "BaseImage": format!("{BASE_IMAGE}-2") }));
    let replaced = invoke(h, f, &h.update_event(&v2, moved.clone(), changed)).await;
    replaced.assert_success();
    invoke(h, f, &h.delete_event(&v2, moved.clone())).await.assert_success();

    // Transient faults on the way, retried to success.
    h.sagemaker.inject(Some("UpdateImageVersion"), Fault::ServerError, 1);
    h.sagemaker.inject(Some("DescribeImageVersion"), Fault::Throttle, 1);
    h.sagemaker.inject(Some("ListAliases"), Fault::Reset, 1);
    let again = with(moved.clone(), json!({ "ReleaseNotes": "again" }));
    invoke(h, f, &h.update_event(replaced.physical_id(), again, moved))
        .await
        .assert_success();

    // Failures: bad properties, a missing image, CREATE_FAILED,
    // DELETE_FAILED, a rejected call, an unknown RequestType, a malformed
    // event.
    let bad = with(
        props(),
        json!({ "Aliasses": ["x"], "JobType": "nope", "ImageName": "-bad" }),
    );
    invoke(h, f, &h.create_event(bad)).await.assert_failed_with("Aliasses");
    let missing = with(props(), json!({ "ImageName": "no-such-image" }));
    invoke(h, f, &h.create_event(missing))
        .await
        .assert_failed_with("does not exist");
    h.sagemaker.fail_next_creation("the base image could not be pulled");
    let failed = invoke(h, f, &h.create_event(props())).await;
    failed.assert_failed_with("could not be pulled");
    h.sagemaker.fail_next_deletion("the version is in use");
    invoke(h, f, &h.delete_event(failed.physical_id(), props()))
        .await
        .assert_failed_with("in use");
    h.sagemaker.set_version_limit(Some(1));
    invoke(h, f, &h.create_event(props())).await.assert_failed_with("");
    h.sagemaker.set_version_limit(None);
    let mut unknown = h.create_event(props());
    unknown["RequestType"] = json!("Upsert");
    invoke(h, f, &unknown).await.assert_failed_with("Upsert");
    let mut malformed = h.update_event(replaced.physical_id(), props(), props());
    malformed.as_object_mut().unwrap().remove("OldResourceProperties");
    invoke(h, f, &malformed).await.assert_failed_with("");

    // The deadline: a call that hangs past the resource's ServiceTimeout
    // (a hang past the function's time is handed on, and goes through).
    h.sagemaker.inject(Some("CreateImageVersion"), Fault::Hang, 1);
    let event = h.create_event(with(props(), json!({ "ServiceTimeout": "3" })));
    f.url_of(&event);
    h.invoke_with(&event, Deadline::In(Duration::from_secs(3)))
        .await
        .assert_failed_with("timed out");

    // The answer's PUT: 500 then accepted, 403 refused, a closed port, a
    // forged URL refused before any PUT.
    h.receiver.fail_next(1, 500);
    invoke(h, f, &h.delete_event("no-image-version-a", props()))
        .await
        .assert_success();
    h.receiver.fail_next(1, 403);
    invoke_unanswered(
        h,
        f,
        &h.delete_event("no-image-version-b", props()),
        Duration::from_secs(10),
    )
    .await;
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    for url in [
        format!("http://127.0.0.1:{closed_port}/b/k?X-Amz-Signature=closedportsignature77"),
        "https://user:password@127.0.0.1/b/k?X-Amz-Signature=userinfosignature88".to_owned(),
        "http://192.0.2.1/b/k?X-Amz-Signature=testnetsignature99".to_owned(),
    ] {
        let mut event = h.delete_event("no-image-version-c", props());
        event["ResponseURL"] = json!(url);
        invoke_unanswered(h, f, &event, Duration::from_secs(3)).await;
        if url.contains("password") {
            f.0.push("password".to_owned());
        }
    }
    forbidden
}

fn assert_clean(h: &Harness, forbidden: &Forbidden, expect: &[&str]) {
    let logs = h.function.logs();
    for needle in expect {
        assert!(logs.contains(needle), "the logs lack {needle:?}; they are:\n{logs}");
    }
    // Every offending line, so that one run shows every leak.
    let leaks: Vec<&str> = logs
        .lines()
        .filter(|line| forbidden.0.iter().any(|secret| line.contains(secret.as_str())))
        .collect();
    let shown: std::collections::BTreeSet<String> = leaks.iter().map(|line| line.chars().take(400).collect()).collect();
    assert!(
        leaks.is_empty(),
        "{} log lines ({} distinct starts) hold a secret, e.g.:\n{}",
        leaks.len(),
        shown.len(),
        shown.iter().take(12).cloned().collect::<Vec<_>>().join("\n---\n")
    );
    println!(
        "{} bytes of logs searched for {} secrets",
        logs.len(),
        forbidden.0.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_text_logs_hold_no_secret() {
    let h = Harness::start_with(&[("AWS_MAX_ATTEMPTS", "1")]).await;
    let mut forbidden = exercise(&h).await;
    forbidden.0.push(PROPERTY_VALUE.to_owned());
    assert_clean(
        &h,
        &forbidden,
        &["SUCCESS", "FAILED", "timed out", "answer not delivered"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_text_logs_hold_no_secret() {
    let h = Harness::start_with(&[("AWS_MAX_ATTEMPTS", "1"), ("RUST_LOG", "trace")]).await;
    let forbidden = exercise(&h).await;
    assert_clean(&h, &forbidden, &["TRACE", "DEBUG", "SUCCESS", "FAILED"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_json_logs_hold_no_secret() {
    let h = Harness::start_with(&[
        ("AWS_MAX_ATTEMPTS", "1"),
        ("RUST_LOG", "trace"),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
    ])
    .await;
    let forbidden = exercise(&h).await;
    assert_clean(&h, &forbidden, &["\"level\":\"TRACE\"", "SUCCESS", "FAILED"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_log_level_debug_json_logs_hold_no_secret() {
    // What the template sets for LogLevel=debug: RUST_LOG=debug, JSON format.
    let h = Harness::start_with(&[
        ("AWS_MAX_ATTEMPTS", "1"),
        ("RUST_LOG", "debug"),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_LAMBDA_LOG_LEVEL", "DEBUG"),
    ])
    .await;
    let forbidden = exercise(&h).await;
    assert_clean(&h, &forbidden, &["\"level\":\"DEBUG\"", "SUCCESS"]);
}

/// A cap on a noisy target only ever lowers its level: at `info`, no crate
/// writes a DEBUG line (the SDK's orchestrator once wrote five a call).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_info_no_crate_writes_a_debug_line() {
    let h = Harness::start_with(&[("RUST_LOG", "info")]).await;
    let created = h.create_ok(with(props(), json!({ "Aliases": ["stable"] }))).await;
    h.invoke(&h.delete_event(created.physical_id(), props()))
        .await
        .assert_success();
    let logs = h.function.logs();
    assert!(logs.contains(" INFO "), "{logs}");
    let noisy: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("DEBUG") || l.contains("TRACE"))
        .collect();
    assert!(noisy.is_empty(), "{noisy:#?}");
}
