"""Progressive delivery: weighted steps held and watched, CloudWatch alarms and the 5xx share
rolling a release back by themselves, the bake after a promote."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from helpers import alarm, deleted_once_drained, during_the_first_hold, group_names, routing_generations

from kie_bluegreen import flows
from kie_bluegreen.errors import ConfigError, DeploymentFailed

WEIGHTED = {"strategy": "weighted", "steps": [10, 50, 100], "step-pause": "2m"}
AT_REST_1 = {"default": 1, "blue": 1, "green": None}


def test_a_weighted_release_steps_to_the_new_group(make_config, make_ctx, aws, world, fake_clock):
    ctx = make_ctx(make_config(routing=WEIGHTED))
    flows.init(ctx, "1.0.0")
    result = flows.deploy(ctx, "2.0.0")
    shifts = [step.weight for step in result.journal.steps if step.kind == "shift"]
    watches = [step.seconds for step in result.journal.steps if step.kind == "watch"]
    assert shifts == [10, 50] and watches == [120, 120]
    assert routing_generations(aws, world.listener_arn) == {"default": 2, "blue": 2, "green": None}
    assert any("default: 10% to orders-production-g2" in change for change in result.changes)


def test_an_alarm_during_a_step_puts_everyone_back_at_once(make_config, make_ctx, aws, world, fake_clock, monkeypatch):
    alarm(aws, "orders-5xx")
    ctx = make_ctx(make_config(routing=WEIGHTED, analysis={"alarms": ["orders-5xx"]}))
    flows.init(ctx, "1.0.0")
    seen = {}

    def fire():
        seen["routing"] = routing_generations(aws, world.listener_arn)
        aws.cloudwatch.set_alarm_state(AlarmName="orders-5xx", StateValue="ALARM", StateReason="Threshold Crossed: 42 > 10")

    during_the_first_hold(monkeypatch, fire)  # during the hold of the 10% step
    with pytest.raises(DeploymentFailed) as failure:
        flows.deploy(ctx, "2.0.0")
    assert seen["routing"]["default"] == {1: 90, 2: 10}
    message = str(failure.value)
    assert "alarm orders-5xx is in ALARM" in message and "42 > 10" in message and "rolled back automatically" in message
    assert routing_generations(aws, world.listener_arn) == AT_REST_1  # the default is a plain forward to g1 again
    deleted_once_drained(aws, fake_clock, lambda: flows.cleanup(ctx), "orders-production-g2")  # retired as a rollback does


def test_a_5xx_share_over_the_limit_rolls_back(make_config, make_ctx, aws, world, fake_clock, monkeypatch):
    ctx = make_ctx(make_config(routing=WEIGHTED, analysis={"max-5xx-percent": 1.0}))
    flows.init(ctx, "1.0.0")
    balancer = world.load_balancer_arn.split(":loadbalancer/")[1]

    def errors():
        new = aws.elbv2.describe_target_groups(Names=["orders-production-g2"])["TargetGroups"][0]["TargetGroupArn"]
        dimensions = [{"Name": "LoadBalancer", "Value": balancer}, {"Name": "TargetGroup", "Value": new.split(":", 5)[5]}]
        now = datetime.fromtimestamp(fake_clock.wall(), tz=timezone.utc)
        aws.cloudwatch.put_metric_data(Namespace="AWS/ApplicationELB", MetricData=[
            {"MetricName": "RequestCount", "Dimensions": dimensions, "Value": 200, "Timestamp": now},
            {"MetricName": "HTTPCode_Target_5XX_Count", "Dimensions": dimensions, "Value": 9, "Timestamp": now}])

    during_the_first_hold(monkeypatch, errors)
    with pytest.raises(DeploymentFailed, match=r"answered 4\.5% 5xx \(9 of 200 requests\).*over analysis.max-5xx-percent 1%"):
        flows.deploy(ctx, "2.0.0")
    assert routing_generations(aws, world.listener_arn) == AT_REST_1


def test_an_alarm_during_the_bake_brings_the_previous_group_back(make_config, make_ctx, aws, world, fake_clock, monkeypatch):
    alarm(aws, "orders-p99")
    ctx = make_ctx(make_config(analysis={"alarms": ["orders-p99"], "bake": "10m"}))
    flows.init(ctx, "1.0.0")
    flows.deploy(ctx, "2.0.0", "canary")
    seen = {}

    def fire():
        listener = aws.elbv2.describe_listeners(ListenerArns=[world.listener_arn])["Listeners"][0]
        seen["members"] = listener["DefaultActions"][-1]["ForwardConfig"]["TargetGroups"]
        aws.cloudwatch.set_alarm_state(AlarmName="orders-p99", StateValue="ALARM", StateReason="p99 over 2s")

    during_the_first_hold(monkeypatch, fire)
    with pytest.raises(DeploymentFailed, match="alarm orders-p99 is in ALARM during bake"):
        flows.promote(ctx)
    # during the bake the previous group stayed referenced with weight 0 (health-checked, ready)
    assert sorted(member["Weight"] for member in seen["members"]) == [0, 100]
    assert routing_generations(aws, world.listener_arn) == AT_REST_1


def test_a_bake_without_alarms_keeps_the_previous_group_until_it_ends(make_config, make_ctx, aws, world, fake_clock):
    ctx = make_ctx(make_config(analysis={"bake": "10m"}, retire={"previous": "terminate"}))
    flows.init(ctx, "1.0.0")
    flows.deploy(ctx, "2.0.0", "all-at-once")
    kinds = [step.kind for step in ctx.journal.steps]
    assert kinds.index("watch") < kinds.index("delete-group")  # retired only after the bake
    assert sum(step.seconds for step in ctx.journal.steps if step.kind == "watch") == 600
    deleted_once_drained(aws, fake_clock, lambda: flows.cleanup(ctx), world.asg_name)


def test_a_missing_alarm_is_a_configuration_error_before_any_write(run, make_config, aws, world):
    path = make_config(routing=WEIGHTED, analysis={"alarms": ["does-not-exist"]})
    assert run(path, "init", "--version", "1.0.0").code == 0
    result = run(path, "deploy", "--version", "2.0.0")
    assert result.code == 2 and "analysis.alarms: no CloudWatch alarm named does-not-exist" in result.err
    assert "orders-production-g2" not in group_names(aws)


def test_alarms_without_data_for_a_whole_step_are_reported(make_config, make_ctx, aws, world, fake_clock):
    aws.cloudwatch.put_metric_alarm(AlarmName="quiet", MetricName="Latency", Namespace="Custom", Statistic="Average",
                                    Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    ctx = make_ctx(make_config(routing=WEIGHTED, analysis={"alarms": ["quiet"]}))
    flows.init(ctx, "1.0.0")
    result = flows.deploy(ctx, "2.0.0")
    assert any(change.startswith("warning: alarms quiet had no data") for change in result.changes)


def test_phase_shift_runs_one_step_and_promote_jumps_to_100(run, make_config, aws, world):
    path = make_config(routing=WEIGHTED)
    for argv in (("init", "--version", "1.0.0"), ("deploy", "--version", "2.0.0", "--strategy", "canary"),
                 ("phase", "shift", "--weight", "25")):
        assert run(path, *argv).code == 0, argv
    data = run(path, "--output", "json", "status").json
    assert list(data["routing"]["weights"].values()) == [75, 25]
    assert run(path, "phase", "shift", "--weight", "0").code == 0
    assert routing_generations(aws, world.listener_arn) == {"default": 1, "blue": 1, "green": 2}
    assert run(path, "phase", "shift", "--weight", "60").code == 0
    assert run(path, "promote").code == 0
    assert routing_generations(aws, world.listener_arn) == {"default": 2, "blue": 2, "green": None}


def test_the_next_phase_shift_looks_at_the_hold_before_it(run, make_config, aws, world, fake_clock):
    """Jenkins holds between two `phase shift` with its own sleep: the next shift first looks at
    the alarms, and rolls back instead of going further when one is in ALARM."""
    alarm(aws, "orders-5xx")
    path = make_config(routing=WEIGHTED, analysis={"alarms": ["orders-5xx"]})
    for argv in (("init", "--version", "1.0.0"), ("deploy", "--version", "2.0.0", "--strategy", "canary"),
                 ("phase", "shift", "--weight", "10")):
        assert run(path, *argv).code == 0, argv
    fake_clock.sleep(120)  # the hold, in Jenkins
    quiet = run(path, "--output", "json", "phase", "shift", "--weight", "50")
    assert quiet.code == 0 and [step["kind"] for step in quiet.json["steps"]][:2] == ["watch", "shift"]
    fake_clock.sleep(120)
    aws.cloudwatch.set_alarm_state(AlarmName="orders-5xx", StateValue="ALARM", StateReason="Threshold Crossed: 42 > 10")
    result = run(path, "--output", "json", "phase", "shift", "--weight", "100")
    assert result.code == 1 and "alarm orders-5xx is in ALARM during the hold at 50% before this step" in result.json["error"]
    assert routing_generations(aws, world.listener_arn) == AT_REST_1


def test_the_next_phase_shift_counts_the_5xx_share_of_the_hold(run, make_config, aws, world, fake_clock):
    path = make_config(routing=WEIGHTED, analysis={"max-5xx-percent": 1.0})
    for argv in (("init", "--version", "1.0.0"), ("deploy", "--version", "2.0.0", "--strategy", "canary"),
                 ("phase", "shift", "--weight", "10")):
        assert run(path, *argv).code == 0, argv
    balancer = world.load_balancer_arn.split(":loadbalancer/")[1]
    new = aws.elbv2.describe_target_groups(Names=["orders-production-g2"])["TargetGroups"][0]["TargetGroupArn"]
    dimensions = [{"Name": "LoadBalancer", "Value": balancer}, {"Name": "TargetGroup", "Value": new.split(":", 5)[5]}]
    fake_clock.sleep(60)  # half-way through the 2-minute hold, in Jenkins
    now = datetime.fromtimestamp(fake_clock.wall(), tz=timezone.utc)
    aws.cloudwatch.put_metric_data(Namespace="AWS/ApplicationELB", MetricData=[
        {"MetricName": "RequestCount", "Dimensions": dimensions, "Value": 200, "Timestamp": now},
        {"MetricName": "HTTPCode_Target_5XX_Count", "Dimensions": dimensions, "Value": 9, "Timestamp": now}])
    fake_clock.sleep(60)
    result = run(path, "phase", "shift", "--weight", "50")
    assert result.code == 1 and "answered 4.5% 5xx (9 of 200 requests)" in result.err
    assert routing_generations(aws, world.listener_arn) == AT_REST_1


def test_a_configuration_error_names_the_key():
    from kie_bluegreen import config
    from kie_bluegreen.sandbox import scenario
    with pytest.raises(ConfigError, match="defaults.routing.steps: expected strictly increasing percentages"):
        config.parse({**scenario.config_document(_FakeWorld()), "defaults": {"routing": {"steps": [50, 10, 100]}}},
                     "production")


class _FakeWorld:
    region = "eu-west-1"
    listener_arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/alb-ks/0a/0b"
