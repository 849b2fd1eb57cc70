//! The conclusion's table, row by row, against an in-memory SageMaker.

use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::lifecycle::{LifecycleError, Waiting};
use crate::sagemaker::fake::{ARN_PREFIX, Fake};

fn arn(version: i32) -> String {
    format!("{ARN_PREFIX}{version}")
}

fn props(extra: Value) -> Value {
    let mut props = json!({"ImageName": "img", "BaseImage": "repo:1"});
    for (k, v) in extra.as_object().unwrap() {
        props[k] = v.clone();
    }
    props
}

fn engine(fake: &Fake) -> Arc<Engine<Fake>> {
    Engine::new(fake.clone(), Pacing::default())
}

fn parsed(properties: &Value) -> ImageVersionProperties {
    ImageVersionProperties::parse(properties).expect("valid properties")
}

fn create(properties: Value) -> Work {
    Work::Create {
        request_id: "req-1".to_owned(),
        props: parsed(&properties),
    }
}

fn update(properties: Value) -> Work {
    Work::Update {
        request_id: "req-2".to_owned(),
        physical_id: arn(1),
        props: parsed(&properties),
        old: Some(parsed(&props(json!({})))),
    }
}

fn failed() -> Ending {
    let error = LifecycleError::CreateFailed {
        arn: "a".into(),
        reason: "the base image does not exist".into(),
    };
    Ending::Lifecycle(Ended::Failed(error), RanOut::Function(Duration::from_secs(60)))
}

/// The direct mode, with no hand-off to go on in.
const DIRECT: Step = Step::Direct { may_hand_on: false };

/// How `work`, which ended so with `progress`, concludes for `step`.
async fn concluded(fake: &Fake, work: &Work, step: Step<'_>, ending: Ending, progress: &ProgressState) -> Conclusion {
    let request = Request {
        work,
        request_id: "req",
        physical_id: work.physical_id(),
        step,
    };
    let until = Instant::now() + Duration::from_secs(60);
    engine(fake).conclude(request, ending, progress, until).await
}

/// `work` concluded as failed, with `progress`, for `step`: its id and Reason.
async fn conclude(fake: &Fake, work: &Work, step: Step<'_>, progress: &ProgressState) -> (String, String) {
    match concluded(fake, work, step, failed(), progress).await {
        Conclusion::Failure {
            physical_resource_id,
            reason,
        } => (physical_resource_id, reason.to_string()),
        other => panic!("{other:?}"),
    }
}

fn out_of_time() -> Ending {
    Ending::Lifecycle(Ended::OutOfTime, RanOut::Function(Duration::from_secs(60)))
}

fn made(version: i32) -> ProgressState {
    ProgressState {
        version_arn: Some(arn(version)),
        create_sent: true,
        ..ProgressState::default()
    }
}

fn deletes(fake: &Fake) -> Vec<String> {
    fake.writes()
        .into_iter()
        .filter(|w| w.starts_with("DeleteImageVersion"))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_done_request_succeeds() {
    let fake = Fake::default();
    let done = Done {
        physical_resource_id: arn(1),
        data: Default::default(),
    };
    let ending = Ending::Lifecycle(Ended::Done(done.clone()), RanOut::Provider);
    let work = create(props(json!({})));
    let concluded = concluded(&fake, &work, DIRECT, ending, &ProgressState::default()).await;
    assert!(matches!(concluded, Conclusion::Success(d) if d == done));
}

#[tokio::test(start_paused = true)]
async fn a_request_not_done_goes_on_where_the_step_may_wait_and_names_the_version_a_create_made() {
    let fake = Fake::default().with_version(1, &[]);
    let work = create(props(json!({})));
    let steps = [
        Step::Direct { may_hand_on: true },
        Step::OnEvent,
        Step::IsComplete {
            answered: None,
            giving_up: false,
        },
    ];
    for step in steps {
        match concluded(&fake, &work, step, out_of_time(), &made(1)).await {
            Conclusion::NotYet {
                physical_resource_id, ..
            } => assert_eq!(physical_resource_id, arn(1), "{step:?}"),
            other => panic!("{step:?}: {other:?}"),
        }
    }
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
}

#[tokio::test(start_paused = true)]
async fn a_request_not_done_where_the_step_may_not_wait_fails_timed_out() {
    let fake = Fake::default().with_version(1, &[]);
    let work = create(props(json!({})));
    let giving_up = Step::IsComplete {
        answered: Some("marker"),
        giving_up: true,
    };
    for step in [DIRECT, giving_up] {
        match concluded(&fake, &work, step, out_of_time(), &made(1)).await {
            Conclusion::Failure { reason, .. } => {
                assert!(reason.to_string().starts_with("timed out"), "{step:?}: {reason}")
            }
            other => panic!("{step:?}: {other:?}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn on_event_leaves_a_create_whose_version_failed_to_is_complete_which_answers_its_arn() {
    let fake = Fake::default().with_version(1, &[]);
    let work = create(props(json!({})));
    match concluded(&fake, &work, Step::OnEvent, failed(), &made(1)).await {
        Conclusion::NotYet {
            physical_resource_id, ..
        } => assert_eq!(physical_resource_id, arn(1)),
        other => panic!("{other:?}"),
    }
    let answered = Step::IsComplete {
        answered: Some(&arn(1)),
        giving_up: false,
    };
    let (id, _) = conclude(&fake, &work, answered, &made(1)).await;
    assert_eq!(id, arn(1));
    assert!(
        fake.writes().is_empty(),
        "the rollback Delete removes it: {:?}",
        fake.writes()
    );
}

#[tokio::test(start_paused = true)]
async fn a_create_that_failed_after_making_a_version_answers_its_arn_and_deletes_nothing() {
    let fake = Fake::default().with_version(1, &[]);
    let (id, _) = conclude(&fake, &create(props(json!({}))), DIRECT, &made(1)).await;
    assert_eq!(id, arn(1));
    assert_eq!(deletes(&fake), Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn an_update_that_failed_after_making_a_version_keeps_the_old_id_and_deletes_the_new_one() {
    let fake = Fake::default().with_version(1, &[]).with_version(2, &[]);
    fake.state().versions.get_mut(&2).unwrap().status = crate::sagemaker::VersionStatus::CreateFailed;
    let (id, reason) = conclude(&fake, &update(props(json!({}))), DIRECT, &made(2)).await;
    assert_eq!(id, arn(1));
    assert_eq!(deletes(&fake), vec!["DeleteImageVersion(2)"]);
    assert!(
        reason.ends_with(&format!("; the new version {} is being deleted", arn(2))),
        "{reason}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_new_version_created_from_the_template_is_left_for_another_delivery() {
    let fake = Fake::default().with_version(1, &[]).with_version(2, &[]);
    let (id, reason) = conclude(&fake, &update(props(json!({}))), DIRECT, &made(2)).await;
    assert_eq!(id, arn(1));
    assert_eq!(deletes(&fake), Vec::<String>::new());
    assert!(reason.contains("left in place"), "{reason}");
}

#[tokio::test(start_paused = true)]
async fn any_other_failure_answers_the_request_id_else_a_placeholder() {
    let fake = Fake::default().with_version(1, &[]);
    let held = ProgressState {
        version_arn: Some(arn(1)),
        ..ProgressState::default()
    };
    let (id, _) = conclude(&fake, &update(props(json!({}))), DIRECT, &held).await;
    assert_eq!(id, arn(1), "the version an Update acts on is not one it made");
    let (id, _) = conclude(&fake, &create(props(json!({}))), DIRECT, &ProgressState::default()).await;
    assert!(id.starts_with("no-image-version-"), "a placeholder, not an ARN: {id}");
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
}

#[tokio::test(start_paused = true)]
async fn a_create_cut_short_in_flight_is_named_by_asking_again_under_its_token() {
    let fake = Fake::default().with_version(1, &[]);
    let properties = props(json!({"BaseImage": "repo:2"}));
    // The first try went through; its answer was lost.
    let parsed = ImageVersionProperties::parse(&properties).unwrap();
    let token = client_token("req-2");
    fake.create(&new_version(&parsed, &token)).await.unwrap();
    let sent = ProgressState {
        version_arn: Some(arn(1)),
        create_sent: true,
        ..ProgressState::default()
    };
    let (id, reason) = conclude(&fake, &update(properties), DIRECT, &sent).await;
    assert_eq!(id, arn(1));
    assert!(
        reason.contains(&arn(2)),
        "the note names the version asked back: {reason}"
    );
    assert_eq!(fake.state().tokens.len(), 1, "the same token made no third version");
}

#[tokio::test(start_paused = true)]
async fn a_version_the_framework_cannot_name_is_deleted() {
    let fake = Fake::default().with_version(1, &[]);
    fake.state().versions.get_mut(&1).unwrap().status = crate::sagemaker::VersionStatus::CreateFailed;
    // onEvent's failure of a Create (here: the version went away) is
    // answered with the framework's marker, which names no version.
    let gone = LifecycleError::Disappeared {
        arn: arn(1),
        status: "DELETING".into(),
    };
    let ending = Ending::Lifecycle(Ended::Failed(gone), RanOut::Provider);
    let work = create(props(json!({})));
    let reason = match concluded(&fake, &work, Step::OnEvent, ending, &made(1)).await {
        Conclusion::Failure { reason, .. } => reason.to_string(),
        other => panic!("{other:?}"),
    };
    assert_eq!(deletes(&fake), vec!["DeleteImageVersion(1)"]);
    assert!(reason.contains("is being deleted"), "{reason}");
}

#[test]
fn a_timed_out_reason_says_what_ran_out_where_the_request_was_and_what_to_do() {
    let reason = Reason {
        cause: Cause::TimedOut(RanOut::ServiceTimeout {
            limit: Duration::from_secs(300),
            hand_offs: 4,
        }),
        state: ProgressState {
            waiting_for: Some(Waiting::Created),
            version_arn: Some(arn(2)),
            last_error: Some("throttled".into()),
            ..ProgressState::default()
        },
        note: Some("the new version is being deleted".into()),
    };
    assert_eq!(
        reason.to_string(),
        format!(
            "timed out: the resource's ServiceTimeout (300s) ran out after 4 hand-offs to new invocations \
             waiting for the version to be CREATED (polling DescribeImageVersion) (image version {}); last \
             error: throttled; the new version is being deleted; raise the resource's ServiceTimeout (at most \
             3600) or retry the stack operation",
            arn(2)
        )
    );
}
