//! Delete's rules: the version named by the physical id, until it is gone.

use super::*;

async fn delete(fake: &Fake, physical_id: &str) -> Result<Done, LifecycleError> {
    run(fake, async |l| l.delete(physical_id, Some("img")).await)
        .await
        .map_err(failed)
}

#[tokio::test(start_paused = true)]
async fn delete_of_an_id_that_is_not_an_arn_makes_no_call() {
    let fake = Fake::default();
    let done = delete(&fake, "no-image-version-req-1").await.unwrap();
    assert_eq!(done.physical_resource_id, "no-image-version-req-1");
    assert!(fake.calls().is_empty());
}

#[tokio::test(start_paused = true)]
async fn delete_polls_until_the_version_is_gone() {
    let fake = Fake::default().with_version(1, &[]);
    fake.state().polls = 2;
    let done = delete(&fake, &arn(1)).await.unwrap();
    assert_eq!(done.physical_resource_id, arn(1));
    assert!(fake.state().versions.is_empty());
    assert_eq!(fake.calls().iter().filter(|c| c.starts_with("Describe")).count(), 3);
}

#[tokio::test(start_paused = true)]
async fn delete_of_a_version_already_gone_succeeds() {
    let fake = Fake::default();
    delete(&fake, &arn(7)).await.unwrap();
    assert_eq!(fake.calls(), vec!["DeleteImageVersion(7)"]);
}

#[tokio::test(start_paused = true)]
async fn delete_waits_out_a_version_being_deleted() {
    let fake = Fake::default().with_version(1, &[]);
    fake.state().versions.get_mut(&1).unwrap().status = VersionStatus::Deleting;
    fake.fail("DeleteImageVersion", ErrorKind::InUse);
    delete(&fake, &arn(1)).await.unwrap();
    assert!(fake.state().versions.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_resumed_delete_reads_the_version_before_deleting_it_again() {
    let resumed = async |fake: &Fake| {
        run_with(fake, &Progress::resumed(None, None, false), async |l| {
            l.delete(&arn(1), Some("img")).await
        })
        .await
    };
    let being_deleted = Fake::default().with_version(1, &[]);
    being_deleted.state().versions.get_mut(&1).unwrap().status = VersionStatus::Deleting;
    resumed(&being_deleted).await.unwrap();
    assert!(being_deleted.state().versions.is_empty());
    assert!(
        !being_deleted
            .calls()
            .iter()
            .any(|c| c.starts_with("DeleteImageVersion")),
        "{:?}",
        being_deleted.calls()
    );
    let gone = Fake::default();
    resumed(&gone).await.unwrap();
    assert_eq!(gone.calls(), vec!["DescribeImageVersion(1)"]);
    let still_there = Fake::default().with_version(1, &[]);
    resumed(&still_there).await.unwrap();
    assert!(still_there.calls().contains(&"DeleteImageVersion(1)".to_owned()));
    assert!(still_there.state().versions.is_empty());
}

#[tokio::test(start_paused = true)]
async fn one_step_at_a_time_a_version_just_read_as_deleting_is_not_read_again_in_that_step() {
    let fake = Fake::default().with_version(1, &[]);
    if let Some(version) = fake.state().versions.get_mut(&1) {
        (version.status, version.polls_left) = (VersionStatus::Deleting, 2);
    }
    let pacing = Pacing::one_step();
    let progress = Progress::resumed(None, None, false);
    let lifecycle = Lifecycle {
        regions: &fake,
        pacing: &pacing,
        progress: &progress,
        retries_until: None,
    };
    let step = lifecycle.delete(&arn(1), Some("img")).await;
    assert!(matches!(step, Err(Halt::Pending)), "{step:?}");
    assert_eq!(fake.calls(), vec!["DescribeImageVersion(1)"], "one call per isComplete");
}

#[tokio::test(start_paused = true)]
async fn delete_failed_carries_the_reason() {
    let fake = Fake::default().with_version(1, &[]);
    fake.state().versions.get_mut(&1).unwrap().then = VersionStatus::DeleteFailed;
    let err = delete(&fake, &arn(1)).await.unwrap_err();
    assert!(err.to_string().contains("could not delete image version"), "{err}");
    assert!(err.to_string().contains("the base image does not exist"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_delete_sagemaker_refuses_fails_at_once_without_another_try() {
    let fake = Fake::default().with_version(1, &[]);
    fake.fail("DeleteImageVersion", ErrorKind::Rejected);
    let err = delete(&fake, &arn(1)).await.unwrap_err();
    assert!(err.to_string().contains("DeleteImageVersion"), "{err}");
    assert_eq!(fake.calls(), vec!["DeleteImageVersion(1)"]);
}

#[tokio::test(start_paused = true)]
async fn a_delete_refused_as_in_use_by_its_own_deletion_is_not_sent_again() {
    let fake = Fake::default().with_version(1, &[]);
    if let Some(version) = fake.state().versions.get_mut(&1) {
        (version.status, version.polls_left) = (VersionStatus::Deleting, 1);
    }
    fake.fail("DeleteImageVersion", ErrorKind::InUse);
    delete(&fake, &arn(1)).await.unwrap();
    assert!(fake.state().versions.is_empty());
    let deletes = fake
        .calls()
        .iter()
        .filter(|c| c.starts_with("DeleteImageVersion"))
        .count();
    assert_eq!(deletes, 1, "{:?}", fake.calls());
}

#[tokio::test(start_paused = true)]
async fn a_throttled_poll_keeps_the_delete_waiting_until_the_version_is_gone() {
    let fake = Fake::default().with_version(1, &[]);
    fake.state().polls = 2;
    fake.fail("DescribeImageVersion", ErrorKind::Transient);
    delete(&fake, &arn(1)).await.unwrap();
    assert!(fake.state().versions.is_empty(), "answered only once gone");
}

#[tokio::test(start_paused = true)]
async fn a_poll_sagemaker_refuses_fails_the_delete_instead_of_waiting() {
    let fake = Fake::default().with_version(1, &[]);
    fake.state().polls = 2;
    fake.fail("DescribeImageVersion", ErrorKind::Rejected);
    let err = delete(&fake, &arn(1)).await.unwrap_err();
    assert!(err.to_string().contains("DescribeImageVersion"), "{err}");
    assert!(!fake.state().versions.is_empty(), "not answered as gone");
}

// --- A version no answer names ---

/// Version 2 discarded, as a request of `base_image` would.
async fn discard(fake: &Fake, base_image: &str) -> Discarded {
    let arn = ImageVersionArn::parse(&arn(2)).expect("an ARN");
    run(fake, async |l| l.discard(&arn, "img", Some(base_image)).await).await
}

#[tokio::test(start_paused = true)]
async fn a_discard_of_a_version_already_gone_sends_no_delete() {
    let fake = Fake::default();
    assert_eq!(discard(&fake, "repo:1").await, Discarded::Deleting);
    assert_eq!(fake.calls(), vec!["DescribeImageVersion(2)"]);
}

#[tokio::test(start_paused = true)]
async fn a_discard_sagemaker_refuses_is_told_from_one_that_found_it_gone() {
    let refused = Fake::default().with_version(2, &[]);
    refused.fail("DeleteImageVersion", ErrorKind::Rejected);
    assert_eq!(discard(&refused, "repo:2").await, Discarded::Refused);
    let gone = Fake::default().with_version(2, &[]);
    gone.fail("DeleteImageVersion", ErrorKind::NotFound);
    assert_eq!(discard(&gone, "repo:2").await, Discarded::Deleting);
}

#[tokio::test(start_paused = true)]
async fn a_discard_deletes_a_version_of_another_base_image_and_keeps_one_of_the_template() {
    let other = Fake::default().with_version(2, &[]);
    assert_eq!(discard(&other, "repo:2").await, Discarded::Deleting);
    assert!(other.writes().contains(&"DeleteImageVersion(2)".to_owned()));
    let template = Fake::default().with_version(2, &[]);
    assert_eq!(discard(&template, "repo:1").await, Discarded::Answerable);
    assert!(template.writes().is_empty(), "{:?}", template.writes());
}

#[tokio::test(start_paused = true)]
async fn a_resumed_delete_whose_read_is_refused_fails_instead_of_answering_gone() {
    let fake = Fake::default().with_version(1, &[]);
    fake.fail("DescribeImageVersion", ErrorKind::Rejected);
    let resumed = run_with(&fake, &Progress::resumed(None, None, false), async |l| {
        l.delete(&arn(1), Some("img")).await
    })
    .await;
    assert!(resumed.is_err(), "an unreadable version is not gone: {resumed:?}");
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
}

#[tokio::test(start_paused = true)]
async fn a_delete_refused_as_in_use_while_the_image_is_busy_is_tried_again() {
    let fake = Fake::default().with_version(1, &[]);
    fake.fail("DeleteImageVersion", ErrorKind::InUse);
    delete(&fake, &arn(1)).await.unwrap();
    assert!(fake.state().versions.is_empty());
    let deletes = fake
        .calls()
        .iter()
        .filter(|c| c.starts_with("DeleteImageVersion"))
        .count();
    assert_eq!(deletes, 2, "{:?}", fake.calls());
}

#[tokio::test(start_paused = true)]
async fn a_delete_refused_as_in_use_whose_read_is_refused_fails() {
    let fake = Fake::default().with_version(1, &[]);
    fake.fail("DeleteImageVersion", ErrorKind::InUse);
    fake.fail("DescribeImageVersion", ErrorKind::Rejected);
    assert!(delete(&fake, &arn(1)).await.is_err());
    assert!(!fake.state().versions.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_throttled_delete_is_tried_again() {
    let fake = Fake::default().with_version(1, &[]);
    fake.fail("DeleteImageVersion", ErrorKind::Transient);
    delete(&fake, &arn(1)).await.unwrap();
    assert!(fake.state().versions.is_empty());
}
