"""The least-privilege IAM policy of the runner (`kie-bluegreen iam-policy`, docs/iam-policy.md).

Every action the runner calls, and the three AWS checks on its behalf when it creates an Auto
Scaling group from a launch template (ec2:RunInstances, ec2:CreateTags, iam:PassRole); nothing
else. Write actions are scoped by resource ARN (the configured listener and its rules, target
groups and Auto Scaling groups named `<app>-<stage>-g<N>`) and by the `kie-bluegreen:app` /
`kie-bluegreen:stage` tags, where AWS supports those conditions. Describe actions support no
resource-level permissions, so they are limited to the region only.

tests/python/test_iam_policy.py derives the operations from the code and checks they are all
here; test_iam_enforcement.py runs the flows under moto's IAM enforcement with this policy and
with each action removed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .config import LISTENER_ARN_PATTERN, StageConfig
from .errors import ConfigError
from .model import TAG_APP, TAG_PREFIX, TAG_STAGE

VERSION = "2012-10-17"
OUR_TAG_KEYS = TAG_PREFIX + "*"
ROLE_ARN_PATTERN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
ROLE_NAME_PATTERN = re.compile(r"[\w+=,.@-]{1,64}")
LAUNCH_TEMPLATE_ID_PATTERN = re.compile(r"lt-[0-9a-f]{8,17}")
PLACEHOLDER_ROLE = "KIE_SERVER_INSTANCE_ROLE"

# Actions AWS authorizes on the caller's behalf inside another call: the runner never calls
# them, but CreateAutoScalingGroup with a launch template fails without them (Amazon EC2 Auto
# Scaling user guide, "Amazon EC2 Auto Scaling API permissions").
DEPENDENT_ACTIONS = {
    "ec2:RunInstances": "autoscaling:CreateAutoScalingGroup with a launch template",
    "ec2:CreateTags": "autoscaling:CreateAutoScalingGroup when the launch template has tag specifications",
    "iam:PassRole": "autoscaling:CreateAutoScalingGroup when the launch template has an instance profile or the"
    " group uses a service-linked role other than the default; autoscaling:PutLifecycleHook with a role",
    "ssm:GetParameters": "autoscaling:CreateAutoScalingGroup when the launch template's AMI is resolve:ssm:<parameter>",
}
PLACEHOLDER_AUTOSCALING_ROLE = "AUTOSCALING_ROLE"
PLACEHOLDER_TOPIC = "TOPIC_NAME"
PLACEHOLDER_SSM_PARAMETER = "AMI_PARAMETER"

READ_ACTIONS = (
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeInstanceRefreshes",
    "autoscaling:DescribeLifecycleHooks",
    "autoscaling:DescribeNotificationConfigurations",
    "autoscaling:DescribePolicies",
    "autoscaling:DescribeScheduledActions",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:GetMetricData",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:DescribeSubnets",
    "elasticloadbalancing:DescribeAccountLimits",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
)
# Instance addresses (kie.verify) and release tags (a single group rolled in place).
INSTANCE_READ = "ec2:DescribeInstances"


@dataclass(frozen=True)
class Scope:
    """What one policy is for: where the listener is, whose groups, which template and role."""

    partition: str
    region: str
    account: str
    load_balancer: str  # "<name>/<id>" as in the listener ARN
    listener_arn: str
    app: str
    stage: str
    instance_role: str | None  # role ARN for iam:PassRole; None: no statement
    launch_template: str = "*"  # a launch template id, or * for any in the account and region
    # Roles passed to Auto Scaling: a custom service-linked role, lifecycle hook roles (ARNs).
    autoscaling_roles: tuple[str, ...] = ()
    ssm_parameters: tuple[str, ...] = ()  # parameters a `resolve:ssm:` AMI reads (names)
    kie_verify: bool = True  # reads instance addresses (ec2:DescribeInstances)
    single_group: bool = True  # reads each server's release tag (ec2:DescribeInstances)
    user_data: bool = True  # writes launch template versions (ec2:CreateLaunchTemplateVersion)
    sns_topics: tuple[str, ...] = ()  # topic ARNs notifications are published to (sns:Publish)

    @classmethod
    def of(
        cls,
        config: StageConfig,
        instance_role: str | None = PLACEHOLDER_ROLE,
        launch_template: str | None = None,
        autoscaling_roles: tuple = (),
        ssm_parameters: tuple = (),
    ) -> "Scope":
        match = LISTENER_ARN_PATTERN.fullmatch(config.listener_arn)
        if match is None:  # config.py already checked it; this is a guard for hand-built configs
            raise ConfigError(f"listener-arn: not an ALB listener ARN: {config.listener_arn!r}")
        partition, _, _, account, resource = config.listener_arn.split(":", 5)[1:]
        name, lb_id, _ = resource.split("/")[2:]
        return cls(
            partition=partition,
            region=config.region,
            account=account,
            load_balancer=f"{name}/{lb_id}",
            listener_arn=config.listener_arn,
            app=config.app,
            stage=config.stage,
            instance_role=_role_arn(instance_role, partition, account) if instance_role else None,
            launch_template=_launch_template(launch_template),
            autoscaling_roles=tuple(
                _role_arn(role, partition, account, "--autoscaling-role") for role in autoscaling_roles
            ),
            ssm_parameters=tuple(_parameter(name) for name in ssm_parameters),
            kie_verify=config.kie.verify,
            user_data=config.launch_template.user_data is not None,
            single_group=config.topology == "single-group",
            sns_topics=tuple(entry.sns for entry in config.notify if entry.sns),
        )

    @classmethod
    def generic(cls) -> "Scope":
        """Placeholders in capitals, every optional feature on: the policy shipped in resources/."""
        return cls(
            partition="aws",
            region="REGION",
            account="ACCOUNT_ID",
            load_balancer="ALB_NAME/ALB_ID",
            listener_arn="arn:aws:elasticloadbalancing:REGION:ACCOUNT_ID:listener/app/ALB_NAME/ALB_ID/LISTENER_ID",
            app="APP",
            stage="STAGE",
            instance_role=f"arn:aws:iam::ACCOUNT_ID:role/{PLACEHOLDER_ROLE}",
            autoscaling_roles=(f"arn:aws:iam::ACCOUNT_ID:role/{PLACEHOLDER_AUTOSCALING_ROLE}",),
            ssm_parameters=(PLACEHOLDER_SSM_PARAMETER,),
            sns_topics=(f"arn:aws:sns:REGION:ACCOUNT_ID:{PLACEHOLDER_TOPIC}",),
        )

    def arn(self, service: str, resource: str, region: bool = True) -> str:
        return f"arn:{self.partition}:{service}:{self.region if region else ''}:{self.account}:{resource}"

    @property
    def group_prefix(self) -> str:
        """Names of the groups the runner creates: `<app>-<stage>-g<N>` (config.group_name)."""
        return f"{self.app}-{self.stage}-g"

    @property
    def pair_group(self) -> str:
        """The second group of a fixed pair that init creates (config.pair_name)."""
        return f"{self.app}-{self.stage}-pair"


def build(scope: Scope) -> dict:
    """The policy document for one scope."""
    statements = [statement for statement in _statements(scope) if statement]
    return {"Version": VERSION, "Statement": statements}


INLINE_LIMIT = 10240  # characters, whitespace excluded: all inline policies of one IAM role together
MANAGED_LIMIT = 6144  # characters, whitespace excluded: one managed policy


def size(policy: dict) -> int:
    return len(json.dumps(policy, separators=(",", ":")))


def managed(policy: dict, limit: int = MANAGED_LIMIT) -> list[dict]:
    """The same statements split into documents that each fit a managed policy (in order)."""
    documents: list[dict] = []
    for statement in policy["Statement"]:
        if documents and size({**documents[-1], "Statement": documents[-1]["Statement"] + [statement]}) < limit:
            documents[-1]["Statement"].append(statement)
        else:
            documents.append({"Version": VERSION, "Statement": [statement]})
    return documents


def actions(policy: dict) -> list[str]:
    """Every action the policy allows, sorted."""
    return sorted({action for statement in policy["Statement"] for action in _as_list(statement["Action"])})


def actions_only(policy: dict) -> dict:
    """The same actions on every resource without conditions: what moto's IAM emulation can
    evaluate (it denies statements whose conditions it does not know)."""
    return {"Version": VERSION, "Statement": [{"Effect": "Allow", "Action": actions(policy), "Resource": "*"}]}


# ---------------------------------------------------------------------------------------------


def _statements(s: Scope) -> list[dict | None]:
    rules = s.arn("elasticloadbalancing", f"listener-rule/app/{s.load_balancer}/{s.listener_arn.rsplit('/', 1)[1]}/*")
    any_target_group = s.arn("elasticloadbalancing", "targetgroup/*")
    new_target_groups = s.arn("elasticloadbalancing", f"targetgroup/{s.group_prefix}*/*")
    any_asg = s.arn("autoscaling", "autoScalingGroup:*:autoScalingGroupName/*")
    new_asgs = s.arn("autoscaling", f"autoScalingGroup:*:autoScalingGroupName/{s.group_prefix}*")
    pair_asg = s.arn("autoscaling", f"autoScalingGroup:*:autoScalingGroupName/{s.pair_group}")
    template = s.arn("ec2", f"launch-template/{s.launch_template}")
    region = {"StringEquals": {"aws:RequestedRegion": s.region}}
    ours = _with(
        region, {"StringEquals": {f"aws:ResourceTag/{TAG_APP}": s.app, f"aws:ResourceTag/{TAG_STAGE}": s.stage}}
    )
    tagged_ours = _with(
        region, {"StringEquals": {f"aws:RequestTag/{TAG_APP}": s.app, f"aws:RequestTag/{TAG_STAGE}": s.stage}}
    )
    only_our_keys = {"ForAllValues:StringLike": {"aws:TagKeys": [OUR_TAG_KEYS]}}
    reads = list(READ_ACTIONS) + ([INSTANCE_READ] if s.kie_verify or s.single_group else [])
    return [
        _allow("ReadFleetState", reads, "*", region),
        _allow("SwitchDefaultRoute", ["elasticloadbalancing:ModifyListener"], s.listener_arn, region),
        _allow("CreateHeaderRules", ["elasticloadbalancing:CreateRule"], [s.listener_arn, rules], tagged_ours),
        _allow("SwitchHeaderRules", ["elasticloadbalancing:ModifyRule"], rules, ours),
        _allow(
            "TagOnCreate",
            ["elasticloadbalancing:AddTags"],
            [rules, new_target_groups],
            _with(
                tagged_ours,
                {"StringEquals": {"elasticloadbalancing:CreateAction": ["CreateRule", "CreateTargetGroup"]}},
            ),
        ),
        _allow(
            "TagManagedRulesAndTargetGroups",
            ["elasticloadbalancing:AddTags"],
            [rules, any_target_group],
            _with(ours, only_our_keys),
        ),
        _allow("CreateTargetGroups", ["elasticloadbalancing:CreateTargetGroup"], new_target_groups, tagged_ours),
        _allow(
            "ManageTargetGroups",
            ["elasticloadbalancing:DeleteTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes"],
            any_target_group,
            ours,
        ),
        _allow(
            "CreateServerGroups",
            ["autoscaling:CreateAutoScalingGroup"],
            [new_asgs, pair_asg],
            _with(tagged_ours, {"ForAllValues:ArnLike": {"autoscaling:TargetGroupARNs": [new_target_groups]}}),
        ),
        # Resize, delete, copy the live group's settings onto a new one, move scheduled actions.
        _allow(
            "ManageServerGroups",
            [
                "autoscaling:DeleteAutoScalingGroup",
                "autoscaling:UpdateAutoScalingGroup",
                "autoscaling:EnableMetricsCollection",
                "autoscaling:PutLifecycleHook",
                "autoscaling:PutNotificationConfiguration",
                "autoscaling:PutScalingPolicy",
                "autoscaling:PutWarmPool",
                "autoscaling:SuspendProcesses",
                "autoscaling:DeleteScheduledAction",
                "autoscaling:PutScheduledUpdateGroupAction",
                "autoscaling:AttachLoadBalancerTargetGroups",
                "autoscaling:DetachLoadBalancerTargetGroups",
                "autoscaling:StartInstanceRefresh",
                "autoscaling:RollbackInstanceRefresh",
            ],
            any_asg,
            ours,
        ),
        _allow(
            "TagServerGroups",
            ["autoscaling:CreateOrUpdateTags", "autoscaling:DeleteTags"],
            any_asg,
            _with(ours, only_our_keys),
        ),
        _allow(
            "AdoptLiveGroup",
            ["autoscaling:CreateOrUpdateTags", "elasticloadbalancing:AddTags"],
            [any_asg, any_target_group],
            _with(tagged_ours, only_our_keys),
        ),
        _allow(
            "LaunchServers", ["ec2:RunInstances"], "*", _with(region, {"ArnLike": {"ec2:LaunchTemplate": template}})
        ),
        _allow(
            "TagServersAtLaunch",
            ["ec2:CreateTags"],
            [s.arn("ec2", f"{kind}/*") for kind in ("instance", "volume", "network-interface")],
            _with(region, {"StringEquals": {"ec2:CreateAction": "RunInstances"}}),
        ),
        _allow(
            "PassInstanceRole",
            ["iam:PassRole"],
            s.instance_role,
            {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
        )
        if s.instance_role
        else None,
        _allow(
            "PassRolesToAutoScaling",
            ["iam:PassRole"],
            list(s.autoscaling_roles),
            {"StringEquals": {"iam:PassedToService": "autoscaling.amazonaws.com"}},
        )
        if s.autoscaling_roles
        else None,
        _allow(
            "ResolveAmiParameters",
            ["ssm:GetParameters"],
            [s.arn("ssm", f"parameter/{name.lstrip('/')}") for name in s.ssm_parameters],
            region,
        )
        if s.ssm_parameters
        else None,
        _allow("NewLaunchTemplateVersions", ["ec2:CreateLaunchTemplateVersion"], template, region)
        if s.user_data
        else None,
        # sns:Publish supports the topic as its resource (Service Authorization Reference, "Actions,
        # resources, and condition keys for Amazon SNS").
        _allow("PublishNotifications", ["sns:Publish"], list(s.sns_topics), region) if s.sns_topics else None,
    ]


def _allow(sid: str, action_list: list[str], resource, condition: dict) -> dict:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(action_list), "Resource": resource, "Condition": condition}


def _with(*conditions: dict) -> dict:
    """Merge condition blocks (operator -> {key: value}); all keys must hold."""
    merged: dict = {}
    for condition in conditions:
        for operator, keys in condition.items():
            merged.setdefault(operator, {}).update(keys)
    return merged


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _role_arn(role: str, partition: str, account: str, option: str = "--instance-role") -> str:
    if ROLE_ARN_PATTERN.fullmatch(role):
        return role
    if ROLE_NAME_PATTERN.fullmatch(role):
        return f"arn:{partition}:iam::{account}:role/{role}"
    raise ConfigError(f"{option}: expected a role name or ARN (arn:aws:iam::123456789012:role/NAME), got {role!r}")


def _parameter(name: str) -> str:
    if not re.fullmatch(r"/?[A-Za-z0-9_.\-/]{1,2048}", name):
        raise ConfigError(
            f"--ssm-parameter: expected a parameter name like /aws/service/ami-amazon-linux-latest/..., got {name!r}"
        )
    return name


def _launch_template(template: str | None) -> str:
    if template is None:
        return "*"
    if not LAUNCH_TEMPLATE_ID_PATTERN.fullmatch(template):
        raise ConfigError(
            f"--launch-template: expected a launch template id like lt-0123456789abcdef0, got {template!r}"
        )
    return template
