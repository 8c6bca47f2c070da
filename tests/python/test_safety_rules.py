"""The safety rules of the README, each driven through every command that could break it.

1. No route starts sending traffic to a group unless every one of its servers is ready.
2. Only the default action and our two header rules are ever written; other rules never.
3. No group is scaled in or deleted while a listener rule still names its target group.
4. A candidate that never gets ready is removed (or kept) and routing is left as it was (exit 1).
5. Every entry point refuses what the whole flows refuse, with the same exit code, before any write.
"""

from __future__ import annotations

import pytest
from helpers import routing_generations, snapshot

CANARY_0 = {"default": 1, "blue": 1, "green": None}


def instances(aws, group: str) -> list[str]:
    found = aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"]
    return [i["InstanceId"] for i in found[0]["Instances"]] if found else []


@pytest.fixture
def initialised(run, config_path):
    assert run(config_path, "init", "--version", "1.0.0").code == 0
    return config_path


# -- 1. readiness at every switch --------------------------------------------------------------------


@pytest.mark.parametrize(
    "switch",
    [
        ("phase", "route", "--strategy", "canary"),
        ("phase", "route", "--strategy", "all-at-once"),
        ("phase", "route", "--strategy", "weighted"),
        ("phase", "shift", "--weight", "50"),
    ],
)
def test_no_entry_point_routes_to_servers_that_are_not_ready(run, aws, world, initialised, fake_clock, switch):
    """On AWS a new group is health-checked once the listener references it, and its targets
    are `initial` until they passed HealthyThresholdCount checks (20 s in the scenario)."""
    assert run(initialised, "phase", "provision", "--version", "2.0.0").code == 0
    new = instances(aws, "orders-production-g2")
    before = routing_generations(aws, world.listener_arn)
    result = run(initialised, *switch)  # at once: the servers are still being health-checked
    assert result.code == 3, result.err
    assert "refusing to route" in result.err and "0/2 ready, 2 initial (Elb.InitialHealthChecking)" in result.err
    assert all(instance in result.err for instance in new)
    assert routing_generations(aws, world.listener_arn) == before
    fake_clock.sleep(30)  # ready now: the same command goes through
    assert run(initialised, *switch).code == 0


def test_promote_waits_for_the_candidate_and_fails_without_switching(
    run, aws, world, initialised, aws_like, fake_clock
):
    assert run(initialised, "deploy", "--version", "2.0.0").code == 0
    for instance in instances(aws, "orders-production-g2"):
        aws_like.fail(instance, "Target.Timeout")
    fake_clock.sleep(30)  # UnhealthyThresholdCount failed checks later, AWS reports them unhealthy
    result = run(initialised, "promote")
    assert result.code == 1 and "nothing was changed" in result.err
    assert routing_generations(aws, world.listener_arn) == {"default": 1, "blue": 1, "green": 2}


def test_rollback_after_promote_never_routes_to_a_standby_that_is_not_ready(run, aws, world, initialised, aws_like):
    for argv in (("deploy", "--version", "2.0.0"), ("promote",)):
        assert run(initialised, *argv).code == 0
    for instance in instances(aws, world.asg_name):
        aws_like.fail(instance, "Target.FailedHealthChecks")
    result = run(initialised, "rollback")
    assert result.code == 1 and "routing unchanged" in result.err
    assert routing_generations(aws, world.listener_arn) == {"default": 2, "blue": 2, "green": None}


# -- 2. other rules are never written ----------------------------------------------------------------


def test_other_rules_are_untouched_by_every_command(run, aws, world, make_config):
    initialised = make_config(retire={"keep": 2})
    assert run(initialised, "init", "--version", "1.0.0").code == 0
    before = aws.elbv2.describe_rules(RuleArns=[world.other_rule_arn])["Rules"]
    story = [
        ("deploy", "--version", "2.0.0"),
        ("phase", "shift", "--weight", "40"),
        ("promote",),
        ("deploy", "--version", "3.0.0", "--strategy", "weighted"),
        ("rollback",),
        ("rollback", "--generation", "1"),
        ("phase", "provision", "--version", "4.0.0"),
        ("phase", "wait"),
        ("phase", "route"),
        ("phase", "retire"),
        ("cleanup",),
        ("status",),
    ]
    for argv in story:
        assert run(initialised, *argv).code == 0, argv
        assert aws.elbv2.describe_rules(RuleArns=[world.other_rule_arn])["Rules"] == before, argv


# -- 3. never retire what a rule names ---------------------------------------------------------------


def test_a_group_another_rule_forwards_to_is_left_alone(run, aws, world, make_config):
    path = make_config(retire={"previous": "terminate"})
    for argv in (("init", "--version", "1.0.0"), ("deploy", "--version", "2.0.0")):
        assert run(path, *argv).code == 0
    # someone else's rule still forwards to generation 1
    aws.elbv2.create_rule(
        ListenerArn=world.listener_arn,
        Priority=7,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/legacy/*"]}}],
        Actions=[{"Type": "forward", "TargetGroupArn": world.target_group_arn}],
    )
    result = run(path, "promote")
    assert result.code == 3 and "still names its target group" in result.err
    assert world.asg_name in [
        g["AutoScalingGroupName"] for g in aws.autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]
    ]
    assert len(instances(aws, world.asg_name)) == 2


# -- 4. a candidate that never gets ready ------------------------------------------------------------


@pytest.mark.parametrize("argv", [("deploy", "--version", "2.0.0"), ("phase", "wait")])
def test_a_candidate_that_never_gets_ready_is_removed_and_routing_kept(run, aws, world, initialised, aws_like, argv):
    live = instances(aws, world.asg_name)
    if argv[0] == "phase":
        assert run(initialised, "phase", "provision", "--version", "2.0.0").code == 0
        for instance in instances(aws, "orders-production-g2"):
            aws_like.fail(instance)
    else:
        aws_like.fail("*")
        for instance in live:
            aws_like.recover(instance)  # the live servers stay healthy
    before = snapshot(aws, world.listener_arn)
    result = run(initialised, *argv)
    assert result.code == 1, result.err
    assert "--keep-failed" in result.err  # says how to keep the evidence
    assert routing_generations(aws, world.listener_arn) == CANARY_0
    assert "orders-production-g2" not in [
        g["AutoScalingGroupName"] for g in aws.autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]
    ]
    if argv[0] == "deploy":
        assert snapshot(aws, world.listener_arn)["rules"] == before["rules"]


# -- 5. the same refusals from every entry point -----------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ("deploy", "--version", "2.0.0"),
        ("plan", "--version", "2.0.0"),
        ("phase", "provision", "--version", "2.0.0"),
    ],
)
def test_subnets_of_another_vpc_are_refused_by_every_entry_point(run, aws, world, make_config, argv):
    other_vpc = aws.ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    stray = aws.ec2.create_subnet(VpcId=other_vpc, CidrBlock="10.9.1.0/24", AvailabilityZone="eu-west-1a")["Subnet"][
        "SubnetId"
    ]
    path = make_config(subnets=[stray])
    assert run(path, "init", "--version", "1.0.0").code == 0
    before = snapshot(aws, world.listener_arn)
    result = run(path, *argv)
    assert result.code == 2, result.err
    assert f"{stray} not in {world.vpc_id}" in result.err
    assert snapshot(aws, world.listener_arn) == before


@pytest.mark.parametrize(
    "argv",
    [("deploy", "--version", "3.0.0"), ("plan", "--version", "3.0.0"), ("phase", "provision", "--version", "3.0.0")],
)
def test_another_candidate_in_progress_is_refused_by_every_entry_point(run, aws, world, initialised, argv):
    assert run(initialised, "deploy", "--version", "2.0.0").code == 0
    before = snapshot(aws, world.listener_arn)
    result = run(initialised, *argv)
    assert result.code == 3 and "promote it or roll it back before deploying 3.0.0" in result.err
    assert snapshot(aws, world.listener_arn) == before
