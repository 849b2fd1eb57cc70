"""A cfn-lint rule for Custom::SageMakerImageVersion (cfn-lint checks no
custom resource's properties): each one has the ServiceToken, ImageName and
BaseImage the function needs, and a ServiceTimeout of 1-3600 seconds, so that
a request is bounded by CloudFormation's wait and not by an hour.

Loaded with `cfn-lint --append-rules scripts/cfn-lint-rules`.
"""

from cfnlint.rules import CloudFormationLintRule, RuleMatch

RESOURCE_TYPE = "Custom::SageMakerImageVersion"
REQUIRED = ("ServiceToken", "ImageName", "BaseImage")
MAX_SERVICE_TIMEOUT = 3600


def whole_seconds(value):
    """The value as whole seconds, or None: a number or its string form."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    text = str(value)
    return int(text) if text.isdigit() else None


class SageMakerImageVersionProperties(CloudFormationLintRule):
    id = "E9101"
    shortdesc = f"{RESOURCE_TYPE} properties"
    description = (
        f"Every {RESOURCE_TYPE} has {', '.join(REQUIRED)} and a ServiceTimeout "
        f"of 1 to {MAX_SERVICE_TIMEOUT} seconds"
    )
    tags = ["resources", "custom"]

    def match(self, cfn):
        matches = []
        for name, resource in cfn.get_resources([RESOURCE_TYPE]).items():
            properties = resource.get("Properties") or {}
            path = ["Resources", name, "Properties"]
            for key in REQUIRED:
                if key not in properties:
                    matches.append(RuleMatch(path, f"{name}: missing {key}"))
            timeout = properties.get("ServiceTimeout")
            seconds = whole_seconds(timeout)
            if seconds is None or not 1 <= seconds <= MAX_SERVICE_TIMEOUT:
                matches.append(
                    RuleMatch(
                        path + ["ServiceTimeout"],
                        f"{name}: ServiceTimeout must be a number of seconds from 1 to "
                        f"{MAX_SERVICE_TIMEOUT}, got {timeout!r}",
                    )
                )
        return matches
