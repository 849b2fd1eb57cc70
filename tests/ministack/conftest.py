"""Fixtures of the suite that deploys stacks through ministack's CloudFormation
against the SageMaker stand-in. scripts/ministack-test.sh starts both and sets
the MINISTACK_* variables read here.

ministack runs the function as CloudFormation's ServiceToken: its
`provided.al2023` worker (ministack/core/lambda_runtime.py, `ProvidedWorker`)
starts `bootstrap` from the zip under a Runtime API of its own, keeps it warm,
and its custom-resource code (services/cloudformation/custom_resource.py)
invokes it, then waits up to the resource's ServiceTimeout for the PUT to
`/_ministack/cfn-response/<token>`.
"""

import io
import json
import os
import subprocess
import time
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import boto3
import pytest

import world

TEMPLATE = (Path(__file__).parent / "template.yaml").read_text()
# Lambda's own variables: real Lambda refuses them in CreateFunction, and
# ministack drops them (lambda_svc._RESERVED_RUNTIME_ENV_VARS) and sets its
# own: AWS_REGION from MINISTACK_REGION, credentials from
# lambda_runtime.execution_credentials.
RESERVED = {"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
STACK_WAIT_S = 150
# Well above the stand-in's build and delete times (world.py).
SETTLE_S = 10


def _setting(name):
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is not set: run the suite with scripts/ministack-test.sh", returncode=2)
    return value


class StandIn:
    """The SageMaker stand-in's admin routes (standins/src/sagemaker/admin.rs)."""

    def __init__(self, endpoint):
        self.endpoint = endpoint

    def _call(self, method, path, **query):
        url = f"{self.endpoint}/_standin/{path}?{urllib.parse.urlencode(query)}"
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=10) as reply:
            return json.load(reply)

    def versions(self, image):
        """The image's versions by version number, once none is CREATING or
        DELETING: the function need not wait for a version it deletes when
        it answers FAILED."""
        deadline = time.monotonic() + SETTLE_S
        while True:
            versions = sorted(self._call("GET", "versions", image=image), key=lambda v: v["Version"])
            if all(v["Status"] not in ("CREATING", "DELETING") for v in versions) or time.monotonic() > deadline:
                return versions
            time.sleep(0.1)

    def calls(self, image):
        """The SageMaker calls that named the image, in order."""
        return [c for c in self._call("GET", "calls") if isinstance(c["Body"], dict) and c["Body"].get("ImageName") == image]

    def fail_next_creation(self, reason):
        self._call("POST", "fail-next-creation", reason=reason)

    def set_create_delay(self, ms):
        self._call("POST", "create-delay", ms=ms)


class Stack:
    """One stack of template.yaml; each call waits until the stack settles."""

    def __init__(self, cfn, name, params):
        self.cfn = cfn
        self.name = name
        self.params = params

    def _parameters(self):
        return [{"ParameterKey": k, "ParameterValue": v} for k, v in self.params.items()]

    def _settle(self):
        deadline = time.monotonic() + STACK_WAIT_S
        while True:
            stack = self.describe()
            if stack is None or not stack["StackStatus"].endswith("_IN_PROGRESS"):
                return stack
            assert time.monotonic() < deadline, f"{self.name} still {stack['StackStatus']} after {STACK_WAIT_S} s"
            time.sleep(0.2)

    def describe(self):
        try:
            return self.cfn.describe_stacks(StackName=self.name)["Stacks"][0]
        except self.cfn.exceptions.ClientError as e:
            if "does not exist" in str(e):
                return None
            raise

    def create(self):
        self.cfn.create_stack(StackName=self.name, TemplateBody=TEMPLATE, Parameters=self._parameters())
        return self._settle()

    def update(self, **changes):
        self.params = {**self.params, **changes}
        self.cfn.update_stack(StackName=self.name, TemplateBody=TEMPLATE, Parameters=self._parameters())
        return self._settle()

    def delete(self):
        self.cfn.delete_stack(StackName=self.name)
        return self._settle()

    def outputs(self):
        return {o["OutputKey"]: o["OutputValue"] for o in self.describe().get("Outputs", [])}

    def physical_id(self, logical_id="ImageVersion"):
        resource = self.cfn.describe_stack_resource(StackName=self.name, LogicalResourceId=logical_id)
        return resource["StackResourceDetail"]["PhysicalResourceId"]

    def events(self):
        """(logical id, status, reason) of every event, oldest first."""
        events = self.cfn.describe_stack_events(StackName=self.name)["StackEvents"]
        return [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason", "")) for e in reversed(events)]


@pytest.fixture(scope="session")
def region():
    return _setting("MINISTACK_REGION")


@pytest.fixture(scope="session")
def aws(region):
    """boto3 clients of ministack, by service name."""
    endpoint = _setting("MINISTACK_ENDPOINT")

    def client(service):
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    return client


@pytest.fixture(scope="session")
def standin():
    return StandIn(_setting("MINISTACK_SAGEMAKER"))


@pytest.fixture(scope="session")
def function_env():
    """The local run's environment of the function (`standins env`), pointed at
    this run's stand-in, with hand-offs on as in production: they go to
    ministack's Invoke API, which runs the function's `InvocationType=Event`
    invocations of itself (lambda_svc.invoke_async_with_retry)."""
    lines = subprocess.run([_setting("MINISTACK_STANDINS"), "env"], check=True, capture_output=True, text=True).stdout
    env = dict(line.split("=", 1) for line in lines.splitlines())
    env = {k: v for k, v in env.items() if k not in RESERVED}
    env["AWS_ENDPOINT_URL_SAGEMAKER"] = _setting("MINISTACK_SAGEMAKER")
    env["AWS_ENDPOINT_URL_LAMBDA"] = _setting("MINISTACK_ENDPOINT")
    return env


@pytest.fixture(scope="session")
def code_zip():
    """The debug binary as the zip's `bootstrap`, executable; deflated, as
    Lambda takes 50 MB at most in CreateFunction and the binary is larger."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compresslevel=1) as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, Path(_setting("MINISTACK_FUNCTION")).read_bytes())
    return buffer.getvalue()


def _create_function(aws, code_zip, function_env, name, timeout):
    fn = aws("lambda").create_function(
        FunctionName=name,
        Runtime="provided.al2023",
        Handler="bootstrap",
        Role="arn:aws:iam::000000000000:role/sagemaker-image-version",
        Code={"ZipFile": code_zip},
        Timeout=timeout,
        Environment={"Variables": function_env},
    )
    return fn["FunctionArn"]


@pytest.fixture(scope="session")
def service_token(aws, code_zip, function_env):
    # A Timeout well above any request of the suite, but the hand-off test's.
    return _create_function(aws, code_zip, function_env, "sagemaker-image-version", 30)


@pytest.fixture(scope="session")
def short_service_token(aws, code_zip, function_env):
    """The same code with a Timeout shorter than the hand-off test's build."""
    return _create_function(aws, code_zip, function_env, "sagemaker-image-version-short", 3)


@pytest.fixture(scope="session", autouse=True)
def function_logs(aws):
    """Keeps what the functions logged (ministack's CloudWatch Logs) in
    MINISTACK_LOGS/functions.log, for the script to show on failure."""
    yield
    logs = aws("logs")
    with open(Path(_setting("MINISTACK_LOGS")) / "functions.log", "w") as out:
        for group in logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"]:
            for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group["logGroupName"]):
                for event in page["events"]:
                    out.write(f"{group['logGroupName']} {event['message'].rstrip()}\n")


@pytest.fixture
def image(request):
    """The test's own image: test_update_in_place -> update-in-place."""
    name = request.node.name.removeprefix("test_").replace("_", "-")
    assert name in world.IMAGES, f"add {name} to tests/ministack/world.py IMAGES"
    return name


@pytest.fixture
def base_image(image):
    """The image's ECR URI at a tag."""
    return lambda tag: f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{image}:{tag}"


@pytest.fixture
def stack(aws, image, base_image, service_token):
    return Stack(
        aws("cloudformation"),
        f"ministack-{image}",
        {"ServiceToken": service_token, "ImageName": image, "BaseImage": base_image("1")},
    )
