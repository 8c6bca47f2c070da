"""Test helpers that read AWS state back (assert the resulting state, not the calls made)."""

from __future__ import annotations

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
            (g["AutoScalingGroupName"], g["MinSize"], g["MaxSize"], g["DesiredCapacity"],
             tuple(sorted(g["TargetGroupARNs"])), tuple(sorted((t["Key"], t["Value"]) for t in g["Tags"])))
            for g in groups),
        "target_groups": sorted(arns),
        "attributes": {arn: aws.elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"] for arn in arns},
        "rules": rules,
        "listener": aws.elbv2.describe_listeners(ListenerArns=[listener_arn])["Listeners"],
        "tags": sorted((t["ResourceArn"], tuple(sorted((x["Key"], x["Value"]) for x in t["Tags"]))) for t in tags),
    }


def routing_generations(aws, listener_arn: str) -> dict:
    """{'default': 1, 'blue': 1, 'green': None(404)} read straight from the listener and tags."""
    rules = aws.elbv2.describe_rules(ListenerArn=listener_arn)["Rules"]
    tags = {t["ResourceArn"]: {x["Key"]: x["Value"] for x in t["Tags"]}
            for t in aws.elbv2.describe_tags(ResourceArns=[r["RuleArn"] for r in rules])["TagDescriptions"]}
    result = {}
    for rule in rules:
        route = "default" if rule["IsDefault"] else tags.get(rule["RuleArn"], {}).get("kie-bluegreen:rule")
        if route:
            result[route] = _generation_of(aws, rule["Actions"][-1])
    return result


def _generation_of(aws, action: dict):
    if action["Type"] == "fixed-response":
        assert action["FixedResponseConfig"]["StatusCode"] == "404"
        return None
    arn = action["TargetGroupArn"]
    tags = aws.elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]
    generation = {t["Key"]: t["Value"] for t in tags}.get("kie-bluegreen:generation")
    return int(generation) if generation else arn


def group_tags(aws, name: str) -> dict:
    group = aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
    return {t["Key"]: t["Value"] for t in group[0]["Tags"]} if group else {}


def group_names(aws) -> list[str]:
    return sorted(g["AutoScalingGroupName"] for g in aws.autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"])


__all__ = ["FIXED_404", "snapshot", "routing_generations", "group_tags", "group_names"]
