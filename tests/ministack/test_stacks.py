"""Stacks of template.yaml through ministack's CloudFormation: each test
checks the stack (status, events, outputs) against what the SageMaker
stand-in holds afterwards. Where ministack departs from CloudFormation the
test says so and checks what ministack does.
"""

import world

WRITES = {"CreateImageVersion", "UpdateImageVersion", "DeleteImageVersion"}


def image_arn(version_arn):
    """arn:...:image-version/NAME/N -> arn:...:image/NAME"""
    prefix, path = version_arn.split(":image-version/")
    return f"{prefix}:image/{path.rsplit('/', 1)[0]}"


def assert_outputs_name(stack, view):
    """Ref and every Fn::GetAtt of the stack name the stand-in's version `view`."""
    assert stack.outputs() == {
        "Ref": view["Arn"],
        "Arn": view["Arn"],
        "ImageVersionArn": view["Arn"],
        "ImageArn": image_arn(view["Arn"]),
        "Version": str(view["Version"]),
        "ContainerImage": view["ContainerImage"],
    }


def summary(view):
    return view["Version"], view["Status"], view["BaseImage"], view["Aliases"]


def status(stack):
    return stack["StackStatus"] if stack else "DELETE_COMPLETE"


def reason_of(stack, logical_id, resource_status):
    """The Reason of the one event of the resource with that status."""
    events = stack.events()
    found = [r for lid, s, r in events if lid == logical_id and s == resource_status]
    assert len(found) == 1, f"expected one {resource_status} of {logical_id} in {events}"
    return found[0]


def operations(calls):
    return [c["Operation"] for c in calls]


def test_create(stack, standin, image, base_image):
    assert status(stack.create()) == "CREATE_COMPLETE", stack.events()
    [view] = standin.versions(image)
    assert (view["Version"], view["Status"], view["BaseImage"]) == (1, "CREATED", base_image("1"))
    assert view["Aliases"] == ["latest"]
    # Scalars arrive as strings (Horovod "false"); SageMaker holds their values.
    assert (view["JobType"], view["Processor"], view["Horovod"], view["ReleaseNotes"]) == (
        "TRAINING",
        "CPU",
        False,
        "first",
    )
    assert stack.physical_id() == view["Arn"]
    assert_outputs_name(stack, view)


def test_update_in_place(stack, standin, image):
    stack.create()
    [before] = standin.versions(image)

    assert status(stack.update(Aliases="latest,stable", Processor="GPU", ReleaseNotes="second")) == "UPDATE_COMPLETE"
    [after] = standin.versions(image)
    assert after["Arn"] == before["Arn"] == stack.physical_id()
    assert after["Aliases"] == ["latest", "stable"]
    assert (after["Processor"], after["ReleaseNotes"]) == ("GPU", "second")
    assert_outputs_name(stack, after)

    assert status(stack.update(Aliases="stable")) == "UPDATE_COMPLETE"
    [after] = standin.versions(image)
    assert (after["Arn"], after["Aliases"]) == (before["Arn"], ["stable"])
    assert operations(standin.calls(image)).count("CreateImageVersion") == 1


def test_replacement(stack, standin, image, base_image):
    stack.create()
    [old] = standin.versions(image)

    assert status(stack.update(BaseImage=base_image("2"))) == "UPDATE_COMPLETE", stack.events()
    # ministack sends the cleanup Delete of the old id before the stack
    # reaches UPDATE_COMPLETE and records no UPDATE_COMPLETE_CLEANUP_IN_PROGRESS
    # events (CloudFormation does both): the stand-in shows the Delete.
    [new] = standin.versions(image)
    assert (new["Version"], new["BaseImage"], new["Aliases"]) == (2, base_image("2"), ["latest"])
    assert stack.physical_id() == new["Arn"] != old["Arn"]
    assert_outputs_name(stack, new)
    deletes = [c["Body"] for c in standin.calls(image) if c["Operation"] == "DeleteImageVersion"]
    assert [d["Version"] for d in deletes] == [1]


def test_bad_property(stack, standin, image):
    stack.params["JobType"] = "BANANA"
    assert status(stack.create()) == "ROLLBACK_COMPLETE"
    reason = reason_of(stack, "ImageVersion", "CREATE_FAILED")
    assert "JobType" in reason and "BANANA" in reason, reason
    assert standin.versions(image) == []
    assert not WRITES & set(operations(standin.calls(image)))
    # CloudFormation follows a FAILED Create with a Delete of the id the
    # answer gave; ministack sends none (stacks._roll_back_operation deletes
    # only what the operation created), so that Delete is not exercised here.


def test_failed_replacement(stack, standin, image, base_image):
    stack.create()
    [old] = standin.versions(image)
    standin.fail_next_creation("injected by tests/ministack")

    assert status(stack.update(BaseImage=base_image("2"))) == "UPDATE_ROLLBACK_COMPLETE", stack.events()
    reason = reason_of(stack, "ImageVersion", "UPDATE_FAILED")
    assert "injected by tests/ministack" in reason, reason
    # The rollback is an Update of the old id with the properties swapped
    # back: the old version must stay the stack's, and no version be made for it.
    versions = [summary(v) for v in standin.versions(image)]
    assert stack.physical_id() == old["Arn"], f"the rollback left {stack.physical_id()}; versions: {versions}"
    assert versions == [summary(old)], operations(standin.calls(image))
    assert_outputs_name(stack, old)


def test_refused_update(stack, standin, image):
    stack.create()
    [old] = standin.versions(image)
    writes_before = [c for c in standin.calls(image) if c["Operation"] in WRITES]

    assert status(stack.update(Processor="TPU", ReleaseNotes="second")) == "UPDATE_ROLLBACK_COMPLETE"
    reason = reason_of(stack, "ImageVersion", "UPDATE_FAILED")
    assert "Processor" in reason and "TPU" in reason, reason
    # The rollback sends the old properties back as an Update; the version
    # already holds them, so it writes nothing either.
    assert [s for lid, s, _ in stack.events() if lid == "ImageVersion"][-2:] == ["UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"]
    assert stack.physical_id() == old["Arn"]
    assert standin.versions(image) == [old]
    assert [c for c in standin.calls(image) if c["Operation"] in WRITES] == writes_before
    assert_outputs_name(stack, old)


def test_update_undone(stack, standin, image):
    """An in-place update that succeeded, undone by the rollback of a stack
    update that failed after it."""
    stack.create()
    [old] = standin.versions(image)

    assert status(stack.update(Aliases="latest,beta", ReleaseNotes="second", Break="true")) == "UPDATE_ROLLBACK_COMPLETE"
    # CloudFormation records the Create of a resource an update adds as
    # CREATE_FAILED, and then Deletes it with the id its FAILED answer gave;
    # ministack records UPDATE_FAILED (stacks._deploy_stack_async names every
    # event of an update UPDATE_*) and sends no Delete (see test_bad_property).
    reason = reason_of(stack, "Breaker", "UPDATE_FAILED")
    assert "ImageName" in reason, reason
    [now] = standin.versions(image)
    assert (now["Arn"], now["Aliases"], now["ReleaseNotes"]) == (old["Arn"], ["latest"], "first")
    assert stack.physical_id() == old["Arn"]
    assert_outputs_name(stack, now)


def test_replacement_undone(stack, standin, image, base_image):
    """A replacement that succeeded, undone by the rollback of a stack update
    that failed after it: the rollback deletes the new version, the stack
    keeps the old."""
    stack.create()
    [old] = standin.versions(image)

    assert status(stack.update(BaseImage=base_image("2"), Break="true")) == "UPDATE_ROLLBACK_COMPLETE"
    [now] = standin.versions(image)
    assert (now["Arn"], now["BaseImage"]) == (old["Arn"], base_image("1"))
    assert stack.physical_id() == old["Arn"]
    deletes = [c["Body"]["Version"] for c in standin.calls(image) if c["Operation"] == "DeleteImageVersion"]
    assert deletes == [2]
    # Not checked: the replacement moved the alias `latest` to version 2 and
    # the rollback deleted version 2, so version 1 holds no alias until the
    # next update repairs it. CloudFormation, too, sends no Update of the old
    # id after a replacement it rolls back.


def test_stack_delete(stack, standin, image, base_image):
    stack.create()
    stack.update(BaseImage=base_image("2"))
    assert status(stack.delete()) == "DELETE_COMPLETE"
    assert standin.versions(image) == []
    # Version 1 went in the replacement's cleanup, version 2 with the stack.
    deletes = [c["Body"]["Version"] for c in standin.calls(image) if c["Operation"] == "DeleteImageVersion"]
    assert deletes == [1, 2]


def test_hand_off(aws, stack, standin, image, short_service_token):
    """A build longer than the function's Timeout: the wait goes on in new
    invocations, through ministack's Invoke API, and the last one answers."""
    stack.params["ServiceToken"] = short_service_token
    standin.set_create_delay(5000)
    try:
        assert status(stack.create()) == "CREATE_COMPLETE", stack.events()
    finally:
        standin.set_create_delay(world.CREATE_DELAY_MS)
    [view] = standin.versions(image)
    assert view["Status"] == "CREATED"
    assert_outputs_name(stack, view)
    # Each invocation asks for the version again, under the one ClientToken.
    creates = [c["Body"]["ClientToken"] for c in standin.calls(image) if c["Operation"] == "CreateImageVersion"]
    assert len(set(creates)) == 1, creates
    logs = aws("logs").filter_log_events(logGroupName="/aws/lambda/sagemaker-image-version-short")["events"]
    hand_offs = [e["message"] for e in logs if "handed on to a new invocation" in e["message"]]
    assert hand_offs, "no invocation handed the request on"
