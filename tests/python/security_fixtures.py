"""Helpers of the security tests : worlds whose
runner calls go through moto's IAM enforcement, and the AWS operations the runner's code calls
(read from its source, so a new call cannot escape the policy tests).
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import pathlib
from dataclasses import dataclass

import boto3
from helpers import fresh_account

import kie_bluegreen
from kie_bluegreen import cli
from kie_bluegreen.aws.api import IAM_PREFIX, iam_action
from kie_bluegreen.aws.session import Clients, clients
from kie_bluegreen.sandbox import scenario

PACKAGE = pathlib.Path(kie_bluegreen.__file__).parent

# -- the runner's AWS operations, from its source ---------------------------------------------


def aws_call_sites() -> list[tuple[str, str, str]]:
    """(service, operation, where) of every `<api>.call("svc", "op", ...)` / `.pages(...)` in the
    package. A call whose operation is not a string literal is reported as operation None, so a
    test can refuse it (it could not be checked against the policy)."""
    sites = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("call", "pages")
                and node.args
            ):
                continue
            service = node.args[0]
            if not (isinstance(service, ast.Constant) and service.value in IAM_PREFIX):
                continue
            operation = node.args[1] if len(node.args) > 1 else None
            name = operation.value if isinstance(operation, ast.Constant) and isinstance(operation.value, str) else None
            sites.append((service.value, name, f"{path.relative_to(PACKAGE)}:{node.lineno}"))
    return sites


def iam_actions_of_code() -> set[str]:
    """The IAM action of every operation the code calls (botocore's own operation names)."""
    botocore_clients = {service: boto3.client(service, region_name=scenario.REGION) for service in IAM_PREFIX}
    return {
        iam_action(service, operation, botocore_clients[service])
        for service, operation, _ in aws_call_sites()
        if operation
    }


# -- a KIE Server over real HTTP ---------------------------------------------------------------


@dataclass
class Outcome:
    code: int
    out: str
    err: str


@dataclass
class EnforcedWorld:
    """The design note's starting world in a fresh moto account, an IAM user `deployer` whose keys the runner
    uses, and `admin` clients for the test's own reads and policy changes. Requires an active
    mock_aws and moto's IAM enforcement switched on by the caller after `create`."""

    account: str
    world: scenario.World
    admin: Clients
    iam: object
    deployer_key: dict

    @classmethod
    def create(cls, monkeypatch, policy: dict) -> "EnforcedWorld":
        account = fresh_account(monkeypatch)
        for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        world = scenario.build(clients(scenario.REGION))
        iam = boto3.client("iam", region_name=scenario.REGION)
        admin_key = _user(
            iam, "admin", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        )
        deployer_key = _user(iam, "deployer", policy)
        admin_session = boto3.session.Session(
            aws_access_key_id=admin_key["AccessKeyId"], aws_secret_access_key=admin_key["SecretAccessKey"]
        )
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", deployer_key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", deployer_key["SecretAccessKey"])
        return cls(
            account,
            world,
            clients(scenario.REGION, admin_session),
            admin_session.client("iam", region_name=scenario.REGION),
            deployer_key,
        )

    def grant(self, policy: dict) -> None:
        """The deployer's only permissions from now on."""
        self.iam.put_user_policy(
            UserName="deployer", PolicyName="kie-bluegreen", PolicyDocument=json.dumps(as_moto_checks(policy))
        )


def as_moto_checks(policy: dict) -> dict:
    """moto's IAM enforcement checks CloudWatch calls as `monitoring:<Action>` (the endpoint's
    name); AWS's IAM action is `cloudwatch:<Action>`. Grant moto's name beside each one."""
    statements = []
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        extra = [a.replace("cloudwatch:", "monitoring:", 1) for a in actions if a.startswith("cloudwatch:")]
        statements.append({**statement, "Action": actions + extra})
    return {**policy, "Statement": statements}


def _user(iam, name: str, policy: dict) -> dict:
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="kie-bluegreen", PolicyDocument=json.dumps(as_moto_checks(policy)))
    return iam.create_access_key(UserName=name)["AccessKey"]


def run_cli(*argv: str, clock=None) -> Outcome:
    """The real CLI in this process on `clock`, its stdout and stderr captured."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(list(argv), clock=clock)
        except SystemExit as exc:  # argparse usage errors
            code = exc.code
    return Outcome(code, out.getvalue(), err.getvalue())
