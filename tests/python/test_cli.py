"""The command line contract: JSON fields, exit codes, messages, no tracebacks, and the habits every command shares."""

from __future__ import annotations

import logging
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
    assert data["routing"] == {
        "default": world.target_group_arn,
        "blue": world.target_group_arn,
        "green": "fixed-response:404",
    }
    assert data["changes"][0].startswith("adopted orders-kie-1 as generation 1")

    data = run(config_path, "--output", "json", "deploy", "--version", "2.0.0").json
    assert data["result"] == "ok"
    assert {key: data["green"][key] for key in ("generation", "version", "release", "asg", "desired", "healthy")} == {
        "generation": 2,
        "version": "2.0.0",
        "release": "com.myspace:app:2.0.0",
        "asg": "orders-production-g2",
        "desired": 2,
        "healthy": 2,
    }
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


@pytest.mark.parametrize(
    "argv,code,message",
    [
        (("promote",), 3, "nothing to promote"),
        (("rollback",), 3, "nothing to roll back to"),
        (("deploy", "--version", "1.0'; touch /tmp/x; echo '"), 2, "--version: version must look like 2.0.0"),
        (("rollback", "--generation", "7"), 3, "--generation 7: not a standby or kept generation"),
    ],
)
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


def test_failed_wait_exits_1_with_what_was_unhealthy(run, config_path, world, aws, aws_like):
    run(config_path, "init", "--version", "1.0.0")
    blue = aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[world.asg_name])["AutoScalingGroups"][0]
    aws_like.fail("*", "Target.FailedHealthChecks")
    for instance in blue["Instances"]:
        aws_like.recover(instance["InstanceId"])
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
        done = subprocess.run(
            [sys.executable, "-m", "kie_bluegreen", *argv], capture_output=True, text=True, timeout=60
        )
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


# -- command-line habits -------------------------------------------------------------------------

GLOBAL_OPTIONS = ("--config", "--stage", "--output", "--verbose")


def test_every_command_accepts_the_global_options():
    from kie_bluegreen import cli

    parser = cli.build_parser()
    commands = list(cli._command_parsers(parser))
    assert {p.prog for p in commands} >= {
        "kie-bluegreen status",
        "kie-bluegreen phase wait",
        "kie-bluegreen probe",
        "kie-bluegreen jenkins trigger",
        "kie-bluegreen sandbox up",
        "kie-bluegreen version",
    }
    for command in commands:
        assert set(GLOBAL_OPTIONS) <= set(command._option_string_actions), command.prog


def test_global_options_after_the_command(run, config_path):
    assert run(None, "init", "--version", "1.0.0", "--config", config_path).code == 0
    status = run(None, "status", "--stage", "production", "--output", "json", "--config", config_path)
    assert status.code == 0, status.err
    assert (status.json["command"], status.json["stage"], status.json["blue"]["version"]) == (
        "status",
        "production",
        "1.0.0",
    )
    deployed = run(None, "deploy", "--config", config_path, "--version", "2.0.0", "--output", "json", "--verbose")
    assert deployed.code == 0 and deployed.json["green"]["version"] == "2.0.0"
    assert logging.getLogger("kie_bluegreen").level == logging.DEBUG  # --verbose after the command took effect
    # subcommands too, and mixed with options before the command
    waited = run(None, "--config", config_path, "phase", "wait", "--output", "json")
    assert waited.code == 0 and waited.json["command"] == "phase wait"
    assert run(None, "phase", "--output", "json", "retire", "--config", config_path).json["command"] == "phase retire"


def test_an_option_after_the_command_wins_over_the_same_option_before_it(run, config_path):
    run(config_path, "init", "--version", "1.0.0")
    result = run(config_path, "--output", "json", "status", "--output", "text")
    assert result.code == 0 and "x-client-mode: green" in result.out
    result = run(config_path, "--stage", "nope", "status", "--stage", "production", "--output", "json")
    assert result.code == 0 and result.json["stage"] == "production"


@pytest.mark.parametrize(
    "argv",
    [
        ("--version", "2.0.0", "deploy"),
        ("--version", "2.0.0", "deploy", "--version", "2.0.0"),
        ("--version",),
        ("--output", "json", "--version", "2.0.0", "status"),
    ],
)
def test_version_before_the_command_is_an_error_not_the_program_version(run, config_path, aws, world, argv):
    from helpers import snapshot

    run(config_path, "init", "--version", "1.0.0")
    before = snapshot(aws, world.listener_arn)
    result = run(config_path, *argv)
    assert result.code == 2
    assert (
        "--version names the release and goes after the command, e.g. kie-bluegreen deploy --version 2.0.0"
        in result.err
    )
    assert "kie-bluegreen -V" in result.err and "0.1.0" not in result.out.replace('"', "")
    assert snapshot(aws, world.listener_arn) == before
    if "json" in argv:
        assert result.json["exit_code"] == 2 and "--version names the release" in result.json["error"]


def test_program_version(run):
    from kie_bluegreen import __version__

    for option in ("-V", "--program-version"):
        result = run(None, option)
        assert (result.code, result.out) == (0, f"kie-bluegreen {__version__}\n")
    data = run(None, "version", "--output", "json").json
    assert (data["command"], data["result"], data["version"]) == ("version", "ok", __version__)
    assert run(None, "version").out == f"kie-bluegreen {__version__}\n"


@pytest.mark.parametrize(
    "argv",
    [("-V", "deploy", "--version", "2.0.0"), ("deploy", "--version", "2.0.0", "-V"), ("--program-version", "status")],
)
def test_program_version_runs_no_command(run, config_path, aws, world, argv):
    from helpers import snapshot

    run(config_path, "init", "--version", "1.0.0")
    before = snapshot(aws, world.listener_arn)
    result = run(config_path, *argv)
    assert result.code == 2 and "prints the program's version and runs no command" in result.err
    assert snapshot(aws, world.listener_arn) == before


def test_no_command_is_a_usage_error(run):
    result = run(None)
    assert result.code == 2 and "the following arguments are required: COMMAND" in result.err


def test_every_configuration_problem_on_its_own_line(run, tmp_path, world):
    import yaml

    from kie_bluegreen.sandbox import scenario

    document = scenario.config_document(world)
    document["defaults"] = {"wait": {"tmeout": "5m"}, "retire": {"keep": -1}, "routing": {"header": "Host"}}
    path = tmp_path / "kie-deploy.yaml"
    path.write_text(yaml.safe_dump(document))
    result = run(str(path), "--output", "json", "deploy", "--version", "2.0.0")
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert [line.split(": ")[1] for line in lines] == [
        "defaults.routing.header",
        "defaults.wait.tmeout",
        "defaults.retire.keep",
    ]
    assert all(line.startswith("kie-bluegreen: defaults.") for line in lines)
    assert "did you mean 'timeout'?" in lines[1]
    assert result.json["error"].splitlines() == [line.removeprefix("kie-bluegreen: ") for line in lines]


def test_one_command_runs_from_its_arguments_without_the_command_line(config_path, world, fake_clock, capsys):
    """commands.run: how the demo and the benchmark drive the runner; the result is returned,
    nothing is printed, errors become their result with the documented exit code."""
    from kie_bluegreen import commands

    result = commands.run(["--config", config_path, "init", "--version", "1.0.0"], clock=fake_clock)
    assert (result.exit_code, result.data["command"], result.data["blue"]["generation"]) == (0, "init", 1)
    refused = commands.run(["--config", config_path, "promote"], clock=fake_clock)
    assert refused.exit_code == 3 and "nothing to promote" in refused.error
    assert refused.data["routing"]["default"] == world.target_group_arn  # where AWS stands, also on failure
    usage = commands.run(["--config", config_path, "deploy"], clock=fake_clock)
    assert usage.exit_code == 2 and "--version" in usage.error
    assert capsys.readouterr().out == ""
