"""launch-template.user-data: a new launch template version per release, rendered from a template."""

from __future__ import annotations

import base64

import pytest

from kie_bluegreen import flows
from kie_bluegreen.errors import ConfigError
from kie_bluegreen.phases.provision import render_user_data

TEMPLATE = """#!/bin/bash
export KIE_SERVER_CONTAINER_DEPLOYMENT="{{container_id}}={{release}}"
echo "generation {{ generation }} of {{app}}/{{stage}} runs {{version}}"
"""


@pytest.fixture
def user_data_ctx(make_config, make_ctx, tmp_path):
    (tmp_path / "user-data.sh").write_text(TEMPLATE)
    return make_ctx(make_config(**{"launch-template": {"user-data": "user-data.sh"}}))


def pin_live_template(aws, world, version="1"):
    aws.autoscaling.update_auto_scaling_group(
        AutoScalingGroupName=world.asg_name,
        LaunchTemplate={"LaunchTemplateId": world.launch_template_id, "Version": version})


def test_each_release_gets_its_own_template_version(user_data_ctx, aws, world):
    pin_live_template(aws, world)
    flows.init(user_data_ctx, "1.0.0")
    flows.deploy(user_data_ctx, "2.0.0", "canary")
    new, = aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["orders-production-g2"])["AutoScalingGroups"]
    assert new["LaunchTemplate"] == {**new["LaunchTemplate"], "LaunchTemplateId": world.launch_template_id, "Version": "2"}
    version, = aws.ec2.describe_launch_template_versions(LaunchTemplateId=world.launch_template_id,
                                                         Versions=["2"])["LaunchTemplateVersions"]
    user_data = base64.b64decode(version["LaunchTemplateData"]["UserData"]).decode()
    assert 'KIE_SERVER_CONTAINER_DEPLOYMENT="app=com.myspace:app:2.0.0"' in user_data
    assert "generation 2 of orders/production runs 2.0.0" in user_data
    assert version["VersionDescription"] == "kie-bluegreen orders/production g2 com.myspace:app:2.0.0"
    live, = aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[world.asg_name])["AutoScalingGroups"]
    assert live["LaunchTemplate"]["Version"] == "1"  # the live group still launches what it did


def test_a_floating_live_version_is_refused_before_anything_is_created(user_data_ctx, aws, world):
    flows.init(user_data_ctx, "1.0.0")  # the scenario's group uses $Latest
    with pytest.raises(ConfigError, match=r"uses launch template version '\$Latest'; pin it to a version number"):
        flows.deploy(user_data_ctx, "2.0.0")
    versions = aws.ec2.describe_launch_template_versions(LaunchTemplateId=world.launch_template_id)["LaunchTemplateVersions"]
    assert len(versions) == 1


def test_unknown_tokens_are_configuration_errors():
    assert render_user_data("v={{version}}", {"version": "2.0.0"}, "u.sh") == "v=2.0.0"
    with pytest.raises(ConfigError, match=r"u.sh: unknown token \{\{versoin\}\}; known: \{\{version\}\}"):
        render_user_data("v={{versoin}}", {"version": "2.0.0"}, "u.sh")


def test_an_unknown_token_is_refused_before_any_write(make_config, make_ctx, aws, world, tmp_path):
    from helpers import snapshot
    (tmp_path / "user-data.sh").write_text("echo {{versoin}}\n")
    ctx = make_ctx(make_config(**{"launch-template": {"user-data": "user-data.sh"}}))
    pin_live_template(aws, world)
    flows.init(ctx, "1.0.0")
    before = snapshot(aws, world.listener_arn)
    with pytest.raises(ConfigError, match="unknown token"):
        flows.deploy(ctx, "2.0.0")
    assert snapshot(aws, world.listener_arn) == before
