"""The Jenkins steps (vars/, on Groovy 2.4 in the test harness) driving the real runner against a
real AWS API endpoint: moto's server, reached through AWS_ENDPOINT_URL by a separate process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
import yaml
from helpers import GROOVY_TESTS, ROOT, java_home, routing_generations

from kie_bluegreen.aws.session import clients
from kie_bluegreen.sandbox import scenario
from kie_bluegreen.sandbox.aws_environment import pointed_at
from kie_bluegreen.sandbox.aws_model import AwsModel
from kie_bluegreen.sandbox.moto_server import MotoServer

RUNNER = os.path.join(os.path.dirname(sys.executable), "kie-bluegreen")


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


ALARM = "orders-5xx"


def _write(path, document: dict) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(document, handle, sort_keys=False)


def _alarm_command() -> list[str]:
    """The command line that puts the alarm in ALARM (run by the story's person, against moto's
    server through the inherited AWS_ENDPOINT_URL)."""
    code = (f"import boto3; boto3.client('cloudwatch', region_name={scenario.REGION!r}).set_alarm_state("
            f"AlarmName={ALARM!r}, StateValue='ALARM', StateReason='Threshold Crossed: 12 5xx answers in 1 minute')")
    return [sys.executable, "-c", code]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("groovy") is None, reason="groovy is installed by `make test` (tests/groovy/run.sh)")
def test_the_steps_drive_the_real_runner(moto_endpoint, tmp_path):
    aws = clients(scenario.REGION)
    world = scenario.build(aws, deregistration_delay=1)
    scenario.write_config(world, str(tmp_path))
    # the same stage released in weighted steps (a short pause: the runner's bake takes real time),
    # watched by an alarm; and the stage as one group rolled in place (all-at-once only)
    _write(tmp_path / "kie-weighted.yaml", scenario.config_document(
        world, routing={"strategy": "weighted", "steps": [10, 50, 100], "step-pause": "2s"},
        analysis={"alarms": [ALARM], "bake": "2s"}))
    _write(tmp_path / "kie-single.yaml", scenario.config_document(world, topology="single-group",
                                                                  routing={"strategy": "all-at-once"}))
    aws.cloudwatch.put_metric_alarm(AlarmName=ALARM, Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count",
                                    Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=10,
                                    ComparisonOperator="GreaterThanThreshold")
    aws.cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="OK", StateReason="no 5xx")
    assert os.access(RUNNER, os.X_OK), RUNNER
    assert subprocess.run([RUNNER, "--config", str(tmp_path / "kie-deploy.yaml"), "init", "--version", "1.0.0"],
                          capture_output=True, timeout=120).returncode == 0

    environment = dict(os.environ, JAVA_HOME=java_home())
    done = subprocess.run(
        ["groovy", "-cp", f"{GROOVY_TESTS}:{GROOVY_TESTS}/stubs:{ROOT}/src", f"-Dkie.root={ROOT}",
         os.path.join(GROOVY_TESTS, "e2e", "RealRunnerStory.groovy"), str(tmp_path), RUNNER, json.dumps(_alarm_command())],
        capture_output=True, text=True, timeout=600, env=environment)
    assert done.returncode == 0, done.stderr[-3000:]
    promoted, rolled_back, nothing, status, stepped, alarmed, single = json.loads(done.stdout.strip().splitlines()[-1])

    assert promoted["commands"] == ["plan --version 2.0.0 --strategy canary", "phase provision --version 2.0.0", "phase wait",
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
    # as AWS showed it then: 2.0.0 serves everyone, 1.0.0 is the standby
    assert status["result"]["routing"]["default"] == status["result"]["blue"]["target_group_arn"]
    assert status["result"]["green"] is None
    assert [g["version"] for g in status["result"]["standby"]] == ["1.0.0"]

    # weighted: one stage per step, the holds of the plan (routing.step-pause), two milestones
    assert stepped["build"] == "SUCCESS", stepped.get("failure")
    assert stepped["commands"] == ["plan --version 4.0.0 --strategy weighted", "phase provision --version 4.0.0", "phase wait",
                                   "phase route --strategy canary", "phase shift --weight 10", "status",
                                   "phase shift --weight 50", "status", "phase shift --weight 100"]
    assert stepped["stages"][4:] == ["Shift 10% (production)", "Hold 10% (production)", "Approval for 50% (production)",
                                     "Shift 50% (production)", "Hold 50% (production)", "Approval for 100% (production)",
                                     "Promote (production)"]
    assert stepped["sleeps"] == [{"time": 2, "unit": "SECONDS"}] * 2
    assert [m.split(": ", 1)[0] for m in stepped["milestones"]] == ["0", "1"]
    assert stepped["result"]["command"] == "phase shift" and stepped["result"]["blue"]["version"] == "4.0.0"
    assert stepped["description"].startswith("production: 4.0.0 promoted in weighted steps (10%, 50%, 100%)")
    assert list(stepped["artifacts"]) == [page] and stepped["artifacts"][page]["approval"] is True
    assert stepped["artifacts"][page]["diagrams"] >= 1 + 2 * 5  # now; before/after provision, route, three shifts

    # the alarm fired during the last hold (Jenkins' sleep): the Promote step's runner looked at the
    # alarms before promoting and rolled back by itself, the build says which alarm
    assert alarmed["build"] == "FAILURE"
    assert alarmed["commands"][-1] == "phase shift --weight 100"
    assert ("kie-bluegreen phase shift failed with exit code 1 (the deployment failed and was undone): "
            f"alarm {ALARM} is in ALARM during the hold at 50% before this step") in alarmed["failure"]
    assert "rolled back automatically: everyone is on orders-production-g4" in alarmed["failure"]
    assert alarmed["description"].startswith(f"production: 5.0.0 undone by the runner during Promote (production): alarm {ALARM}")
    assert list(alarmed["artifacts"]) == [page]  # the failed step is in the report, archived before the build failed

    # and AWS agrees: 4.0.0 serves everyone again; 3.0.0 (rolled back at the gate) and 5.0.0 (rolled
    # back by the runner) are gone or scaled in
    assert routing_generations(aws, world.listener_arn) == {"default": 4, "blue": 4, "green": None}
    for rolled_back_group in ("orders-production-g3", "orders-production-g5"):
        gone_or_draining = aws.autoscaling.describe_auto_scaling_groups(
            AutoScalingGroupNames=[rolled_back_group])["AutoScalingGroups"]
        assert not gone_or_draining or gone_or_draining[0]["DesiredCapacity"] == 0

    # the step's default strategy (canary) on a single-group stage: the runner's plan refuses it
    # (exit 2) before anything changed, and the build says what to do
    assert single["build"] == "FAILURE" and single["commands"] == ["plan --version 6.0.0 --strategy canary"]
    assert single["milestones"] == []
    assert "exit code 2 (usage or configuration error)" in single["failure"]
    assert "routing.strategy: canary needs two fleets side by side" in single["failure"]
    assert "Deploy it with strategy: 'all-at-once'" in single["failure"]
