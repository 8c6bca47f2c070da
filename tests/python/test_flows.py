"""The flows end to end on moto, asserting the resulting AWS state (routing, groups, tags)."""

from __future__ import annotations

import pytest
from helpers import deleted_once_drained, group_names, group_tags, routing_generations, snapshot

from kie_bluegreen import flows
from kie_bluegreen.errors import ConfigError, Refused
from kie_bluegreen.model import Capacity
from kie_bluegreen.phases.retire import RULE_PROPAGATION

CANARY_0 = {"default": 1, "blue": 1, "green": None}
CANARY_1 = {"default": 1, "blue": 1, "green": 2}
CANARY_2 = {"default": 2, "blue": 2, "green": None}


def test_the_four_seed_routing_states(ctx, aws, world, fake_clock):
    flows.init(ctx, "1.0.0")
    assert routing_generations(aws, world.listener_arn) == CANARY_0

    flows.deploy(ctx, "2.0.0", "canary")
    assert routing_generations(aws, world.listener_arn) == CANARY_1

    flows.promote(ctx)
    assert routing_generations(aws, world.listener_arn) == CANARY_2
    assert group_tags(aws, world.asg_name)["kie-bluegreen:role"] == "standby"
    assert group_tags(aws, "orders-production-g2")["kie-bluegreen:role"] == "blue"

    flows.deploy(ctx, "3.0.0", "canary")
    assert routing_generations(aws, world.listener_arn) == {"default": 2, "blue": 2, "green": 3}
    flows.rollback(ctx)  # Canary-3: back to blue, green dropped
    assert routing_generations(aws, world.listener_arn) == CANARY_2
    deleted_once_drained(aws, fake_clock, lambda: flows.cleanup(ctx), "orders-production-g3")


def test_unrelated_rule_left_byte_for_byte(ctx, aws, world):
    before = aws.elbv2.describe_rules(RuleArns=[world.other_rule_arn])["Rules"]
    flows.init(ctx, "1.0.0")
    flows.deploy(ctx, "2.0.0", "canary")
    flows.promote(ctx)
    flows.deploy(ctx, "3.0.0", "all-at-once")
    flows.rollback(ctx)
    flows.cleanup(ctx)
    assert aws.elbv2.describe_rules(RuleArns=[world.other_rule_arn])["Rules"] == before


def test_new_group_copies_capacity_settings_and_tags_of_blue(ctx, aws, world):
    aws.autoscaling.update_auto_scaling_group(
        AutoScalingGroupName=world.asg_name, MinSize=3, MaxSize=6, DesiredCapacity=3
    )
    flows.init(ctx, "1.0.0")
    flows.deploy(ctx, "2.0.0", "canary")
    (blue,) = aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[world.asg_name])["AutoScalingGroups"]
    (new,) = aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["orders-production-g2"])[
        "AutoScalingGroups"
    ]
    assert (new["MinSize"], new["MaxSize"], new["DesiredCapacity"]) == (3, 6, 3)
    assert new["VPCZoneIdentifier"] == blue["VPCZoneIdentifier"]
    assert (new["HealthCheckType"], new["HealthCheckGracePeriod"]) == ("ELB", 120)
    assert new["LaunchTemplate"]["LaunchTemplateId"] == world.launch_template_id
    assert len([i for i in new["Instances"] if i["LifecycleState"] == "InService"]) == 3
    tags = {t["Key"]: (t["Value"], t["PropagateAtLaunch"]) for t in new["Tags"]}
    assert tags["team"] == ("orders", True)  # the user's own tags come along
    assert tags["kie-bluegreen:release"] == ("com.myspace:app:2.0.0", True)  # servers learn their release
    assert tags["kie-bluegreen:generation"] == ("2", True)
    assert tags["kie-bluegreen:role"][0] == "green"
    instance = new["Instances"][0]["InstanceId"]
    reservation = aws.ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]
    instance_tags = {t["Key"]: t["Value"] for t in reservation["Instances"][0]["Tags"]}
    assert instance_tags["kie-bluegreen:release"] == "com.myspace:app:2.0.0"


def test_configured_capacity_wins_over_copy(make_config, make_ctx, aws):
    ctx = make_ctx(make_config(capacity={"min": 1, "max": 3, "desired": 1}))
    flows.init(ctx, "1.0.0")
    flows.deploy(ctx, "2.0.0")
    (new,) = aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["orders-production-g2"])[
        "AutoScalingGroups"
    ]
    assert Capacity(new["MinSize"], new["MaxSize"], new["DesiredCapacity"]) == Capacity(1, 3, 1)


def test_new_target_group_copies_blue_settings(make_config, make_ctx, aws, world):
    aws.elbv2.modify_target_group(
        TargetGroupArn=world.target_group_arn,
        HealthCheckIntervalSeconds=15,
        HealthyThresholdCount=3,
        Matcher={"HttpCode": "200-299"},
    )
    aws.elbv2.modify_target_group_attributes(
        TargetGroupArn=world.target_group_arn,
        Attributes=[
            {"Key": "deregistration_delay.timeout_seconds", "Value": "45"},
            {"Key": "slow_start.duration_seconds", "Value": "60"},
        ],
    )
    ctx = make_ctx(make_config())
    flows.init(ctx, "1.0.0")
    flows.deploy(ctx, "2.0.0")
    blue, new = aws.elbv2.describe_target_groups(Names=["orders-kie-1", "orders-production-g2"])["TargetGroups"]
    for key in (
        "Protocol",
        "Port",
        "VpcId",
        "HealthCheckPath",
        "HealthCheckIntervalSeconds",
        "HealthyThresholdCount",
        "UnhealthyThresholdCount",
        "Matcher",
        "TargetType",
    ):
        assert new[key] == blue[key], key
    attributes = {
        a["Key"]: a["Value"]
        for a in aws.elbv2.describe_target_group_attributes(TargetGroupArn=new["TargetGroupArn"])["Attributes"]
    }
    assert attributes["deregistration_delay.timeout_seconds"] == "45"
    assert attributes["slow_start.duration_seconds"] == "60"


def test_configured_target_group_settings_override_the_copy(make_config, make_ctx, aws):
    ctx = make_ctx(
        make_config(
            **{
                "target-group": {
                    "health-check-path": "/kie-server/services/rest/server/healthcheck",
                    "deregistration-delay": "10s",
                }
            }
        )
    )
    flows.init(ctx, "1.0.0")
    flows.deploy(ctx, "2.0.0")
    (new,) = aws.elbv2.describe_target_groups(Names=["orders-production-g2"])["TargetGroups"]
    assert new["HealthCheckPath"] == "/kie-server/services/rest/server/healthcheck"
    attributes = {
        a["Key"]: a["Value"]
        for a in aws.elbv2.describe_target_group_attributes(TargetGroupArn=new["TargetGroupArn"])["Attributes"]
    }
    assert attributes["deregistration_delay.timeout_seconds"] == "10"


def test_plan_writes_nothing_and_lists_the_deploy(ctx, aws, world):
    flows.init(ctx, "1.0.0")
    before = snapshot(aws, world.listener_arn)
    result = flows.plan(ctx, "2.0.0", "canary")
    assert snapshot(aws, world.listener_arn) == before
    assert any("create auto scaling group orders-production-g2" in step for step in result.planned)
    assert any(step.startswith("green: fixed 404 -> orders-production-g2") for step in result.planned)
    assert result.changes == []


def test_all_at_once_is_an_implicit_promotion(ctx, aws, world):
    flows.init(ctx, "1.0.0")
    flows.deploy(ctx, "2.0.0", "all-at-once")
    assert routing_generations(aws, world.listener_arn) == CANARY_2
    assert group_tags(aws, world.asg_name)["kie-bluegreen:role"] == "standby"


def test_redeploying_the_live_or_green_version_changes_nothing(ctx, aws, world):
    flows.init(ctx, "1.0.0")
    before = snapshot(aws, world.listener_arn)
    assert flows.deploy(ctx, "1.0.0").result == "unchanged"
    assert snapshot(aws, world.listener_arn) == before
    flows.deploy(ctx, "2.0.0", "canary")
    before = snapshot(aws, world.listener_arn)
    assert flows.deploy(ctx, "2.0.0", "canary").result == "unchanged"
    assert snapshot(aws, world.listener_arn) == before


def test_generation_numbers_are_never_reused(ctx, aws, world, fake_clock):
    flows.init(ctx, "1.0.0")
    flows.deploy(ctx, "2.0.0", "canary")
    flows.rollback(ctx)
    deleted_once_drained(aws, fake_clock, lambda: flows.cleanup(ctx), "orders-production-g2")
    flows.deploy(ctx, "2.0.1", "canary")
    assert "orders-production-g3" in group_names(aws)


@pytest.mark.parametrize("policy", ["standby", "scale-to-zero"])
def test_rollback_after_promote_brings_the_previous_generation_back(
    make_config, make_ctx, aws, world, policy, fake_clock
):
    ctx = make_ctx(make_config(retire={"previous": policy, "keep": 1, "candidate": "terminate"}))
    flows.init(ctx, "1.0.0")
    flows.deploy(ctx, "2.0.0", "canary")
    flows.promote(ctx)
    (old,) = aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[world.asg_name])["AutoScalingGroups"]
    if policy == "scale-to-zero":
        assert (old["MinSize"], old["DesiredCapacity"]) == (0, 0)
        assert group_tags(aws, world.asg_name)["kie-bluegreen:capacity"] == "2,4,2"
    else:
        assert old["DesiredCapacity"] == 2

    flows.rollback(ctx)
    assert routing_generations(aws, world.listener_arn) == CANARY_0
    (old,) = aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[world.asg_name])["AutoScalingGroups"]
    assert (old["MinSize"], old["MaxSize"], old["DesiredCapacity"]) == (2, 4, 2)
    tags = group_tags(aws, world.asg_name)
    assert tags["kie-bluegreen:role"] == "blue" and "kie-bluegreen:capacity" not in tags
    deleted_once_drained(aws, fake_clock, lambda: flows.cleanup(ctx), "orders-production-g2")  # candidate: terminate


def test_rollback_keeps_the_candidate_when_asked(make_config, make_ctx, aws, world, fake_clock):
    ctx = make_ctx(make_config(retire={"candidate": "keep"}))
    flows.init(ctx, "1.0.0")
    flows.deploy(ctx, "2.0.0", "canary")
    flows.rollback(ctx)
    assert routing_generations(aws, world.listener_arn) == CANARY_0
    assert group_tags(aws, "orders-production-g2")["kie-bluegreen:role"] == "retired"
    kept = aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["orders-production-g2"])[
        "AutoScalingGroups"
    ]
    assert kept[0]["DesiredCapacity"] == 2  # kept running for debugging
    flows.cleanup(ctx)
    deleted_once_drained(aws, fake_clock, lambda: flows.cleanup(ctx), "orders-production-g2")


def test_terminate_policy_deletes_the_previous_blue_once_aws_drained_it(make_config, make_ctx, aws, world, fake_clock):
    """The runner waits for the rule change to reach every load balancer node, then scales the
    group in: draining in-flight requests is AWS's job on scale-in, and the runner does not
    wait for it a second time; the next run deletes the drained group."""
    ctx = make_ctx(make_config(retire={"previous": "terminate"}))
    flows.init(ctx, "1.0.0")
    flows.deploy(ctx, "2.0.0", "canary")
    slept_before = sum(fake_clock.slept)
    result = flows.promote(ctx)
    assert sum(fake_clock.slept) - slept_before == RULE_PROPAGATION  # not the deregistration delay: AWS waits that
    assert any("scaled orders-kie-1 g1 (1.0.0) to zero before deleting it" in change for change in result.changes)
    deleted_once_drained(aws, fake_clock, lambda: flows.cleanup(ctx), world.asg_name)
    assert world.target_group_arn not in [
        tg["TargetGroupArn"] for tg in aws.elbv2.describe_target_groups()["TargetGroups"]
    ]
    with pytest.raises(Refused, match="nothing to roll back to"):
        flows.rollback(ctx)


def test_standby_generations_beyond_keep_are_deleted(ctx, aws, world, fake_clock):
    flows.init(ctx, "1.0.0")
    for version in ("2.0.0", "3.0.0", "4.0.0"):
        flows.deploy(ctx, version, "all-at-once")
        fake_clock.sleep(31)  # AWS has drained what this deploy scaled in
    flows.cleanup(ctx)
    names = group_names(aws)
    assert "orders-production-g4" in names and "orders-production-g3" in names  # blue + 1 standby
    assert world.asg_name not in names and "orders-production-g2" not in names


def test_rollback_to_a_named_generation(make_config, make_ctx, aws, world):
    ctx = make_ctx(make_config(retire={"keep": 2}))
    flows.init(ctx, "1.0.0")
    flows.deploy(ctx, "2.0.0", "all-at-once")
    flows.deploy(ctx, "3.0.0", "all-at-once")
    flows.rollback(ctx, generation=1)
    assert routing_generations(aws, world.listener_arn) == CANARY_0


def test_init_twice_keeps_a_canary_in_progress(ctx, aws, world):
    flows.init(ctx, "1.0.0")
    flows.deploy(ctx, "2.0.0", "canary")
    assert flows.init(ctx, "1.0.0").changes == []
    assert routing_generations(aws, world.listener_arn) == CANARY_1


def test_status_reports_versions_and_health(ctx, world):
    flows.init(ctx, "1.0.0")
    flows.deploy(ctx, "2.0.0", "canary")
    state = flows.status(ctx).state
    assert (state.blue.version, state.blue.healthy) == ("1.0.0", 2)
    assert (state.green.version, state.green.healthy) == ("2.0.0", 2)


def test_capacity_copy_of_an_empty_live_group_is_refused_before_any_write(ctx, aws, world):
    flows.init(ctx, "1.0.0")
    aws.autoscaling.update_auto_scaling_group(AutoScalingGroupName=world.asg_name, MinSize=0, DesiredCapacity=0)
    before = snapshot(aws, world.listener_arn)
    with pytest.raises(ConfigError, match="capacity: 'copy' found the live group at 0 servers"):
        flows.deploy(ctx, "2.0.0")
    assert snapshot(aws, world.listener_arn) == before


def test_init_refuses_a_group_of_another_app(ctx, aws, world):
    aws.autoscaling.create_or_update_tags(
        Tags=[
            {
                "ResourceId": world.asg_name,
                "ResourceType": "auto-scaling-group",
                "Key": "kie-bluegreen:app",
                "Value": "billing",
                "PropagateAtLaunch": False,
            },
            {
                "ResourceId": world.asg_name,
                "ResourceType": "auto-scaling-group",
                "Key": "kie-bluegreen:stage",
                "Value": "production",
                "PropagateAtLaunch": False,
            },
        ]
    )
    with pytest.raises(Refused, match="already belongs to kie-bluegreen billing/production"):
        flows.init(ctx, "1.0.0")
    assert "kie-bluegreen:generation" not in group_tags(aws, world.asg_name)


def test_new_group_copies_what_lives_beside_the_live_one(ctx, aws, world):
    autoscaling, live = aws.autoscaling, world.asg_name
    balancer = world.load_balancer_arn.split(":loadbalancer/")[1]
    label = f"{balancer}/{world.target_group_arn.split(':', 5)[5]}"
    autoscaling.put_scaling_policy(
        AutoScalingGroupName=live,
        PolicyName="requests",
        PolicyType="TargetTrackingScaling",
        TargetTrackingConfiguration={
            "TargetValue": 500.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "ALBRequestCountPerTarget",
                "ResourceLabel": label,
            },
        },
    )
    autoscaling.put_scaling_policy(
        AutoScalingGroupName=live,
        PolicyName="cpu-step",
        PolicyType="StepScaling",
        AdjustmentType="ChangeInCapacity",
        StepAdjustments=[{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
    )
    autoscaling.put_lifecycle_hook(
        AutoScalingGroupName=live,
        LifecycleHookName="warm-caches",
        LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING",
        HeartbeatTimeout=30,
        DefaultResult="CONTINUE",
    )
    topic = "arn:aws:sns:eu-west-1:123456789012:orders-scaling"
    autoscaling.put_notification_configuration(
        AutoScalingGroupName=live, TopicARN=topic, NotificationTypes=["autoscaling:EC2_INSTANCE_LAUNCH"]
    )
    autoscaling.put_warm_pool(AutoScalingGroupName=live, MinSize=1, PoolState="Stopped")
    autoscaling.suspend_processes(AutoScalingGroupName=live, ScalingProcesses=["AZRebalance"])
    autoscaling.put_scheduled_update_group_action(
        AutoScalingGroupName=live, ScheduledActionName="night", Recurrence="0 22 * * *", DesiredCapacity=2
    )
    flows.init(ctx, "1.0.0")
    result = flows.deploy(ctx, "2.0.0", "canary")
    new = "orders-production-g2"
    copied = next(line for line in result.changes if line.startswith(f"copied onto {new}"))
    assert "2 scaling policies, 1 lifecycle hook, 1 notification configuration, warm pool" in copied
    assert "not copied: scheduled actions" in copied and "CloudWatch alarms of step and simple scaling" in copied
    policies = {p["PolicyName"]: p for p in autoscaling.describe_policies(AutoScalingGroupName=new)["ScalingPolicies"]}
    new_tg = aws.elbv2.describe_target_groups(Names=[new])["TargetGroups"][0]["TargetGroupArn"]
    assert (
        policies["requests"]["TargetTrackingConfiguration"]["PredefinedMetricSpecification"]["ResourceLabel"]
        == f"{balancer}/{new_tg.split(':', 5)[5]}"
    )  # counts the new group's requests, not the live one's
    assert [
        h["LifecycleHookName"] for h in autoscaling.describe_lifecycle_hooks(AutoScalingGroupName=new)["LifecycleHooks"]
    ] == ["warm-caches"]
    assert (
        autoscaling.describe_notification_configurations(AutoScalingGroupNames=[new])["NotificationConfigurations"][0][
            "TopicARN"
        ]
        == topic
    )
    assert autoscaling.describe_warm_pool(AutoScalingGroupName=new)["WarmPoolConfiguration"]["MinSize"] == 1
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[new])["AutoScalingGroups"][0]
    assert [p["ProcessName"] for p in group["SuspendedProcesses"]] == ["AZRebalance"]

    def schedules(name):
        return [
            a["ScheduledActionName"]
            for a in autoscaling.describe_scheduled_actions(AutoScalingGroupName=name)["ScheduledUpdateGroupActions"]
        ]

    assert (schedules(live), schedules(new)) == (["night"], [])  # only blue scales on a schedule
    flows.promote(ctx)
    assert (schedules(live), schedules(new)) == ([], ["night"])
    flows.rollback(ctx)
    assert schedules(live) == ["night"]
