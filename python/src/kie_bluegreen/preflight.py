"""Preflight: cheap checks before deploy, promote or rollback change anything (issue 6).

Each check reads a little from AWS and either passes with a short detail or raises an error
whose one line says what to fix: ConfigError (exit 2) when the configuration or the arguments
must change, AwsError (exit 4) when the account must (credentials, missing resources, quotas).
`kie-bluegreen preflight` runs them alone and shows each one; the flows call `before()`.

Checks that need a managed blue group are skipped when there is none: the flow itself then
refuses with exit 3 and tells the user to run `init`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from . import state as fleet
from .aws.alb import ListenerView
from .aws.api import AwsCallError
from .aws.asg import AsgView
from .aws.lookups import Lookups
from .context import Context
from .errors import AwsError, ConfigError
from .model import TAG_APP, TAG_STAGE, Release
from .phases.provision import pinned_template
from .state import FleetState

TARGET_GROUP_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?")
MAX_TAG_VALUE = 256  # ELB and Auto Scaling tag values
CREDENTIAL_CODES = frozenset({
    "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken", "ExpiredTokenException", "AuthFailure",
    "UnrecognizedClientException", "InvalidAccessKeyId", "NoCredentials",
})
COMMANDS = ("deploy", "promote", "rollback")


@dataclass(frozen=True)
class Passed:
    check: str
    detail: str


@dataclass
class Intent:
    """What the command is about to do, as far as the checks care."""

    provisions: bool = False  # creates a new generation (names, target group quota)
    launches_from: AsgView | None = None  # group whose launch template and subnets new servers use
    newly_routed: str | None = None  # target group the listener will start forwarding to ("new": not created yet)
    notes: list = field(default_factory=list)


@dataclass
class Preflight:
    ctx: Context
    command: str
    release: Release | None = None
    generation: int | None = None
    listener: ListenerView | None = None
    state: FleetState | None = None
    intent: Intent = field(default_factory=Intent)

    @property
    def lookups(self) -> Lookups:
        return Lookups(self.ctx.api)

    def checks(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            ("credentials and listener", self.check_listener),
            ("load balancer", self.check_load_balancer),
            ("header rule priorities", self.check_priorities),
            ("what the command would do", self.read_intent),
            ("names", self.check_names),
            ("launch template", self.check_launch_template),
            ("subnets", self.check_subnets),
            ("quotas", self.check_quotas),
        ]

    # -- checks --------------------------------------------------------------------------------

    def check_listener(self) -> str:
        cfg = self.ctx.config
        try:
            self.listener = self.ctx.alb.read_listener(cfg.listener_arn, cfg.routing.header, cfg.app, cfg.stage)
        except AwsCallError as exc:
            if exc.code in CREDENTIAL_CODES:
                raise AwsError(f"AWS credentials do not work ({exc.code}): set AWS_PROFILE, or the access key of"
                               " the deploying role (the standard boto3 chain); nothing was changed") from None
            if exc.code == "ListenerNotFound":
                raise ConfigError(f"stages.{cfg.stage}.listener-arn: no such listener in region {cfg.region} of the"
                                  f" account in use: {cfg.listener_arn}; fix listener-arn (or use that account's credentials)") from None
            raise
        return f"{len(self.listener.rules)} rules, ours: {', '.join(sorted(self.listener.ours)) or 'none yet'}"

    def check_load_balancer(self) -> str:
        arn = self.listener.load_balancer_arn
        try:
            balancer = self.ctx.alb.load_balancer(arn)
        except AwsCallError as exc:
            if exc.code == "LoadBalancerNotFound":
                raise AwsError(f"the listener's load balancer {arn} does not exist (being deleted?)") from None
            raise
        name = balancer.get("LoadBalancerName", arn)
        if balancer.get("Type") != "application":
            raise ConfigError(f"stages.{self.ctx.config.stage}.listener-arn: {name} is a {balancer.get('Type')} load"
                              " balancer; header rules need an Application Load Balancer listener")
        status = balancer.get("State", {}).get("Code", "active")
        if status not in ("active", "active_impaired"):
            raise AwsError(f"load balancer {name} is {status}; wait until it is active")
        return f"{name} (application, {status})"

    def check_priorities(self) -> str:
        check_rule_priorities(self.ctx, self.listener)
        routing = self.ctx.config.routing
        return f"blue {routing.blue_priority}, green {routing.green_priority}: free or ours"

    def read_intent(self) -> str:
        self.state = fleet.read(self.ctx, listener=self.listener)
        self.intent = _intent(self)
        return "; ".join(self.intent.notes) or "nothing to create"

    def check_names(self) -> str:
        if not self.intent.provisions:
            return "nothing to create"
        cfg = self.ctx.config
        name = cfg.group_name(self.state.next_generation)
        if not TARGET_GROUP_NAME.fullmatch(name):
            raise ConfigError(f"app, stages.{cfg.stage}: the next group name {name!r} does not fit AWS's target group"
                              " names (at most 32 letters, digits and '-'); shorten app or the stage name")
        if self.release is not None and len(str(self.release)) > MAX_TAG_VALUE:
            raise ConfigError(f"container.group-id, container.artifact-id, --version: the release tag {str(self.release)[:40]}..."
                              f" has {len(str(self.release))} characters; AWS tag values allow {MAX_TAG_VALUE}")
        existing = self.ctx.alb.find_target_group(name)
        if existing is not None:
            tags = self.ctx.alb.tags([existing["TargetGroupArn"]]).get(existing["TargetGroupArn"], {})
            if tags.get(TAG_APP) != cfg.app or tags.get(TAG_STAGE) != cfg.stage:
                raise ConfigError(f"app, stages.{cfg.stage}: a target group named {name} already exists and is not"
                                  f" kie-bluegreen's for {cfg.app}/{cfg.stage}; rename or delete it, or change app or stage")
        if self.ctx.asg.find(name) is not None:
            raise ConfigError(f"app, stages.{cfg.stage}: an Auto Scaling group named {name} already exists and is not a"
                              f" generation of {cfg.app}/{cfg.stage}; rename or delete it, or change app or stage")
        return f"{name} is free" + (" (its target group is left from an interrupted run)" if existing else "")

    def check_launch_template(self) -> str:
        source = self.intent.launches_from
        if source is None:
            return "no servers to launch"
        if self.ctx.config.launch_template.user_data:
            pinned_template(source)
        template = source.launch_template
        if template is None:
            return f"{source.name} uses launch configuration {source.raw.get('LaunchConfigurationName')}"
        described = template.get("LaunchTemplateId") or template.get("LaunchTemplateName")
        version = template.get("Version") or "$Default"
        found = self.lookups.launch_template_version(template)
        if found is None:
            raise AwsError(f"{source.name} launches from launch template {described} version {version}, which does not"
                           " exist; give the group an existing launch template version")
        return f"{described} version {found.get('VersionNumber', version)} of {source.name}"

    def check_subnets(self) -> str:
        source = self.intent.launches_from
        if source is None:
            return "no servers to launch"
        cfg = self.ctx.config
        from_config = bool(cfg.subnets) and self.intent.provisions
        subnet_ids = list(cfg.subnets) if from_config else [s for s in source.raw.get("VPCZoneIdentifier", "").split(",") if s]
        if not subnet_ids:
            return f"{source.name} uses availability zones without subnets"
        found, missing = self.lookups.subnets(subnet_ids)
        if missing:
            if from_config:
                raise ConfigError(f"stages.{cfg.stage}.subnets: {', '.join(missing)} not found in {cfg.region}; fix subnets")
            raise AwsError(f"{source.name} launches into {', '.join(missing)}, which no longer exist in {cfg.region};"
                           " fix the group's subnets")
        vpc = self._target_vpc(source)
        strays = sorted(subnet for subnet, subnet_vpc in found.items() if vpc and subnet_vpc != vpc)
        if strays:
            where = f"stages.{cfg.stage}.subnets" if from_config else source.name
            error = ConfigError if from_config else AwsError
            raise error(f"{where}: {', '.join(strays)} not in {vpc}, the VPC of the target group; the servers could"
                        " not register: use subnets of that VPC")
        return f"{len(found)} subnets in {vpc or 'the VPC'}" + (" (from the configuration)" if from_config else "")

    def check_quotas(self) -> str:
        balancer = self.listener.load_balancer_arn
        missing_rules = 2 - len(self.listener.ours)
        if not (missing_rules or self.intent.newly_routed or self.intent.provisions):
            return "nothing new to count"
        limits, notes = self.lookups.load_balancer_limits(), []
        if missing_rules:
            rules, limit = self.lookups.rules_on_load_balancer(balancer), limits["rules-per-application-load-balancer"]
            if rules + missing_rules > limit:
                raise AwsError(f"quota: the load balancer has {rules} of {limit} listener rules and the header rules need"
                               f" {missing_rules} more; remove unused rules or raise 'Rules per Application Load Balancer'")
            notes.append(f"rules {rules}+{missing_rules}/{limit}")
        if self.intent.newly_routed:
            attached = self.lookups.target_groups_on_load_balancer(balancer)
            limit = limits["target-groups-per-application-load-balancer"]
            more = 0 if self.intent.newly_routed in attached else 1
            if len(attached) + more > limit:
                raise AwsError(f"quota: {len(attached)} of {limit} target groups are attached to the load balancer and"
                               " routing the new group needs one more; detach unused target groups or raise"
                               " 'Target groups per Application Load Balancer'")
            notes.append(f"target groups on the load balancer {len(attached)}+{more}/{limit}")
        if self.intent.provisions:
            count, limit = self.lookups.target_groups_in_region(), limits["target-groups"]
            if count + 1 > limit:
                raise AwsError(f"quota: {count} of {limit} target groups exist in {self.ctx.config.region}; delete unused"
                               " ones (kie-bluegreen cleanup) or raise 'Target groups per Region'")
            notes.append(f"target groups in the region {count}+1/{limit}")
        return ", ".join(notes)

    # -- helpers -------------------------------------------------------------------------------

    def _target_vpc(self, source: AsgView) -> str | None:
        groups = [g for g in self.state.groups if g.asg_name == source.name and g.target_group_arn]
        return self.ctx.alb.target_group(groups[0].target_group_arn).get("VpcId") if groups else None


def _intent(pre: Preflight) -> Intent:
    state = pre.state
    blue, green = state.blue, state.green
    if blue is None:
        return Intent(notes=["no managed blue group (the command will ask for init)"])
    if pre.command == "deploy":
        if green is not None:
            if pre.release is not None and green.release != pre.release:
                return Intent(notes=[f"green {green.asg_name} is deployed (the command will refuse)"])
            routed = green.target_group_arn in state.routing.as_dict().values()
            return Intent(newly_routed=None if routed else green.target_group_arn,
                          notes=[f"resume green {green.asg_name}"])
        if pre.release is not None and blue.release == pre.release:
            return Intent(notes=[f"{pre.release.version} is already live"])
        return Intent(provisions=True, launches_from=state.asgs[blue.asg_name], newly_routed="new",
                      notes=[f"create generation {state.next_generation} like {blue.asg_name}"])
    if pre.command == "rollback" and green is None:
        target = _rollback_target(state, pre.generation)
        if target is None:
            return Intent(notes=["no standby generation (the command will refuse)"])
        asg = state.asgs.get(target.asg_name)
        relaunch = target.capacity.desired == 0 and target.saved_capacity is not None
        return Intent(launches_from=asg if relaunch else None, newly_routed=target.target_group_arn,
                      notes=[f"bring back {target.asg_name}" + (" from zero servers" if relaunch else "")])
    return Intent(notes=[f"{pre.command}: switch routing between existing groups"])


def _rollback_target(state: FleetState, generation: int | None):
    if generation is None:
        return state.standby[0] if state.standby else None
    return next((g for g in state.groups if g.generation == generation and g != state.blue), None)


# -- entry points ------------------------------------------------------------------------------


def run(ctx: Context, command: str, release: Release | None = None, generation: int | None = None,
        on_pass: Callable[[Passed], None] | None = None) -> list[Passed]:
    """Run every check in order; the first failure raises. Returns what passed."""
    if command not in COMMANDS:
        raise ConfigError(f"preflight: unknown command {command!r}; one of {', '.join(COMMANDS)}")
    return _checked(Preflight(ctx, command, release, generation), on_pass)[0]


def _checked(pre: Preflight, on_pass: Callable[[Passed], None] | None = None) -> tuple[list[Passed], Preflight]:
    passed = []
    for name, check in pre.checks():
        result = Passed(name, check())
        passed.append(result)
        if on_pass:
            on_pass(result)
    return passed, pre


def before(ctx: Context, command: str, version: str | None = None, generation: int | None = None) -> FleetState:
    """What deploy, promote and rollback call first: the checks, quietly; the first failure
    raises. Returns the state the checks read, for the command to start from."""
    _, pre = _checked(Preflight(ctx, command, ctx.config.release(version) if version else None, generation))
    return pre.state


def check_rule_priorities(ctx: Context, state: FleetState | ListenerView) -> None:
    """The header rules we would create must not take a priority another rule already holds."""
    listener = state.listener if isinstance(state, FleetState) else state
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
                f" ({holder}); choose a free priority for the {route} header rule")
