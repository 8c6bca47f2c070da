"""`kie.verify`: the wait phase asks each new server's KIE REST API, over real HTTP."""

from __future__ import annotations

import pytest
from fake_kie import FakeKieServer, version_from_launch_tags
from helpers import routing_generations

from kie_bluegreen import flows
from kie_bluegreen.errors import DeploymentFailed
from kie_bluegreen.kie import KieClient


@pytest.fixture
def kie_fleet(aws):
    fleet = FakeKieServer(version_from_launch_tags(aws.ec2))
    yield fleet
    fleet.close()


@pytest.fixture
def verify_ctx(make_config, make_ctx, kie_fleet):
    return make_ctx(
        make_config(kie={"verify": True, "url": kie_fleet.url_template}, wait={"timeout": "20s", "poll-interval": "2s"})
    )


def new_instances(aws, name="orders-production-g2"):
    return [
        i["InstanceId"]
        for i in aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0][
            "Instances"
        ]
    ]


def test_deploy_waits_for_every_container_started_at_the_new_version(verify_ctx, aws, world, kie_fleet):
    flows.init(verify_ctx, "1.0.0")
    flows.deploy(verify_ctx, "2.0.0", "canary")
    assert routing_generations(aws, world.listener_arn)["green"] == 2
    assert len(kie_fleet.seen) >= 4  # readycheck + container, on both new servers


def test_a_server_on_the_wrong_version_fails_the_wait(verify_ctx, aws, world, kie_fleet):
    flows.init(verify_ctx, "1.0.0")
    flows.phase_provision(verify_ctx, "2.0.0")
    first, second = new_instances(aws)
    kie_fleet.answers[first] = (200, "STARTED", "1.0.0")
    kie_fleet.answers[second] = (503, "CREATING", "2.0.0")
    with pytest.raises(DeploymentFailed) as failure:
        flows.phase_wait(verify_ctx)
    message = str(failure.value)
    assert f"{first} KIE: container app runs 1.0.0, not 2.0.0" in message
    assert f"{second} KIE: readycheck answered 503" in message
    assert routing_generations(aws, world.listener_arn)["green"] is None


def test_a_failed_container_is_named(verify_ctx, aws, kie_fleet):
    flows.init(verify_ctx, "1.0.0")
    flows.phase_provision(verify_ctx, "2.0.0")
    for instance in new_instances(aws):
        kie_fleet.answers[instance] = (200, "FAILED", "2.0.0")
    with pytest.raises(DeploymentFailed, match="KIE: container app is FAILED"):
        flows.phase_wait(verify_ctx)


def test_credentials_from_the_environment_are_sent(monkeypatch, kie_fleet):
    monkeypatch.setenv("KIE_SERVER_USER", "deployer")
    monkeypatch.setenv("KIE_SERVER_PASSWORD", "s3cret")
    client = KieClient.from_environment()
    kie_fleet.answers["i-1"] = (200, "STARTED", "2.0.0")
    check = client.check_container(kie_fleet.url_template.format(instance_id="i-1"), "app", "2.0.0")
    assert check.ok and check.detail == "STARTED 2.0.0"
    assert kie_fleet.seen[-1][1] == "Basic ZGVwbG95ZXI6czNjcmV0"


def test_unreachable_server_is_reported_not_raised():
    check = KieClient(timeout=1).check_container("http://127.0.0.1:9/kie", "app", "2.0.0")
    assert not check.ok and check.detail.startswith("unreachable")
