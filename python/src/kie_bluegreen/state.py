"""The current state, read from AWS: the listener's routing and our tagged groups.

The listener rules are the truth for what serves traffic; the tags say what each group is.
When the two disagree (a run stopped between switching rules and retagging), the routing wins:
`role` is the effective role and `tagged_role` what the tag says; the planner brings the tags in
line. Reading never fails on a half-done state (a target group deleted before its Auto Scaling
group, a target group created before its group): it reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .aws import asg_settings
from .aws.alb import ListenerView
from .aws.asg import AsgView
from .context import Context
from .model import (
    FIXED_404,
    TAG_APP,
    TAG_CAPACITY,
    TAG_COPIED_FROM,
    TAG_GENERATION,
    TAG_LEAVING,
    TAG_PREVIOUS_RELEASE,
    TAG_RELEASE,
    TAG_ROLE,
    TAG_STAGE,
    TAG_TOPOLOGY,
    TAG_TRANSITION,
    TAG_UNROUTED_AT,
    Capacity,
    Group,
    Release,
    Role,
    Routing,
    is_target_group,
)


@dataclass(frozen=True)
class OrphanTargetGroup:
    """A target group of ours that no Auto Scaling group registers into: created by a deploy that
    stopped before it created the group."""

    name: str
    arn: str
    generation: int


@dataclass(frozen=True)
class FleetState:
    listener: ListenerView
    groups: tuple  # Group, oldest generation first
    asgs: dict  # ASG name -> AsgView (what a new group copies from)
    orphans: tuple = ()  # OrphanTargetGroup
    spares: tuple = ()  # fixed pair: our Auto Scaling groups that run no generation (AsgView)

    @property
    def routing(self) -> Routing:
        return self.listener.routing

    def group_of(self, target: str | None) -> Group | None:
        return next((group for group in self.groups if target and group.target_group_arn == target), None)

    def group_named(self, asg_name: str) -> Group | None:
        return next((group for group in self.groups if group.asg_name == asg_name), None)

    def with_role(self, role: Role) -> list[Group]:
        """Groups with this effective role, newest first."""
        return sorted((g for g in self.groups if g.role == role), key=lambda g: -g.generation)

    @property
    def blue(self) -> Group | None:
        return self.group_of(self.routing.default)

    @property
    def green(self) -> Group | None:
        greens = self.with_role(Role.GREEN)
        return greens[0] if greens else None

    @property
    def standby(self) -> list[Group]:
        return self.with_role(Role.STANDBY)

    @property
    def retired(self) -> list[Group]:
        return self.with_role(Role.RETIRED)

    @property
    def next_generation(self) -> int:
        existing = max((group.generation for group in self.groups), default=0)
        return max(existing, self.listener.last_generation) + 1

    @property
    def topology(self) -> str | None:
        """The topology recorded on our rules (None: not recorded yet, i.e. per-release)."""
        return self.listener.tag_value(TAG_TOPOLOGY)

    @property
    def transition(self) -> str | None:
        """The last promote or rollback recorded on our rules ("promote:2", "rollback:3:2")."""
        return self.listener.tag_value(TAG_TRANSITION)

    def routed(self, group: Group) -> list[str]:
        """Every listener rule (ours or not) that still forwards traffic to the group."""
        return self.listener.rules_forwarding_to(group.target_group_arn) if group.target_group_arn else []

    def referenced(self, group: Group) -> list[str]:
        """Every listener rule that names the group, weight 0 included."""
        return self.listener.rules_referencing(group.target_group_arn) if group.target_group_arn else []

    def names(self) -> dict[str, str]:
        """Readable names for routing targets, for messages and reports."""
        names = {FIXED_404: "fixed 404"}
        names.update({g.target_group_arn: g.name for g in self.groups if g.target_group_arn})
        names.update({orphan.arn: orphan.name for orphan in self.orphans})
        return names


def read(ctx: Context, with_health: bool = False, listener: ListenerView | None = None) -> FleetState:
    """The fleet now; `listener`: a view of the listener read a moment ago, to reuse."""
    cfg = ctx.config
    listener = listener or ctx.alb.read_listener(cfg.listener_arn, cfg.routing.header, cfg.app, cfg.stage)
    asgs = {view.name: view for view in ctx.asg.find_managed(cfg.app, cfg.stage)}
    attached = {arn for view in asgs.values() for arn in view.target_group_arns}
    existing = ctx.alb.existing_target_groups(attached)
    schedules = asg_settings.schedules(ctx.api) if asgs else {}
    groups, spares = [], []
    for view in asgs.values():
        group = _group(view, listener.routing, existing)
        if group is None:
            spares.append(view)
        else:
            groups.append(replace(group, schedules=len(schedules.get(view.name, []))))
    if cfg.topology == "single-group":
        groups = [_with_refresh(ctx, group) for group in groups]
    if with_health:
        groups = [_with_health(ctx, group) for group in groups]
    groups.sort(key=lambda group: group.generation)
    state = FleetState(listener, tuple(groups), asgs, spares=tuple(spares))
    return replace(state, orphans=_orphans(ctx, state, attached))


def _group(view: AsgView, routing: Routing, existing: dict) -> Group | None:
    try:
        generation = int(view.tags[TAG_GENERATION])
        release = Release.parse(view.tags[TAG_RELEASE])
    except (KeyError, ValueError):
        return None  # tagged app/stage but not a generation of ours: leave it alone
    named = [arn for arn in view.target_group_arns if arn in existing]
    ours = [arn for arn in named if arn in routing.referencing() | {routing.default}]
    # A reused group of a fixed pair may still be in its previous generation's target group for
    # a moment: its own is the one named after its generation.
    own = [arn for arn in named if existing[arn].get("TargetGroupName", "").endswith(f"-g{generation}")]
    target_group = (ours or own or named or [None])[0]
    try:
        saved = Capacity.parse(view.tags[TAG_CAPACITY]) if TAG_CAPACITY in view.tags else None
    except ValueError:
        saved = None  # a hand-edited tag: treat as not scaled to zero by us
    tagged = _tag_role(view)
    group = Group(
        generation=generation,
        role=tagged or Role.RETIRED,
        release=release,
        asg_name=view.name,
        target_group_arn=target_group,
        capacity=view.capacity,
        instance_ids=tuple(i.id for i in view.instances if i.in_service),
        saved_capacity=saved,
        unrouted_at=_seconds(view.tags.get(TAG_UNROUTED_AT, "")),
        tagged_role=tagged,
        instances=len(view.instances),
        copied_from=view.tags.get(TAG_COPIED_FROM),
        target_groups=tuple(named),
        leaving=view.tags.get(TAG_LEAVING),
        previous=_previous(view.tags.get(TAG_PREVIOUS_RELEASE, "")),
    )
    return replace(group, role=effective_role(group, routing))


def effective_role(group: Group, routing: Routing) -> Role:
    """What the routing says the group is; its tag where the routing is silent."""
    arn = group.target_group_arn
    if arn is None:
        return Role.RETIRED  # its target group is gone: it can serve nothing any more
    if arn == routing.default:
        return Role.BLUE
    if arn == routing.green or arn in routing.split:
        return Role.GREEN
    if group.tagged_role == Role.BLUE:
        # A blue no route sends to any more: a promote switched away from it but stopped
        # before retagging. It is a standby the previous release can come back to.
        return Role.STANDBY
    return group.tagged_role or Role.RETIRED


def _orphans(ctx: Context, state: FleetState, attached: set) -> tuple:
    """Our target group for the next generation, when a deploy created it and stopped."""
    cfg = ctx.config
    name = cfg.group_name(state.next_generation)
    found = ctx.alb.find_target_group(name)
    if found is None or found["TargetGroupArn"] in attached:
        return ()
    tags = ctx.alb.tags([found["TargetGroupArn"]]).get(found["TargetGroupArn"], {})
    if (tags.get(TAG_APP), tags.get(TAG_STAGE)) != (cfg.app, cfg.stage):
        return ()  # someone else's: preflight names the clash
    return (OrphanTargetGroup(name, found["TargetGroupArn"], state.next_generation),)


def _seconds(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _tag_role(view: AsgView) -> Role | None:
    try:
        return Role(view.tags.get(TAG_ROLE))
    except ValueError:
        return None


def _previous(text: str) -> tuple[int, Release] | None:
    generation, _, release = text.partition(" ")
    try:
        return int(generation), Release.parse(release)
    except ValueError:
        return None


def _with_refresh(ctx: Context, group: Group) -> Group:
    """Single group: its latest instance refresh and the release each of its servers runs."""
    view = ctx.asg.find(group.asg_name)
    ids = [instance.id for instance in view.instances] if view else []
    releases = ctx.ec2.release_tags(ids)
    return replace(
        group, refresh=ctx.refresh.latest(group.asg_name), instance_releases=tuple(releases.get(i, "") for i in ids)
    )


def _with_health(ctx: Context, group: Group) -> Group:
    if not group.target_group_arn:
        return group
    health = ctx.alb.target_health(group.target_group_arn)
    healthy = sum(1 for instance in group.instance_ids if health.get(instance) and health[instance].state == "healthy")
    return replace(group, healthy=healthy)


__all__ = ["FleetState", "OrphanTargetGroup", "read", "effective_role", "is_target_group"]
