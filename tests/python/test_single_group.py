"""topology: single-group on moto behaving like AWS: one group, a new target group joins it, the
routes move once its servers are ready there, an instance refresh replaces the servers, and a
rollback while the refresh runs brings the previous release back on the same group."""

from __future__ import annotations

import base64

import pytest
from helpers import alarm, during_the_first_hold, group_names, group_tags, routing_generations

from kie_bluegreen import executor, flows
from kie_bluegreen.errors import DeploymentFailed, Refused
from kie_bluegreen.steps import WaitRefresh

SINGLE = {"topology": "single-group", "routing": {"strategy": "all-at-once"}}


def group(aws, world) -> dict:
    return aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[world.asg_name])["AutoScalingGroups"][0]


def releases_served(aws, world) -> list[str]:
    """The release tag of every server of the group that is not leaving."""
    ids = [i["InstanceId"] for i in group(aws, world)["Instances"] if not i["LifecycleState"].startswith("Terminating")]
    reservations = aws.ec2.describe_instances(InstanceIds=ids)["Reservations"]
    return sorted({tag["Key"]: tag["Value"] for tag in instance.get("Tags", [])}.get("kie-bluegreen:release", "")
                  for reservation in reservations for instance in reservation["Instances"])


def latest_refresh(aws, world) -> dict:
    return aws.autoscaling.describe_instance_refreshes(AutoScalingGroupName=world.asg_name)["InstanceRefreshes"][0]


def target_group_names(aws) -> list[str]:
    return sorted(tg["TargetGroupName"] for tg in aws.elbv2.describe_target_groups()["TargetGroups"])


def stop_before_the_refresh_ends(monkeypatch) -> None:
    """The deploy stops (an agent lost, Ctrl-C) once AWS has started the refresh."""
    def interrupted(run, step):
        raise KeyboardInterrupt

    monkeypatch.setitem(executor.STEP_ACTIONS, WaitRefresh, interrupted)


def test_a_release_rolls_through_the_one_group(make_config, make_ctx, aws, world, fake_clock):
    ctx = make_ctx(make_config(**SINGLE))
    flows.init(ctx, "1.0.0")
    result = flows.deploy(ctx, "2.0.0")

    assert group_names(aws) == [world.asg_name]
    assert routing_generations(aws, world.listener_arn) == {"default": 2, "blue": 2, "green": None}
    assert releases_served(aws, world) == ["com.myspace:app:2.0.0"] * 2
    assert latest_refresh(aws, world)["Status"] == "Successful"
    assert group(aws, world)["TargetGroupARNs"] == [aws.elbv2.describe_target_groups(
        Names=["orders-production-g2"])["TargetGroups"][0]["TargetGroupArn"]]
    # The previous target group left the group and was deleted; the group was pinned first (the
    # scenario's group floats on $Latest, and AWS rolls a refresh back only to a version number).
    assert target_group_names(aws) == ["billing-api", "orders-production-g2"]  # another team's stays
    assert group(aws, world)["LaunchTemplate"]["Version"] == "1"
    text = "\n".join(result.data["changes"])
    assert "pinned orders-kie-1 to launch template version 1 (it used $Latest" in text
    assert "instance refresh of orders-kie-1" in text and "launch before terminate" in text

    again = flows.deploy(ctx, "2.0.0")
    assert again.data["changes"] == [] and "already live" in again.text

    flows.deploy(ctx, "3.0.0")
    assert routing_generations(aws, world.listener_arn) == {"default": 3, "blue": 3, "green": None}
    assert releases_served(aws, world) == ["com.myspace:app:3.0.0"] * 2
    with pytest.raises(Refused, match=r"has ended \(Successful\).*deploy --version 2.0.0"):
        flows.rollback(ctx)


def test_a_rollback_while_the_refresh_runs_brings_the_previous_release_back(
        make_config, make_ctx, aws, world, monkeypatch):
    ctx = make_ctx(make_config(**SINGLE))
    flows.init(ctx, "1.0.0")
    with monkeypatch.context() as stopped:
        stop_before_the_refresh_ends(stopped)
        with pytest.raises(KeyboardInterrupt):
            flows.deploy(ctx, "2.0.0")
    assert latest_refresh(aws, world)["Status"] == "InProgress"
    assert routing_generations(aws, world.listener_arn)["default"] == 2  # the routes moved before the refresh

    result = flows.rollback(ctx)
    assert routing_generations(aws, world.listener_arn) == {"default": 1, "blue": 1, "green": None}
    assert latest_refresh(aws, world)["Status"] == "RollbackSuccessful"
    assert releases_served(aws, world) == ["com.myspace:app:1.0.0"] * 2
    assert group_tags(aws, world.asg_name)["kie-bluegreen:release"] == "com.myspace:app:1.0.0"
    assert "orders-production-g2" not in target_group_names(aws)
    assert any("roll back the instance refresh" in line for line in result.data["changes"])

    again = flows.rollback(ctx)
    assert again.data["changes"] == [] and "already rolled back" in again.text


def test_a_stopped_deploy_is_finished_by_the_same_command(make_config, make_ctx, aws, world, monkeypatch):
    ctx = make_ctx(make_config(**SINGLE))
    flows.init(ctx, "1.0.0")
    with monkeypatch.context() as stopped:
        stop_before_the_refresh_ends(stopped)
        with pytest.raises(KeyboardInterrupt):
            flows.deploy(ctx, "2.0.0")
    flows.deploy(ctx, "2.0.0")  # the refresh AWS runs is waited for, not started twice
    refreshes = aws.autoscaling.describe_instance_refreshes(AutoScalingGroupName=world.asg_name)["InstanceRefreshes"]
    assert [r["Status"] for r in refreshes] == ["Successful"]
    assert releases_served(aws, world) == ["com.myspace:app:2.0.0"] * 2


def test_an_alarm_during_the_refresh_rolls_it_back_by_itself(make_config, make_ctx, aws, world, monkeypatch):
    alarm(aws, "orders-5xx")
    ctx = make_ctx(make_config(**SINGLE, analysis={"alarms": ["orders-5xx"]}))
    flows.init(ctx, "1.0.0")
    during_the_first_hold(monkeypatch, lambda: aws.cloudwatch.set_alarm_state(
        AlarmName="orders-5xx", StateValue="ALARM", StateReason="5xx above 10"))
    with pytest.raises(DeploymentFailed, match=r"alarm orders-5xx is in ALARM during the instance refresh of"
                                                r" orders-kie-1.*rolled back automatically"):
        flows.deploy(ctx, "2.0.0")
    assert routing_generations(aws, world.listener_arn) == {"default": 1, "blue": 1, "green": None}
    assert latest_refresh(aws, world)["Status"] == "RollbackSuccessful"
    assert releases_served(aws, world) == ["com.myspace:app:1.0.0"] * 2
    # The runner watches the alarms itself: AWS's own AutoRollback would launch servers carrying
    # the group's release tag of that moment (the new release).
    assert "AlarmSpecification" not in latest_refresh(aws, world).get("Preferences", {})


def test_an_alarm_already_firing_starts_no_refresh(make_config, make_ctx, aws, world):
    alarm(aws, "orders-5xx")
    aws.cloudwatch.set_alarm_state(AlarmName="orders-5xx", StateValue="ALARM", StateReason="5xx above 10")
    ctx = make_ctx(make_config(**SINGLE, analysis={"alarms": ["orders-5xx"]}))
    flows.init(ctx, "1.0.0")
    with pytest.raises(DeploymentFailed, match="alarm orders-5xx is in ALARM.*rolled back automatically"):
        flows.deploy(ctx, "2.0.0")
    assert aws.autoscaling.describe_instance_refreshes(AutoScalingGroupName=world.asg_name)["InstanceRefreshes"] == []
    assert routing_generations(aws, world.listener_arn) == {"default": 1, "blue": 1, "green": None}
    assert group_tags(aws, world.asg_name)["kie-bluegreen:release"] == "com.myspace:app:1.0.0"


def test_a_user_data_template_comes_with_the_refresh_and_goes_with_its_rollback(
        make_config, make_ctx, aws, world, tmp_path, monkeypatch):
    (tmp_path / "user-data.sh").write_text('#!/bin/bash\nexport KIE_RELEASE="{{release}}"\n')
    aws.autoscaling.update_auto_scaling_group(
        AutoScalingGroupName=world.asg_name, LaunchTemplate={"LaunchTemplateId": world.launch_template_id, "Version": "1"})
    ctx = make_ctx(make_config(**SINGLE, **{"launch-template": {"user-data": "user-data.sh"}}))
    flows.init(ctx, "1.0.0")

    with monkeypatch.context() as stopped:
        stop_before_the_refresh_ends(stopped)
        with pytest.raises(KeyboardInterrupt):
            flows.deploy(ctx, "2.0.0")
    assert group(aws, world)["LaunchTemplate"]["Version"] == "1"  # the refresh brings version 2, the group keeps 1
    assert latest_refresh(aws, world)["DesiredConfiguration"]["LaunchTemplate"]["Version"] == "2"
    flows.rollback(ctx)
    assert group(aws, world)["LaunchTemplate"]["Version"] == "1"
    assert {i["LaunchTemplate"]["Version"] for i in group(aws, world)["Instances"]
            if i["LifecycleState"] == "InService"} == {"1"}

    flows.deploy(ctx, "2.0.0")  # a later deploy creates its own version and succeeds
    assert group(aws, world)["LaunchTemplate"]["Version"] == "3"  # AWS applies the desired configuration
    version, = aws.ec2.describe_launch_template_versions(LaunchTemplateId=world.launch_template_id,
                                                         Versions=["3"])["LaunchTemplateVersions"]
    assert 'KIE_RELEASE="com.myspace:app:2.0.0"' in base64.b64decode(version["LaunchTemplateData"]["UserData"]).decode()
