"""boto3 clients for one region, with botocore's `standard` retry mode for single calls.

Credentials, profile and endpoint come from the standard boto3 chain (AWS_PROFILE,
AWS_ENDPOINT_URL, ...). botocore retries throttling and transient errors of one call; tenacity
(retry.py) only wraps polling loops and idempotent phase steps, so the layers do not multiply.
"""

from __future__ import annotations

from dataclasses import dataclass

import boto3
from botocore.config import Config

from .. import __version__

BOTOCORE_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    user_agent_extra=f"kie-bluegreen/{__version__}",
    connect_timeout=10,
    read_timeout=30,
)


@dataclass(frozen=True)
class Clients:
    elbv2: object
    autoscaling: object
    ec2: object
    cloudwatch: object = None  # alarms and metrics of a weighted release or a bake
    sns: object = None  # notifications to SNS topics (notify: - sns: ...)


def clients(region: str, session: boto3.session.Session | None = None) -> Clients:
    session = session or boto3.session.Session()
    make = lambda service: session.client(service, region_name=region, config=BOTOCORE_CONFIG)  # noqa: E731
    return Clients(
        elbv2=make("elbv2"),
        autoscaling=make("autoscaling"),
        ec2=make("ec2"),
        cloudwatch=make("cloudwatch"),
        sns=make("sns"),
    )
