"""The command line contract (DESIGN 4.2): JSON fields, exit codes, messages, no tracebacks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from helpers import routing_generations

ROUTED = {"command", "app", "stage", "result", "blue", "green", "routing", "changes", "exit_code", "error"}


def test_json_output_of_the_story(run, config_path, world):
    result = run(config_path, "--output", "json", "init", "--version", "1.0.0")
    assert result.code == 0, result.err
    data = result.json
    assert ROUTED <= set(data)
    assert (data["command"], data["app"], data["stage"], data["result"]) == ("init", "orders", "production", "ok")
    assert data["blue"]["version"] == "1.0.0" and data["blue"]["generation"] == 1 and data["green"] is None
    assert data["routing"] == {"default": world.target_group_arn, "blue": world.target_group_arn,
                               "green": "fixed-response:404"}
    assert data["changes"][0].startswith("adopted orders-kie-1 as generation 1")

    data = run(config_path, "--output", "json", "deploy", "--version", "2.0.0").json
    assert data["result"] == "ok"
    assert {key: data["green"][key] for key in ("generation", "version", "release", "asg", "desired", "healthy")} == {
        "generation": 2, "version": "2.0.0", "release": "com.myspace:app:2.0.0", "asg": "orders-production-g2",
        "desired": 2, "healthy": 2}
    assert data["routing"]["green"] == data["green"]["target_group_arn"]

    data = run(config_path, "--output", "json", "deploy", "--version", "2.0.0").json
    assert (data["result"], data["changes"]) == ("unchanged", [])

    data = run(config_path, "--output", "json", "status").json
    assert data["command"] == "status" and data["green"]["version"] == "2.0.0"

    data = run(config_path, "--output", "json", "promote").json
    assert data["blue"]["version"] == "2.0.0" and data["green"] is None
    assert [group["version"] for group in data["standby"]] == ["1.0.0"]
    assert data["routing"]["green"] == "fixed-response:404"


def test_text_output_shows_the_routing_table(run, config_path):
    run(config_path, "init", "--version", "1.0.0")
    result = run(config_path, "deploy", "--version", "2.0.0")
    assert result.code == 0
    assert "x-client-mode: green -> orders-production-g2 g2 2.0.0" in result.out
    assert "default              -> orders-kie-1 g1 1.0.0" in result.out
    assert "waiting for orders-production-g2" in result.err  # progress on stderr


@pytest.mark.parametrize("argv,code,message", [
    (("promote",), 3, "nothing to promote"),
    (("rollback",), 3, "nothing to roll back to"),
    (("deploy", "--version", "1.0'; touch /tmp/x; echo '"), 2, "--version: version must look like 2.0.0"),
    (("rollback", "--generation", "7"), 3, "--generation 7: not a standby or kept generation"),
])
def test_refusals_and_usage_errors(run, config_path, argv, code, message):
    run(config_path, "init", "--version", "1.0.0")
    result = run(config_path, "--output", "json", *argv)
    assert result.code == code
    assert message in result.err
    assert "Traceback" not in result.err
    data = result.json
    assert data["exit_code"] == code and message in data["error"]
    assert data["result"] in ("refused", "error")


def test_deploy_refused_while_another_candidate_is_green(run, config_path, world, aws):
    run(config_path, "init", "--version", "1.0.0")
    run(config_path, "deploy", "--version", "2.0.0")
    result = run(config_path, "--output", "json", "deploy", "--version", "3.0.0")
    assert result.code == 3
    assert "green candidate orders-production-g2 g2 (2.0.0) is still deployed" in result.json["error"]
    assert result.json["green"]["version"] == "2.0.0"  # the failure JSON still says where we are
    assert routing_generations(aws, world.listener_arn) == {"default": 1, "blue": 1, "green": 2}


def test_failed_wait_exits_1_with_what_was_unhealthy(run, config_path, world, aws, target_health):
    run(config_path, "init", "--version", "1.0.0")
    blue = aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[world.asg_name])["AutoScalingGroups"][0]
    target_health["*"] = ("unhealthy", "Target.FailedHealthChecks")
    for instance in blue["Instances"]:
        target_health[instance["InstanceId"]] = None
    result = run(config_path, "--output", "json", "deploy", "--version", "2.0.0")
    assert result.code == 1
    data = result.json
    assert data["result"] == "failed"
    assert "unhealthy (Target.FailedHealthChecks)" in data["error"]
    assert any(change.startswith("deleted orders-production-g2") for change in data["changes"])
    assert data["routing"]["green"] == "fixed-response:404"


def test_aws_errors_exit_4(run, make_config, world):
    missing = world.listener_arn[:-4] + "0000"
    result = run(make_config(**{"listener-arn": missing}), "--output", "json", "status")
    assert result.code == 4
    assert "elasticloadbalancing:DescribeListeners failed (ListenerNotFound)" in result.err
    assert "Traceback" not in result.err


def test_config_errors_exit_2_without_touching_aws(run, tmp_path):
    result = run(str(tmp_path / "none.yaml"), "--output", "json", "status")
    assert result.code == 2
    assert result.json == {**result.json, "command": "status", "result": "error", "exit_code": 2}
    assert "configuration file not found" in result.json["error"]


def test_unknown_option_is_a_usage_error(run, config_path):
    result = run(config_path, "deploy", "--version", "2", "--strategie", "canary")
    assert result.code == 2 and "usage:" in result.err
    assert "unrecognized arguments: --strategie canary" in result.err
    assert result.out == ""


def test_usage_errors_answer_in_json_when_asked(run, config_path):
    result = run(config_path, "--output", "json", "deploy")
    assert result.code == 2
    assert result.json["command"] == "deploy" and result.json["exit_code"] == 2
    assert result.json["error"] == "usage: the following arguments are required: --version"
    assert "Traceback" not in result.err


def test_module_entry_point_and_help():
    for argv in (["--help"], ["deploy", "--help"], ["phase", "wait", "--help"]):
        done = subprocess.run([sys.executable, "-m", "kie_bluegreen", *argv], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "usage: kie-bluegreen" in done.stdout
    done = subprocess.run([sys.executable, "-m", "kie_bluegreen", "--help"], capture_output=True, text=True, timeout=60)
    for command in ("init", "plan", "deploy", "promote", "rollback", "status", "cleanup", "phase", "demo"):
        assert command in done.stdout
    assert "3 refused by the current state" in done.stdout


def test_plan_result_tells_the_pipeline_whether_there_is_work(run, config_path):
    """kieBlueGreenDeploy skips its stages when plan answers "unchanged"."""
    run(config_path, "init", "--version", "1.0.0")
    planned = run(config_path, "--output", "json", "plan", "--version", "2.0.0").json
    assert planned["result"] == "ok" and planned["planned"] and planned["changes"] == []
    live = run(config_path, "--output", "json", "plan", "--version", "1.0.0").json
    assert live["result"] == "unchanged" and live["planned"] == []
    assert live["message"] == "1.0.0 is already live on orders-kie-1 g1 (1.0.0)"
