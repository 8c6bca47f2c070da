"""The design note's two extensions: a fixed pair of groups used in turn (only target groups are
new), and one group rolled in place."""

from __future__ import annotations

import pytest
from helpers import group_names, group_tags, routing_generations

from kie_bluegreen import flows
from kie_bluegreen.errors import Refused

PAIR = "orders-production-pair"


def target_groups(aws) -> list[str]:
    return sorted(tg["TargetGroupName"] for tg in aws.elbv2.describe_target_groups()["TargetGroups"])


def capacity(aws, name: str) -> int:
    return aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]["DesiredCapacity"]


def test_a_fixed_pair_is_used_in_turn(make_config, make_ctx, aws, world):
    ctx = make_ctx(make_config(topology="fixed-pair", retire={"previous": "standby"}))
    flows.init(ctx, "1.0.0")
    assert group_names(aws) == [world.asg_name, PAIR] and capacity(aws, PAIR) == 0

    flows.deploy(ctx, "2.0.0", "canary")
    assert routing_generations(aws, world.listener_arn) == {"default": 1, "blue": 1, "green": 2}
    assert group_tags(aws, PAIR)["kie-bluegreen:release"] == "com.myspace:app:2.0.0" and capacity(aws, PAIR) == 2
    flows.promote(ctx)
    assert routing_generations(aws, world.listener_arn) == {"default": 2, "blue": 2, "green": None}
    assert group_tags(aws, world.asg_name)["kie-bluegreen:role"] == "standby" and capacity(aws, world.asg_name) == 2

    flows.rollback(ctx)  # the standby keeps its target group: it can come back
    assert routing_generations(aws, world.listener_arn) == {"default": 1, "blue": 1, "green": None}
    assert capacity(aws, PAIR) == 0  # the rolled back generation is scaled to zero, never deleted

    flows.deploy(ctx, "3.0.0", "all-at-once")  # the idle group runs the new release in a new target group
    assert routing_generations(aws, world.listener_arn) == {"default": 3, "blue": 3, "green": None}
    assert "orders-production-g2" not in target_groups(aws) and "orders-production-g3" in target_groups(aws)
    flows.deploy(ctx, "4.0.0", "all-at-once")  # the previous blue (generation 1) is reused: it empties first
    assert routing_generations(aws, world.listener_arn) == {"default": 4, "blue": 4, "green": None}
    assert group_names(aws) == [world.asg_name, PAIR]  # never more than two groups
    assert world.target_group_arn not in [tg["TargetGroupArn"] for tg in aws.elbv2.describe_target_groups()["TargetGroups"]]
    with pytest.raises(Refused, match="--generation 1: .*fixed pair a group is reused"):
        flows.rollback(ctx, generation=1)
    flows.rollback(ctx)  # generation 3 is the standby: it comes back
    assert routing_generations(aws, world.listener_arn) == {"default": 3, "blue": 3, "green": None}


def test_a_named_pair_adopts_its_second_group(make_config, make_ctx, aws, world):
    other = "orders-kie-2"
    aws.autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=other, MinSize=0, MaxSize=4, DesiredCapacity=0,
        LaunchTemplate={"LaunchTemplateId": world.launch_template_id, "Version": "$Latest"},
        VPCZoneIdentifier=",".join(world.subnet_ids))
    ctx = make_ctx(make_config(topology="fixed-pair", pair=[world.asg_name, other]))
    flows.init(ctx, "1.0.0")
    assert group_tags(aws, other)["kie-bluegreen:stage"] == "production"
    flows.deploy(ctx, "2.0.0", "all-at-once")
    assert group_tags(aws, other)["kie-bluegreen:role"] == "blue"
    assert group_names(aws) == sorted([world.asg_name, other])


def test_scaling_policies_stay_on_the_pair_and_follow_its_target_group(make_config, make_ctx, aws, world):
    balancer = world.load_balancer_arn.split(":loadbalancer/")[1]
    label = f"{balancer}/{world.target_group_arn.split(':', 5)[5]}"
    aws.autoscaling.put_scaling_policy(AutoScalingGroupName=world.asg_name, PolicyName="requests",
                                       PolicyType="TargetTrackingScaling", TargetTrackingConfiguration={
                                           "TargetValue": 500.0, "PredefinedMetricSpecification": {
                                               "PredefinedMetricType": "ALBRequestCountPerTarget", "ResourceLabel": label}})
    ctx = make_ctx(make_config(topology="fixed-pair"))
    flows.init(ctx, "1.0.0")
    flows.deploy(ctx, "2.0.0", "all-at-once")
    flows.deploy(ctx, "3.0.0", "all-at-once")  # generation 1's group now registers into generation 3's target group
    new = aws.elbv2.describe_target_groups(Names=["orders-production-g3"])["TargetGroups"][0]["TargetGroupArn"]
    policies = aws.autoscaling.describe_policies(AutoScalingGroupName=world.asg_name)["ScalingPolicies"]
    assert [p["PolicyName"] for p in policies] == ["requests"]
    assert policies[0]["TargetTrackingConfiguration"]["PredefinedMetricSpecification"]["ResourceLabel"] == \
        f"{balancer}/{new.split(':', 5)[5]}"
