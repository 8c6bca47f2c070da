"""Shared fixtures: an in-process moto AWS with the design note's starting world, a stage configuration
for it, a Context on a fake clock, health injection, moto behaving like AWS (`aws_like`), and a
CLI runner.
"""

from __future__ import annotations

import json

import fake_jenkins as fake_jenkins_module
import pytest
from helpers import forget, fresh_account, shared_botocore_models
from moto import mock_aws

from kie_bluegreen import cli
from kie_bluegreen import clock as clock_module
from kie_bluegreen import config as configuration
from kie_bluegreen.aws.api import AwsApi
from kie_bluegreen.aws.session import clients
from kie_bluegreen.context import Context
from kie_bluegreen.sandbox import moto_gaps, scenario
from kie_bluegreen.sandbox.aws_model import AwsModel


@pytest.fixture(autouse=True)
def _aws_environment(monkeypatch):
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "KIE_SERVER_USER", "KIE_SERVER_PASSWORD"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", scenario.REGION)


@pytest.fixture(scope="module")
def moto_module():
    """One moto for a test module; each test gets its own account in it (see `aws`)."""
    moto_gaps.install()
    with mock_aws(), shared_botocore_models():
        yield


@pytest.fixture
def aws(moto_module, monkeypatch):
    """boto3 clients on a fresh, empty moto account (a new moto costs a second, an account a tenth)."""
    account = fresh_account(monkeypatch)
    yield clients(scenario.REGION)
    forget(account)


@pytest.fixture
def world(aws, aws_like):
    """The design note's starting point (Canary-0), on moto behaving like AWS (`aws_like`)."""
    return scenario.build(aws)


@pytest.fixture
def moto_world(aws):
    """The same world on plain moto: only for tests of the AWS model itself, which install it."""
    return scenario.build(aws)


@pytest.fixture
def fake_clock():
    """The test's clock: the contexts and commands it makes are given it, so nothing really waits."""
    return clock_module.FakeClock()


@pytest.fixture
def make_config(world, tmp_path):
    """make_config(**stage_overrides) -> path of a kie-deploy.yaml for the scenario world."""

    def make(**stage_overrides) -> str:
        return scenario.write_config(world, str(tmp_path), **stage_overrides)

    return make


@pytest.fixture
def config_path(make_config):
    return make_config()


@pytest.fixture
def make_ctx(aws, fake_clock):
    def make(path: str) -> Context:
        return Context(configuration.load(path), AwsApi(aws), fake_clock)

    return make


@pytest.fixture
def ctx(make_ctx, config_path):
    return make_ctx(config_path)


@pytest.fixture
def run(capsys, fake_clock):
    """run(config_path, *argv) -> Result(code, out, err, json) through the real CLI."""

    class Result:
        def __init__(self, code, out, err):
            self.code, self.out, self.err = code, out, err

        @property
        def json(self):
            return json.loads(self.out)

    def invoke(path: str | None, *argv: str) -> Result:
        args = (["--config", path] if path else []) + list(argv)
        try:
            code = cli.main(args, clock=fake_clock)
        except SystemExit as exc:  # argparse usage errors
            code = exc.code
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


@pytest.fixture
def aws_like(aws, fake_clock):
    """moto behaving like AWS where the runner relies on it (docs/aws-behaviour.md), on the
    test's fake clock: targets `unused` until a listener action references their group, then
    `initial`, `healthy` HealthyThresholdCount x HealthCheckIntervalSeconds later; draining
    deregistrations and scale-ins; AWS's read-back shapes; authenticate action rules; lifecycle
    hooks. Yields the AwsModel: `aws_like.fail(instance_id or "*", reason=...)`,
    `aws_like.recover(...)`. Works before or after `world` is built."""
    with AwsModel(clock=fake_clock.now) as model:
        yield model


@pytest.fixture
def https_world(aws, aws_like):
    """The scenario with an HTTPS listener (port 443, an ACM certificate): authenticate actions
    are accepted on HTTPS listeners only."""
    import boto3

    certificate = boto3.client("acm", region_name=scenario.REGION).request_certificate(DomainName="alb-ks.example.com")[
        "CertificateArn"
    ]
    return scenario.build(aws, certificate_arn=certificate)


@pytest.fixture
def fake_jenkins():
    server = fake_jenkins_module.FakeJenkins().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def jenkins_env(monkeypatch, fake_jenkins):
    """The runner pointed at the fake Jenkins (environment variables) and on a FakeClock,
    which it returns for the test to give to the CLI, so retries and polling never really sleep."""
    monkeypatch.setenv("JENKINS_URL", fake_jenkins.url)
    monkeypatch.setenv("JENKINS_USER", fake_jenkins_module.USER)
    monkeypatch.setenv("JENKINS_API_TOKEN", fake_jenkins_module.TOKEN)
    return clock_module.FakeClock()
