"""The current state, read from AWS: the listener's routing and our tagged groups.

The listener rules are the truth for what serves traffic; the tags say what each group is
(DESIGN 4.3). When the two disagree (a run stopped between switching rules and retagging), the
routing wins: `role` is the effective role and `retags` lists the tags to bring in line.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .aws.alb import ListenerView
from .aws.asg import AsgView
from .config import StageConfig
from .context import Context
from .model import (FIXED_404, TAG_CAPACITY, TAG_GENERATION, TAG_RELEASE, TAG_ROLE, TAG_UNROUTED_AT,
                    Capacity, Group, Release, Role, Routing)


@dataclass(frozen=True)
class FleetState:
    listener: ListenerView
    groups: tuple  # Group, oldest generation first
    asgs: dict  # ASG name -> AsgView (what create_like copies from)
    tagged_roles: dict  # ASG name -> Role written in its tag

    @property
    def routing(self) -> Routing:
        return self.listener.routing

    def group_of(self, target: str | None) -> Group | None:
        return next((group for group in self.groups if target and group.target_group_arn == target), None)

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
    def retags(self) -> list[Group]:
        """Groups whose role tag disagrees with the routing (effective role in `role`)."""
        return [g for g in self.groups if self.tagged_roles.get(g.asg_name) != g.role]

    def routed(self, group: Group) -> list[str]:
        """Every listener rule (ours or not) that still forwards to the group."""
        return self.listener.rules_forwarding_to(group.target_group_arn) if group.target_group_arn else []

    def names(self) -> dict[str, str]:
        """Readable names for routing targets, for messages and reports."""
        names = {FIXED_404: "fixed 404"}
        names.update({g.target_group_arn: f"{g.asg_name} {g.label}" for g in self.groups if g.target_group_arn})
        return names


def read(ctx: Context, with_health: bool = False, listener: ListenerView | None = None) -> FleetState:
    """The fleet now; `listener`: a view of the listener read a moment ago, to reuse."""
    cfg = ctx.config
    listener = listener or ctx.alb.read_listener(cfg.listener_arn, cfg.routing.header, cfg.app, cfg.stage)
    asgs = {view.name: view for view in ctx.asg.find_managed(cfg.app, cfg.stage)}
    groups, tagged = [], {}
    for view in asgs.values():
        group = _group(view, listener, cfg)
        if group is None:
            continue
        tagged[view.name] = _tag_role(view)
        groups.append(replace(group, role=_effective_role(group, _tag_role(view), listener.routing)))
    if with_health:
        groups = [_with_health(ctx, group) for group in groups]
    groups.sort(key=lambda group: group.generation)
    return FleetState(listener, tuple(groups), asgs, tagged)


def _group(view: AsgView, listener: ListenerView, cfg: StageConfig) -> Group | None:
    try:
        generation = int(view.tags[TAG_GENERATION])
        release = Release.parse(view.tags[TAG_RELEASE])
    except (KeyError, ValueError):
        return None  # tagged app/stage but not a generation of ours: leave it alone
    routing = listener.routing
    ours = [arn for arn in view.target_group_arns if arn in (routing.default, routing.blue, routing.green)]
    target_group = (ours or list(view.target_group_arns) or [None])[0]
    unrouted_at = view.tags.get(TAG_UNROUTED_AT, "")
    try:
        saved = Capacity.parse(view.tags[TAG_CAPACITY]) if TAG_CAPACITY in view.tags else None
    except ValueError:
        saved = None  # a hand-edited tag: treat as not scaled to zero by us
    return Group(
        generation=generation,
        role=_tag_role(view),
        release=release,
        asg_name=view.name,
        target_group_arn=target_group,
        capacity=view.capacity,
        instance_ids=tuple(i.id for i in view.instances if i.in_service),
        saved_capacity=saved,
        unrouted_at=_seconds(unrouted_at),
    )


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


def _effective_role(group: Group, tagged: Role | None, routing: Routing) -> Role:
    if group.target_group_arn and group.target_group_arn == routing.default:
        return Role.BLUE
    if group.target_group_arn and group.target_group_arn == routing.green:
        return Role.GREEN
    if tagged == Role.BLUE:
        # A blue no route sends to any more: a promote switched away from it but stopped
        # before retagging. Until the blue rule follows, it stays a standby candidate.
        return Role.STANDBY
    return tagged or Role.RETIRED


def _with_health(ctx: Context, group: Group) -> Group:
    if not group.target_group_arn:
        return group
    health = ctx.alb.target_health(group.target_group_arn)
    healthy = sum(1 for instance in group.instance_ids if health.get(instance) and health[instance].state == "healthy")
    return replace(group, healthy=healthy)
