//! The Lambda Runtime API and the function process run against it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use standins::runtime_api::{AsyncSemantics, Ended};
use standins::{Deadline, FunctionPool, FunctionProcess, Outcome, PoolConfig, RuntimeApi};

use crate::client::*;

const NEXT: &str = "/2018-06-01/runtime/invocation/next";

async fn next(api: &RuntimeApi) -> RawResponse {
    request(&api.address(), "GET", NEXT, &[], b"").await
}

/// Posts `body` to the invocation's `kind` (`response` or `error`) route.
async fn answer(api: &RuntimeApi, invocation: &RawResponse, kind: &str, body: &[u8]) -> RawResponse {
    let id = invocation.header("lambda-runtime-aws-request-id").unwrap();
    let path = format!("/2018-06-01/runtime/invocation/{id}/{kind}");
    request(&api.address(), "POST", &path, &[], body).await
}

/// Invokes `payload` from another task, as the test's caller would.
fn invoke(api: &RuntimeApi, payload: &'static [u8], deadline: Deadline) -> tokio::task::JoinHandle<Outcome> {
    let api = api.clone();
    tokio::spawn(async move { api.invoke(payload.to_vec(), deadline).await })
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

#[tokio::test]
async fn an_invocation_is_delivered_with_lambda_headers_and_completed_by_its_response() {
    let api = RuntimeApi::start().await;
    assert!(api.address().starts_with("127.0.0.1:"));
    assert_eq!(api.polls(), 0);
    assert!(api.first_poll_at().is_none());
    let invocation = {
        let api = api.clone();
        tokio::spawn(async move {
            api.invoke_json(&json!({"RequestType": "Create"}), Deadline::In(Duration::from_secs(30)))
                .await
        })
    };
    let got = next(&api).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json(), json!({"RequestType": "Create"}));
    let deadline: u64 = got.header("lambda-runtime-deadline-ms").unwrap().parse().unwrap();
    assert!(
        deadline > now_ms() + 25_000 && deadline <= now_ms() + 30_000,
        "{deadline}"
    );
    assert_eq!(
        got.header("lambda-runtime-invoked-function-arn"),
        Some("arn:aws:lambda:us-east-1:123456789012:function:sagemaker-image-version")
    );
    assert!(got.header("lambda-runtime-trace-id").unwrap().starts_with("Root=1-"));
    assert_eq!(answer(&api, &got, "response", b"\"done\"").await.status, 202);
    let outcome = tokio::time::timeout(Duration::from_secs(2), invocation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome, Outcome::Response(b"\"done\"".to_vec()));
    assert_eq!(api.polls(), 1);
    assert!(api.first_poll_at().is_some());
    let id = got.header("lambda-runtime-aws-request-id").unwrap();
    assert_eq!(api.invocations()[0].request_id, id);
}

#[tokio::test]
async fn an_invocation_answered_twice_is_refused_the_second_time() {
    let api = RuntimeApi::start().await;
    let _invocation = invoke(&api, b"x", Deadline::In(Duration::from_secs(5)));
    let got = next(&api).await;
    assert_eq!(answer(&api, &got, "response", b"1").await.status, 202);
    assert_eq!(answer(&api, &got, "response", b"again").await.status, 400);
}

#[tokio::test]
async fn invocations_are_delivered_in_order_to_a_poll_already_waiting() {
    let api = RuntimeApi::start().await;
    let poller = {
        let api = api.clone();
        tokio::spawn(async move { next(&api).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let first = invoke(&api, b"one", Deadline::In(Duration::from_secs(5)));
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = invoke(&api, b"two", Deadline::In(Duration::from_secs(5)));
    let got = tokio::time::timeout(Duration::from_secs(2), poller)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.body, b"one");
    answer(&api, &got, "response", b"1").await;
    assert_eq!(first.await.unwrap(), Outcome::Response(b"1".to_vec()));
    let got = next(&api).await;
    assert_eq!(got.body, b"two");
    answer(&api, &got, "response", b"2").await;
    assert_eq!(second.await.unwrap(), Outcome::Response(b"2".to_vec()));
    assert_eq!(api.polls(), 2);
}

#[tokio::test]
async fn a_fixed_deadline_is_handed_over_as_is() {
    let api = RuntimeApi::start().await;
    let _invocation = invoke(&api, b"x", Deadline::AtEpochMs(1));
    assert_eq!(next(&api).await.header("lambda-runtime-deadline-ms"), Some("1"));
}

#[tokio::test]
async fn an_error_post_completes_the_invocation_as_an_error() {
    let api = RuntimeApi::start().await;
    let invocation = invoke(&api, b"x", Deadline::In(Duration::from_secs(5)));
    let got = next(&api).await;
    let r = answer(&api, &got, "error", br#"{"errorType":"Oops","errorMessage":"bad"}"#).await;
    assert_eq!(r.status, 202);
    let outcome = invocation.await.unwrap();
    assert!(!outcome.is_response());
    assert_eq!(outcome.json().unwrap()["errorType"], "Oops");
}

#[tokio::test]
async fn init_errors_are_recorded() {
    let api = RuntimeApi::start().await;
    let body = b"{\"errorType\":\"Init\"}";
    let r = request(&api.address(), "POST", "/2018-06-01/runtime/init/error", &[], body).await;
    assert_eq!(r.status, 202);
    assert_eq!(api.init_errors(), vec!["{\"errorType\":\"Init\"}".to_string()]);
}

#[tokio::test]
async fn a_poll_abandoned_by_its_client_does_not_steal_the_next_invocation() {
    let api = RuntimeApi::start().await;
    let raw = build_request("GET", &api.address(), NEXT, &[], b"");
    // a client that gives up (like a killed function)
    let abandoned = tokio::time::timeout(Duration::from_millis(100), send_raw(&api.address(), &raw)).await;
    assert!(abandoned.is_err());
    tokio::time::sleep(Duration::from_millis(50)).await;
    let invocation = invoke(&api, b"x", Deadline::In(Duration::from_secs(5)));
    let got = tokio::time::timeout(Duration::from_secs(2), next(&api))
        .await
        .expect("the live poll gets it");
    assert_eq!(got.body, b"x");
    answer(&api, &got, "response", b"ok").await;
    assert!(invocation.await.unwrap().is_response());
}

#[tokio::test]
async fn function_process_gets_a_lambda_environment() {
    let api = RuntimeApi::start().await;
    let dir = std::env::temp_dir().join(format!("standins-fn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("fake-function.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho \"api=$AWS_LAMBDA_RUNTIME_API name=$AWS_LAMBDA_FUNCTION_NAME mem=$AWS_LAMBDA_FUNCTION_MEMORY_SIZE ver=$AWS_LAMBDA_FUNCTION_VERSION extra=$EXTRA leaked=${CARGO:-none} group=$AWS_LAMBDA_LOG_GROUP_NAME\"\necho to-stderr >&2\nexec sleep 30\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let f = FunctionProcess::spawn(&script, &api, &[("EXTRA".to_string(), "yes".to_string())]);
    assert!(f.pid() > 0);
    assert!(
        f.wait_for_log("to-stderr", Duration::from_secs(5)).await,
        "{}",
        f.logs()
    );
    assert!(f.wait_for_log("group=", Duration::from_secs(5)).await, "{}", f.logs());
    let logs = f.logs();
    assert!(logs.contains(&format!("api={}", api.address())), "{logs}");
    assert!(
        logs.contains("name=sagemaker-image-version mem=128 ver=$LATEST extra=yes leaked=none"),
        "{logs}"
    );
    assert!(logs.contains("group=/aws/lambda/sagemaker-image-version"), "{logs}");
    assert!(f.is_running());
    assert!(f.spawned_at().elapsed() < Duration::from_secs(10));
    f.kill();
    assert!(!f.is_running());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn each_invocation_keeps_its_outcome_and_wait_idle_waits_for_every_one() {
    let api = RuntimeApi::start().await;
    assert!(api.wait_idle(Duration::from_millis(10)).await, "nothing queued");
    let invocation = invoke(&api, b"x", Deadline::In(Duration::from_secs(5)));
    let got = next(&api).await;
    let queued = api.invocations();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].payload, b"x");
    assert_eq!(
        Some(queued[0].request_id.as_str()),
        got.header("lambda-runtime-aws-request-id")
    );
    assert_eq!(queued[0].outcome, None);
    assert!(!api.wait_idle(Duration::from_millis(50)).await, "one is running");
    answer(&api, &got, "error", b"{\"errorType\":\"E\"}").await;
    assert!(api.wait_idle(Duration::from_secs(2)).await);
    let outcome = Some(Outcome::Error(b"{\"errorType\":\"E\"}".to_vec()));
    assert_eq!(api.invocations()[0].outcome, outcome);
    assert_eq!(Some(invocation.await.unwrap()), outcome);
}

// Lambda's asynchronous semantics: execution environments on one queue,
// retries of failed deliveries, second deliveries, and the pool that runs
// processes on the environments.

/// Polls `invocation/next` on an endpoint (`127.0.0.1:PORT`).
async fn next_at(addr: &str) -> RawResponse {
    request(addr, "GET", NEXT, &[], b"").await
}

/// Posts `body` to `kind` of the invocation `got` delivered, on the endpoint `addr`.
async fn answer_at(addr: &str, got: &RawResponse, kind: &str, body: &[u8]) -> u16 {
    let id = got.header("lambda-runtime-aws-request-id").unwrap();
    let path = format!("/2018-06-01/runtime/invocation/{id}/{kind}");
    request(addr, "POST", &path, &[], body).await.status
}

/// Whether a poll on `addr` gets nothing within `wait`.
async fn gets_nothing(addr: &str, wait: Duration) -> bool {
    let raw = build_request("GET", addr, NEXT, &[], b"");
    tokio::time::timeout(wait, send_raw(addr, &raw)).await.is_err()
}

fn request_id_of(got: &RawResponse) -> String {
    got.header("lambda-runtime-aws-request-id").unwrap().to_owned()
}

/// Retries after `delays`, and nothing else.
fn retries(delays: &[u64]) -> AsyncSemantics {
    AsyncSemantics {
        retry_delays: delays.iter().map(|&ms| Duration::from_millis(ms)).collect(),
        failures_per_invocation: 1,
        ..AsyncSemantics::default()
    }
}

#[tokio::test]
async fn two_environments_each_hold_one_event_of_the_one_queue_and_answer_only_their_own() {
    let api = RuntimeApi::start().await;
    let (a, b) = (api.environment().unwrap(), api.environment().unwrap());
    assert_ne!(a.address(), b.address());
    let first = api.invoke_event(b"one".to_vec(), Deadline::In(Duration::from_secs(5)));
    let second = api.invoke_event(b"two".to_vec(), Deadline::In(Duration::from_secs(5)));
    let got_a = next_at(&a.address()).await;
    let got_b = next_at(&b.address()).await;
    assert_eq!(
        (got_a.body.as_slice(), got_b.body.as_slice()),
        (&b"one"[..], &b"two"[..])
    );
    assert_eq!(api.held_by(a.id()).unwrap().request_id, first);
    assert_eq!(api.held_by(b.id()).unwrap().request_id, second);
    assert_eq!(
        answer_at(&a.address(), &got_b, "response", b"x").await,
        400,
        "b's event, a's endpoint"
    );
    assert_eq!(answer_at(&b.address(), &got_b, "response", b"2").await, 202);
    assert!(api.held_by(b.id()).is_none());
    assert_eq!(answer_at(&a.address(), &got_a, "response", b"1").await, 202);
    assert!(api.wait_idle(Duration::from_secs(2)).await);
    let outcomes: Vec<_> = api.invocations().into_iter().map(|i| i.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Some(Outcome::Response(b"1".to_vec())),
            Some(Outcome::Response(b"2".to_vec()))
        ]
    );
    let environments: Vec<_> = api.deliveries().iter().map(|d| d.environment).collect();
    assert_eq!(environments, [Some(a.id()), Some(b.id())]);
    assert_eq!((api.deliveries_to(a.id()), api.deliveries_to(b.id())), (1, 1));
}

#[tokio::test]
async fn a_duplicated_event_goes_to_a_second_environment_at_once_under_the_same_request_id() {
    let api = RuntimeApi::start().await;
    api.set_async(retries(&[]));
    let (a, b) = (api.environment().unwrap(), api.environment().unwrap());
    api.duplicate_next(1);
    let id = api.invoke_event(
        b"{\"RequestId\":\"cfn-1\"}".to_vec(),
        Deadline::In(Duration::from_secs(5)),
    );
    let got_a = next_at(&a.address()).await;
    let got_b = next_at(&b.address()).await;
    assert_eq!(request_id_of(&got_a), id);
    assert_eq!(request_id_of(&got_b), id, "the same event, in two environments at once");
    assert_eq!(got_b.body, got_a.body);
    assert_eq!(api.pending_deliveries_of("cfn-1"), 2);
    assert_eq!(answer_at(&a.address(), &got_a, "response", b"a").await, 202);
    assert!(
        !api.wait_idle(Duration::from_millis(50)).await,
        "the second delivery still runs"
    );
    assert_eq!(answer_at(&b.address(), &got_b, "response", b"b").await, 202);
    assert!(api.wait_idle(Duration::from_secs(2)).await);
    assert_eq!(api.pending_deliveries_of("cfn-1"), 0);
    let deliveries = api.deliveries_of("cfn-1");
    let duplicates: Vec<bool> = deliveries.iter().map(|d| d.duplicate).collect();
    assert_eq!(duplicates, [false, true]);
    assert!(deliveries.iter().all(|d| d.ended.unwrap().0 == Ended::Response));
    assert_eq!(
        api.invocations()[0].outcome,
        Some(Outcome::Response(b"a".to_vec())),
        "the first answer settles the invocation"
    );
    assert!(
        gets_nothing(&a.address(), Duration::from_millis(100)).await,
        "delivered twice, not thrice"
    );
}

#[tokio::test]
async fn a_function_error_is_delivered_again_after_each_retry_delay_then_given_up() {
    let api = RuntimeApi::start().await;
    api.set_async(retries(&[100, 200]));
    let env = api.environment().unwrap();
    let id = api.invoke_event(b"x".to_vec(), Deadline::In(Duration::from_secs(5)));
    let mut answered = Vec::new();
    for attempt in 0..3 {
        let got = next_at(&env.address()).await;
        assert_eq!(request_id_of(&got), id, "attempt {attempt}: the same request id");
        answered.push(std::time::Instant::now());
        assert_eq!(
            answer_at(&env.address(), &got, "error", b"{\"errorType\":\"E\"}").await,
            202
        );
    }
    assert!(answered[1] - answered[0] >= Duration::from_millis(100));
    assert!(answered[2] - answered[1] >= Duration::from_millis(200));
    assert!(
        gets_nothing(&env.address(), Duration::from_millis(300)).await,
        "two retries, no more"
    );
    assert!(api.wait_idle(Duration::from_secs(1)).await);
    let attempts: Vec<u32> = api.deliveries().iter().map(|d| d.attempt).collect();
    assert_eq!(attempts, [0, 1, 2]);
    assert_eq!(
        api.invocations()[0].outcome,
        Some(Outcome::Error(b"{\"errorType\":\"E\"}".to_vec()))
    );
}

#[tokio::test]
async fn a_retired_environment_ends_its_delivery_takes_no_more_and_the_event_goes_to_another() {
    let api = RuntimeApi::start().await;
    api.set_async(retries(&[10]));
    let (a, b) = (api.environment().unwrap(), api.environment().unwrap());
    api.invoke_event(b"x".to_vec(), Deadline::In(Duration::from_secs(5)));
    let got = next_at(&a.address()).await;
    api.retire(a.id(), Ended::Crashed);
    assert!(api.held_by(a.id()).is_none());
    assert_eq!(
        answer_at(&a.address(), &got, "response", b"late").await,
        400,
        "a dead environment's answer"
    );
    let again = next_at(&b.address()).await;
    assert_eq!(request_id_of(&again), request_id_of(&got));
    api.invoke_event(b"y".to_vec(), Deadline::In(Duration::from_secs(5)));
    assert!(
        gets_nothing(&a.address(), Duration::from_millis(100)).await,
        "retired: it takes nothing"
    );
    assert_eq!(answer_at(&b.address(), &again, "response", b"ok").await, 202);
    let ends: Vec<Ended> = api.deliveries().iter().map(|d| d.ended.unwrap().0).collect();
    assert_eq!(ends, [Ended::Crashed, Ended::Response]);
    assert_eq!(api.invocations()[0].outcome, Some(Outcome::Response(b"ok".to_vec())));
}

#[tokio::test]
async fn an_injected_function_error_is_retried_and_injected_only_while_a_retry_is_left() {
    let api = RuntimeApi::start().await;
    api.set_async(retries(&[10]));
    let env = api.environment().unwrap();
    api.fail_next_responses(5);
    api.invoke_event(b"x".to_vec(), Deadline::In(Duration::from_secs(5)));
    for _ in 0..2 {
        let got = next_at(&env.address()).await;
        assert_eq!(answer_at(&env.address(), &got, "response", b"done").await, 202);
    }
    assert!(api.wait_idle(Duration::from_secs(1)).await);
    let ends: Vec<Ended> = api.deliveries().iter().map(|d| d.ended.unwrap().0).collect();
    assert_eq!(
        ends,
        [Ended::InjectedError, Ended::Response],
        "one failure per invocation"
    );
    assert_eq!(api.invocations()[0].outcome, Some(Outcome::Response(b"done".to_vec())));
    assert!(!api.claim_failure(1), "answered: no failure to inject");
}

#[tokio::test]
async fn a_synchronous_invoke_is_neither_duplicated_nor_retried() {
    let api = RuntimeApi::start().await;
    api.set_async(AsyncSemantics {
        duplicate: 1.0,
        ..retries(&[10, 10])
    });
    let env = api.environment().unwrap();
    let invocation = invoke(&api, b"x", Deadline::In(Duration::from_secs(5)));
    let got = next_at(&env.address()).await;
    assert_eq!(answer_at(&env.address(), &got, "error", b"{}").await, 202);
    assert_eq!(invocation.await.unwrap(), Outcome::Error(b"{}".to_vec()));
    assert!(gets_nothing(&env.address(), Duration::from_millis(100)).await);
    assert_eq!(api.deliveries().len(), 1);
    assert!(!api.claim_failure(0));
}

#[tokio::test]
async fn seeded_duplicates_follow_the_seed() {
    async fn duplicated(seed: u64) -> Vec<bool> {
        let api = RuntimeApi::start().await;
        api.set_async(AsyncSemantics {
            seed,
            duplicate: 0.5,
            ..retries(&[])
        });
        let env = api.environment().unwrap();
        for _ in 0..20 {
            api.invoke_event(b"x".to_vec(), Deadline::In(Duration::from_secs(5)));
        }
        while !api.wait_idle(Duration::from_millis(1)).await {
            let got = next_at(&env.address()).await;
            answer_at(&env.address(), &got, "response", b"ok").await;
        }
        let deliveries = api.deliveries();
        api.invocations()
            .iter()
            .map(|i| deliveries.iter().filter(|d| d.request_id == i.request_id).count() == 2)
            .collect()
    }
    let (a, b) = (duplicated(3).await, duplicated(3).await);
    assert_eq!(a, b, "the same seed, the same events duplicated");
    assert!(a.iter().any(|d| *d) && a.iter().any(|d| !*d), "{a:?}");
}

/// A fake function in bash over curl: answers each event with its payload;
/// `sleep` in the payload makes it outlive any short deadline.
fn fake_function(dir: &std::path::Path) -> std::path::PathBuf {
    let script = dir.join("fake-function.sh");
    std::fs::write(
        &script,
        r#"#!/bin/bash
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
while true; do
  headers=$(mktemp)
  body=$(curl -sS -D "$headers" "$api/invocation/next") || exit 1
  id=$(grep -i '^lambda-runtime-aws-request-id:' "$headers" | cut -d' ' -f2 | tr -d '\r')
  rm -f "$headers"
  echo "event $id: $body"
  case "$body" in *sleep*) sleep 30 ;; esac
  curl -sS -X POST --data-binary "$body" "$api/invocation/$id/response" > /dev/null
done
"#,
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    script
}

fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("standins-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_serves_one_queue_from_several_processes_at_once() {
    let dir = scratch_dir("pool-serves");
    let api = RuntimeApi::start().await;
    let config = PoolConfig {
        size: 3,
        timeout: Duration::from_secs(10),
        ..PoolConfig::default()
    };
    let pool = FunctionPool::start(&fake_function(&dir), &api, &[], config).unwrap();
    assert!(
        api.wait_polls(3, Duration::from_secs(10)).await,
        "three environments poll"
    );
    let ids: Vec<String> = (0..6)
        .map(|i| pool.invoke_event(format!("event {i}").into_bytes()))
        .collect();
    assert!(api.wait_idle(Duration::from_secs(10)).await, "{}", pool.logs());
    for (i, invocation) in api.invocations().iter().enumerate() {
        assert_eq!(invocation.request_id, ids[i]);
        assert_eq!(
            invocation.outcome,
            Some(Outcome::Response(format!("event {i}").into_bytes()))
        );
    }
    let used: std::collections::BTreeSet<_> = api.deliveries().iter().map(|d| d.environment).collect();
    assert!(used.len() > 1, "more than one environment served: {used:?}");
    assert_eq!(pool.stats().started, 3);
    assert!(pool.logs().contains("event "), "{}", pool.logs());
    drop(pool);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_kills_a_crashing_environment_and_one_past_its_deadline_and_replaces_both() {
    let dir = scratch_dir("pool-kills");
    let api = RuntimeApi::start().await;
    api.set_async(retries(&[10]));
    let config = PoolConfig {
        size: 1,
        timeout: Duration::from_secs(2),
        seed: 1,
        ..PoolConfig::default()
    };
    let pool = FunctionPool::start(&fake_function(&dir), &api, &[], config).unwrap();
    pool.crash_next(1);
    let started = std::time::Instant::now();
    pool.invoke_event(b"sleep".to_vec());
    assert!(api.wait_idle(Duration::from_secs(10)).await, "{}", pool.logs());
    // The first delivery crashes (an injected failure), its retry outlives the deadline.
    let ends: Vec<Ended> = api.deliveries().iter().map(|d| d.ended.unwrap().0).collect();
    assert_eq!(ends, [Ended::Crashed, Ended::TimedOut]);
    let timed_out = api.deliveries()[1].ended.unwrap().1;
    assert!(
        timed_out >= api.deliveries()[1].deadline_at,
        "killed at the deadline, not before"
    );
    assert!(timed_out - api.deliveries()[1].deadline_at < Duration::from_millis(500));
    assert!(started.elapsed() < Duration::from_secs(5));
    let stats = pool.stats();
    assert_eq!((stats.crashes, stats.timeouts, stats.started), (1, 1, 3), "{stats:?}");
    assert_eq!(
        pool.retired().iter().map(|r| r.1).collect::<Vec<_>>(),
        [Ended::Crashed, Ended::TimedOut]
    );
    let outcome = api.invocations()[0].outcome.clone().unwrap();
    assert!(!outcome.is_response(), "no retry left: {outcome:?}");
    // The replacement serves.
    pool.invoke_event(b"after".to_vec());
    assert!(api.wait_idle(Duration::from_secs(10)).await, "{}", pool.logs());
    assert_eq!(api.invocations()[1].outcome, Some(Outcome::Response(b"after".to_vec())));
    assert_eq!(pool.environments().len(), 1);
    drop(pool);
    let _ = std::fs::remove_dir_all(&dir);
}
