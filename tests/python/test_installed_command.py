"""The installed `kie-bluegreen` command, in its own process, against moto's server behaving like
AWS (health checks only while referenced, `initial` first, drains on scale-in), reached through
AWS_ENDPOINT_URL as a user's pipeline would: the story in each topology, a listener that logs
users in (Cognito), the Jenkins path refusing what deploy refuses, no entry point routing to
unready servers, a kill right after each AWS write of five transitions (canary and all-at-once
deploys, promote, rollback before and after promote), and a weighted release (its steps, an
alarm that rolls it back, a kill between steps)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from helpers import COGNITO, assert_every_rule_logs_in_first, fingerprint, log_in_first, routing_generations

from kie_bluegreen.aws.session import clients
from kie_bluegreen.sandbox import scenario
from kie_bluegreen.sandbox.aws_environment import pointed_at
from kie_bluegreen.sandbox.aws_model import AwsModel, current
from kie_bluegreen.sandbox.moto_server import MotoServer

RUNNER = os.path.join(os.path.dirname(sys.executable), "kie-bluegreen")
FAST = {"wait": {"timeout": "60s", "poll-interval": "1s"}, "target-group": {"deregistration-delay": "1s"}}


@pytest.fixture
def server():
    moto = MotoServer().start()
    _reset(moto)  # moto's backends live in this process: start from an empty world
    try:
        with AwsModel(clock=time.monotonic, check_interval=0.3), pointed_at(moto.endpoint_url):
            yield moto
    finally:
        moto.stop()


@pytest.fixture
def world(server):
    return scenario.build(clients(scenario.REGION), deregistration_delay=1)


def installed(path, *argv, popen=False):
    command = [RUNNER, "--config", str(path), "--output", "json", *argv]
    if popen:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    return done.returncode, (json.loads(done.stdout) if done.stdout.strip() else {}), done.stderr


def config(world, tmp_path, **overrides):
    return scenario.write_config(world, str(tmp_path), **{**FAST, **overrides})


@pytest.mark.slow
def test_the_story_on_aws_as_it_really_is(world, tmp_path):
    aws = clients(scenario.REGION)
    path = config(world, tmp_path, retire={"previous": "standby"})
    story = [(("init", "--version", "1.0.0"), {"default": 1, "blue": 1, "green": None}),
             (("deploy", "--version", "2.0.0", "--strategy", "canary"), {"default": 1, "blue": 1, "green": 2}),
             (("promote",), {"default": 2, "blue": 2, "green": None}),
             (("deploy", "--version", "3.0.0", "--strategy", "all-at-once"), {"default": 3, "blue": 3, "green": None}),
             (("rollback",), {"default": 2, "blue": 2, "green": None})]  # the standby comes back: referenced, waited for
    for argv, expected in story:
        code, result, err = installed(path, *argv)
        assert code == 0, (argv, err[-2000:])
        assert routing_generations(aws, world.listener_arn) == expected, argv
        assert result["result"] in ("ok", "unchanged") and result["steps"], argv


@pytest.mark.slow
def test_the_story_behind_a_cognito_login(server, tmp_path):
    """The listener logs users in with Cognito: through the same story, every rule of ours logs
    users in first, as the default action does, so the header is no way around the login."""
    import boto3

    aws = clients(scenario.REGION)
    certificate = boto3.client("acm", region_name=scenario.REGION).request_certificate(
        DomainName="alb-ks.example.com")["CertificateArn"]
    world = scenario.build(aws, deregistration_delay=1, certificate_arn=certificate)
    log_in_first(aws, world, COGNITO)
    path = config(world, tmp_path, retire={"previous": "standby"})
    for argv in [("init", "--version", "1.0.0"), ("deploy", "--version", "2.0.0", "--strategy", "canary"), ("promote",),
                 ("deploy", "--version", "3.0.0", "--strategy", "all-at-once"), ("rollback",)]:
        code, _, err = installed(path, *argv)
        assert code == 0, (argv, err[-2000:])
        assert_every_rule_logs_in_first(aws, world)
    assert routing_generations(aws, world.listener_arn) == {"default": 2, "blue": 2, "green": None}


@pytest.mark.slow
def test_the_jenkins_path_refuses_what_deploy_refuses_before_any_write(world, tmp_path, server):
    aws = clients(scenario.REGION)
    other_vpc = aws.ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    stray = aws.ec2.create_subnet(VpcId=other_vpc, CidrBlock="10.9.1.0/24", AvailabilityZone="eu-west-1a")["Subnet"]["SubnetId"]
    path = config(world, tmp_path, subnets=[stray])
    assert installed(path, "init", "--version", "1.0.0")[0] == 0
    for argv in (("deploy", "--version", "2.0.0"), ("plan", "--version", "2.0.0"), ("phase", "provision", "--version", "2.0.0")):
        before = len([c for c in server.calls.calls(agent="kie-bluegreen/") if not c.action.startswith(("Describe", "Get"))])
        code, result, err = installed(path, *argv)
        after = len([c for c in server.calls.calls(agent="kie-bluegreen/") if not c.action.startswith(("Describe", "Get"))])
        assert (code, after - before) == (2, 0), (argv, err)
        assert f"{stray} not in" in result["error"]


@pytest.mark.slow
def test_no_entry_point_routes_to_servers_that_are_not_ready(world, tmp_path):
    aws = clients(scenario.REGION)
    path = config(world, tmp_path)
    assert installed(path, "init", "--version", "1.0.0")[0] == 0
    model = current()
    model.fail("*", "Target.Timeout")  # the new servers are slow to start: they fail their checks for now
    for instance in clients(scenario.REGION).autoscaling.describe_auto_scaling_groups(
            AutoScalingGroupNames=[world.asg_name])["AutoScalingGroups"][0]["Instances"]:
        model.recover(instance["InstanceId"])
    assert installed(path, "phase", "provision", "--version", "2.0.0")[0] == 0
    code, result, err = installed(path, "phase", "route", "--strategy", "all-at-once")
    assert code == 3 and "refusing to route" in result["error"], err
    assert routing_generations(aws, world.listener_arn)["default"] == 1
    model.recover("*")
    assert installed(path, "phase", "wait")[0] == 0
    assert installed(path, "phase", "route", "--strategy", "all-at-once")[0] == 0
    assert routing_generations(aws, world.listener_arn) == {"default": 2, "blue": 2, "green": None}


# Each transition: the commands that build its starting point, then the command under test.
TRANSITIONS = {
    "canary deploy": ([], ("deploy", "--version", "2.0.0", "--strategy", "canary")),
    "all-at-once deploy over a standby": ([("deploy", "--version", "2.0.0", "--strategy", "all-at-once")],
                                          ("deploy", "--version", "3.0.0", "--strategy", "all-at-once")),
    "promote": ([("deploy", "--version", "2.0.0", "--strategy", "canary")], ("promote",)),
    "rollback before promote": ([("deploy", "--version", "2.0.0", "--strategy", "canary")], ("rollback",)),
    "rollback after promote": ([("deploy", "--version", "2.0.0", "--strategy", "canary"), ("promote",)], ("rollback",)),
}


@pytest.mark.slow
@pytest.mark.parametrize("transition", sorted(TRANSITIONS))
def test_killed_after_any_write_the_next_run_finishes_the_job(server, tmp_path, transition):
    """kill -9 of the process right after each of its AWS writes (moto answered, the process never
    sees the answer), one run per write, enumerated from a run that was not killed; the next run
    exits 0 and leaves AWS as the unkilled run did; later runs only delete what has drained since."""
    setup, command = TRANSITIONS[transition]

    def writes():
        return [c for c in server.calls.calls(agent="kie-bluegreen/") if not c.action.startswith(("Describe", "Get", "List"))]

    def fresh(index: int):
        _reset(server)
        world = scenario.build(clients(scenario.REGION), deregistration_delay=1)
        (tmp_path / str(index)).mkdir()
        path = config(world, tmp_path / str(index), retire={"previous": "standby", "keep": 1})
        for argv in [("init", "--version", "1.0.0"), *setup]:
            assert installed(path, *argv)[0] == 0, argv
        return world, path, len(writes())

    world, path, start = fresh(0)
    assert installed(path, *command)[0] == 0
    count = len(writes()) - start
    expected = fingerprint(clients(scenario.REGION), world.listener_arn)
    assert count >= 2, f"{transition} wrote {count} times"
    for kill_after in range(1, count + 1):
        world, path, start = fresh(kill_after)
        process = installed(path, *command, popen=True)

        def kill(call, process=process, start=start, kill_after=kill_after):
            if "kie-bluegreen/" in call.user_agent and not call.action.startswith(("Describe", "Get", "List")) \
                    and len(writes()) - start == kill_after:
                os.kill(process.pid, signal.SIGKILL)

        server.calls.listeners.append(kill)
        process.communicate(timeout=300)
        server.calls.listeners.remove(kill)
        where = f"{transition}, killed after write {kill_after}"
        assert process.returncode == -signal.SIGKILL, f"{where}: not killed"
        code, _, err = installed(path, *command)
        assert code == 0, (where, err[-1500:])
        assert fingerprint(clients(scenario.REGION), world.listener_arn) == expected, where
        # Retiring leaves deleting an emptied group to the next run (docs/runbook.md): once the
        # servers a run scaled in have drained, a third run may delete them and does nothing
        # else; a fourth run writes nothing at all.
        _wait_until_drained(clients(scenario.REGION))
        before = len(writes())
        assert installed(path, *command)[0] == 0, f"{where}: the third run failed"
        third = [call.action for call in writes()[before:]]
        assert set(third) <= {"DeleteAutoScalingGroup", "DeleteTargetGroup"}, f"{where}: a third run wrote {third}"
        before = len(writes())
        assert installed(path, *command)[0] == 0 and len(writes()) == before, f"{where}: a fourth run wrote"


def _wait_until_drained(aws, timeout: float = 30) -> None:
    """Until no group scaled to zero still has servers (they drain for the deregistration delay)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        groups = aws.autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]
        if not any(group["DesiredCapacity"] == 0 and group["Instances"] for group in groups):
            return
        time.sleep(0.2)
    raise AssertionError(f"servers still draining after {timeout} s")


def _target_group_names(aws) -> list[str]:
    return sorted(tg["TargetGroupName"] for tg in aws.elbv2.describe_target_groups()["TargetGroups"])


def _group_names(aws) -> list[str]:
    return sorted(g["AutoScalingGroupName"] for g in aws.autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"])


@pytest.mark.slow
def test_the_fixed_pair_story(world, tmp_path):
    aws = clients(scenario.REGION)
    path = config(world, tmp_path, topology="fixed-pair", retire={"previous": "standby"})
    pair = [world.asg_name, "orders-production-pair"]
    story = [(("init", "--version", "1.0.0"), {"default": 1, "blue": 1, "green": None}),
             (("deploy", "--version", "2.0.0", "--strategy", "canary"), {"default": 1, "blue": 1, "green": 2}),
             (("promote",), {"default": 2, "blue": 2, "green": None}),
             (("rollback",), {"default": 1, "blue": 1, "green": None}),
             (("deploy", "--version", "3.0.0", "--strategy", "all-at-once"), {"default": 3, "blue": 3, "green": None}),
             (("deploy", "--version", "4.0.0", "--strategy", "all-at-once"), {"default": 4, "blue": 4, "green": None})]
    for argv, expected in story:
        code, result, err = installed(path, *argv)
        assert code == 0, (argv, err[-2000:])
        assert routing_generations(aws, world.listener_arn) == expected, argv
        assert _group_names(aws) == sorted(pair), argv  # never more than the two groups
    # Only target groups are new: generation 2's was deleted when its group was reused for 4.
    assert "orders-production-g2" not in _target_group_names(aws)
    assert {"orders-production-g3", "orders-production-g4"} <= set(_target_group_names(aws))
    code, result, err = installed(path, "rollback", "--generation", "2")
    assert code == 3 and "--generation 2" in result["error"], err
    assert routing_generations(aws, world.listener_arn) == {"default": 4, "blue": 4, "green": None}


@pytest.mark.slow
def test_the_single_group_story(world, tmp_path):
    aws = clients(scenario.REGION)
    aws.autoscaling.update_auto_scaling_group(AutoScalingGroupName=world.asg_name, DefaultInstanceWarmup=1)
    path = config(world, tmp_path, topology="single-group", routing={"strategy": "all-at-once"})
    original = _target_group_names(aws)
    assert installed(path, "init", "--version", "1.0.0")[0] == 0
    code, result, err = installed(path, "deploy", "--version", "2.0.0")
    assert code == 0, err[-2000:]
    assert routing_generations(aws, world.listener_arn) == {"default": 2, "blue": 2, "green": None}
    assert _group_names(aws) == [world.asg_name]
    assert "orders-production-g2" in _target_group_names(aws) and "orders-kie-1" not in _target_group_names(aws)
    assert "orders-kie-1" in original
    kinds = [s["kind"] for s in result["steps"]]
    assert "start-instance-refresh" in kinds and "wait-instance-refresh" in kinds
    code, result, err = installed(path, "rollback")  # the refresh ended: AWS cannot roll it back
    assert code == 3 and "deploy --version 1.0.0" in result["error"], err
    code, result, err = installed(path, "deploy", "--version", "3.0.0")
    assert code == 0, err[-2000:]
    assert routing_generations(aws, world.listener_arn) == {"default": 3, "blue": 3, "green": None}
    assert _group_names(aws) == [world.asg_name]


@pytest.mark.slow
def test_a_weighted_release_steps_an_alarm_rolls_back_and_a_kill_between_steps_resumes(world, tmp_path):
    aws = clients(scenario.REGION)
    aws.cloudwatch.put_metric_alarm(AlarmName="orders-5xx", MetricName="HTTPCode_Target_5XX_Count",
                                    Namespace="AWS/ApplicationELB", Statistic="Sum", Period=60, EvaluationPeriods=1,
                                    Threshold=10, ComparisonOperator="GreaterThanThreshold")
    aws.cloudwatch.set_alarm_state(AlarmName="orders-5xx", StateValue="OK", StateReason="quiet")
    path = config(world, tmp_path, routing={"strategy": "weighted", "steps": [20, 100], "step-pause": "3s"},
                  analysis={"alarms": ["orders-5xx"]}, retire={"previous": "standby"})
    assert installed(path, "init", "--version", "1.0.0")[0] == 0

    code, result, err = installed(path, "deploy", "--version", "2.0.0")  # short steps: ends on the new group
    assert code == 0, err[-2000:]
    assert routing_generations(aws, world.listener_arn) == {"default": 2, "blue": 2, "green": None}
    kinds = [s["kind"] for s in result["steps"]]
    assert kinds.count("shift") == 1 and kinds.count("watch") == 1  # 20% held and watched; 100% is the promote

    process = installed(path, "deploy", "--version", "3.0.0", popen=True)  # the alarm fires during the 20% step
    _until(lambda: _default_weights(aws, world.listener_arn).get(3) == 20, process)
    aws.cloudwatch.set_alarm_state(AlarmName="orders-5xx", StateValue="ALARM", StateReason="5xx above 10")
    out, err = process.communicate(timeout=300)
    assert process.returncode == 1, err[-2000:]
    assert "alarm orders-5xx is in ALARM" in json.loads(out)["error"]
    assert _default_weights(aws, world.listener_arn) == {2: 100}  # everyone back on the previous group alone
    aws.cloudwatch.set_alarm_state(AlarmName="orders-5xx", StateValue="OK", StateReason="quiet again")

    process = installed(path, "deploy", "--version", "4.0.0", popen=True)  # killed while the 20% step is held
    _until(lambda: _default_weights(aws, world.listener_arn).get(4) == 20, process)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    code, result, err = installed(path, "deploy", "--version", "4.0.0")  # resumes from the weights in AWS
    assert code == 0, err[-2000:]
    assert routing_generations(aws, world.listener_arn) == {"default": 4, "blue": 4, "green": None}
    assert "create-group" not in [s["kind"] for s in result["steps"]]  # the killed run's group is used, not another


def _default_weights(aws, listener_arn: str) -> dict:
    """{generation: weight} of the default route's groups that receive traffic."""
    default = next(rule for rule in aws.elbv2.describe_rules(ListenerArn=listener_arn)["Rules"] if rule["IsDefault"])
    forward = next(action for action in default["Actions"] if action["Type"] == "forward")
    members = (forward.get("ForwardConfig") or {}).get("TargetGroups") or [{"TargetGroupArn": forward["TargetGroupArn"],
                                                                              "Weight": 1}]
    loaded = {m["TargetGroupArn"]: m.get("Weight", 1) for m in members if m.get("Weight", 1) > 0}
    tags = aws.elbv2.describe_tags(ResourceArns=list(loaded))["TagDescriptions"]
    generation = {t["ResourceArn"]: int({x["Key"]: x["Value"] for x in t["Tags"]}["kie-bluegreen:generation"]) for t in tags}
    total = sum(loaded.values())
    return {generation[arn]: round(100 * weight / total) for arn, weight in loaded.items()}


def _until(condition, process, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"the command ended first: {process.communicate()}"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def _reset(server) -> None:
    """A fresh world in the same server: moto's reset endpoint."""
    import urllib.request
    with urllib.request.urlopen(urllib.request.Request(server.endpoint_url + "/moto-api/reset", method="POST", data=b"")):
        pass
