//! The lifecycle's rules against an in-memory SageMaker, on paused time.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::properties::Metadata;
use crate::sagemaker::fake::{ARN_PREFIX, Fake};
use crate::sagemaker::{ErrorKind, VersionStatus};

mod delete;

fn props(extra: Value) -> Value {
    let mut props =
        json!({"ServiceToken": "arn:aws:lambda:us-east-1:1:function:f", "ImageName": "img", "BaseImage": "repo:1"});
    for (k, v) in extra.as_object().unwrap() {
        props[k] = v.clone();
    }
    props
}

fn arn(version: i32) -> String {
    format!("{ARN_PREFIX}{version}")
}

/// Runs `work` on a lifecycle over `fake`, with the default pacing.
async fn run<T>(fake: &Fake, work: impl AsyncFnOnce(&Lifecycle<'_, Fake>) -> T) -> T {
    run_with(fake, &Progress::default(), work).await
}

async fn run_with<T>(fake: &Fake, progress: &Progress, work: impl AsyncFnOnce(&Lifecycle<'_, Fake>) -> T) -> T {
    let pacing = Pacing::default();
    work(&Lifecycle {
        regions: fake,
        pacing: &pacing,
        progress,
        retries_until: None,
    })
    .await
}

/// Properties as the event's parse gives them to the lifecycle.
fn parsed(properties: &Value) -> ImageVersionProperties {
    ImageVersionProperties::parse(properties).expect("valid properties")
}

/// A waiting lifecycle never stops pending: it ends done or failed.
fn failed(halt: Halt) -> LifecycleError {
    match halt {
        Halt::Failed(e) => e,
        Halt::Pending => panic!("a waiting lifecycle stopped pending"),
    }
}

async fn create(fake: &Fake, properties: Value) -> Result<Done, LifecycleError> {
    run(fake, async |l| l.create("req-1", &parsed(&properties)).await)
        .await
        .map_err(failed)
}

async fn update(fake: &Fake, physical_id: &str, new: Value, old: Value) -> Result<Done, LifecycleError> {
    let old = ImageVersionProperties::parse(&old).ok();
    run(fake, async |l| {
        l.update("req-2", physical_id, &parsed(&new), old.as_ref()).await
    })
    .await
    .map_err(failed)
}

#[tokio::test(start_paused = true)]
async fn create_polls_until_created_then_answers_the_attributes() {
    let fake = Fake::default();
    fake.state().polls = 3;
    let done = create(&fake, props(json!({}))).await.unwrap();
    assert_eq!(done.physical_resource_id, arn(1));
    assert_eq!(done.data["Version"], "1");
    assert_eq!(done.data["Arn"], done.data["ImageVersionArn"]);
    let describes = fake.calls().iter().filter(|c| *c == "DescribeImageVersion(1)").count();
    assert_eq!(describes, 4, "{:?}", fake.calls());
}

#[tokio::test(start_paused = true)]
async fn create_failed_carries_the_failure_reason_and_the_version_arn() {
    let fake = Fake::default();
    fake.state().polls = 1;
    fake.state().creations_fail = true;
    match create(&fake, props(json!({}))).await {
        Err(LifecycleError::CreateFailed {
            arn: failed, reason, ..
        }) => {
            assert_eq!(failed, arn(1));
            assert_eq!(reason, "the base image does not exist");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn create_retries_resource_in_use_and_throttling() {
    let fake = Fake::default();
    fake.fail("CreateImageVersion", ErrorKind::InUse);
    fake.fail("CreateImageVersion", ErrorKind::Transient);
    let done = create(&fake, props(json!({}))).await.unwrap();
    assert_eq!(done.physical_resource_id, arn(1));
    assert_eq!(
        fake.calls()
            .iter()
            .filter(|c| c.starts_with("CreateImageVersion"))
            .count(),
        3
    );
}

#[tokio::test(start_paused = true)]
async fn an_alias_change_refused_as_out_of_date_is_read_again_and_goes_on() {
    let fake = Fake::default().with_version(1, &["latest"]);
    // A sibling delivery of the request moved the alias first.
    fake.fail("UpdateImageVersion", ErrorKind::Rejected);
    create(&fake, props(json!({"Aliases": ["latest"]}))).await.unwrap();
    assert_eq!(fake.state().versions[&2].aliases, BTreeSet::from(["latest".to_owned()]));
    let reads = fake.calls().iter().filter(|c| *c == "ListAliases(2)").count();
    assert_eq!(reads, 2, "{:?}", fake.calls());
}

#[tokio::test(start_paused = true)]
async fn an_alias_change_refused_on_every_read_fails_the_request() {
    let fake = Fake::default().with_version(1, &["latest"]);
    for _ in 0..ALIAS_TRIES {
        fake.fail("UpdateImageVersion", ErrorKind::Rejected);
    }
    let err = create(&fake, props(json!({"Aliases": ["latest"]}))).await.unwrap_err();
    assert!(err.to_string().contains("UpdateImageVersion"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn create_of_a_missing_image_names_the_image() {
    let fake = Fake::default();
    fake.state().image_missing = true;
    let err = create(&fake, props(json!({}))).await.unwrap_err();
    assert!(matches!(err, LifecycleError::ImageNotFound { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("SageMaker image img does not exist in us-east-1"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn create_moves_aliases_held_by_another_version_once_created() {
    let fake = Fake::default().with_version(1, &["latest", "v1"]);
    create(&fake, props(json!({"Aliases": ["latest", "new"]})))
        .await
        .unwrap();
    let writes = fake.writes();
    assert_eq!(
        writes[0], "CreateImageVersion(repo:1)",
        "no alias is sent at create: {writes:?}"
    );
    assert!(
        writes[1].starts_with("UpdateImageVersion(1 +[] -[\"latest\"]"),
        "{writes:?}"
    );
    assert!(
        writes[2].starts_with("UpdateImageVersion(2 +[\"latest\", \"new\"] -[]"),
        "{writes:?}"
    );
    let s = fake.state();
    assert_eq!(s.versions[&1].aliases, BTreeSet::from(["v1".to_owned()]));
    assert_eq!(
        s.versions[&2].aliases,
        BTreeSet::from(["latest".to_owned(), "new".to_owned()])
    );
}

#[tokio::test(start_paused = true)]
async fn update_in_place_sends_only_what_differs_and_repairs_aliases() {
    let fake = Fake::default().with_version(1, &["drifted"]);
    fake.state().versions.get_mut(&1).unwrap().metadata =
        Metadata::from_values(|name| (name == "Processor").then(|| "CPU".to_owned()));
    let old = props(json!({"Processor": "CPU", "Aliases": ["a"]}));
    let new = props(json!({"Processor": "CPU", "ReleaseNotes": "n", "Aliases": ["a"]}));
    let done = update(&fake, &arn(1), new, old).await.unwrap();
    assert_eq!(done.physical_resource_id, arn(1));
    let writes = fake.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert!(writes[0].contains("+[\"a\"] -[\"drifted\"]"), "{writes:?}");
    assert!(writes[0].contains("Metadata({\"ReleaseNotes\": \"n\"})"), "{writes:?}");
}

#[tokio::test(start_paused = true)]
async fn update_in_place_repairs_metadata_that_drifted_from_unchanged_properties() {
    let fake = Fake::default().with_version(1, &[]);
    fake.state().versions.get_mut(&1).unwrap().metadata =
        Metadata::from_values(|name| (name == "Processor").then(|| "GPU".to_owned()));
    let same = props(json!({"Processor": "CPU"}));
    update(&fake, &arn(1), same.clone(), same).await.unwrap();
    let writes = fake.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert!(writes[0].contains("Metadata({\"Processor\": \"CPU\"})"), "{writes:?}");
}

#[tokio::test(start_paused = true)]
async fn update_that_changes_nothing_writes_nothing() {
    let fake = Fake::default().with_version(1, &["a"]);
    let same = props(json!({"Aliases": ["a"]}));
    update(&fake, &arn(1), same.clone(), same).await.unwrap();
    assert!(fake.writes().is_empty(), "{:?}", fake.calls());
}

#[tokio::test(start_paused = true)]
async fn update_with_a_new_base_image_is_a_replacement_and_keeps_the_old_version() {
    let fake = Fake::default().with_version(1, &["a"]);
    let old = props(json!({"Aliases": ["a"]}));
    let new = props(json!({"Aliases": ["a"], "BaseImage": "repo:2"}));
    let done = update(&fake, &arn(1), new, old).await.unwrap();
    assert_eq!(done.physical_resource_id, arn(2));
    let s = fake.state();
    assert_eq!(
        s.versions[&1].status,
        VersionStatus::Created,
        "the old version stays for cleanup"
    );
    assert!(s.versions[&1].aliases.is_empty());
    assert_eq!(s.versions[&2].aliases, BTreeSet::from(["a".to_owned()]));
}

#[tokio::test(start_paused = true)]
async fn update_of_a_vanished_version_creates_it_again() {
    let fake = Fake::default().with_version(1, &[]);
    fake.state().versions.remove(&1);
    let done = update(&fake, &arn(1), props(json!({})), props(json!({})))
        .await
        .unwrap();
    assert_eq!(done.physical_resource_id, arn(2));
}

#[test]
fn client_token_is_the_request_id_or_a_hash_that_fits() {
    let uuid = "5b3c4a10-8f2e-11ef-9c3a-0a1b2c3d4e5f";
    assert_eq!(client_token(uuid), uuid);
    for odd in ["has spaces", &"x".repeat(37), "unicode-é"] {
        let token = client_token(odd);
        assert_eq!(token.len(), 32);
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(token, client_token(odd), "stable across deliveries");
    }
}

#[tokio::test(start_paused = true)]
async fn an_update_whose_read_of_the_version_is_refused_fails_and_creates_nothing() {
    let fake = Fake::default().with_version(1, &[]);
    fake.fail("DescribeImageVersion", ErrorKind::Rejected);
    let err = update(&fake, &arn(1), props(json!({"ReleaseNotes": "n"})), props(json!({})))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("DescribeImageVersion"), "{err}");
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
}

#[tokio::test(start_paused = true)]
async fn a_version_gone_while_it_was_being_created_fails_as_disappeared() {
    let fake = Fake::default();
    fake.state().polls = 2;
    fake.fail("DescribeImageVersion", ErrorKind::NotFound);
    let err = create(&fake, props(json!({}))).await.unwrap_err();
    assert!(matches!(err, LifecycleError::Disappeared { .. }), "{err}");
    assert!(err.to_string().contains("gone"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn one_step_at_a_time_a_throttled_call_is_pending_not_failed() {
    let fake = Fake::default();
    fake.fail("CreateImageVersion", ErrorKind::Transient);
    let (pacing, progress) = (Pacing::one_step(), Progress::default());
    let lifecycle = Lifecycle {
        regions: &fake,
        pacing: &pacing,
        progress: &progress,
        retries_until: None,
    };
    let step = lifecycle.create("req-1", &parsed(&props(json!({})))).await;
    assert!(matches!(step, Err(Halt::Pending)), "{step:?}");
    fake.fail("CreateImageVersion", ErrorKind::Rejected);
    let step = lifecycle.create("req-1", &parsed(&props(json!({})))).await;
    assert!(matches!(step, Err(Halt::Failed(_))), "{step:?}");
}

#[test]
fn request_ids_that_differ_in_one_character_get_different_tokens() {
    let prefix = "not-a-uuid ".repeat(4);
    let alphabet: Vec<char> = ('a'..='z').chain('A'..='Z').chain('0'..='9').collect();
    let mut ids = BTreeSet::new();
    for at in [0, prefix.len() / 2, prefix.len()] {
        for c in &alphabet {
            let mut id = prefix.clone();
            id.insert(at, *c);
            ids.insert(id);
        }
    }
    let tokens: BTreeSet<String> = ids.iter().map(|id| client_token(id)).collect();
    assert_eq!(tokens.len(), ids.len(), "no two requests share a token");
}

#[tokio::test(start_paused = true)]
async fn update_to_another_image_or_region_alone_is_a_replacement() {
    for change in [json!({"ImageName": "other"}), json!({"Region": "us-west-2"})] {
        let fake = Fake::default().with_version(1, &[]);
        let done = update(&fake, &arn(1), props(change.clone()), props(json!({})))
            .await
            .unwrap();
        assert_eq!(done.physical_resource_id, arn(2), "{change}");
        assert_eq!(fake.state().versions[&1].status, VersionStatus::Created, "{change}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_throttled_poll_keeps_a_create_waiting_for_created() {
    let fake = Fake::default();
    fake.state().polls = 2;
    fake.fail("DescribeImageVersion", ErrorKind::Transient);
    let done = create(&fake, props(json!({}))).await.unwrap();
    assert_eq!(done.physical_resource_id, arn(1));
}

#[tokio::test(start_paused = true)]
async fn a_poll_sagemaker_refuses_fails_the_create_instead_of_waiting() {
    let fake = Fake::default();
    fake.state().polls = 2;
    fake.fail("DescribeImageVersion", ErrorKind::Rejected);
    let err = create(&fake, props(json!({}))).await.unwrap_err();
    assert!(err.to_string().contains("DescribeImageVersion"), "{err}");
}

// --- ExistingVersion ---

#[tokio::test(start_paused = true)]
async fn taking_over_moves_an_alias_another_version_holds() {
    let fake = Fake::default().with_version(1, &[]).with_version(2, &["stable"]);
    create(&fake, props(json!({"ExistingVersion": "1", "Aliases": ["stable"]})))
        .await
        .unwrap();
    let s = fake.state();
    assert_eq!(s.versions[&1].aliases, ["stable".to_owned()].into());
    assert!(s.versions[&2].aliases.is_empty(), "{:?}", s.calls);
}

#[tokio::test(start_paused = true)]
async fn an_existing_version_is_taken_over_and_brought_to_the_template_in_one_update() {
    let fake = Fake::default().with_version(1, &["by-hand"]);
    let done = create(
        &fake,
        props(json!({"ExistingVersion": "1", "Aliases": ["stable"], "JobType": "TRAINING"})),
    )
    .await
    .unwrap();
    assert_eq!(done.physical_resource_id, arn(1));
    assert_eq!(done.data["Version"], "1");
    let writes = fake.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert!(
        writes[0].starts_with("UpdateImageVersion(1 +[\"stable\"] -[\"by-hand\"]"),
        "{writes:?}"
    );
    assert!(writes[0].contains("\"JobType\": \"TRAINING\""), "{writes:?}");
    let s = fake.state();
    assert_eq!(s.versions.len(), 1, "no version is created");
    assert_eq!(s.versions[&1].aliases, ["stable".to_owned()].into());
}

#[tokio::test(start_paused = true)]
async fn an_existing_version_with_another_base_image_is_refused_without_a_write() {
    let fake = Fake::default().with_version(1, &[]);
    let err = create(&fake, props(json!({"ExistingVersion": 1, "BaseImage": "repo:2"})))
        .await
        .unwrap_err();
    assert!(matches!(err, LifecycleError::BaseImageMismatch { .. }), "{err}");
    let reason = err.to_string();
    assert!(
        reason.contains("\"repo:1\"") && reason.contains("\"repo:2\""),
        "{reason}"
    );
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
}

#[tokio::test(start_paused = true)]
async fn a_missing_existing_version_is_refused_without_a_write() {
    let fake = Fake::default();
    let err = create(&fake, props(json!({"ExistingVersion": "3"}))).await.unwrap_err();
    assert!(matches!(err, LifecycleError::NotAdopted { version: 3, .. }), "{err}");
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
}

/// A fake whose version 1 is CREATING for three more polls.
fn version_1_still_creating() -> Fake {
    let fake = Fake::default().with_version(1, &[]);
    {
        let mut s = fake.state();
        let v = s.versions.get_mut(&1).unwrap();
        v.status = VersionStatus::Creating;
        v.polls_left = 3;
    }
    fake
}

#[tokio::test(start_paused = true)]
async fn an_existing_version_still_creating_is_waited_for() {
    let fake = version_1_still_creating();
    let done = create(&fake, props(json!({"ExistingVersion": "1"}))).await.unwrap();
    assert_eq!(done.physical_resource_id, arn(1));
    assert!(fake.writes().is_empty(), "nothing differs: {:?}", fake.writes());
}

#[tokio::test(start_paused = true)]
async fn one_step_at_a_time_an_existing_version_still_creating_is_pending_not_refused() {
    let fake = version_1_still_creating();
    let (pacing, progress) = (Pacing::one_step(), Progress::default());
    let lifecycle = Lifecycle {
        regions: &fake,
        pacing: &pacing,
        progress: &progress,
        retries_until: None,
    };
    let step = lifecycle
        .create("req-1", &parsed(&props(json!({"ExistingVersion": "1"}))))
        .await;
    assert!(matches!(step, Err(Halt::Pending)), "{step:?}");
}

#[tokio::test(start_paused = true)]
async fn taking_over_a_version_whose_read_is_refused_fails_with_sagemaker_s_error() {
    let fake = Fake::default().with_version(1, &[]);
    fake.fail("DescribeImageVersion", ErrorKind::Rejected);
    let err = create(&fake, props(json!({"ExistingVersion": "1"}))).await.unwrap_err();
    assert!(
        !err.to_string().contains("does not exist"),
        "not read as missing: {err}"
    );
    assert!(err.to_string().contains("ValidationException"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn an_existing_version_that_failed_is_refused() {
    let fake = Fake::default().with_version(1, &[]);
    fake.state().versions.get_mut(&1).unwrap().status = VersionStatus::CreateFailed;
    let err = create(&fake, props(json!({"ExistingVersion": "1"}))).await.unwrap_err();
    assert!(err.to_string().contains("it is CREATE_FAILED"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn changing_existing_version_on_update_fails_before_any_call() {
    let fake = Fake::default().with_version(1, &[]).with_version(2, &[]);
    let err = update(
        &fake,
        &arn(1),
        props(json!({"ExistingVersion": "2"})),
        props(json!({"ExistingVersion": "1"})),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, LifecycleError::ExistingVersionChanged { wanted: 2, held: 1 }),
        "{err}"
    );
    assert!(err.to_string().contains("new logical id"), "{err}");
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
}

#[tokio::test(start_paused = true)]
async fn the_rollback_of_a_changed_existing_version_succeeds() {
    let fake = Fake::default().with_version(1, &[]);
    let rollback = update(
        &fake,
        &arn(1),
        props(json!({"ExistingVersion": "1"})),
        props(json!({"ExistingVersion": "2"})),
    )
    .await;
    assert_eq!(rollback.unwrap().physical_resource_id, arn(1));
}

#[tokio::test(start_paused = true)]
async fn removing_existing_version_on_update_changes_nothing() {
    let fake = Fake::default().with_version(1, &[]);
    let done = update(&fake, &arn(1), props(json!({})), props(json!({"ExistingVersion": "1"})))
        .await
        .unwrap();
    assert_eq!(done.physical_resource_id, arn(1));
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
}

/// A Create run as the engine runs it, with `progress`, until `until_in` from now.
async fn engine_create(fake: &Fake, progress: &Progress, until_in: Duration) -> Ended {
    let engine = Engine::new(fake.clone(), Pacing::default());
    let work = Work::Create {
        request_id: "req-1".to_owned(),
        props: parsed(&props(json!({}))),
    };
    engine.run(work, progress, tokio::time::Instant::now() + until_in).await
}

/// A Create handed on by an invocation that found the image busy a minute
/// ago and scheduled its next try `next_try_in` from now, run until
/// `until_in` from now, as the engine runs it.
async fn resume_busy_create(fake: &Fake, next_try_in: Duration, until_in: Duration) -> (Ended, Progress) {
    let now = std::time::SystemTime::now();
    let progress = Progress::resumed(
        None,
        Some(Busy {
            operation: "CreateImageVersion".to_owned(),
            since: now - Duration::from_secs(60),
            next_try: now + next_try_in,
        }),
        false,
    );
    (engine_create(fake, &progress, until_in).await, progress)
}

#[tokio::test(start_paused = true)]
async fn a_request_handed_on_while_the_image_was_busy_waits_for_its_scheduled_try() {
    let fake = Fake::default();
    let started = tokio::time::Instant::now();
    let (ended, progress) = resume_busy_create(&fake, Duration::from_secs(20), Duration::from_secs(900)).await;
    assert!(matches!(ended, Ended::Done(_)), "{ended:?}");
    assert!(started.elapsed() >= Duration::from_secs(20), "{:?}", started.elapsed());
    assert_eq!(progress.snapshot().busy, None, "the Create went through");
}

#[tokio::test(start_paused = true)]
async fn a_try_due_too_close_to_the_deadline_is_handed_on_instead_of_started() {
    let fake = Fake::default();
    let (ended, progress) = resume_busy_create(&fake, Duration::from_millis(9_500), Duration::from_secs(10)).await;
    assert!(matches!(ended, Ended::OutOfTime), "{ended:?}");
    assert_eq!(
        fake.calls(),
        Vec::<String>::new(),
        "a call cut by the deadline could not be handed on"
    );
    let busy = progress
        .snapshot()
        .busy
        .expect("the scheduled try goes on to the next link");
    assert_eq!(busy.operation, "CreateImageVersion");
}

#[tokio::test(start_paused = true)]
async fn a_throttled_call_held_back_at_the_deadline_waits_for_its_next_try() {
    let fake = Fake::default();
    fake.fail("CreateImageVersion", ErrorKind::Transient);
    let progress = Progress::default();
    // Every backoff draw (125-250 ms) falls after the guard (300 ms less the
    // 250 ms margin) and before the deadline.
    let ended = engine_create(&fake, &progress, Duration::from_millis(300)).await;
    assert!(matches!(ended, Ended::OutOfTime), "{ended:?}");
    assert_eq!(
        fake.calls(),
        vec!["CreateImageVersion(repo:1)"],
        "the retry was held back"
    );
    let waiting = progress.snapshot().waiting_for;
    assert_eq!(waiting, Some(Waiting::Retry("CreateImageVersion".to_owned())));
}

#[tokio::test(start_paused = true)]
async fn a_busy_image_is_remembered_with_the_next_try_until_the_write_goes_through() {
    let fake = Fake::default();
    fake.fail("CreateImageVersion", ErrorKind::InUse);
    let progress = Progress::default();
    let pacing = Pacing::one_step();
    let lifecycle = Lifecycle {
        regions: &fake,
        pacing: &pacing,
        progress: &progress,
        retries_until: None,
    };
    assert!(lifecycle.create("req-1", &parsed(&props(json!({})))).await.is_err());
    let busy = progress.snapshot().busy.expect("the image was busy");
    assert_eq!(busy.operation, "CreateImageVersion");
    assert!(busy.next_try > busy.since, "{busy:?}");
    assert_eq!(progress.snapshot().waiting_for, Some(Waiting::Busy));
    lifecycle.create("req-1", &parsed(&props(json!({})))).await.unwrap();
    assert_eq!(progress.snapshot().busy, None);
}
