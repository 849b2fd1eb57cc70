//! Load: concurrent function instances on one image, a soak of one process
//! for leaked connections, and connections kept across invocations. (The
//! 2,000-invocation soak with memory growth is a bench, in bench/.)
//!
//! `LOAD_SOAK_CYCLES` raises the number of Create+Delete cycles of the soak
//! (default 100, i.e. 200 invocations).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{Harness, IMAGE, props, version_arn, with};

const INSTANCES: usize = 10;

/// Ten function processes (as Lambda runs ten concurrent events) each create
/// a version of the same image at the same moment. SageMaker answers
/// `ResourceInUse` to all but one at a time; each retries until its own
/// version exists. Ten distinct versions, ten SUCCESS answers, each with its
/// own ARN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_instances_create_versions_of_one_image_at_once() {
    let h = Harness::start().await;
    h.sagemaker
        .set_delays(Duration::from_millis(200), Duration::from_millis(100));
    let mut instances = Vec::new();
    for _ in 0..INSTANCES {
        instances.push(h.another_instance().await);
    }
    let events: Vec<_> = (0..INSTANCES)
        .map(|i| h.create_event(with(props(), json!({ "ReleaseNotes": format!("instance {i}") }))))
        .collect();
    let started = Instant::now();
    let outcomes = futures::future::join_all(
        instances
            .iter()
            .zip(&events)
            .map(|(instance, event)| instance.send(event)),
    )
    .await;
    let took = started.elapsed();
    for outcome in &outcomes {
        assert!(outcome.is_response(), "{outcome:?}");
    }
    let mut arns = BTreeSet::new();
    for (i, event) in events.iter().enumerate() {
        let answer = h.answer_to(event["RequestId"].as_str().unwrap()).await;
        answer.assert_success();
        answer.assert_well_formed(event);
        assert_eq!(answer.data("Arn"), answer.physical_id());
        let version: u32 = answer.data("Version").parse().unwrap();
        assert_eq!(answer.physical_id(), version_arn(version));
        let stored = h.sagemaker.version(IMAGE, version).expect("the version exists");
        assert_eq!(
            stored.release_notes.as_deref(),
            Some(format!("instance {i}").as_str()),
            "each answer names its own version"
        );
        assert!(arns.insert(answer.physical_id().to_owned()), "duplicate ARN");
    }
    let versions = h.sagemaker.versions(IMAGE);
    assert_eq!(versions.len(), INSTANCES, "{versions:?}");
    assert!(versions.iter().all(|v| v.status == "CREATED"));
    let in_use = h
        .sagemaker
        .calls_of("CreateImageVersion")
        .len()
        .saturating_sub(INSTANCES);
    println!(
        "{INSTANCES} concurrent creates: {took:?}, {} CreateImageVersion calls ({in_use} answered ResourceInUse)",
        h.sagemaker.count("CreateImageVersion")
    );
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

fn vm_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Sequential Creates and Deletes in one process: every answer correct, and
/// no connection or file descriptor left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_soak_of_creates_and_deletes_leaks_no_connection() {
    let cycles: u32 = std::env::var("LOAD_SOAK_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    const WARM_UP: u32 = 5;
    let h = Harness::start().await;
    h.sagemaker.set_delays(Duration::ZERO, Duration::ZERO);
    let pid = h.function.pid();
    let started = Instant::now();
    let (mut fds_warm, mut rss_warm, mut fds_max) = (0, 0, 0);
    for cycle in 1..=cycles {
        let props = with(props(), json!({ "ReleaseNotes": format!("cycle {cycle}") }));
        let create = h.create_event(props.clone());
        let created = h.invoke(&create).await;
        created.assert_success();
        created.assert_well_formed(&create);
        assert_eq!(created.physical_id(), version_arn(cycle), "cycle {cycle}");
        let delete = h.delete_event(created.physical_id(), props);
        let deleted = h.invoke(&delete).await;
        deleted.assert_success();
        deleted.assert_well_formed(&delete);
        assert_eq!(deleted.physical_id(), version_arn(cycle));
        assert!(h.sagemaker.versions(IMAGE).is_empty(), "cycle {cycle}");
        let fds = open_fds(pid);
        fds_max = fds_max.max(fds);
        if cycle == WARM_UP.min(cycles) {
            (fds_warm, rss_warm) = (fds, vm_rss_kb(pid));
        }
    }
    let (fds_end, rss_end) = (open_fds(pid), vm_rss_kb(pid));
    println!(
        "{} invocations in {:?}; open fds after warm-up {fds_warm}, at the end {fds_end}, at most {fds_max}; \
         VmRSS after warm-up {rss_warm} kB, at the end {rss_end} kB",
        2 * cycles,
        started.elapsed()
    );
    assert!(fds_warm > 0, "/proc/{pid}/fd is readable");
    assert!(
        fds_end <= fds_warm + 4 && fds_max <= fds_warm + 8,
        "file descriptors grow: {fds_warm} after warm-up, {fds_end} at the end, {fds_max} at most"
    );
    assert_eq!(h.sagemaker.count("CreateImageVersion"), cycles as usize);
    assert_eq!(h.receiver.accepted().len(), 2 * cycles as usize);
}

/// Clients are built once and kept across invocations: the second request's
/// first SageMaker call goes over a connection the first request opened, so
/// no invocation after the first pays for a connection (or a TLS handshake).
#[tokio::test]
async fn a_later_invocation_reuses_a_sagemaker_connection_of_an_earlier_one() {
    let h = Harness::start().await;
    h.create_ok(props()).await;
    let first = h.sagemaker.calls();
    let opened = first.iter().map(|c| c.connection).max().expect("calls were made");
    h.create_ok(with(props(), json!({ "ReleaseNotes": "second" }))).await;
    let next = &h.sagemaker.calls()[first.len()];
    assert!(
        next.connection <= opened,
        "{} opened connection {} after the first request's {opened}",
        next.operation,
        next.connection
    );
}
