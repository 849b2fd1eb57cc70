"""Custom::SageMakerImageVersion as people commonly write it inline: boto3,
a describe loop with time.sleep, and the answer PUT with urllib.

The benchmark's baseline (see BENCHMARKS.md). Same properties and lifecycle
as the Rust function: Create (create + poll describe until CREATED), Update
(replacement when ImageName, BaseImage or Region change, else in place with
the aliases diffed against list_aliases), Delete (delete + poll until gone).
"""

import json
import logging
import re
import time
import urllib.request

import boto3
from botocore.exceptions import ClientError

logger = logging.getLogger()
logger.setLevel(logging.WARNING)

POLL_SECONDS = 5
REPLACE_ON = ("ImageName", "BaseImage", "Region")
METADATA = ("Horovod", "JobType", "MLFramework", "ProgrammingLang", "Processor", "ReleaseNotes", "VendorGuidance")
ARN = re.compile(r"^arn:[^:]+:sagemaker:([^:]+):\d+:image-version/([^/]+)/(\d+)$")

session = boto3.session.Session()
clients = {session.region_name: session.client("sagemaker")}


def client(region):
    if region not in clients:
        clients[region] = session.client("sagemaker", region_name=region)
    return clients[region]


def send(event, context, status, physical_id, data=None, reason=None):
    body = {
        "Status": status,
        "Reason": reason or f"See the details in CloudWatch Log Stream: {context.log_stream_name}",
        "PhysicalResourceId": physical_id,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": data or {},
    }
    payload = json.dumps(body).encode()
    request = urllib.request.Request(
        event["ResponseURL"],
        data=payload,
        method="PUT",
        headers={"content-type": "", "content-length": str(len(payload))},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        logger.info("answer status %s", response.status)


def metadata(props):
    out = {}
    for key in METADATA:
        if key in props:
            value = props[key]
            if key == "Horovod":
                value = str(value).lower() == "true"
            out[key] = value
    return out


def wait_created(sm, image, version):
    while True:
        described = sm.describe_image_version(ImageName=image, Version=version)
        status = described["ImageVersionStatus"]
        if status == "CREATED":
            return described
        if status == "CREATE_FAILED":
            raise RuntimeError(described.get("FailureReason", "CREATE_FAILED"))
        time.sleep(POLL_SECONDS)


def attributes(arn, version, described):
    return {
        "Arn": arn,
        "ImageVersionArn": arn,
        "ImageArn": described["ImageArn"],
        "Version": str(version),
        "ContainerImage": described["ContainerImage"],
    }


def create(event, props):
    region = props.get("Region", session.region_name)
    sm = client(region)
    image = props["ImageName"]
    arn = sm.create_image_version(
        ImageName=image,
        BaseImage=props["BaseImage"],
        ClientToken=event["RequestId"],
        Aliases=props.get("Aliases", []),
        **metadata(props),
    )["ImageVersionArn"]
    version = int(arn.rsplit("/", 1)[1])
    return arn, attributes(arn, version, wait_created(sm, image, version))


def list_aliases(sm, image, version):
    aliases, kwargs = [], {"ImageName": image, "Version": version}
    while True:
        page = sm.list_aliases(**kwargs)
        aliases += page.get("SageMakerImageVersionAliases", [])
        if not page.get("NextToken"):
            return aliases
        kwargs["NextToken"] = page["NextToken"]


def update(event, props):
    old = event.get("OldResourceProperties", {})
    if any(props.get(k) != old.get(k) for k in REPLACE_ON):
        return create(event, props)
    region, image, version = ARN.match(event["PhysicalResourceId"]).groups()
    version = int(version)
    sm = client(region)
    current = list_aliases(sm, props["ImageName"], version)
    wanted = props.get("Aliases", [])
    sm.update_image_version(
        ImageName=props["ImageName"],
        Version=version,
        AliasesToAdd=[a for a in wanted if a not in current],
        AliasesToDelete=[a for a in current if a not in wanted],
        **metadata(props),
    )
    described = sm.describe_image_version(ImageName=props["ImageName"], Version=version)
    arn = event["PhysicalResourceId"]
    return arn, attributes(arn, version, described)


def delete(event, props):
    match = ARN.match(event["PhysicalResourceId"])
    if not match:
        return event["PhysicalResourceId"], {}
    region, image, version = match.groups()
    sm = client(region)
    image = props.get("ImageName", image)
    try:
        sm.delete_image_version(ImageName=image, Version=int(version))
        while True:
            sm.describe_image_version(ImageName=image, Version=int(version))
            time.sleep(POLL_SECONDS)
    except ClientError as e:
        if e.response["Error"]["Code"] != "ResourceNotFound":
            raise
    return event["PhysicalResourceId"], {}


def lambda_handler(event, context):
    props = dict(event.get("ResourceProperties", {}))
    props.pop("ServiceToken", None)
    props.pop("ServiceTimeout", None)
    physical_id = event.get("PhysicalResourceId", context.log_stream_name)
    try:
        action = {"Create": create, "Update": update, "Delete": delete}[event["RequestType"]]
        physical_id, data = action(event, props)
        send(event, context, "SUCCESS", physical_id, data)
    except Exception as e:
        logger.exception("request failed")
        send(event, context, "FAILED", physical_id, reason=str(e))
