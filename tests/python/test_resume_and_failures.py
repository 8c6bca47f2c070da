"""Phases one by one, unhealthy servers, throttling: every path must converge or fail cleanly.
(Crashes at every write: test_crash_anywhere.py.)"""

from __future__ import annotations

import pytest
from botocore.awsrequest import AWSResponse
from botocore.retries import standard
from helpers import group_names, group_tags, routing_generations, snapshot

from kie_bluegreen import flows
from kie_bluegreen.errors import DeploymentFailed, Refused


def test_phases_one_by_one_equal_deploy(ctx, aws, world):
    flows.init(ctx, "1.0.0")
    flows.phase_provision(ctx, "2.0.0")
    assert routing_generations(aws, world.listener_arn) == {"default": 1, "blue": 1, "green": None}
    flows.phase_provision(ctx, "2.0.0")  # again: resumes, creates nothing twice
    assert group_names(aws) == [world.asg_name, "orders-production-g2"]
    flows.phase_wait(ctx)
    flows.phase_route(ctx, "canary")
    flows.phase_retire(ctx)
    assert routing_generations(aws, world.listener_arn) == {"default": 1, "blue": 1, "green": 2}


def failing_new_servers(aws, world, aws_like, reason: str) -> None:
    """Every server launched from now on fails its health checks; the live ones stay healthy."""
    aws_like.fail("*", reason)
    for instance in aws.autoscaling.describe_auto_scaling_groups(
            AutoScalingGroupNames=[world.asg_name])["AutoScalingGroups"][0]["Instances"]:
        aws_like.recover(instance["InstanceId"])


def test_health_timeout_removes_candidate_and_leaves_routing(ctx, aws, world, aws_like, fake_clock):
    flows.init(ctx, "1.0.0")
    before = snapshot(aws, world.listener_arn)
    failing_new_servers(aws, world, aws_like, "Target.ResponseCodeMismatch")
    with pytest.raises(DeploymentFailed) as failure:
        flows.deploy(ctx, "2.0.0", "canary")
    message = str(failure.value)
    assert "0/2 servers ready after 300s" in message
    assert "unhealthy (Target.ResponseCodeMismatch)" in message
    assert "routing unchanged" in message and "orders-production-g2 was deleted" in message
    after = snapshot(aws, world.listener_arn)
    for key in ("groups", "target_groups", "rules", "listener"):  # candidate gone, rules as before
        assert after[key] == before[key], key
    assert 290 <= fake_clock.time <= 310  # waited for the configured 5m on the fake clock only


def test_health_timeout_keeps_candidate_when_asked(ctx, aws, world, aws_like):
    flows.init(ctx, "1.0.0")
    failing_new_servers(aws, world, aws_like, "Target.Timeout")
    with pytest.raises(DeploymentFailed, match="kept for debugging"):
        flows.deploy(ctx, "2.0.0", "canary", keep_failed=True)
    assert group_tags(aws, "orders-production-g2")["kie-bluegreen:role"] == "retired"
    assert routing_generations(aws, world.listener_arn) == {"default": 1, "blue": 1, "green": None}


def test_wait_reports_progress_until_servers_get_ready(ctx, aws, world, aws_like, fake_clock, caplog):
    flows.init(ctx, "1.0.0")
    flows.phase_provision(ctx, "2.0.0")  # referenced with weight 0: AWS starts health checks
    new = [i["InstanceId"] for i in aws.autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=["orders-production-g2"])["AutoScalingGroups"][0]["Instances"]]
    aws_like.fail(new[1], "Target.Timeout")  # the second server boots slower: it passes later

    def booting(seconds, original=fake_clock.sleep):
        original(seconds)
        if fake_clock.time >= 30:
            aws_like.recover(new[1])

    import logging
    logging.getLogger("kie_bluegreen").propagate = True
    with pytest.MonkeyPatch.context() as patch, caplog.at_level("INFO", logger="kie_bluegreen"):
        patch.setattr(fake_clock, "sleep", booting)
        flows.phase_wait(ctx)
    lines = [r.getMessage().strip() for r in caplog.records if "ready" in r.getMessage()]
    assert "g2 (2.0.0): 0/2 ready, 2 initial (Elb.InitialHealthChecking) (0s)" in lines
    assert any(line.startswith("g2 (2.0.0): 1/2 ready, 1 ") for line in lines)  # one passed its checks first
    assert lines[-1].startswith("g2 (2.0.0): 2/2 ready")


def test_promote_refuses_to_route_everyone_to_an_unhealthy_green(ctx, aws, world, aws_like, fake_clock):
    flows.init(ctx, "1.0.0")
    flows.deploy(ctx, "2.0.0", "canary")
    for instance in aws.autoscaling.describe_auto_scaling_groups(
            AutoScalingGroupNames=["orders-production-g2"])["AutoScalingGroups"][0]["Instances"]:
        aws_like.fail(instance["InstanceId"], "Target.Timeout")
    fake_clock.sleep(30)
    with pytest.raises(DeploymentFailed, match="nothing was changed"):
        flows.promote(ctx)
    assert routing_generations(aws, world.listener_arn) == {"default": 1, "blue": 1, "green": 2}


def test_refusals(ctx):
    with pytest.raises(Refused, match="init"):
        flows.deploy(ctx, "2.0.0")  # nothing adopted yet
    flows.init(ctx, "1.0.0")
    with pytest.raises(Refused, match="nothing to promote"):
        flows.promote(ctx)
    with pytest.raises(Refused, match="nothing to roll back to"):
        flows.rollback(ctx)
    flows.deploy(ctx, "2.0.0", "canary")
    with pytest.raises(Refused, match="promote it or roll it back before deploying 3.0.0"):
        flows.deploy(ctx, "3.0.0")


@pytest.fixture
def no_backoff(monkeypatch):
    """botocore's retry sleeps: keep them out of the test's wall time."""
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)


def _throttle_every(aws, nth: int, code: str = "Throttling"):
    """Answer every nth HTTP request of each client with a throttling error, before moto sees it."""
    seen = {"n": 0, "throttled": 0}

    def maybe_throttle(request, **kwargs):
        seen["n"] += 1
        if seen["n"] % nth:
            return None
        seen["throttled"] += 1
        # botocore runs every before-send handler and uses the first answer: send moto's
        # handler an address it does not serve, so the throttled request is not processed.
        request.url = "https://throttled.invalid/"
        body = (f'<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>Rate exceeded</Message>'
                '</Error><RequestId>1</RequestId></ErrorResponse>').encode()
        return AWSResponse(request.url, 400, {"Content-Type": "text/xml"}, _Raw(body))

    for client in (aws.elbv2, aws.autoscaling, aws.ec2):
        client.meta.events.register_first("before-send", maybe_throttle)
    return seen


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **kwargs):
        yield self.body


def test_throttling_on_a_share_of_calls_still_converges(ctx, aws, world, no_backoff):
    seen = _throttle_every(aws, 3)
    flows.init(ctx, "1.0.0")
    flows.deploy(ctx, "2.0.0", "canary")
    flows.promote(ctx)
    flows.deploy(ctx, "3.0.0", "all-at-once")
    flows.rollback(ctx)
    assert seen["throttled"] > 20
    assert routing_generations(aws, world.listener_arn) == {"default": 2, "blue": 2, "green": None}


def test_busy_auto_scaling_is_retried_by_the_phase(ctx, aws, world, no_backoff, fake_clock):
    flows.init(ctx, "1.0.0")
    original = aws.autoscaling.create_auto_scaling_group
    answers = {"n": 0}

    def busy_twice(**kwargs):
        answers["n"] += 1
        if answers["n"] <= 2:
            from botocore.exceptions import ClientError
            raise ClientError({"Error": {"Code": "ScalingActivityInProgress", "Message": "busy"}}, "CreateAutoScalingGroup")
        return original(**kwargs)

    aws.autoscaling.create_auto_scaling_group = busy_twice
    flows.deploy(ctx, "2.0.0", "canary")
    assert answers["n"] == 3
    assert fake_clock.slept[:2] == [1, 2]  # tenacity's backoff, on the fake clock
    assert routing_generations(aws, world.listener_arn) == {"default": 1, "blue": 1, "green": 2}


def test_a_target_group_not_yet_visible_to_auto_scaling_is_retried(ctx, aws, world, fake_clock):
    """Eventual consistency: Auto Scaling may not see the target group ELB created a moment ago."""
    flows.init(ctx, "1.0.0")
    original = aws.autoscaling.create_auto_scaling_group
    answers = {"n": 0}

    def not_yet(**kwargs):
        answers["n"] += 1
        if answers["n"] == 1:
            from botocore.exceptions import ClientError
            raise ClientError({"Error": {"Code": "ValidationError",
                                         "Message": "Provided Target Groups may not be valid."}}, "CreateAutoScalingGroup")
        return original(**kwargs)

    aws.autoscaling.create_auto_scaling_group = not_yet
    flows.deploy(ctx, "2.0.0", "canary")
    assert answers["n"] == 2
    assert routing_generations(aws, world.listener_arn)["green"] == 2


def test_other_validation_errors_are_not_retried(ctx, aws):
    flows.init(ctx, "1.0.0")
    calls = {"n": 0}

    def invalid(**kwargs):
        calls["n"] += 1
        from botocore.exceptions import ClientError
        raise ClientError({"Error": {"Code": "ValidationError", "Message": "Max bound must be >= min"}},
                          "CreateAutoScalingGroup")

    aws.autoscaling.create_auto_scaling_group = invalid
    with pytest.raises(Exception, match="Max bound"):
        flows.deploy(ctx, "2.0.0", "canary")
    assert calls["n"] == 1
