"""The Jenkins steps (vars/, on Groovy 2.4 in the test harness) driving the real runner against a
real AWS API endpoint: moto's server, reached through AWS_ENDPOINT_URL by a separate process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import sys

import pytest

from helpers import routing_generations
from kie_bluegreen.aws.session import clients
from kie_bluegreen.sandbox import moto_gaps, scenario
from kie_bluegreen.sandbox.aws_environment import pointed_at
from kie_bluegreen.sandbox.aws_model import AwsModel
from kie_bluegreen.sandbox.moto_server import MotoServer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GROOVY_TESTS = os.path.join(ROOT, "tests", "groovy")
RUNNER = os.path.join(os.path.dirname(sys.executable), "kie-bluegreen")


def _java_home() -> str:
    """As tests/groovy/run.sh: JAVA_HOME if valid, else Debian's Java 17, else the java on PATH."""
    for home in (os.environ.get("JAVA_HOME", ""), "/usr/lib/jvm/java-17-openjdk-amd64"):
        if home and os.access(os.path.join(home, "bin", "java"), os.X_OK):
            return home
    java = shutil.which("java")
    return os.path.dirname(os.path.dirname(os.path.realpath(java))) if java else ""


@pytest.fixture
def moto_endpoint():
    """moto's server behaving like AWS (health checked only while referenced, drains on
    scale-in), on real time with health checks every half second."""
    server = MotoServer().start()
    try:
        with AwsModel(clock=time.monotonic, check_interval=0.5), pointed_at(server.endpoint_url) as endpoint:
            yield endpoint
    finally:
        server.stop()


@pytest.mark.skipif(shutil.which("groovy") is None, reason="groovy is installed by `make test` (tests/groovy/run.sh)")
def test_the_steps_drive_the_real_runner(moto_endpoint, tmp_path):
    aws = clients(scenario.REGION)
    world = scenario.build(aws, deregistration_delay=1)
    scenario.write_config(world, str(tmp_path))
    assert os.access(RUNNER, os.X_OK), RUNNER
    assert subprocess.run([RUNNER, "--config", str(tmp_path / "kie-deploy.yaml"), "init", "--version", "1.0.0"],
                          capture_output=True, timeout=120).returncode == 0

    environment = dict(os.environ, JAVA_HOME=_java_home())
    done = subprocess.run(
        ["groovy", "-cp", f"{GROOVY_TESTS}:{GROOVY_TESTS}/stubs:{ROOT}/src", f"-Dkie.root={ROOT}",
         os.path.join(GROOVY_TESTS, "e2e", "RealRunnerStory.groovy"), str(tmp_path), RUNNER],
        capture_output=True, text=True, timeout=600, env=environment)
    assert done.returncode == 0, done.stderr[-3000:]
    promoted, rolled_back, nothing, status = json.loads(done.stdout.strip().splitlines()[-1])

    assert promoted["commands"] == ["plan --version 2.0.0", "phase provision --version 2.0.0", "phase wait",
                                    "phase route --strategy canary", "status", "promote"]
    assert promoted["stages"] == ["Plan (production)", "Provision (production)", "Wait healthy (production)",
                                  "Rewrite rules (production)", "Approval (production)", "Promote (production)"]
    assert promoted["result"]["blue"]["version"] == "2.0.0" and promoted["build"] == "SUCCESS"
    # the build's report: the real runner's page, archived, linked from the description
    page = ".kie-bluegreen/report-production-kieBlueGreenDeploy.html"
    assert list(promoted["artifacts"]) == [page]
    assert promoted["artifacts"][page]["approval"] is True
    assert promoted["artifacts"][page]["diagrams"] >= 1 + 2 * 3  # now; before/after provision, route, promote
    assert promoted["description"].endswith(f"production: report https://jenkins.example.com/job/app/42/artifact/{page}")

    assert rolled_back["commands"][-2:] == ["status", "rollback"]
    assert rolled_back["build"] == "ABORTED" and "rolled back by bob" in rolled_back["failure"]

    assert list(rolled_back["artifacts"]) == [page]
    assert nothing["commands"] == ["promote"]
    assert "exit code 3 (refused by the current state): nothing to promote" in nothing["failure"]

    assert status["result"]["command"] == "status" and status["result"]["blue"]["version"] == "2.0.0"
    # and AWS agrees: 2.0.0 serves everyone, 3.0.0 is gone, 1.0.0 is the standby
    assert routing_generations(aws, world.listener_arn) == {"default": 2, "blue": 2, "green": None}
    gone_or_draining = aws.autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=["orders-production-g3"])["AutoScalingGroups"]
    assert not gone_or_draining or gone_or_draining[0]["DesiredCapacity"] == 0
    assert [g["version"] for g in status["result"]["standby"]] == ["1.0.0"]
