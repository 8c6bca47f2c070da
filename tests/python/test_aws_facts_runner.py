"""The runner against the AWS facts it relies on (docs/aws-behaviour.md), on the AWS model:
zones the load balancer does not enable, lifecycle hooks that hold new servers, the tag limit
of an Auto Scaling group."""

from __future__ import annotations

import logging

import pytest
from helpers import routing_generations, snapshot

from kie_bluegreen import flows
from kie_bluegreen.errors import DeploymentFailed


def subnet_in_zone_c(aws, world) -> str:
    return aws.ec2.create_subnet(VpcId=world.vpc_id, CidrBlock="10.0.9.0/24",
                                 AvailabilityZone="eu-west-1c")["Subnet"]["SubnetId"]


def test_preflight_refuses_subnets_in_a_zone_the_load_balancer_does_not_enable(run, aws, world, make_config):
    stray = subnet_in_zone_c(aws, world)  # the load balancer enables eu-west-1a and eu-west-1b
    path = make_config(subnets=[world.subnet_ids[0], stray])
    assert run(path, "init", "--version", "1.0.0").code == 0
    before = snapshot(aws, world.listener_arn)
    result = run(path, "deploy", "--version", "2.0.0")
    assert result.code == 2, result.err
    assert f"{stray} (eu-west-1c) not in a zone the load balancer enables (eu-west-1a, eu-west-1b)" in result.err
    assert snapshot(aws, world.listener_arn) == before


def test_servers_aws_never_checks_fail_the_wait_fast_with_the_reason(ctx, aws, world, fake_clock, monkeypatch):
    """If servers land in a zone the load balancer does not enable anyway (the group's subnets
    changed behind the runner's back), their targets stay `unused`: the wait stops after a
    minute, not after wait.timeout."""
    flows.init(ctx, "1.0.0")
    stray = subnet_in_zone_c(aws, world)
    from kie_bluegreen.aws import asg as asg_module
    original = asg_module.Asg.create_like

    def into_zone_c(self, name, source, capacity, target_group_arn, tags, propagate, template_version, subnets):
        return original(self, name, source, capacity, target_group_arn, tags, propagate, template_version, (stray,))

    monkeypatch.setattr(asg_module.Asg, "create_like", into_zone_c)
    with pytest.raises(DeploymentFailed) as failure:
        flows.deploy(ctx, "2.0.0", "canary")
    message = str(failure.value)
    assert "unused (Target.NotInUse)" in message and "Availability Zone is probably not enabled" in message
    assert fake_clock.time < 120  # not the configured 5 minutes
    assert routing_generations(aws, world.listener_arn) == {"default": 1, "blue": 1, "green": None}


def test_a_lifecycle_hook_holding_new_servers_shows_in_the_progress(ctx, aws, world, fake_clock, caplog):
    aws.autoscaling.put_lifecycle_hook(AutoScalingGroupName=world.asg_name, LifecycleHookName="warm-caches",
                                       LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING",
                                       HeartbeatTimeout=120, DefaultResult="CONTINUE")
    flows.init(ctx, "1.0.0")
    logging.getLogger("kie_bluegreen").propagate = True
    with caplog.at_level("INFO", logger="kie_bluegreen"):
        flows.deploy(ctx, "2.0.0", "canary")  # the copied hook holds each new server until it times out
    lines = [r.getMessage().strip() for r in caplog.records if "ready" in r.getMessage()]
    assert any("2 pending:wait" in line for line in lines), lines
    assert routing_generations(aws, world.listener_arn)["green"] == 2


def test_preflight_counts_the_tags_a_new_group_would_carry(run, aws, world, config_path):
    """A new group carries the live group's own tags and 7 of kie-bluegreen; AWS allows 50."""
    assert run(config_path, "init", "--version", "1.0.0").code == 0
    tag = {"ResourceId": world.asg_name, "ResourceType": "auto-scaling-group", "Value": "x", "PropagateAtLaunch": False}
    aws.autoscaling.create_or_update_tags(Tags=[{**tag, "Key": f"team-{n}"} for n in range(41)])  # 43 own + 6 = 49
    assert run(config_path, "preflight", "deploy", "--version", "2.0.0").code == 0  # the new group: 43 + 7 = 50
    aws.autoscaling.create_or_update_tags(Tags=[{**tag, "Key": "one-more"}])  # the live group: 50, allowed
    before = snapshot(aws, world.listener_arn)
    result = run(config_path, "deploy", "--version", "2.0.0")
    assert result.code == 4 and "the new group would need 51, and AWS allows 50" in result.err
    assert snapshot(aws, world.listener_arn) == before
