"""Test helpers: read AWS state back (assert the resulting state, not the calls made), and the
moto plumbing the fixtures in conftest.py use."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil

from kie_bluegreen.model import FIXED_404


def snapshot(aws, listener_arn: str) -> dict:
    """Everything the runner could change, as plain data, to compare before and after."""
    groups = aws.autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]
    target_groups = aws.elbv2.describe_target_groups()["TargetGroups"]
    arns = [tg["TargetGroupArn"] for tg in target_groups]
    rules = aws.elbv2.describe_rules(ListenerArn=listener_arn)["Rules"]
    rule_arns = [rule["RuleArn"] for rule in rules if not rule["IsDefault"]]
    tags = aws.elbv2.describe_tags(ResourceArns=arns + rule_arns)["TagDescriptions"] if arns + rule_arns else []
    return {
        "groups": sorted(
            (
                g["AutoScalingGroupName"],
                g["MinSize"],
                g["MaxSize"],
                g["DesiredCapacity"],
                tuple(sorted(g["TargetGroupARNs"])),
                tuple(sorted((t["Key"], t["Value"]) for t in g["Tags"])),
            )
            for g in groups
        ),
        "target_groups": sorted(arns),
        "attributes": {
            arn: aws.elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"] for arn in arns
        },
        "rules": rules,
        "listener": aws.elbv2.describe_listeners(ListenerArns=[listener_arn])["Listeners"],
        "tags": sorted((t["ResourceArn"], tuple(sorted((x["Key"], x["Value"]) for x in t["Tags"]))) for t in tags),
    }


def routing_generations(aws, listener_arn: str) -> dict:
    """{'default': 1, 'blue': 1, 'green': None(404)} read straight from the listener and tags."""
    rules = aws.elbv2.describe_rules(ListenerArn=listener_arn)["Rules"]
    tags = {
        t["ResourceArn"]: {x["Key"]: x["Value"] for x in t["Tags"]}
        for t in aws.elbv2.describe_tags(ResourceArns=[r["RuleArn"] for r in rules])["TagDescriptions"]
    }
    result = {}
    for rule in rules:
        route = "default" if rule["IsDefault"] else tags.get(rule["RuleArn"], {}).get("kie-bluegreen:rule")
        if route:
            result[route] = _generation_of(aws, rule["Actions"][-1])
    return result


def _generation_of(aws, action: dict):
    """The generation a routing action sends traffic to; while traffic is split, {generation:
    weight}. A weight-0 member (health-checked, no traffic) is not part of the routing."""
    if action["Type"] == "fixed-response":
        assert action["FixedResponseConfig"]["StatusCode"] == "404"
        return None
    members = [
        (g["TargetGroupArn"], g.get("Weight", 1)) for g in (action.get("ForwardConfig") or {}).get("TargetGroups", [])
    ]
    members = [(arn, weight) for arn, weight in members if weight > 0] or [(action["TargetGroupArn"], 1)]
    if len(members) > 1:
        return {_generation_of_group(aws, arn): weight for arn, weight in members}
    return _generation_of_group(aws, members[0][0])


def _generation_of_group(aws, arn: str):
    tags = aws.elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]
    generation = {t["Key"]: t["Value"] for t in tags}.get("kie-bluegreen:generation")
    return int(generation) if generation else arn


def fingerprint(aws, listener_arn: str) -> dict:
    """AWS as the runner leaves it, comparable across worlds: ARNs become names, timestamps
    become "set". Routing (with weights), rules and their tags, groups and target groups."""
    target_groups = aws.elbv2.describe_target_groups()["TargetGroups"]
    names = {tg["TargetGroupArn"]: tg["TargetGroupName"] for tg in target_groups}
    rules = aws.elbv2.describe_rules(ListenerArn=listener_arn)["Rules"]
    arns = list(names) + [rule["RuleArn"] for rule in rules if not rule["IsDefault"]]
    tags = (
        {
            t["ResourceArn"]: _normal_tags(t["Tags"])
            for t in aws.elbv2.describe_tags(ResourceArns=arns)["TagDescriptions"]
        }
        if arns
        else {}
    )

    def action(item: dict) -> tuple:
        if item["Type"] == "forward":
            members = [
                (g["TargetGroupArn"], g.get("Weight", 1))
                for g in (item.get("ForwardConfig") or {}).get("TargetGroups", [])
            ]
            members = members or [(item["TargetGroupArn"], 1)]
            return ("forward", tuple(sorted((names.get(arn, arn), weight) for arn, weight in members)))
        if item["Type"] == "fixed-response":
            return ("fixed-response", item["FixedResponseConfig"]["StatusCode"])
        return (item["Type"],)

    groups = aws.autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]
    return {
        "rules": sorted(
            (
                str(rule["Priority"]),
                tuple(action(a) for a in sorted(rule["Actions"], key=lambda a: a.get("Order", 0))),
                tags.get(rule["RuleArn"], ()),
            )
            for rule in rules
        ),
        "target_groups": sorted((name, tags.get(arn, ()), _delay(aws, arn)) for arn, name in names.items()),
        "groups": sorted(
            (
                g["AutoScalingGroupName"],
                g["MinSize"],
                g["MaxSize"],
                g["DesiredCapacity"],
                tuple(sorted(names.get(arn, "(deleted)") for arn in g["TargetGroupARNs"])),
                _normal_tags(g["Tags"]),
            )
            for g in groups
        ),
    }


def _delay(aws, arn: str) -> str:
    attributes = aws.elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]
    return next((a["Value"] for a in attributes if a["Key"] == "deregistration_delay.timeout_seconds"), "")


def _normal_tags(tags: list) -> tuple:
    return tuple(sorted((t["Key"], "set" if t["Key"] == "kie-bluegreen:unrouted-at" else t["Value"]) for t in tags))


def fresh_world(aws, monkeypatch, tmp_path, **stage_overrides):
    """A new, empty moto account with the scenario's world and its configuration file."""
    from kie_bluegreen.sandbox import scenario

    fresh_account(monkeypatch)
    world = scenario.build(aws)
    directory = tmp_path / f"world-{next(_worlds)}"
    directory.mkdir()
    return world, scenario.write_config(world, str(directory), **stage_overrides)


_worlds = itertools.count(1)


def group_tags(aws, name: str) -> dict:
    group = aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
    return {t["Key"]: t["Value"] for t in group[0]["Tags"]} if group else {}


def deleted_once_drained(aws, clock, run_again, name: str) -> None:
    """A retired group is scaled to zero and AWS drains its servers (the deregistration delay,
    30 s in the scenario) before terminating them; the next run then deletes the group. The
    runner never blocks on that drain."""
    assert name in group_names(aws), f"{name} was deleted before AWS drained it"
    group = aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    assert group["DesiredCapacity"] == 0
    clock.sleep(31)
    run_again()
    assert name not in group_names(aws)


def alarm(aws, name: str) -> None:
    """A CloudWatch alarm on the 5xx count, in OK."""
    aws.cloudwatch.put_metric_alarm(
        AlarmName=name,
        MetricName="HTTPCode_Target_5XX_Count",
        Namespace="AWS/ApplicationELB",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=10,
        ComparisonOperator="GreaterThanThreshold",
    )
    aws.cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="quiet")


def during_the_first_hold(monkeypatch, action) -> None:
    """Run `action` once, in the middle of the first held step (before its second look)."""
    from kie_bluegreen import analysis

    original = analysis.Watcher.look
    seen = {"n": 0}

    def look(self):
        seen["n"] += 1
        if seen["n"] == 2:
            action()
        return original(self)

    monkeypatch.setattr(analysis.Watcher, "look", look)


def group_names(aws) -> list[str]:
    return sorted(
        g["AutoScalingGroupName"] for g in aws.autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]
    )


# -- moto plumbing ------------------------------------------------------------------------------

_accounts = itertools.count(200_000_000_001)


@contextlib.contextmanager
def shared_botocore_models():
    """Every boto3 session of the block shares one botocore loader, so the service models (the
    EC2 one is megabytes of JSON) are parsed once instead of once per client. Speed only."""
    import botocore.session

    shared = {}
    original = botocore.session.create_loader

    def create_loader(search_paths_string=None):
        if search_paths_string not in shared:
            shared[search_paths_string] = original(search_paths_string)
        return shared[search_paths_string]

    botocore.session.create_loader = create_loader
    try:
        yield
    finally:
        botocore.session.create_loader = original


def fresh_account(monkeypatch) -> str:
    """Send every AWS call of the test to a new, empty moto account (moto keys its backends by
    account, read from MOTO_ACCOUNT_ID on each request): a new world without resetting moto."""
    account = str(next(_accounts))
    monkeypatch.setenv("MOTO_ACCOUNT_ID", account)
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # the scenario's AMI id is not checked
    return account


def forget(account: str) -> None:
    """Drop an account's backends, so mock_aws's final reset does not rebuild each one."""
    from moto.core.base_backend import BackendDict

    for backends in list(getattr(BackendDict, "_instances", [])):
        backends.pop(account, None)


__all__ = [
    "FIXED_404",
    "snapshot",
    "fingerprint",
    "fresh_world",
    "deleted_once_drained",
    "alarm",
    "during_the_first_hold",
    "routing_generations",
    "group_tags",
    "group_names",
    "shared_botocore_models",
    "fresh_account",
    "forget",
]


# The repository, and the Groovy tests that the Python tests run through Debian's groovy.
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GROOVY_TESTS = os.path.join(ROOT, "tests", "groovy")


def java_home() -> str:
    """As tests/groovy/run.sh: JAVA_HOME if valid, else Debian's Java 17, else the java on PATH."""
    for home in (os.environ.get("JAVA_HOME", ""), "/usr/lib/jvm/java-17-openjdk-amd64"):
        if home and os.access(os.path.join(home, "bin", "java"), os.X_OK):
            return home
    java = shutil.which("java")
    return os.path.dirname(os.path.dirname(os.path.realpath(java))) if java else ""


# A listener that logs users in (authenticate actions need an HTTPS listener).
COGNITO = {"Type": "authenticate-cognito", "Order": 1, "AuthenticateCognitoConfig": {
    "UserPoolArn": "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_abcdef",
    "UserPoolClientId": "client-1", "UserPoolDomain": "orders-login", "OnUnauthenticatedRequest": "deny"}}


def log_in_first(aws, world, login: dict) -> None:
    aws.elbv2.modify_listener(ListenerArn=world.listener_arn, DefaultActions=[
        login, {"Type": "forward", "TargetGroupArn": world.target_group_arn, "Order": 2}])


def our_rules(aws, world) -> list[dict]:
    rules = [r for r in aws.elbv2.describe_rules(ListenerArn=world.listener_arn)["Rules"] if not r["IsDefault"]]
    tags = {t["ResourceArn"]: {x["Key"]: x["Value"] for x in t["Tags"]}
            for t in aws.elbv2.describe_tags(ResourceArns=[r["RuleArn"] for r in rules])["TagDescriptions"]}
    return [r for r in rules if "kie-bluegreen:rule" in tags.get(r["RuleArn"], {})]


def login_of(actions: list[dict]) -> list[tuple]:
    ordered = sorted(actions, key=lambda a: a.get("Order", 0))
    return [(a["Type"], {k: v for k, v in (a.get("AuthenticateCognitoConfig") or a.get("AuthenticateOidcConfig")).items()
                         if k not in ("ClientSecret", "UseExistingClientSecret")})
            for a in ordered if a["Type"].startswith("authenticate-")]


def assert_every_rule_logs_in_first(aws, world):
    default = aws.elbv2.describe_listeners(ListenerArns=[world.listener_arn])["Listeners"][0]["DefaultActions"]
    rules = our_rules(aws, world)
    assert len(rules) == 2
    for rule in rules:
        ordered = sorted(rule["Actions"], key=lambda a: a.get("Order", 0))
        assert ordered[0]["Type"].startswith("authenticate-"), rule
        assert login_of(rule["Actions"]) == login_of(default), rule


def deploy_stopped_during_the_refresh(ctx) -> None:
    """A single-group deploy whose agent died (KeyboardInterrupt, which nothing in the runner
    catches as a failure) while AWS replaced the servers."""
    from kie_bluegreen import executor, flows
    from kie_bluegreen.steps import WaitRefresh

    def stopped(run, step):
        raise KeyboardInterrupt

    original = executor.STEP_ACTIONS[WaitRefresh]
    executor.STEP_ACTIONS[WaitRefresh] = stopped
    try:
        flows.deploy(ctx, "2.0.0")
    except KeyboardInterrupt:
        pass
    finally:
        executor.STEP_ACTIONS[WaitRefresh] = original
