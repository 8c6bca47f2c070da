"""`kie-bluegreen jenkins trigger` against the fake Jenkins: parameters sent, queue followed to
the build, console streamed in order, exit code from the build's result; waits on a FakeClock."""

import json

import pytest
from fake_jenkins import (
    ITEM_READ,
    OVERALL_READ,
    USER,
    BuildPlan,
    write_config,
)

from kie_bluegreen import cli

PROMOTE = "kie/orders-production-promote"
ROLLBACK = "kie/orders-production-rollback"


@pytest.fixture
def config_path(tmp_path, jenkins_env, capsys):
    """A configuration whose jobs already exist (made by sync-jobs)."""
    path = write_config(tmp_path / "kie-deploy.yaml", jenkins={"folder": "kie"})
    assert cli.main(["--config", path, "jenkins", "sync-jobs"], clock=jenkins_env) == 0
    capsys.readouterr()
    return path


def trigger(capsys, clock, config_path, *args):
    code = cli.main(["--config", config_path, "--output", "json", "jenkins", "trigger", *args], clock=clock)
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def test_promote_sends_the_parameters_follows_the_queue_and_streams_the_console(
    fake_jenkins, config_path, capsys, jenkins_env
):
    fake_jenkins.plan_build(
        PROMOTE,
        BuildPlan(console=["[Pipeline] Start\n", "kiePromote: production\n", "Finished: SUCCESS\n"], queue_polls=2),
    )

    code, result, err = trigger(
        capsys, jenkins_env, config_path, "promote", "--stage", "production", "--reason", "  CHG-42 approved  "
    )

    assert code == 0
    (build,) = fake_jenkins.builds(PROMOTE)
    assert build.parameters == {"CONFIRM": "true", "REASON": "CHG-42 approved"}
    assert "[Pipeline] Start\nkiePromote: production\nFinished: SUCCESS\n" in err  # whole, once, in order
    assert err.count("kiePromote: production") == 1
    assert "waiting: Waiting for next available executor" in err
    assert result["result"] == "ok" and result["build_result"] == "SUCCESS"
    assert result["build"] == {
        "number": 1,
        "url": f"{fake_jenkins.url}job/kie/job/orders-production-promote/1/",
        "result": "SUCCESS",
    }
    assert result["command"] == "jenkins trigger" and result["job"] == PROMOTE
    assert jenkins_env.slept and all(seconds <= 2 for seconds in jenkins_env.slept)


def test_the_console_is_read_progressively_from_the_last_offset(fake_jenkins, config_path, capsys, jenkins_env):
    fake_jenkins.plan_build(PROMOTE, BuildPlan(console=["é first\n", "second\n", "third\n"], queue_polls=0))

    trigger(capsys, jenkins_env, config_path, "promote", "--stage", "production", "--reason", "why")

    starts = [path.split("start=")[1] for _, path in fake_jenkins.requests if "progressiveText" in path]
    assert starts == ["0", str(len("é first\n".encode())), str(len("é first\nsecond\n".encode()))]


def test_the_result_is_awaited_when_the_console_ends_first(fake_jenkins, config_path, capsys, jenkins_env):
    fake_jenkins.plan_build(PROMOTE, BuildPlan(result_lag=2))

    code, result, _ = trigger(capsys, jenkins_env, config_path, "promote", "--stage", "production", "--reason", "why")

    assert code == 0 and result["build_result"] == "SUCCESS"


@pytest.mark.parametrize("outcome", ["FAILURE", "UNSTABLE", "ABORTED"])
def test_a_build_that_does_not_succeed_exits_1(fake_jenkins, config_path, capsys, outcome, jenkins_env):
    fake_jenkins.plan_build(ROLLBACK, BuildPlan(console=[f"Finished: {outcome}\n"], result=outcome))

    code, result, err = trigger(
        capsys, jenkins_env, config_path, "rollback", "--stage", "production", "--reason", "incident 7"
    )

    assert code == 1 and result["result"] == "failed" and result["build_result"] == outcome
    assert f"the rollback build {ROLLBACK} #1" in err and f"ended {outcome}" in err


def test_rollback_to_a_generation(fake_jenkins, config_path, capsys, jenkins_env):
    code, _, _ = trigger(
        capsys, jenkins_env, config_path, "rollback", "--stage", "production", "--reason", "bad", "--generation", "3"
    )

    assert code == 0
    assert fake_jenkins.builds(ROLLBACK)[0].parameters == {"CONFIRM": "true", "REASON": "bad", "GENERATION": "3"}


def test_a_build_cancelled_in_the_queue_exits_1(fake_jenkins, config_path, capsys, jenkins_env):
    fake_jenkins.plan_build(PROMOTE, BuildPlan(cancelled=True))

    code, result, err = trigger(capsys, jenkins_env, config_path, "promote", "--stage", "production", "--reason", "why")

    assert code == 1 and result["build_result"] == "CANCELLED" and result["build"] is None
    assert "cancelled while it waited in the queue" in err


def test_timeout_stops_following_and_says_the_build_goes_on(fake_jenkins, config_path, capsys, jenkins_env):
    fake_jenkins.plan_build(PROMOTE, BuildPlan(queue_polls=1000))

    code, _, err = trigger(
        capsys, jenkins_env, config_path, "promote", "--stage", "production", "--reason", "why", "--timeout", "90s"
    )

    assert code == 4
    assert "did not start in time" in err and "(--timeout)" in err
    assert jenkins_env.now() == 90


def test_a_gateway_error_while_following_is_retried(fake_jenkins, config_path, capsys, jenkins_env, monkeypatch):
    original = fake_jenkins._queue_item

    def queue_item_after_an_outage(queue_id):
        fake_jenkins.unavailable = 2  # the next two requests (the retries' first) answer 503
        monkeypatch.setattr(fake_jenkins, "_queue_item", original)
        return original(queue_id)

    monkeypatch.setattr(fake_jenkins, "_queue_item", queue_item_after_an_outage)

    code, _, err = trigger(capsys, jenkins_env, config_path, "promote", "--stage", "production", "--reason", "why")

    assert code == 0
    assert err.count("answered HTTP 503: Jenkins is getting ready to work; trying again") == 2


# --- refusals and errors -----------------------------------------------------------------------


def test_a_job_that_does_not_exist_points_to_sync_jobs(fake_jenkins, tmp_path, jenkins_env, capsys):
    path = write_config(tmp_path / "k.yaml", jenkins={"folder": "kie"})

    code, result, err = trigger(capsys, jenkins_env, path, "promote", "--stage", "staging", "--reason", "why")

    assert code == 4 and result["result"] == "error"
    assert "job kie/orders-staging-promote not found" in err and "kie-bluegreen jenkins sync-jobs" in err
    assert fake_jenkins.writes() == []


def test_a_freestyle_job_of_that_name_is_not_started(fake_jenkins, tmp_path, jenkins_env, capsys):
    path = write_config(tmp_path / "k.yaml", stages=("production",))
    fake_jenkins.add_item("orders-production-promote", "<project/>")

    code, _, err = trigger(capsys, jenkins_env, path, "promote", "--reason", "why")

    assert code == 3 and "is not a pipeline job" in err
    assert fake_jenkins.writes() == []


def test_a_job_without_the_generation_parameter_asks_for_a_sync(fake_jenkins, config_path, capsys, jenkins_env):
    item = fake_jenkins.items[ROLLBACK]
    start = item.config_xml.index("<hudson.model.StringParameterDefinition>\n          <name>GENERATION")
    end = item.config_xml.index("</hudson.model.StringParameterDefinition>", start) + len(
        "</hudson.model.StringParameterDefinition>"
    )
    item.config_xml = item.config_xml[:start] + item.config_xml[end:]

    code, _, err = trigger(
        capsys, jenkins_env, config_path, "rollback", "--stage", "production", "--reason", "x", "--generation", "2"
    )

    assert code == 3 and "has no parameter GENERATION" in err


def test_a_disabled_job_is_refused(fake_jenkins, config_path, capsys, jenkins_env):
    fake_jenkins.items[PROMOTE].buildable = False

    code, _, err = trigger(capsys, jenkins_env, config_path, "promote", "--stage", "production", "--reason", "why")

    assert code == 3 and "is disabled" in err


def test_missing_build_permission_is_named(fake_jenkins, config_path, capsys, jenkins_env):
    fake_jenkins.permissions[USER] = {OVERALL_READ, ITEM_READ}

    code, _, err = trigger(capsys, jenkins_env, config_path, "promote", "--stage", "production", "--reason", "why")

    assert (
        code == 4
        and "cannot start kie/orders-production-promote: Jenkins user 'deployer' lacks the Job/Build permission" in err
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["promote", "--stage", "production", "--reason", "   "], "--reason: required"),
        (["promote", "--stage", "production", "--reason", "two\nlines"], "--reason: must be one line"),
        (["promote", "--stage", "production", "--reason", "x", "--generation", "2"], "--generation: only rollback"),
        (
            ["rollback", "--stage", "production", "--reason", "x", "--generation", "2; rm"],
            "--generation: expected a generation number",
        ),
        (["promote", "--stage", "production", "--reason", "x", "--timeout", "soon"], "--timeout: expected a duration"),
        (["promote", "--reason", "x"], "--stage: required, the file has several stages"),
    ],
)
def test_bad_arguments_are_usage_errors_before_any_build(fake_jenkins, config_path, capsys, args, message, jenkins_env):
    writes = len(fake_jenkins.writes())

    code, result, err = trigger(capsys, jenkins_env, config_path, *args)

    assert code == 2 and result["result"] == "error" and message in err
    assert len(fake_jenkins.writes()) == writes


def test_the_global_stage_option_works_too(fake_jenkins, config_path, capsys, jenkins_env):
    code = cli.main(
        ["--config", config_path, "--stage", "production", "jenkins", "trigger", "promote", "--reason", "why"],
        clock=jenkins_env,
    )
    out = capsys.readouterr().out

    assert code == 0
    assert out.strip() == f"{PROMOTE} #1 ({fake_jenkins.url}job/kie/job/orders-production-promote/1/): SUCCESS"
