"""Preflight: each check fails with exit 2 or 4 and one line saying what to fix, before the
command changes anything; `kie-bluegreen preflight` shows every check."""

from __future__ import annotations

import pytest
from helpers import routing_generations, snapshot

from kie_bluegreen import preflight
from kie_bluegreen.aws.lookups import Lookups
from kie_bluegreen.errors import ConfigError

CANARY_0 = {"default": 1, "blue": 1, "green": None}


@pytest.fixture
def initialised(run, config_path):
    assert run(config_path, "init", "--version", "1.0.0").code == 0
    return config_path


def refused(run, aws, world, path, *argv, code):
    """Run a command that preflight must stop; return its one-line message."""
    before = snapshot(aws, world.listener_arn)
    result = run(path, *argv)
    assert result.code == code, result.err
    assert "Traceback" not in result.err
    assert snapshot(aws, world.listener_arn) == before, "preflight let the command change AWS"
    message = result.err.strip().splitlines()[-1]
    assert message.startswith("kie-bluegreen: ")
    return message


def test_preflight_shows_every_check_and_changes_nothing(run, aws, world, initialised):
    before = snapshot(aws, world.listener_arn)
    result = run(initialised, "--output", "json", "preflight", "deploy", "--version", "2.0.0")
    assert result.code == 0, result.err
    checks = {c["check"]: c["detail"] for c in result.json["checks"]}
    assert list(checks) == [name for name, _ in preflight.Preflight(None, "deploy").checks()]
    assert checks["names"] == "orders-production-g2 is free"
    assert checks["launch template"].startswith(f"{world.launch_template_id} version 1 of orders-kie-1")
    assert "target groups in the region 2+1/3000" in checks["quotas"]
    assert snapshot(aws, world.listener_arn) == before


def test_missing_listener_is_a_configuration_error(run, aws, world, make_config):
    path = make_config(**{"listener-arn": world.listener_arn[:-4] + "beef"})
    message = refused(run, aws, world, path, "deploy", "--version", "2.0.0", code=2)
    assert "stages.production.listener-arn: no such listener" in message


def test_a_taken_header_rule_priority_stops_deploy(run, aws, world, make_config):
    path = make_config(routing={"blue-priority": 5})  # the other team's /billing/* rule holds 5
    message = refused(run, aws, world, path, "preflight", code=2)
    assert "routing.blue-priority: priority 5 on the listener is held by another rule" in message


def test_a_foreign_target_group_with_the_next_name_is_refused(run, aws, world, initialised):
    aws.elbv2.create_target_group(Name="orders-production-g2", Protocol="HTTP", Port=8080, VpcId=world.vpc_id)
    message = refused(run, aws, world, initialised, "deploy", "--version", "2.0.0", code=2)
    assert "a target group named orders-production-g2 already exists and is not kie-bluegreen's" in message


def test_a_target_group_left_by_an_interrupted_run_is_resumed(run, aws, world, initialised):
    aws.elbv2.create_target_group(Name="orders-production-g2", Protocol="HTTP", Port=8080, VpcId=world.vpc_id, Tags=[
        {"Key": "kie-bluegreen:app", "Value": "orders"}, {"Key": "kie-bluegreen:stage", "Value": "production"}])
    result = run(initialised, "deploy", "--version", "2.0.0")
    assert result.code == 0, result.err
    assert routing_generations(aws, world.listener_arn)["green"] == 2


def test_an_auto_scaling_group_with_the_next_name_is_refused(run, aws, world, initialised):
    aws.autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="orders-production-g2", MinSize=0, MaxSize=1, DesiredCapacity=0,
        LaunchTemplate={"LaunchTemplateId": world.launch_template_id}, VPCZoneIdentifier=world.subnet_ids[0])
    message = refused(run, aws, world, initialised, "deploy", "--version", "2.0.0", code=2)
    assert "an Auto Scaling group named orders-production-g2 already exists" in message


def test_a_release_too_long_for_a_tag_is_refused(run, aws, world, make_config):
    import yaml
    path = make_config()
    assert run(path, "init", "--version", "1.0.0").code == 0
    document = yaml.safe_load(open(path, encoding="utf-8"))
    document["container"].update({"group-id": "g" * 128, "artifact-id": "a" * 128})
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(document, handle)
    message = refused(run, aws, world, path, "deploy", "--version", "2.0.0", code=2)
    assert "container.group-id, container.artifact-id, --version: the release tag" in message
    assert "has 263 characters; AWS tag values allow 256" in message


def test_a_missing_launch_template_is_named(run, aws, world, initialised):
    aws.ec2.delete_launch_template(LaunchTemplateId=world.launch_template_id)
    message = refused(run, aws, world, initialised, "deploy", "--version", "2.0.0", code=4)
    assert f"orders-kie-1 launches from launch template {world.launch_template_id}" in message
    assert "does not exist" in message


def test_configured_subnets_must_exist_and_be_in_the_target_group_vpc(run, aws, world, make_config):
    path = make_config(subnets=["subnet-0123abcd"])
    assert run(path, "init", "--version", "1.0.0").code == 0
    message = refused(run, aws, world, path, "deploy", "--version", "2.0.0", code=2)
    assert "stages.production.subnets: subnet-0123abcd not found in eu-west-1" in message

    other_vpc = aws.ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    stray = aws.ec2.create_subnet(VpcId=other_vpc, CidrBlock="10.9.1.0/24", AvailabilityZone="eu-west-1a")["Subnet"]["SubnetId"]
    path = make_config(subnets=[world.subnet_ids[0], stray])
    message = refused(run, aws, world, path, "deploy", "--version", "2.0.0", code=2)
    assert f"{stray} not in {world.vpc_id}" in message


def limits(monkeypatch, **overrides):
    """AWS's real quotas with some lowered (moto's are fixed)."""
    real = Lookups.load_balancer_limits
    monkeypatch.setattr(Lookups, "load_balancer_limits", lambda self: {**real(self), **overrides})


def test_target_groups_in_the_region_quota(run, aws, world, initialised, monkeypatch):
    limits(monkeypatch, **{"target-groups": 2})  # the world has 2: orders-kie-1 and billing-api
    message = refused(run, aws, world, initialised, "deploy", "--version", "2.0.0", code=4)
    assert "quota: 2 of 2 target groups exist in eu-west-1" in message


def test_target_groups_per_load_balancer_quota_counts_only_what_routing_attaches(run, aws, world, initialised, monkeypatch):
    limits(monkeypatch, **{"target-groups-per-application-load-balancer": 2})
    message = refused(run, aws, world, initialised, "deploy", "--version", "2.0.0", code=4)
    assert "quota: 2 of 2 target groups are attached to the load balancer" in message
    limits(monkeypatch, **{"target-groups-per-application-load-balancer": 3})
    assert run(initialised, "deploy", "--version", "2.0.0").code == 0
    # now 3 of 3 are attached; promote attaches nothing new, so the full quota does not stop it
    assert run(initialised, "promote").code == 0


def test_rules_quota_matters_only_when_header_rules_are_missing(run, aws, world, initialised, monkeypatch):
    limits(monkeypatch, **{"rules-per-application-load-balancer": 3})  # the listener holds 3: full
    assert run(initialised, "preflight").code == 0  # our rules exist: nothing to add
    ours = [r["RuleArn"] for r in aws.elbv2.describe_rules(ListenerArn=world.listener_arn)["Rules"]
            if not r["IsDefault"] and r["RuleArn"] != world.other_rule_arn]
    aws.elbv2.delete_rule(RuleArn=ours[0])
    limits(monkeypatch, **{"rules-per-application-load-balancer": 2})
    message = refused(run, aws, world, initialised, "deploy", "--version", "2.0.0", code=4)
    assert "quota: the load balancer has 2 of 2 listener rules and the header rules need 1 more" in message


def test_rollback_from_zero_servers_checks_the_standby_launch_template(run, aws, world, make_config):
    path = make_config(retire={"previous": "scale-to-zero"})
    for argv in (("init", "--version", "1.0.0"), ("deploy", "--version", "2.0.0"), ("promote",)):
        assert run(path, *argv).code == 0
    aws.ec2.delete_launch_template(LaunchTemplateId=world.launch_template_id)
    message = refused(run, aws, world, path, "rollback", code=4)
    assert "orders-kie-1 launches from launch template" in message


def test_failed_preflight_reports_the_checks_that_passed(run, world, make_config):
    result = run(make_config(routing={"green-priority": 5}), "--output", "json", "preflight")
    assert result.code == 2
    checks = result.json["checks"]
    assert [c["ok"] for c in checks] == [True, True, False]
    assert checks[-1]["check"] == "header rule priorities"
    assert "routing.green-priority" in checks[-1]["detail"]


def test_only_an_application_load_balancer_will_do(ctx, monkeypatch):
    pre = preflight.Preflight(ctx, "deploy")
    pre.check_listener()
    monkeypatch.setattr(type(ctx.alb), "load_balancer", lambda self, arn: {"LoadBalancerName": "nlb", "Type": "network"})
    with pytest.raises(ConfigError, match="nlb is a network load balancer; header rules need an Application Load Balancer"):
        pre.check_load_balancer()


def test_unknown_command_for_preflight_is_a_usage_error(run, config_path):
    assert run(config_path, "preflight", "init").code == 2
