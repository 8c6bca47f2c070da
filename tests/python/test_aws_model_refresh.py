"""The AWS model's instance refresh (sandbox/aws_model/instance_refresh.py), which moto lacks.

Each test drives boto3 against in-process moto with the model installed on a fake clock, on the
scenario's world (group orders-kie-1: 2 servers from launch template kie-server, HealthCheckType
ELB, grace period 120 s; its target group is the listener's default action, checked every 10 s,
healthy after 2 checks, deregistration delay 30 s), and asserts AWS's documented answers. The
sources are listed in docs/aws-behaviour.md.
"""

from __future__ import annotations

import base64

import boto3
import pytest
from botocore.exceptions import ClientError

from kie_bluegreen.sandbox import scenario
from kie_bluegreen.sandbox.aws_model import AwsModel

HEALTHY_AFTER = 20  # 2 checks, 10 s apart
DELAY = 30  # deregistration delay
HOUR = 3600
RELEASE = "kie-bluegreen:release"
OLD_RELEASE = f"{scenario.GROUP_ID}:{scenario.ARTIFACT_ID}:{scenario.FIRST_VERSION}"
NEW_RELEASE = f"{scenario.GROUP_ID}:{scenario.ARTIFACT_ID}:2.0.0"


# -- helpers -----------------------------------------------------------------------------------

@pytest.fixture
def settled(aws, world, aws_like, fake_clock):
    """The world once its servers are healthy, the group on a numbered launch template version
    (a rollback needs one) and a version 2 of the template carrying the new release."""
    fake_clock.sleep(HEALTHY_AFTER)
    aws.autoscaling.update_auto_scaling_group(AutoScalingGroupName=world.asg_name, LaunchTemplate={
        "LaunchTemplateId": world.launch_template_id, "Version": "1"})
    aws.ec2.create_launch_template_version(
        LaunchTemplateId=world.launch_template_id, SourceVersion="1", VersionDescription="2.0.0",
        LaunchTemplateData={"UserData": base64.b64encode(b"#!/bin/sh\necho 2.0.0\n").decode()})
    return world


def desired(world, version="2"):
    return {"LaunchTemplate": {"LaunchTemplateId": world.launch_template_id, "Version": version}}


def start(aws, world, version="2", **preferences):
    return aws.autoscaling.start_instance_refresh(
        AutoScalingGroupName=world.asg_name, DesiredConfiguration=desired(world, version),
        Preferences=preferences)["InstanceRefreshId"]


def tag_release(aws, world, release):
    aws.autoscaling.create_or_update_tags(Tags=[{"ResourceId": world.asg_name, "ResourceType": "auto-scaling-group",
                                                 "Key": RELEASE, "Value": release, "PropagateAtLaunch": True}])


def refresh(aws, world, refresh_id=None):
    kwargs = {"InstanceRefreshIds": [refresh_id]} if refresh_id else {}
    return aws.autoscaling.describe_instance_refreshes(AutoScalingGroupName=world.asg_name, **kwargs)[
        "InstanceRefreshes"][0]


def group(aws, world):
    return aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[world.asg_name])["AutoScalingGroups"][0]


def instances(aws, world):
    """{instance id: (lifecycle state, launch template version)} of the group."""
    return {item["InstanceId"]: (item["LifecycleState"], item["LaunchTemplate"]["Version"])
            for item in group(aws, world)["Instances"]}


def on_version(aws, world, version):
    return sorted(instance for instance, (state, at) in instances(aws, world).items()
                  if at == version and state != "Terminating")


def lifecycle(aws, world, state):
    return sorted(instance for instance, (now, _) in instances(aws, world).items() if now == state)


def release_of(aws, instance_id):
    tags = aws.ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [instance_id]},
                                          {"Name": "key", "Values": [RELEASE]}])["Tags"]
    return tags[0]["Value"] if tags else None


def ec2_state(aws, instance_id):
    return aws.ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"]["Name"]


def target_states(aws, group_arn):
    answer = aws.elbv2.describe_target_health(TargetGroupArn=group_arn)["TargetHealthDescriptions"]
    return {item["Target"]["Id"]: item["TargetHealth"]["State"] for item in answer}


def error_of(call, **kwargs):
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def alarm(name="orders-5xx", state="OK"):
    cloudwatch = boto3.client("cloudwatch", region_name=scenario.REGION)
    cloudwatch.put_metric_alarm(AlarmName=name, MetricName="HTTPCode_ELB_5XX_Count", Namespace="AWS/ApplicationELB",
                                Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanOrEqualToThreshold")
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="set by the test")
    return cloudwatch


# -- starting and describing ---------------------------------------------------------------------

def test_start_answers_an_id_and_describe_reads_back_the_refresh_with_default_preferences(aws, settled, fake_clock):
    refresh_id = start(aws, settled)
    answer = refresh(aws, settled)
    assert answer["InstanceRefreshId"] == refresh_id and answer["AutoScalingGroupName"] == settled.asg_name
    assert answer["Status"] == "InProgress" and answer["Strategy"] == "Rolling"
    assert answer["DesiredConfiguration"] == desired(settled)
    # CLI/SDK defaults; no InstanceWarmup and no DefaultInstanceWarmup: the grace period (120 s)
    assert answer["Preferences"] == {"MinHealthyPercentage": 90, "InstanceWarmup": 120, "SkipMatching": False,
                                     "AutoRollback": False, "ScaleInProtectedInstances": "Wait",
                                     "StandbyInstances": "Wait"}
    assert "EndTime" not in answer and answer["PercentageComplete"] == 0 and answer["InstancesToUpdate"] == 1


def test_one_active_refresh_per_group(aws, settled):
    start(aws, settled)
    assert error_of(aws.autoscaling.start_instance_refresh, AutoScalingGroupName=settled.asg_name) == (
        "InstanceRefreshInProgress", "An Instance Refresh is already in progress and blocks the execution of this"
                                     " Instance Refresh.")


def test_describe_lists_the_active_refresh_first_then_the_newest(aws, settled, fake_clock):
    first = start(aws, settled, InstanceWarmup=0)
    fake_clock.sleep(2 * HEALTHY_AFTER)
    assert refresh(aws, settled, first)["Status"] == "Successful"
    second = start(aws, settled, MinHealthyPercentage=100, MaxHealthyPercentage=200, InstanceWarmup=0)
    fake_clock.sleep(HEALTHY_AFTER)
    assert refresh(aws, settled, second)["Status"] == "Successful"
    third = start(aws, settled, "1", InstanceWarmup=0)
    listed = aws.autoscaling.describe_instance_refreshes(AutoScalingGroupName=settled.asg_name)["InstanceRefreshes"]
    assert [item["InstanceRefreshId"] for item in listed] == [third, second, first]
    assert [item["Status"] for item in listed] == ["InProgress", "Successful", "Successful"]
    page = aws.autoscaling.describe_instance_refreshes(AutoScalingGroupName=settled.asg_name, MaxRecords=2)
    assert len(page["InstanceRefreshes"]) == 2 and page["NextToken"]
    rest = aws.autoscaling.describe_instance_refreshes(AutoScalingGroupName=settled.asg_name, NextToken=page["NextToken"])
    assert [item["InstanceRefreshId"] for item in rest["InstanceRefreshes"]] == [first] and "NextToken" not in rest
    assert error_of(aws.autoscaling.describe_instance_refreshes, AutoScalingGroupName="no-such-group")[0] == \
        "ValidationError"


def test_preferences_out_of_their_documented_ranges_are_refused(aws, settled):
    for preferences in ({"MaxHealthyPercentage": 150},  # needs MinHealthyPercentage
                        {"MinHealthyPercentage": 50, "MaxHealthyPercentage": 160},  # more than 100 apart
                        {"CheckpointDelay": 60},  # needs CheckpointPercentages
                        {"CheckpointPercentages": [50, 20]},  # ascending
                        {"AutoRollback": True}):  # needs a DesiredConfiguration
        assert error_of(aws.autoscaling.start_instance_refresh, AutoScalingGroupName=settled.asg_name,
                        Preferences=preferences)[0] == "ValidationError", preferences
    assert error_of(aws.autoscaling.start_instance_refresh, AutoScalingGroupName=settled.asg_name,
                    DesiredConfiguration={"LaunchTemplate": {"LaunchTemplateId": settled.launch_template_id,
                                                             "Version": "9"}})[0] == "ValidationError"
    assert refresh_count(aws, settled) == 0


def refresh_count(aws, world):
    return len(aws.autoscaling.describe_instance_refreshes(AutoScalingGroupName=world.asg_name)["InstanceRefreshes"])


# -- replacing -----------------------------------------------------------------------------------

def test_terminate_and_launch_one_at_a_time_waiting_for_health_and_warmup(aws, settled, fake_clock):
    """MinHealthyPercentage 90 of 2 keeps both healthy: without MaxHealthyPercentage one old
    instance is terminated as its replacement launches; the next waits until the replacement is
    healthy (20 s) and warmed up (30 s after InService)."""
    old = sorted(instances(aws, settled))
    tag_release(aws, settled, NEW_RELEASE)
    start(aws, settled, InstanceWarmup=30)
    [first] = on_version(aws, settled, "2")
    [leaving] = lifecycle(aws, settled, "Terminating")
    assert release_of(aws, first) == NEW_RELEASE and leaving in old
    assert target_states(aws, settled.target_group_arn)[leaving] == "draining"
    assert refresh(aws, settled)["StatusReason"] == (
        f"Waiting for remaining instances to be available. For example: {first} has insufficient data to evaluate"
        f" its health with Elastic Load Balancing.")
    fake_clock.sleep(HEALTHY_AFTER)
    assert refresh(aws, settled)["StatusReason"] == (
        f"Waiting for instances to warm up before continuing. For example: {first} is warming up.")
    fake_clock.sleep(30 - HEALTHY_AFTER - 0.1)
    assert len(on_version(aws, settled, "2")) == 1 and refresh(aws, settled)["PercentageComplete"] == 0
    fake_clock.sleep(0.1)
    assert len(on_version(aws, settled, "2")) == 2 and refresh(aws, settled)["PercentageComplete"] == 50
    assert ec2_state(aws, leaving) == "terminated"  # drained for 30 s meanwhile
    fake_clock.sleep(30)
    answer = refresh(aws, settled)
    assert answer["Status"] == "Successful" and answer["PercentageComplete"] == 100
    assert (answer["EndTime"] - answer["StartTime"]).total_seconds() == 60
    assert group(aws, settled)["LaunchTemplate"]["Version"] == "2"  # the desired configuration, at the end
    assert {release_of(aws, instance) for instance in instances(aws, settled)} == {NEW_RELEASE}


def test_the_group_takes_the_desired_configuration_only_when_the_refresh_succeeds(aws, settled, fake_clock):
    start(aws, settled, InstanceWarmup=0)
    assert group(aws, settled)["LaunchTemplate"] == {"LaunchTemplateId": settled.launch_template_id,
                                                     "LaunchTemplateName": "kie-server", "Version": "1"}
    fake_clock.sleep(2 * HEALTHY_AFTER)
    assert refresh(aws, settled)["Status"] == "Successful"
    assert group(aws, settled)["LaunchTemplate"]["Version"] == "2"


def test_max_healthy_above_100_launches_before_terminating(aws, settled, fake_clock):
    old = sorted(instances(aws, settled))
    start(aws, settled, MinHealthyPercentage=100, MaxHealthyPercentage=200, InstanceWarmup=0)
    assert lifecycle(aws, settled, "InService") == sorted(old + on_version(aws, settled, "2"))
    assert len(on_version(aws, settled, "2")) == 2 and lifecycle(aws, settled, "Terminating") == []
    fake_clock.sleep(HEALTHY_AFTER - 0.1)
    assert lifecycle(aws, settled, "Terminating") == []  # not before the new ones are healthy
    fake_clock.sleep(0.1)
    assert lifecycle(aws, settled, "Terminating") == old
    assert refresh(aws, settled)["Status"] == "Successful"


def test_min_and_max_healthy_100_replace_one_at_a_time_launching_first(aws, settled, fake_clock):
    start(aws, settled, MinHealthyPercentage=100, MaxHealthyPercentage=100, InstanceWarmup=0)
    assert len(lifecycle(aws, settled, "InService")) == 3 and lifecycle(aws, settled, "Terminating") == []
    fake_clock.sleep(HEALTHY_AFTER)
    assert len(lifecycle(aws, settled, "Terminating")) == 1 and len(on_version(aws, settled, "2")) == 2
    fake_clock.sleep(HEALTHY_AFTER)
    assert len(lifecycle(aws, settled, "Terminating")) == 2 and refresh(aws, settled)["Status"] == "Successful"


def test_min_healthy_0_replaces_everything_at_once(aws, settled):
    start(aws, settled, MinHealthyPercentage=0, InstanceWarmup=0)
    assert len(lifecycle(aws, settled, "Terminating")) == 2 and len(on_version(aws, settled, "2")) == 2


def test_the_instance_maintenance_policy_gives_the_default_healthy_percentages(aws, settled, fake_clock):
    aws.autoscaling.update_auto_scaling_group(AutoScalingGroupName=settled.asg_name, InstanceMaintenancePolicy={
        "MinHealthyPercentage": 100, "MaxHealthyPercentage": 150})
    assert group(aws, settled)["InstanceMaintenancePolicy"] == {"MinHealthyPercentage": 100, "MaxHealthyPercentage": 150}
    start(aws, settled, InstanceWarmup=0)
    assert refresh(aws, settled)["Preferences"]["MaxHealthyPercentage"] == 150
    assert len(lifecycle(aws, settled, "InService")) == 3 and lifecycle(aws, settled, "Terminating") == []


def test_the_default_instance_warmup_is_the_groups_before_its_grace_period(aws, settled, fake_clock):
    aws.autoscaling.update_auto_scaling_group(AutoScalingGroupName=settled.asg_name, DefaultInstanceWarmup=45)
    assert group(aws, settled)["DefaultInstanceWarmup"] == 45
    start(aws, settled)
    assert refresh(aws, settled)["Preferences"]["InstanceWarmup"] == 45
    fake_clock.sleep(45 - 0.1)
    assert len(on_version(aws, settled, "2")) == 1
    fake_clock.sleep(0.1)
    assert len(on_version(aws, settled, "2")) == 2


def test_a_group_created_without_a_grace_period_has_0_not_motos_300(aws, settled):
    aws.autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="plain", LaunchTemplate={"LaunchTemplateId": settled.launch_template_id, "Version": "1"},
        MinSize=0, MaxSize=1, DesiredCapacity=0, VPCZoneIdentifier=settled.subnet_ids[0])
    described = aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["plain"])["AutoScalingGroups"][0]
    assert described["HealthCheckGracePeriod"] == 0


def test_ec2_health_checks_count_in_service_instances_without_waiting_for_the_load_balancer(aws, settled, fake_clock):
    aws.autoscaling.update_auto_scaling_group(AutoScalingGroupName=settled.asg_name, HealthCheckType="EC2")
    start(aws, settled, InstanceWarmup=5)
    fake_clock.sleep(5)  # warmed up; ELB still says `initial`
    assert len(on_version(aws, settled, "2")) == 2
    fake_clock.sleep(5)
    assert refresh(aws, settled)["Status"] == "Successful"


def test_with_elb_health_checks_an_unreferenced_target_group_keeps_new_instances_from_counting(aws, settled, fake_clock):
    """The group's second target group has no listener action: its targets stay `unused`,
    never `healthy`, so the refresh waits, then fails after the one-hour timeout."""
    spare = aws.elbv2.create_target_group(Name="orders-kie-spare", Protocol="HTTP", Port=8080,
                                          VpcId=settled.vpc_id)["TargetGroups"][0]["TargetGroupArn"]
    aws.autoscaling.attach_load_balancer_target_groups(AutoScalingGroupName=settled.asg_name, TargetGroupARNs=[spare])
    start(aws, settled, InstanceWarmup=0)
    [new] = on_version(aws, settled, "2")
    fake_clock.sleep(HOUR - 1)
    assert target_states(aws, spare)[new] == "unused" and target_states(aws, settled.target_group_arn)[new] == "healthy"
    assert refresh(aws, settled)["Status"] == "InProgress" and len(on_version(aws, settled, "2")) == 1
    fake_clock.sleep(1)
    assert refresh(aws, settled)["Status"] == "Failed"


def test_new_instances_that_never_turn_healthy_fail_the_refresh_after_one_hour(aws, settled, fake_clock, aws_like):
    start(aws, settled, InstanceWarmup=0)
    [new] = on_version(aws, settled, "2")
    aws_like.fail(new)
    fake_clock.sleep(HOUR - 0.1)
    assert refresh(aws, settled)["Status"] == "InProgress"
    fake_clock.sleep(0.1)
    answer = refresh(aws, settled)
    assert answer["Status"] == "Failed" and (answer["EndTime"] - answer["StartTime"]).total_seconds() == HOUR
    assert f"{new} has insufficient data to evaluate its health" in answer["StatusReason"]
    assert group(aws, settled)["LaunchTemplate"]["Version"] == "1"  # not updated on failure
    assert len(on_version(aws, settled, "2")) == 1 and len(on_version(aws, settled, "1")) == 1  # not rolled back


def test_the_no_progress_timeout_is_a_knob_of_the_model(aws, moto_world, fake_clock):
    world = moto_world
    with AwsModel(clock=fake_clock.now, refresh_timeout=60) as model:
        fake_clock.sleep(HEALTHY_AFTER)
        aws.autoscaling.update_auto_scaling_group(AutoScalingGroupName=world.asg_name, LaunchTemplate={
            "LaunchTemplateId": world.launch_template_id, "Version": "1"})
        aws.ec2.create_launch_template_version(LaunchTemplateId=world.launch_template_id, SourceVersion="1",
                                               LaunchTemplateData={"InstanceType": "t3.xlarge"})
        start(aws, world, InstanceWarmup=0)
        [new] = on_version(aws, world, "2")
        model.fail(new)
        fake_clock.sleep(60 - 0.1)
        assert refresh(aws, world)["Status"] == "InProgress"
        fake_clock.sleep(0.1)
        assert refresh(aws, world)["Status"] == "Failed"


def test_skip_matching_leaves_the_instances_already_on_the_desired_configuration(aws, settled, fake_clock):
    aws.autoscaling.update_auto_scaling_group(AutoScalingGroupName=settled.asg_name, LaunchTemplate={
        "LaunchTemplateId": settled.launch_template_id, "Version": "2"}, DesiredCapacity=3)
    [matching] = on_version(aws, settled, "2")
    fake_clock.sleep(HEALTHY_AFTER)
    start(aws, settled, SkipMatching=True, InstanceWarmup=0)
    assert refresh(aws, settled)["InstancesToUpdate"] == 1  # 2 to replace, 1 under way
    fake_clock.sleep(2 * HEALTHY_AFTER)
    assert refresh(aws, settled)["Status"] == "Successful"
    assert matching in on_version(aws, settled, "2") and len(on_version(aws, settled, "2")) == 3


def test_without_skip_matching_every_instance_is_replaced(aws, settled, fake_clock):
    aws.autoscaling.update_auto_scaling_group(AutoScalingGroupName=settled.asg_name, LaunchTemplate={
        "LaunchTemplateId": settled.launch_template_id, "Version": "2"})
    fake_clock.sleep(HEALTHY_AFTER)
    before = set(instances(aws, settled))
    aws.autoscaling.start_instance_refresh(AutoScalingGroupName=settled.asg_name, Preferences={"InstanceWarmup": 0})
    fake_clock.sleep(2 * HEALTHY_AFTER)
    assert refresh(aws, settled)["Status"] == "Successful"
    assert not before & set(on_version(aws, settled, "2"))


def test_a_scale_out_during_the_refresh_launches_from_the_desired_configuration(aws, settled, fake_clock):
    start(aws, settled, InstanceWarmup=30)
    aws.autoscaling.set_desired_capacity(AutoScalingGroupName=settled.asg_name, DesiredCapacity=3)
    assert len(on_version(aws, settled, "2")) == 2  # the refresh's first replacement and the scale-out


def test_the_launch_template_cannot_change_while_a_refresh_with_a_desired_configuration_runs(aws, settled):
    start(aws, settled)
    code, message = error_of(aws.autoscaling.update_auto_scaling_group, AutoScalingGroupName=settled.asg_name,
                             LaunchTemplate={"LaunchTemplateId": settled.launch_template_id, "Version": "1"})
    assert (code, message) == ("ValidationError", "An active instance refresh with a desired configuration exists. All"
                               " configuration options derived from the desired configuration are not available for"
                               " update while the instance refresh is active.")
    aws.autoscaling.update_auto_scaling_group(AutoScalingGroupName=settled.asg_name, MaxSize=5)  # other settings may


def test_instances_read_back_the_launch_template_version_they_came_from(aws, settled):
    old = set(instances(aws, settled))
    start(aws, settled, MinHealthyPercentage=100, MaxHealthyPercentage=200)
    assert {instance: version for instance, (_, version) in instances(aws, settled).items()} == {
        **{instance: "1" for instance in old}, **{instance: "2" for instance in on_version(aws, settled, "2")}}


def test_protected_instances_with_ignore_stay_and_with_wait_fail_the_refresh_after_an_hour(aws, settled, fake_clock):
    protected = sorted(instances(aws, settled))[0]
    aws.autoscaling.set_instance_protection(AutoScalingGroupName=settled.asg_name, InstanceIds=[protected],
                                            ProtectedFromScaleIn=True)
    start(aws, settled, ScaleInProtectedInstances="Ignore", InstanceWarmup=0)
    fake_clock.sleep(HEALTHY_AFTER)
    assert refresh(aws, settled)["Status"] == "Successful" and instances(aws, settled)[protected] == ("InService", "1")
    start(aws, settled, "1", InstanceWarmup=0)  # Wait, the default: waits for the protected one
    fake_clock.sleep(HOUR - 1)
    answer = refresh(aws, settled)
    assert answer["Status"] == "InProgress" and protected in answer["StatusReason"]
    fake_clock.sleep(1)
    assert refresh(aws, settled)["Status"] == "Failed" and instances(aws, settled)[protected] == ("InService", "1")


def test_standby_instances_with_terminate_are_terminated(aws, settled):
    resting = sorted(instances(aws, settled))[0]
    aws.autoscaling.enter_standby(AutoScalingGroupName=settled.asg_name, InstanceIds=[resting],
                                  ShouldDecrementDesiredCapacity=True)
    start(aws, settled, StandbyInstances="Terminate", InstanceWarmup=0)
    assert resting not in instances(aws, settled) and ec2_state(aws, resting) == "terminated"


def test_a_launching_lifecycle_hook_holds_the_replacement_and_warmup_counts_from_in_service(aws, settled, fake_clock):
    aws.autoscaling.put_lifecycle_hook(LifecycleHookName="warm-up", AutoScalingGroupName=settled.asg_name,
                                       LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING", HeartbeatTimeout=300,
                                       DefaultResult="ABANDON")
    start(aws, settled, InstanceWarmup=30)
    [new] = lifecycle(aws, settled, "Pending:Wait")
    fake_clock.sleep(100)
    aws.autoscaling.complete_lifecycle_action(LifecycleHookName="warm-up", AutoScalingGroupName=settled.asg_name,
                                              LifecycleActionResult="CONTINUE", InstanceId=new)
    fake_clock.sleep(30 - 0.1)  # healthy 20 s after InService, warmed up 30 s after it
    assert lifecycle(aws, settled, "Pending:Wait") == []
    fake_clock.sleep(0.1)
    assert len(lifecycle(aws, settled, "Pending:Wait")) == 1  # the second replacement, held in turn


# -- checkpoints and bake time -------------------------------------------------------------------

def test_a_checkpoint_pauses_for_the_checkpoint_delay(aws, settled, fake_clock):
    start(aws, settled, MinHealthyPercentage=50, CheckpointPercentages=[50, 100], CheckpointDelay=600, InstanceWarmup=0)
    assert len(on_version(aws, settled, "2")) == 1  # up to the checkpoint only
    fake_clock.sleep(HEALTHY_AFTER)
    answer = refresh(aws, settled)
    assert answer["Status"] == "InProgress" and answer["PercentageComplete"] == 50
    assert answer["Preferences"]["CheckpointPercentages"] == [50, 100] and answer["Preferences"]["CheckpointDelay"] == 600
    fake_clock.sleep(600 - 0.1)
    assert len(on_version(aws, settled, "2")) == 1
    fake_clock.sleep(0.1)
    assert len(on_version(aws, settled, "2")) == 2
    fake_clock.sleep(HEALTHY_AFTER)
    assert refresh(aws, settled)["Status"] == "Successful"


def test_a_last_checkpoint_below_100_ends_the_refresh_there(aws, settled, fake_clock):
    start(aws, settled, MinHealthyPercentage=50, CheckpointPercentages=[50], InstanceWarmup=0)
    fake_clock.sleep(HEALTHY_AFTER)
    answer = refresh(aws, settled)
    assert answer["Status"] == "Successful" and answer["PercentageComplete"] == 50 and answer["InstancesToUpdate"] == 1
    assert len(on_version(aws, settled, "2")) == 1 and len(on_version(aws, settled, "1")) == 1


def test_bake_time_is_spent_baking_before_successful(aws, settled, fake_clock):
    start(aws, settled, MinHealthyPercentage=0, InstanceWarmup=0, BakeTime=300)
    fake_clock.sleep(HEALTHY_AFTER)
    assert refresh(aws, settled)["Status"] == "Baking"
    fake_clock.sleep(300)
    answer = refresh(aws, settled)
    assert answer["Status"] == "Successful" and answer["Preferences"]["BakeTime"] == 300


# -- cancel --------------------------------------------------------------------------------------

def test_cancel_lets_the_launches_under_way_finish_and_starts_no_new_replacement(aws, settled, fake_clock):
    aws.autoscaling.put_lifecycle_hook(LifecycleHookName="warm-up", AutoScalingGroupName=settled.asg_name,
                                       LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING", HeartbeatTimeout=300,
                                       DefaultResult="CONTINUE")
    refresh_id = start(aws, settled, InstanceWarmup=0)
    assert aws.autoscaling.cancel_instance_refresh(AutoScalingGroupName=settled.asg_name)["InstanceRefreshId"] == refresh_id
    assert refresh(aws, settled)["Status"] == "Cancelling"
    fake_clock.sleep(300)  # the hook's timeout: CONTINUE
    answer = refresh(aws, settled)
    assert answer["Status"] == "Cancelled" and "EndTime" in answer
    fake_clock.sleep(HOUR)
    assert len(on_version(aws, settled, "2")) == 1 and len(on_version(aws, settled, "1")) == 1  # nothing undone
    assert group(aws, settled)["LaunchTemplate"]["Version"] == "1"


def test_cancel_or_rollback_without_an_active_refresh_is_refused(aws, settled, fake_clock):
    message = f"No in progress or pending Instance Refresh found for Auto Scaling group {settled.asg_name}"
    assert error_of(aws.autoscaling.cancel_instance_refresh, AutoScalingGroupName=settled.asg_name) == (
        "ActiveInstanceRefreshNotFound", message)
    start(aws, settled, InstanceWarmup=0)
    fake_clock.sleep(2 * HEALTHY_AFTER)  # Successful: no longer in progress
    assert error_of(aws.autoscaling.rollback_instance_refresh, AutoScalingGroupName=settled.asg_name) == (
        "ActiveInstanceRefreshNotFound", message)


# -- rollback ------------------------------------------------------------------------------------

def test_rollback_replaces_the_new_instances_with_the_previous_configuration(aws, settled, fake_clock):
    tag_release(aws, settled, NEW_RELEASE)
    refresh_id = start(aws, settled, InstanceWarmup=0)
    fake_clock.sleep(HEALTHY_AFTER)  # one replaced and ready, the second just launched
    deployed = on_version(aws, settled, "2")
    assert len(deployed) == 2
    tag_release(aws, settled, OLD_RELEASE)  # new instances carry the group's tags of their launch
    assert aws.autoscaling.rollback_instance_refresh(AutoScalingGroupName=settled.asg_name)[
        "InstanceRefreshId"] == refresh_id
    answer = refresh(aws, settled)
    assert answer["Status"] == "RollbackInProgress"
    details = answer["RollbackDetails"]
    assert details["PercentageCompleteOnRollback"] == 50 and details["InstancesToUpdateOnRollback"] == 0
    assert (details["RollbackStartTime"] - answer["StartTime"]).total_seconds() == HEALTHY_AFTER
    fake_clock.sleep(HOUR)
    answer = refresh(aws, settled)
    assert answer["Status"] == "RollbackSuccessful" and answer["PercentageComplete"] == 0
    assert on_version(aws, settled, "2") == [] and len(on_version(aws, settled, "1")) == 2
    assert {release_of(aws, instance) for instance in on_version(aws, settled, "1")} == {OLD_RELEASE}
    assert {ec2_state(aws, instance) for instance in deployed} == {"terminated"}
    assert group(aws, settled)["LaunchTemplate"]["Version"] == "1"


def test_rollback_needs_a_desired_configuration(aws, settled):
    aws.autoscaling.start_instance_refresh(AutoScalingGroupName=settled.asg_name)
    code, _ = error_of(aws.autoscaling.rollback_instance_refresh, AutoScalingGroupName=settled.asg_name)
    assert code == "IrreversibleInstanceRefresh"


def test_rollback_is_refused_for_a_group_on_latest_or_default(aws, world, aws_like):
    """The scenario's group launches from $Latest: there is no version to go back to."""
    aws.ec2.create_launch_template_version(LaunchTemplateId=world.launch_template_id, SourceVersion="1",
                                           LaunchTemplateData={"InstanceType": "t3.xlarge"})
    start(aws, world)
    code, message = error_of(aws.autoscaling.rollback_instance_refresh, AutoScalingGroupName=world.asg_name)
    assert code == "IrreversibleInstanceRefresh" and "$Latest" in message
    assert refresh(aws, world)["Status"] == "InProgress"


def test_auto_rollback_needs_a_group_that_can_be_rolled_back(aws, world, aws_like):
    aws.ec2.create_launch_template_version(LaunchTemplateId=world.launch_template_id, SourceVersion="1",
                                           LaunchTemplateData={"InstanceType": "t3.xlarge"})
    code, message = error_of(aws.autoscaling.start_instance_refresh, AutoScalingGroupName=world.asg_name,
                             DesiredConfiguration=desired(world), Preferences={"AutoRollback": True})
    assert code == "ValidationError" and "$Latest" in message


def test_auto_rollback_rolls_back_a_refresh_that_fails(aws, settled, fake_clock, aws_like):
    start(aws, settled, InstanceWarmup=0, AutoRollback=True)
    [new] = on_version(aws, settled, "2")
    aws_like.fail(new)
    fake_clock.sleep(HOUR)
    answer = refresh(aws, settled)
    assert answer["Status"] == "RollbackInProgress" and "no progress" in answer["RollbackDetails"]["RollbackReason"]
    fake_clock.sleep(HEALTHY_AFTER)
    assert refresh(aws, settled)["Status"] == "RollbackSuccessful"
    assert on_version(aws, settled, "2") == [] and len(on_version(aws, settled, "1")) == 2


# -- alarms --------------------------------------------------------------------------------------

def test_an_alarm_going_to_alarm_rolls_back_with_auto_rollback(aws, settled, fake_clock):
    cloudwatch = alarm()
    start(aws, settled, InstanceWarmup=0, AutoRollback=True, AlarmSpecification={"Alarms": ["orders-5xx"]})
    fake_clock.sleep(5)
    cloudwatch.set_alarm_state(AlarmName="orders-5xx", StateValue="ALARM", StateReason="5xx")
    answer = refresh(aws, settled)
    assert answer["Status"] == "RollbackInProgress"
    assert answer["RollbackDetails"]["RollbackReason"] == "CloudWatch alarm orders-5xx is in ALARM state."
    assert (answer["RollbackDetails"]["RollbackStartTime"] - answer["StartTime"]).total_seconds() == 5
    fake_clock.sleep(HEALTHY_AFTER)
    assert refresh(aws, settled)["Status"] == "RollbackSuccessful" and on_version(aws, settled, "2") == []


def test_an_alarm_going_to_alarm_fails_the_refresh_without_auto_rollback(aws, settled, fake_clock):
    cloudwatch = alarm()
    start(aws, settled, InstanceWarmup=0, AlarmSpecification={"Alarms": ["orders-5xx"]})
    cloudwatch.set_alarm_state(AlarmName="orders-5xx", StateValue="ALARM", StateReason="5xx")
    answer = refresh(aws, settled)
    assert answer["Status"] == "Failed" and answer["StatusReason"] == "CloudWatch alarm orders-5xx is in ALARM state."
    assert len(on_version(aws, settled, "2")) == 1  # not rolled back


def test_a_refresh_starts_only_with_its_alarms_in_ok_state(aws, settled):
    alarm(state="INSUFFICIENT_DATA")
    code, _ = error_of(aws.autoscaling.start_instance_refresh, AutoScalingGroupName=settled.asg_name,
                       Preferences={"AlarmSpecification": {"Alarms": ["orders-5xx"]}})
    assert code == "ValidationError"
    code, _ = error_of(aws.autoscaling.start_instance_refresh, AutoScalingGroupName=settled.asg_name,
                       Preferences={"AlarmSpecification": {"Alarms": [f"alarm-{n}" for n in range(11)]}})
    assert code == "ValidationError"


def test_a_deleted_group_takes_its_refreshes_with_it(aws, settled):
    start(aws, settled)
    aws.autoscaling.delete_auto_scaling_group(AutoScalingGroupName=settled.asg_name, ForceDelete=True)
    assert error_of(aws.autoscaling.describe_instance_refreshes, AutoScalingGroupName=settled.asg_name)[0] == \
        "ValidationError"
    aws.autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=settled.asg_name, MinSize=0, MaxSize=2, DesiredCapacity=0,
        LaunchTemplate={"LaunchTemplateId": settled.launch_template_id, "Version": "1"},
        VPCZoneIdentifier=settled.subnet_ids[0])
    assert refresh_count(aws, settled) == 0


# -- moto without the model ----------------------------------------------------------------------

def test_moto_alone_does_not_implement_instance_refresh(aws, moto_world):
    with pytest.raises(NotImplementedError):
        aws.autoscaling.start_instance_refresh(AutoScalingGroupName=moto_world.asg_name)
