"""Helpers of the security tests (issue 6): a fake KIE Server over real HTTP, worlds whose
runner calls go through moto's IAM enforcement, and the AWS operations the runner's code calls
(read from its source, so a new call cannot escape the policy tests).
"""

from __future__ import annotations

import ast
import base64
import contextlib
import io
import json
import pathlib
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import boto3
import pytest

import kie_bluegreen
from kie_bluegreen import cli
from kie_bluegreen.aws.api import IAM_PREFIX, iam_action
from kie_bluegreen.aws.session import Clients, clients
from kie_bluegreen.sandbox import scenario
from helpers import fresh_account

PACKAGE = pathlib.Path(kie_bluegreen.__file__).parent
KIE_PATH = "/kie-server/services/rest/server"

# -- the runner's AWS operations, from its source ---------------------------------------------


def aws_call_sites() -> list[tuple[str, str, str]]:
    """(service, operation, where) of every `<api>.call("svc", "op", ...)` / `.pages(...)` in the
    package. A call whose operation is not a string literal is reported as operation None, so a
    test can refuse it (it could not be checked against the policy)."""
    sites = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("call", "pages") and node.args):
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
    return {iam_action(service, operation, botocore_clients[service])
            for service, operation, _ in aws_call_sites() if operation}


# -- a KIE Server over real HTTP ---------------------------------------------------------------


@dataclass
class FakeKieServer:
    """Answers the KIE REST API for every instance at http://127.0.0.1:PORT/<instance id>/kie-server/...

    `version_of(instance_id)` says which release the server runs; with `credentials` set, every
    request without them gets 401; with `redirect_to`, every request is redirected there."""

    version_of: Callable[[str], str]
    credentials: tuple[str, str] | None = None
    redirect_to: str | None = None
    seen: list = field(default_factory=list)  # (path, Authorization header or None)

    def __post_init__(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                authorization = self.headers.get("Authorization")
                server.seen.append((self.path, authorization))
                if server.redirect_to:
                    return self._answer(302, b"", {"Location": server.redirect_to + self.path})
                if server.credentials and authorization != basic(*server.credentials):
                    return self._answer(401, b'{"type": "FAILURE"}')
                instance, _, rest = self.path.lstrip("/").partition("/")
                if rest.endswith("/readycheck"):
                    return self._answer(200, b"")
                if "/containers/" in rest:
                    container = rest.rsplit("/", 1)[1]
                    return self._answer(200, json.dumps(container_answer(container, server.version_of(instance))).encode())
                return self._answer(404, b"")

            def _answer(self, status, body, headers=None):
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # quiet
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url_template(self) -> str:
        """The kie.url for the configuration: one path per instance, on this server."""
        return self.base + "/{instance_id}" + KIE_PATH

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def container_answer(container: str, version: str) -> dict:
    release = {"group-id": scenario.GROUP_ID, "artifact-id": scenario.ARTIFACT_ID, "version": version}
    return {"type": "SUCCESS", "result": {"kie-container": {
        "container-id": container, "release-id": release, "resolved-release-id": release, "status": "STARTED"}}}


def version_from_launch_tags(ec2) -> Callable[[str], str]:
    """A server runs the release its Auto Scaling group propagated to it (as user data would)."""
    def version_of(instance_id: str) -> str:
        reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
        tags = {t["Key"]: t["Value"] for t in reservations[0]["Instances"][0].get("Tags", [])}
        return tags.get("kie-bluegreen:release", "::unknown").split(":")[-1]
    return version_of


# -- worlds under moto's IAM enforcement -------------------------------------------------------


@dataclass
class Outcome:
    code: int
    out: str
    err: str


@dataclass
class EnforcedWorld:
    """The seed's world in a fresh moto account, an IAM user `deployer` whose keys the runner
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
        admin_key = _user(iam, "admin", {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"}]})
        deployer_key = _user(iam, "deployer", policy)
        admin_session = boto3.session.Session(aws_access_key_id=admin_key["AccessKeyId"],
                                              aws_secret_access_key=admin_key["SecretAccessKey"])
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", deployer_key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", deployer_key["SecretAccessKey"])
        return cls(account, world, clients(scenario.REGION, admin_session),
                   admin_session.client("iam", region_name=scenario.REGION), deployer_key)

    def grant(self, policy: dict) -> None:
        """The deployer's only permissions from now on."""
        self.iam.put_user_policy(UserName="deployer", PolicyName="kie-bluegreen", PolicyDocument=json.dumps(policy))


def _user(iam, name: str, policy: dict) -> dict:
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="kie-bluegreen", PolicyDocument=json.dumps(policy))
    return iam.create_access_key(UserName=name)["AccessKey"]


def run_cli(*argv: str) -> Outcome:
    """The real CLI in this process, its stdout and stderr captured."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:  # argparse usage errors
            code = exc.code
    return Outcome(code, out.getvalue(), err.getvalue())
