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
