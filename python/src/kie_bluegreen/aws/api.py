"""The single door to boto3: every AWS operation the runner performs goes through `AwsApi.call`.

It turns botocore's exceptions into our own AwsError (exit 4) carrying the AWS error code and
the IAM action, so callers can decide what is transient and users read what was refused.
Because every call names its operation as a string here, the list of operations (and so the
IAM policy) can be derived from the code.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from ..errors import AwsError
from .session import Clients

IAM_PREFIX = {
    "elbv2": "elasticloadbalancing",
    "autoscaling": "autoscaling",
    "ec2": "ec2",
    "cloudwatch": "cloudwatch",
    "sns": "sns",
}

# Error codes worth trying again: throttling (if botocore's own retries ran out), and the
# "busy" answers of Auto Scaling and ELB that clear by themselves.
TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "SlowDown",
        "ResourceContention",
        "ScalingActivityInProgress",
        "PriorRequestNotComplete",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalError",
    }
)
ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedAccess",
        "AuthFailure",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
    }
)


class AwsCallError(AwsError):
    """An AWS call failed. `code` is AWS's error code, `action` the IAM action (ec2:CreateTags)."""

    def __init__(self, message: str, code: str | None = None, action: str | None = None):
        super().__init__(message)
        self.code = code
        self.action = action

    @property
    def transient(self) -> bool:
        return self.code in TRANSIENT_CODES

    @property
    def access_denied(self) -> bool:
        return self.code in ACCESS_DENIED_CODES


def iam_action(service: str, operation: str, client=None) -> str:
    """'elbv2', 'modify_rule' -> 'elasticloadbalancing:ModifyRule'."""
    if client is not None:
        name = client.meta.method_to_api_mapping.get(operation)
        if name:
            return f"{IAM_PREFIX[service]}:{name}"
    return f"{IAM_PREFIX[service]}:" + "".join(part.capitalize() for part in operation.split("_"))


class AwsApi:
    """Calls AWS operations by name. `api.call("elbv2", "describe_rules", ListenerArn=...)`."""

    def __init__(self, clients: Clients):
        self.clients = clients

    def client(self, service: str):
        return getattr(self.clients, service)

    def call(self, service: str, operation: str, **kwargs) -> dict:
        client = self.client(service)
        try:
            return getattr(client, operation)(**kwargs)
        except Exception as exc:  # translated below; anything else is a bug and propagates
            raise _translate(exc, service, operation, client) from exc

    def pages(self, service: str, operation: str, key: str, **kwargs) -> list:
        """All items under `key` of a paginated operation."""
        client = self.client(service)
        items: list = []
        try:
            for page in client.get_paginator(operation).paginate(**kwargs):
                items.extend(page.get(key, []))
        except Exception as exc:
            raise _translate(exc, service, operation, client) from exc
        return items


def _translate(exc: Exception, service: str, operation: str, client) -> Exception:
    action = iam_action(service, operation, client)
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "Unknown")
        message = error.get("Message", str(exc))
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 403 and code not in ACCESS_DENIED_CODES:
            code = "AccessDenied"  # an answer botocore could not parse, but a 403 all the same
        if code in ACCESS_DENIED_CODES:
            text = (
                f"AWS refused {action} ({code}): {message}. The credentials in use need the permission"
                f" {action}; `kie-bluegreen iam-policy` prints the policy the runner needs"
            )
        else:
            text = f"{action} failed ({code}): {message}"
        return AwsCallError(text, code=code, action=action)
    if isinstance(exc, NoCredentialsError):
        return AwsCallError(
            "no AWS credentials found (set AWS_PROFILE, or run on a role); nothing was changed",
            code="NoCredentials",
            action=action,
        )
    if isinstance(exc, NoRegionError):
        return AwsCallError("no AWS region configured", code="NoRegion", action=action)
    if isinstance(exc, BotoCoreError):
        return AwsCallError(f"{action} could not reach AWS: {exc}", code=type(exc).__name__, action=action)
    return exc
