"""What scripts/ministack-test.sh and the tests agree on about the SageMaker
stand-in. Run as a script, it prints the `standins serve` arguments, one a line.
"""

# Short builds keep the suite quick; the handler polls about once a second.
CREATE_DELAY_MS = 300
DELETE_DELAY_MS = 200

# One image per test, so that each test's version numbers start at 1 and no
# test sees another's versions. The `image` fixture maps a test to its image.
IMAGES = (
    "create",
    "update-in-place",
    "replacement",
    "bad-property",
    "failed-replacement",
    "refused-update",
    "update-undone",
    "replacement-undone",
    "stack-delete",
    "hand-off",
)


def serve_args():
    args = ["--create-delay-ms", str(CREATE_DELAY_MS), "--delete-delay-ms", str(DELETE_DELAY_MS)]
    for image in IMAGES:
        args += ["--image", image]
    return args


if __name__ == "__main__":
    print("\n".join(serve_args()))
