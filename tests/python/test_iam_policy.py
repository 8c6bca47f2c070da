"""The IAM policy document: derived from the code, nothing more, and scoped.

moto's IAM emulation ignores resources and conditions (test_iam_enforcement.py proves the
actions), so the scoping is checked here with a small evaluator of the condition operators the
policy uses, against the real ARNs of a moto world.
"""

from __future__ import annotations

import ast
import json
import pathlib
from fnmatch import fnmatchcase

import pytest
from security_fixtures import PACKAGE, aws_call_sites, iam_actions_of_code

from kie_bluegreen import flows, iam_policy
from kie_bluegreen.config import load
from kie_bluegreen.model import TAG_APP, TAG_STAGE

REPOSITORY = pathlib.Path(__file__).resolve().parents[2]
SHIPPED = REPOSITORY / "resources" / "kie-bluegreen" / "iam-policy.json"
READ_PREFIXES = ("Describe", "Get")
OURS = {f"aws:ResourceTag/{TAG_APP}": "orders", f"aws:ResourceTag/{TAG_STAGE}": "production"}
REQUEST_OURS = {
    f"aws:RequestTag/{TAG_APP}": "orders",
    f"aws:RequestTag/{TAG_STAGE}": "production",
    "aws:TagKeys": [TAG_APP, TAG_STAGE],
}
REGION = {"aws:RequestedRegion": "eu-west-1"}


# -- a tiny evaluator for the condition operators the policy uses -----------------------------


def allowed(policy: dict, action: str, resource: str, context: dict) -> bool:
    """Does some statement allow the request? (IAM semantics for StringEquals, StringLike,
    ArnLike and their ForAllValues forms; a missing key fails all but ForAllValues.)"""
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if action not in actions or not any(fnmatchcase(resource, pattern) for pattern in resources):
            continue
        if all(
            _holds(operator, key, expected, context)
            for operator, keys in statement.get("Condition", {}).items()
            for key, expected in keys.items()
        ):
            return True
    return False


def _holds(operator: str, key: str, expected, context: dict) -> bool:
    expected = expected if isinstance(expected, list) else [expected]
    quantifier, _, test = operator.rpartition(":")
    match = (lambda value, pattern: value == pattern) if test == "StringEquals" else fnmatchcase
    if test not in ("StringEquals", "StringLike", "ArnLike"):
        raise AssertionError(f"the evaluator does not know {operator}")
    actual = context.get(key)
    if quantifier == "ForAllValues":
        return all(any(match(value, pattern) for pattern in expected) for value in (actual or []))
    return actual is not None and any(match(actual, pattern) for pattern in expected)


# -- derived from the code ---------------------------------------------------------------------


def test_every_operation_the_code_calls_is_in_the_policy():
    code = iam_actions_of_code()
    assert len(code) >= 20  # the scan found the adapters' calls
    missing = code - set(iam_policy.actions(iam_policy.build(iam_policy.Scope.generic())))
    assert not missing, f"add to iam_policy.py (and docs/iam-policy.md): {sorted(missing)}"


def test_the_policy_has_nothing_the_code_does_not_need():
    granted = set(iam_policy.actions(iam_policy.build(iam_policy.Scope.generic())))
    assert granted == iam_actions_of_code() | set(iam_policy.DEPENDENT_ACTIONS)


def test_every_call_names_its_operation_literally():
    unnamed = [where for _, operation, where in aws_call_sites() if operation is None]
    assert not unnamed, f"operations must be string literals, or the policy cannot be derived: {unnamed}"


def test_only_the_aws_adapters_and_the_sandbox_use_boto3():
    users = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith(("aws/", "sandbox/")):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            )
            users += [relative for name in names if name.split(".")[0] in ("boto3", "botocore")]
    assert not users, f"AWS calls outside aws/ escape the policy tests: {users}"


# -- the document ------------------------------------------------------------------------------


def test_the_shipped_generic_policy_is_the_generated_one():
    shipped = json.loads(SHIPPED.read_text(encoding="utf-8"))
    assert shipped == iam_policy.build(iam_policy.Scope.generic()), "regenerate: kie-bluegreen iam-policy --generic"


def test_the_policy_fits_an_inline_role_policy_and_splits_into_managed_ones(run, config_path):
    policy = iam_policy.build(iam_policy.Scope.generic())
    assert iam_policy.size(policy) < iam_policy.INLINE_LIMIT  # IAM's limit for a role's inline policies
    documents = iam_policy.managed(policy)
    assert len(documents) > 1 and all(iam_policy.size(d) < iam_policy.MANAGED_LIMIT for d in documents)
    assert [s for d in documents for s in d["Statement"]] == policy["Statement"]
    result = run(config_path, "iam-policy", "--managed", "--instance-role", "kie-server-role")
    assert result.code == 0 and len(json.loads(result.out)) == len(
        iam_policy.managed(json.loads(run(config_path, "iam-policy", "--instance-role", "kie-server-role").out))
    )


def test_write_actions_are_never_granted_on_everything_without_a_scoping_condition():
    for statement in iam_policy.build(iam_policy.Scope.generic())["Statement"]:
        writes = [a for a in statement["Action"] if not a.split(":")[1].startswith(READ_PREFIXES)]
        if not writes:
            continue
        scoping = {key for keys in statement["Condition"].values() for key in keys} - {"aws:RequestedRegion"}
        assert statement["Resource"] != "*" or scoping, statement["Sid"]


def test_every_statement_but_pass_role_is_limited_to_the_region():
    for statement in iam_policy.build(iam_policy.Scope.generic())["Statement"]:
        region = statement["Condition"].get("StringEquals", {}).get("aws:RequestedRegion")
        global_service = statement["Action"] == ["iam:PassRole"]  # IAM is global: no region to request
        assert region == (None if global_service else "REGION"), statement["Sid"]


def test_optional_features_cost_no_permission_when_off(world, tmp_path):
    from kie_bluegreen.sandbox import scenario

    cfg = load(scenario.write_config(world, str(tmp_path)))  # kie.verify off, no user data
    actions = iam_policy.actions(iam_policy.build(iam_policy.Scope.of(cfg, instance_role=None)))
    assert "ec2:DescribeInstances" not in actions
    assert "ec2:CreateLaunchTemplateVersion" not in actions
    assert "iam:PassRole" not in actions
    assert "sns:Publish" not in actions  # no notify: - sns: entry


def test_notifications_may_publish_to_the_configured_topics_only(world, tmp_path):
    from kie_bluegreen.sandbox import scenario

    account = world.listener_arn.split(":")[4]
    topic = f"arn:aws:sns:eu-west-1:{account}:kie-releases"
    cfg = load(scenario.write_config(world, str(tmp_path), notify=[{"sns": topic}, {"webhook-env": "HOOK"}]))
    policy = iam_policy.build(iam_policy.Scope.of(cfg, instance_role=None))
    statement = next(s for s in policy["Statement"] if s["Sid"] == "PublishNotifications")
    assert statement["Action"] == ["sns:Publish"] and statement["Resource"] == [topic]
    assert allowed(policy, "sns:Publish", topic, REGION)
    assert not allowed(policy, "sns:Publish", topic.replace("kie-releases", "payments"), REGION)
    assert not allowed(policy, "sns:Publish", topic, {"aws:RequestedRegion": "us-east-1"})


# -- scoping, against the real ARNs of a deployed world ----------------------------------------


@pytest.fixture
def deployed(ctx, aws, world):
    """init + canary deploy of 2.0.0; the policy for that stage, its ARNs."""
    flows.init(ctx, "1.0.0")
    flows.deploy(ctx, "2.0.0", "canary")
    policy = iam_policy.build(iam_policy.Scope.of(ctx.config, "kie-server-role", world.launch_template_id))
    rules = aws.elbv2.describe_rules(ListenerArn=world.listener_arn)["Rules"]
    asgs = {
        g["AutoScalingGroupName"]: g["AutoScalingGroupARN"]
        for g in aws.autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]
    }
    target_groups = {
        g["TargetGroupName"]: g["TargetGroupArn"] for g in aws.elbv2.describe_target_groups()["TargetGroups"]
    }
    ours = [r["RuleArn"] for r in rules if not r["IsDefault"] and r["RuleArn"] != world.other_rule_arn]
    return policy, ours, asgs, target_groups


def test_rule_changes_are_limited_to_the_listener_and_our_rules(deployed, world):
    policy, our_rules, _, _ = deployed
    assert len(our_rules) == 2
    for rule in our_rules:
        assert allowed(policy, "elasticloadbalancing:ModifyRule", rule, {**REGION, **OURS})
    assert not allowed(policy, "elasticloadbalancing:ModifyRule", world.other_rule_arn, REGION)  # another team's
    assert allowed(policy, "elasticloadbalancing:ModifyListener", world.listener_arn, REGION)
    other_listener = world.listener_arn[:-4] + "beef"
    assert not allowed(policy, "elasticloadbalancing:ModifyListener", other_listener, REGION)
    assert allowed(policy, "elasticloadbalancing:CreateRule", world.listener_arn, {**REGION, **REQUEST_OURS})
    assert not allowed(policy, "elasticloadbalancing:CreateRule", world.listener_arn, REGION)  # untagged rule
    assert not allowed(policy, "elasticloadbalancing:CreateRule", other_listener, {**REGION, **REQUEST_OURS})


def test_target_groups_are_created_by_name_and_changed_by_tag(deployed):
    policy, _, _, target_groups = deployed
    new = target_groups["orders-production-g2"]
    assert allowed(policy, "elasticloadbalancing:CreateTargetGroup", new, {**REGION, **REQUEST_OURS})
    assert not allowed(policy, "elasticloadbalancing:CreateTargetGroup", new, REGION)  # without our tags
    assert not allowed(
        policy, "elasticloadbalancing:CreateTargetGroup", target_groups["billing-api"], {**REGION, **REQUEST_OURS}
    )  # not our name
    for action in ("elasticloadbalancing:DeleteTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes"):
        assert allowed(policy, action, new, {**REGION, **OURS})
        assert allowed(policy, action, target_groups["orders-kie-1"], {**REGION, **OURS})  # adopted, tagged at init
        assert not allowed(policy, action, target_groups["billing-api"], REGION)
        assert not allowed(
            policy,
            action,
            new,
            {**REGION, f"aws:ResourceTag/{TAG_APP}": "orders", f"aws:ResourceTag/{TAG_STAGE}": "staging"},
        )  # another stage


def test_tags_can_only_be_our_keys(deployed):
    policy, _, _, target_groups = deployed
    billing = target_groups["billing-api"]
    adopt = {**REGION, **REQUEST_OURS}
    assert allowed(policy, "elasticloadbalancing:AddTags", billing, adopt)  # init adopts the live group this way
    assert not allowed(policy, "elasticloadbalancing:AddTags", billing, {**adopt, "aws:TagKeys": [TAG_APP, "Name"]})
    assert not allowed(
        policy, "elasticloadbalancing:AddTags", billing, {**REGION, "aws:TagKeys": ["kie-bluegreen:role"]}
    )  # re-tagging needs it to be ours
    assert allowed(
        policy,
        "elasticloadbalancing:AddTags",
        target_groups["orders-production-g2"],
        {**REGION, **OURS, "aws:TagKeys": ["kie-bluegreen:role"]},
    )


def test_auto_scaling_groups_are_created_by_name_and_changed_by_tag(deployed):
    policy, _, asgs, target_groups = deployed
    new, live = asgs["orders-production-g2"], asgs["orders-kie-1"]
    create = {**REGION, **REQUEST_OURS, "autoscaling:TargetGroupARNs": [target_groups["orders-production-g2"]]}
    assert allowed(policy, "autoscaling:CreateAutoScalingGroup", new, create)
    assert not allowed(
        policy,
        "autoscaling:CreateAutoScalingGroup",
        new,
        {**create, "autoscaling:TargetGroupARNs": [target_groups["billing-api"]]},
    )
    assert not allowed(policy, "autoscaling:CreateAutoScalingGroup", live.replace("orders-kie-1", "billing-1"), create)
    for action in ("autoscaling:UpdateAutoScalingGroup", "autoscaling:DeleteAutoScalingGroup"):
        assert allowed(policy, action, new, {**REGION, **OURS})
        assert allowed(policy, action, live, {**REGION, **OURS})
        assert not allowed(policy, action, live, REGION)  # not (yet) ours
    assert not allowed(policy, "autoscaling:DeleteTags", new, {**REGION, **OURS, "aws:TagKeys": ["team"]})
    assert allowed(policy, "autoscaling:DeleteTags", new, {**REGION, **OURS, "aws:TagKeys": ["kie-bluegreen:capacity"]})


def test_servers_launch_only_from_the_template_with_only_the_instance_role(deployed, world):
    policy, *_ = deployed
    account = world.listener_arn.split(":")[4]
    template = f"arn:aws:ec2:eu-west-1:{account}:launch-template/{world.launch_template_id}"
    instance = f"arn:aws:ec2:eu-west-1:{account}:instance/*"
    assert allowed(policy, "ec2:RunInstances", instance, {**REGION, "ec2:LaunchTemplate": template})
    assert not allowed(policy, "ec2:RunInstances", instance, REGION)  # a direct RunInstances
    assert not allowed(
        policy,
        "ec2:RunInstances",
        instance,
        {**REGION, "ec2:LaunchTemplate": template.replace(world.launch_template_id, "lt-0123456789abcdef0")},
    )
    assert allowed(
        policy, "ec2:CreateTags", instance.replace("*", "i-1234"), {**REGION, "ec2:CreateAction": "RunInstances"}
    )
    assert not allowed(policy, "ec2:CreateTags", instance.replace("*", "i-1234"), REGION)  # tagging existing servers
    role = f"arn:aws:iam::{account}:role/kie-server-role"
    assert allowed(policy, "iam:PassRole", role, {"iam:PassedToService": "ec2.amazonaws.com"})
    assert not allowed(
        policy, "iam:PassRole", role.replace("kie-server-role", "admin"), {"iam:PassedToService": "ec2.amazonaws.com"}
    )
    assert not allowed(policy, "iam:PassRole", role, {"iam:PassedToService": "lambda.amazonaws.com"})


def test_reads_are_limited_to_the_region(deployed):
    policy, *_ = deployed
    assert allowed(policy, "elasticloadbalancing:DescribeRules", "*", REGION)
    assert not allowed(policy, "elasticloadbalancing:DescribeRules", "*", {"aws:RequestedRegion": "us-east-1"})


# -- the command -------------------------------------------------------------------------------


def test_iam_policy_prints_the_policy_of_the_stage(run, config_path, world):
    result = run(
        config_path, "iam-policy", "--instance-role", "kie-server-role", "--launch-template", world.launch_template_id
    )
    assert result.code == 0, result.err
    printed = json.loads(result.out)
    cfg = load(config_path)
    assert printed == iam_policy.build(iam_policy.Scope.of(cfg, "kie-server-role", world.launch_template_id))
    pass_role = next(s for s in printed["Statement"] if s["Sid"] == "PassInstanceRole")
    assert pass_role["Resource"] == f"arn:aws:iam::{world.listener_arn.split(':')[4]}:role/kie-server-role"
    modify_listener = next(s for s in printed["Statement"] if s["Sid"] == "SwitchDefaultRoute")
    assert modify_listener["Resource"] == world.listener_arn


def test_iam_policy_without_a_role_names_a_placeholder_and_says_so(run, config_path):
    result = run(config_path, "iam-policy")
    assert result.code == 0
    assert iam_policy.PLACEHOLDER_ROLE in result.out and "--instance-role" in result.err
    assert "iam:PassRole" not in run(config_path, "iam-policy", "--no-instance-role").out


def test_iam_policy_generic_needs_no_configuration(run, tmp_path):
    result = run(str(tmp_path / "missing.yaml"), "--output", "json", "iam-policy", "--generic")
    assert result.code == 0, result.err
    assert result.json["policy"] == json.loads(SHIPPED.read_text(encoding="utf-8"))


@pytest.mark.parametrize("option, value", [("--instance-role", "admin;rm -rf /"), ("--launch-template", "../lt-1")])
def test_iam_policy_refuses_malformed_names(run, config_path, option, value):
    result = run(config_path, "iam-policy", option, value)
    assert result.code == 2
    assert result.err.startswith(f"kie-bluegreen: {option}: expected")
