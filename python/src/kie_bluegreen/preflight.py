"""Preflight: cheap read-only checks before a command changes anything.

Every command that can change AWS (init, deploy, promote, rollback, cleanup, every `phase`,
`plan` too) runs them: first the listener, its load balancer and the header rule priorities;
then it reads the state and plans; then the checks of what that plan will do (names it will
create, the launch template and subnets of servers it will launch, the zones they land in, tag
and quota limits, whether our header rules can log users in like the default action).
Each check reads a little from AWS and either passes with a short detail or raises an error
whose one line says what to fix: ConfigError (exit 2) when the configuration or the arguments
must change, AwsError (exit 4) when the account must (credentials, missing resources, quotas),
Refused (exit 3) when the state does not allow the command. `kie-bluegreen preflight` runs
them alone and shows each one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from . import planner
from . import state as fleet
from .aws.alb import ListenerView
from .aws.api import AwsCallError
from .aws.asg import AsgView
from .aws.lookups import Lookups
from .context import Context
from .errors import AwsError, ConfigError
from .model import TAG_APP, TAG_PREFIX, TAG_STAGE, Role, is_target_group
from .phases.provision import user_data_for
from .state import FleetState
from .steps import (
    CreateGroup,
    CreateTargetGroup,
    Plan,
    Reference,
    Route,
    ScaleUp,
    Shift,
    SyncLogin,
    Watch,
    is_placeholder,
)

TARGET_GROUP_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?")
MAX_TAG_VALUE = 256  # ELB and Auto Scaling tag values
MAX_GROUP_TAGS = 50  # tags per Auto Scaling group
CREDENTIAL_CODES = frozenset(
    {
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "AuthFailure",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "NoCredentials",
    }
)
COMMANDS = ("deploy", "promote", "rollback")
# `preflight deploy` without --version checks a deploy of a release that is not live yet.
ASSUMED_VERSION = "0.0.0-preflight"


@dataclass(frozen=True)
class Passed:
    check: str
    detail: str


@dataclass
class Preflight:
    ctx: Context
    command: str  # the flow the checks are for: init, deploy, promote, rollback, cleanup, retire, shift
    request: planner.Request | None = None
    phase: str | None = None  # a `phase` command runs only this slice of the plan
    listener: ListenerView | None = None
    state: FleetState | None = None
    plan: Plan | None = None
    balancer: dict = field(default_factory=dict)

    @property
    def lookups(self) -> Lookups:
        return Lookups(self.ctx.api)

    # What the checks before read: the listener (first check), the state and the plan (the check
    # "what the command would do").
    @property
    def listener_view(self) -> ListenerView:
        if self.listener is None:
            raise RuntimeError("preflight: the listener is read by the first check")
        return self.listener

    @property
    def fleet(self) -> FleetState:
        if self.state is None:
            raise RuntimeError("preflight: the state is read with the plan")
        return self.state

    @property
    def planned(self) -> Plan:
        if self.plan is None:
            raise RuntimeError("preflight: the plan is read by the check 'what the command would do'")
        return self.plan

    def checks(self) -> list[tuple[str, Callable[[], str]]]:
        return self.listener_checks() + self.plan_checks()

    def listener_checks(self) -> list[tuple[str, Callable[[], str]]]:
        """The checks before any state is read."""
        return [
            ("credentials and listener", self.check_listener),
            ("load balancer", self.check_load_balancer),
            ("header rule priorities", self.check_priorities),
        ]

    def plan_checks(self) -> list[tuple[str, Callable[[], str]]]:
        """Read the state, plan, and check what the plan will do."""
        return [
            ("what the command would do", self.read_plan),
            ("names", self.check_names),
            ("launch template", self.check_launch_template),
            ("subnets", self.check_subnets),
            ("tags", self.check_tags),
            ("login", self.check_login),
            ("alarms", self.check_alarms),
            ("quotas", self.check_quotas),
        ]

    # -- the listener, before any state is read ---------------------------------------------------

    def check_listener(self) -> str:
        cfg = self.ctx.config
        try:
            self.listener = self.ctx.alb.read_listener(cfg.listener_arn, cfg.routing.header, cfg.app, cfg.stage)
        except AwsCallError as exc:
            if exc.code in CREDENTIAL_CODES:
                raise AwsError(
                    f"AWS credentials do not work ({exc.code}): set AWS_PROFILE, or the access key of"
                    " the deploying role (the standard boto3 chain); nothing was changed"
                ) from None
            if exc.code == "ListenerNotFound":
                raise ConfigError(
                    f"stages.{cfg.stage}.listener-arn: no such listener in region {cfg.region} of the"
                    f" account in use: {cfg.listener_arn}; fix listener-arn (or use that account's credentials)"
                ) from None
            raise
        return f"{len(self.listener.rules)} rules, ours: {', '.join(sorted(self.listener.ours)) or 'none yet'}"

    def check_load_balancer(self) -> str:
        arn = self.listener_view.load_balancer_arn
        try:
            self.balancer = self.ctx.alb.load_balancer(arn)
        except AwsCallError as exc:
            if exc.code == "LoadBalancerNotFound":
                raise AwsError(f"the listener's load balancer {arn} does not exist (being deleted?)") from None
            raise
        balancer = self.balancer
        name = balancer.get("LoadBalancerName", arn)
        if balancer.get("Type") != "application":
            raise ConfigError(
                f"stages.{self.ctx.config.stage}.listener-arn: {name} is a {balancer.get('Type')} load"
                " balancer; header rules need an Application Load Balancer listener"
            )
        status = balancer.get("State", {}).get("Code", "active")
        if status not in ("active", "active_impaired"):
            raise AwsError(f"load balancer {name} is {status}; wait until it is active")
        return f"{name} (application, {status})"

    def check_priorities(self) -> str:
        check_rule_priorities(self.ctx, self.listener_view)
        routing = self.ctx.config.routing
        return f"blue {routing.blue_priority}, green {routing.green_priority}: free or ours"

    # -- the plan -----------------------------------------------------------------------------------

    def read_plan(self) -> str:
        if self.state is None:
            self.state = fleet.read(self.ctx, listener=self.listener)
        if self.command == "deploy" and self.request is None:
            self.request = planner.Request("deploy", version=ASSUMED_VERSION)
        request = self.request or planner.Request(self.command)
        plan = planner.plan(request, self.state, self.ctx.config)
        self.plan = plan.slice(self.phase) if self.phase else plan
        if not self.planned:
            return self.planned.message or "nothing to do"
        kinds: dict[str, int] = {}
        for step in self.planned.steps:
            kinds[step.kind] = kinds.get(step.kind, 0) + 1
        return f"{len(self.plan.steps)} steps: " + ", ".join(
            f"{kind} x{n}" if n > 1 else kind for kind, n in kinds.items()
        )

    # -- what the plan will do ----------------------------------------------------------------------

    def check_names(self) -> str:
        creates = self.planned.of_kind(CreateGroup.kind)
        if not creates:
            return "nothing to create"
        cfg = self.ctx.config
        name, release = creates[0].name, creates[0].release
        if not TARGET_GROUP_NAME.fullmatch(name):
            raise ConfigError(
                f"app, stages.{cfg.stage}: the next group name {name!r} does not fit AWS's target group"
                " names (at most 32 letters, digits and '-'); shorten app or the stage name"
            )
        if len(str(release)) > MAX_TAG_VALUE:
            raise ConfigError(
                f"container.group-id, container.artifact-id, --version: the release tag {str(release)[:40]}..."
                f" has {len(str(release))} characters; AWS tag values allow {MAX_TAG_VALUE}"
            )
        existing = self.ctx.alb.find_target_group(name)
        if existing is not None:
            tags = self.ctx.alb.tags([existing["TargetGroupArn"]]).get(existing["TargetGroupArn"], {})
            if tags.get(TAG_APP) != cfg.app or tags.get(TAG_STAGE) != cfg.stage:
                raise ConfigError(
                    f"app, stages.{cfg.stage}: a target group named {name} already exists and is not"
                    f" kie-bluegreen's for {cfg.app}/{cfg.stage}; rename or delete it, or change app or stage"
                )
        if self.ctx.asg.find(name) is not None:
            raise ConfigError(
                f"app, stages.{cfg.stage}: an Auto Scaling group named {name} already exists and is not a"
                f" generation of {cfg.app}/{cfg.stage}; rename or delete it, or change app or stage"
            )
        return f"{name} is free" + (" (its target group is left from an interrupted run)" if existing else "")

    def _launches(self) -> tuple[AsgView | None, bool]:
        """The group whose launch template and subnets new servers use, and whether the
        configured subnets apply (a new group) or the group's own (a standby scaled up)."""
        creates = self.planned.of_kind(CreateGroup.kind)
        if creates:
            return self.fleet.asgs.get(creates[0].like), True
        ups = self.planned.of_kind(ScaleUp.kind)
        if ups:
            return self.fleet.asgs.get(ups[0].group), False
        return None, False

    def check_launch_template(self) -> str:
        source, creates = self._launches()
        if source is None:
            return "no servers to launch"
        if creates and self.ctx.config.launch_template.user_data:
            step = self.planned.of_kind(CreateGroup.kind)[0]
            user_data_for(self.ctx, source, step.generation, step.release)  # unknown tokens, floating version
        template = source.launch_template
        if template is None:
            return f"{source.name} uses launch configuration {source.raw.get('LaunchConfigurationName')}"
        described = template.get("LaunchTemplateId") or template.get("LaunchTemplateName")
        version = template.get("Version") or "$Default"
        found = self.lookups.launch_template_version(template)
        if found is None:
            raise AwsError(
                f"{source.name} launches from launch template {described} version {version}, which does not"
                " exist; give the group an existing launch template version"
            )
        return f"{described} version {found.get('VersionNumber', version)} of {source.name}" + "".join(
            f"; {note}" for note in _permissions_noted(source, found)
        )

    def check_subnets(self) -> str:
        source, creates = self._launches()
        if source is None:
            return "no servers to launch"
        cfg = self.ctx.config
        from_config = bool(cfg.subnets) and creates
        subnet_ids = (
            list(cfg.subnets) if from_config else [s for s in source.raw.get("VPCZoneIdentifier", "").split(",") if s]
        )
        if not subnet_ids:
            return f"{source.name} uses availability zones without subnets"
        found, missing = self.lookups.subnets(subnet_ids)
        where = f"stages.{cfg.stage}.subnets" if from_config else source.name
        error = ConfigError if from_config else AwsError
        if missing:
            if from_config:
                raise ConfigError(f"{where}: {', '.join(missing)} not found in {cfg.region}; fix subnets")
            raise AwsError(
                f"{source.name} launches into {', '.join(missing)}, which no longer exist in {cfg.region};"
                " fix the group's subnets"
            )
        vpc = self._target_vpc(source)
        strays = sorted(subnet for subnet, (subnet_vpc, _) in found.items() if vpc and subnet_vpc != vpc)
        if strays:
            raise error(
                f"{where}: {', '.join(strays)} not in {vpc}, the VPC of the target group; the servers could"
                " not register: use subnets of that VPC"
            )
        # AWS health-checks (and routes to) targets only in zones the load balancer enables.
        enabled = {zone["ZoneName"] for zone in self.balancer.get("AvailabilityZones", []) if zone.get("ZoneName")}
        outside = sorted(f"{subnet} ({zone})" for subnet, (_, zone) in found.items() if enabled and zone not in enabled)
        if outside:
            raise error(
                f"{where}: {', '.join(outside)} not in a zone the load balancer enables ({', '.join(sorted(enabled))});"
                " AWS would never health-check servers there: use subnets of those zones, or enable the zone on"
                " the load balancer"
            )
        return f"{len(found)} subnets in {vpc or 'the VPC'}, zones enabled on the load balancer" + (
            " (from the configuration)" if from_config else ""
        )

    def check_tags(self) -> str:
        creates = self.planned.of_kind(CreateGroup.kind)
        if not creates:
            return "no group to tag"
        source = self.fleet.asgs[creates[0].like]
        copied = [key for key in source.tags if not key.startswith(TAG_PREFIX) and not key.startswith("aws:")]
        ours = len(self.ctx.tags(1, creates[0].release, Role.GREEN)) + 1  # and the group it was copied from
        if len(copied) + ours > MAX_GROUP_TAGS:
            raise AwsError(
                f"{source.name} carries {len(copied)} tags of its own; with the {ours} tags of kie-bluegreen the"
                f" new group would need {len(copied) + ours}, and AWS allows {MAX_GROUP_TAGS} per Auto Scaling"
                " group: remove some tags from the live group"
            )
        return f"{len(copied)} copied + {ours} ours of {MAX_GROUP_TAGS}"

    def check_login(self) -> str:
        """Our header rules must carry the default action's login. AWS never returns an OIDC
        client secret: a rule that does not have it yet cannot be given it by the runner."""
        listener = self.listener_view
        oidc = any(action["Type"] == "authenticate-oidc" for action in listener.login)
        if not listener.login:
            return "the listener does not log users in"
        kinds = ", ".join(action["Type"] for action in listener.login)
        creates = [step.route for step in self.planned.of_kind(Route.kind) if step.create]
        syncs = [step.route for step in self.planned.of_kind(SyncLogin.kind)]
        if oidc and (creates or syncs):
            routes = " and ".join(sorted(set(creates + syncs)))
            header = self.ctx.config.routing.header
            raise ConfigError(
                f"routing: the listener's default action logs users in with authenticate-oidc, and the {routes} header"
                f" rule must do the same or the {header} header would skip the login; AWS never returns the OIDC client"
                " secret, so the runner cannot write it. Add the same authenticate-oidc action (with the client secret)"
                f" in front of the {routes} rule yourself (aws elbv2 create-rule / modify-rule, tagged"
                f" {TAG_APP}={self.ctx.config.app}, {TAG_STAGE}={self.ctx.config.stage}, {TAG_PREFIX}rule=<blue|green>),"
                " then run the command again"
            )
        return f"header rules log users in like the default action ({kinds})"

    def check_alarms(self) -> str:
        """Every alarm a held step watches must exist (a typo must not silently watch nothing)."""
        names = tuple(self.ctx.config.analysis.alarms)
        if not names or not self.planned.of_kind(Watch.kind):
            return "no step watches alarms"
        found = self.ctx.cloudwatch.alarms(names)
        missing = [name for name in names if name not in found]
        if missing:
            raise ConfigError(
                f"analysis.alarms: no CloudWatch alarm named {', '.join(missing)} in"
                f" {self.ctx.config.region}; fix the names or create the alarms"
            )
        states = ", ".join(f"{name} {alarm.state}" for name, alarm in sorted(found.items()))
        return f"{len(found)} alarms: {states}"

    def check_quotas(self) -> str:
        balancer = self.listener_view.load_balancer_arn
        new_rules = len([step for step in self.planned.of_kind(Route.kind) if step.create])
        attaching = {step.target_group for step in self.planned.of_kind(Reference.kind)}
        attaching |= {
            step.to
            for step in self.planned.of_kind(Route.kind, Shift.kind)
            if is_target_group(step.to) or is_placeholder(step.to)
        }
        creates = bool(self.planned.of_kind(CreateTargetGroup.kind))
        if not (new_rules or attaching or creates):
            return "nothing new to count"
        limits, notes = self.lookups.load_balancer_limits(), []
        if new_rules:
            rules, limit = self.lookups.rules_on_load_balancer(balancer), limits["rules-per-application-load-balancer"]
            if rules + new_rules > limit:
                raise AwsError(
                    f"quota: the load balancer has {rules} of {limit} listener rules and the header rules need"
                    f" {new_rules} more; remove unused rules or raise 'Rules per Application Load Balancer'"
                )
            notes.append(f"rules {rules}+{new_rules}/{limit}")
        if attaching:
            attached = self.lookups.target_groups_on_load_balancer(balancer)
            limit = limits["target-groups-per-application-load-balancer"]
            more = len(attaching - attached)
            if len(attached) + more > limit:
                raise AwsError(
                    f"quota: {len(attached)} of {limit} target groups are attached to the load balancer and"
                    " routing the new group needs one more; detach unused target groups or raise"
                    " 'Target groups per Application Load Balancer'"
                )
            notes.append(f"target groups on the load balancer {len(attached)}+{more}/{limit}")
        if creates:
            count, limit = self.lookups.target_groups_in_region(), limits["target-groups"]
            if count + 1 > limit:
                raise AwsError(
                    f"quota: {count} of {limit} target groups exist in {self.ctx.config.region}; delete unused"
                    " ones (kie-bluegreen cleanup) or raise 'Target groups per Region'"
                )
            notes.append(f"target groups in the region {count}+1/{limit}")
        return ", ".join(notes)

    # -- helpers -------------------------------------------------------------------------------

    def _target_vpc(self, source: AsgView) -> str | None:
        groups = [g for g in self.fleet.groups if g.asg_name == source.name and g.target_group_arn]
        return self.ctx.alb.target_group(groups[0].target_group_arn).get("VpcId") if groups else None


def _permissions_noted(source: AsgView, template_version: dict) -> list[str]:
    """Permissions AWS checks on the deployer's behalf when it launches the new group."""
    notes = []
    role = source.raw.get("ServiceLinkedRoleARN", "")
    if role and not role.endswith("/AWSServiceRoleForAutoScaling"):
        notes.append(
            f"the group uses the service-linked role {role}: the deployer needs iam:PassRole on it"
            f" (kie-bluegreen iam-policy --autoscaling-role {role})"
        )
    image = template_version.get("LaunchTemplateData", {}).get("ImageId", "")
    if image.startswith("resolve:ssm:"):
        parameter = image[len("resolve:ssm:") :].split(":")[0]
        notes.append(
            f"the AMI comes from SSM parameter {parameter}: the deployer needs ssm:GetParameters on it"
            f" (kie-bluegreen iam-policy --ssm-parameter {parameter})"
        )
    return notes


# -- entry points ------------------------------------------------------------------------------


def run(
    ctx: Context, command: str, request: planner.Request | None = None, on_pass: Callable[[Passed], None] | None = None
) -> list[Passed]:
    """`kie-bluegreen preflight`: every check in order; the first failure raises."""
    if command not in COMMANDS:
        raise ConfigError(f"preflight: unknown command {command!r}; one of {', '.join(COMMANDS)}")
    return checked(Preflight(ctx, command, request), on_pass)[0]


def checked(
    pre: Preflight, on_pass: Callable[[Passed], None] | None = None, checks: list | None = None
) -> tuple[list[Passed], Preflight]:
    passed = []
    for name, check in pre.checks() if checks is None else checks:
        result = Passed(name, check())
        passed.append(result)
        if on_pass:
            on_pass(result)
    return passed, pre


def check_rule_priorities(ctx: Context, listener: ListenerView) -> None:
    """The header rules we would create must not take a priority another rule already holds."""
    routing = ctx.config.routing
    taken = listener.priorities()
    ours = {rule.arn for rule in listener.ours.values()}
    for route, priority in (("blue", routing.blue_priority), ("green", routing.green_priority)):
        if route in listener.ours:
            continue
        holder = taken.get(priority)
        if holder and holder not in ours:
            raise ConfigError(
                f"routing.{route}-priority: priority {priority} on the listener is held by another rule"
                f" ({holder}); choose a free priority for the {route} header rule"
            )


__all__ = ["Preflight", "Passed", "run", "checked", "check_rule_priorities", "COMMANDS"]
