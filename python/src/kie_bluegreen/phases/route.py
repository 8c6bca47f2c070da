"""Route: rewrite the listener from its current routing to the desired one, read it back, and
bring the role tags in line with what now serves traffic.
"""

from __future__ import annotations

from .. import log, retry, routing, state as fleet
from ..context import Context
from ..errors import AwsError
from ..model import FIXED_404, TAG_APP, TAG_ROLE, TAG_STAGE, TAG_UNROUTED_AT, Outcome, Role, Routing
from ..state import FleetState

_log = log.get("route")


def switch(ctx: Context, outcome: Outcome, state: FleetState, desired: Routing) -> FleetState:
    """Apply the rule changes from state.routing to `desired` (one call each), then read back."""
    cfg = ctx.config
    planned = routing.changes(state.routing, desired)
    if not planned:
        return state
    names = state.names()
    values = {"blue": (cfg.routing.blue_value, cfg.routing.blue_priority),
              "green": (cfg.routing.green_value, cfg.routing.green_priority)}
    rule_tags = {TAG_APP: cfg.app, TAG_STAGE: cfg.stage}
    for change in planned:
        value, priority = values.get(change.route, (None, None))
        retry.aws_step(ctx.clock, lambda: ctx.alb.apply(state.listener, change, cfg.routing.header, value, priority, rule_tags))
        _log.info("  %s", change.describe(names))
        outcome.add(change.describe(names))

    after = retry.until_consistent(ctx.clock, lambda: fleet.read(ctx), lambda s: s.routing == desired)
    if after.routing != desired:
        raise AwsError(
            f"the listener does not show what was written: wanted {desired.as_dict()}, AWS shows {after.routing.as_dict()};"
            " run the same command again to retry")
    _mark_unrouted(ctx, state, after)
    return after


def _mark_unrouted(ctx: Context, before: FleetState, after: FleetState) -> None:
    """Stamp groups the switch took traffic from, so retire knows how long they have drained;
    unstamp groups it sends traffic to again."""
    served_before = {target for target in before.routing.as_dict().values() if target and target != FIXED_404}
    served_after = {target for target in after.routing.as_dict().values() if target and target != FIXED_404}
    for arn in served_before - served_after:
        group = after.group_of(arn)
        if group:
            retry.aws_step(ctx.clock, lambda: ctx.asg.tag(group.asg_name, {TAG_UNROUTED_AT: f"{ctx.clock.wall():.3f}"}))
    for arn in served_after - served_before:
        group = after.group_of(arn)
        if group and group.unrouted_at is not None:  # serving again (rollback to a standby)
            retry.aws_step(ctx.clock, lambda: ctx.asg.untag(group.asg_name, [TAG_UNROUTED_AT]))


def set_role(ctx: Context, outcome: Outcome, state: FleetState, asg_name: str, role: Role) -> None:
    """Write a role tag on a group's ASG and target group (no-op when already so)."""
    if state.tagged_roles.get(asg_name) == role:
        return
    group = next(g for g in state.groups if g.asg_name == asg_name)
    retry.aws_step(ctx.clock, lambda: ctx.asg.tag(asg_name, {TAG_ROLE: role.value}))
    if group.target_group_arn:
        retry.aws_step(ctx.clock, lambda: ctx.alb.tag(group.target_group_arn, {TAG_ROLE: role.value}))
    outcome.add(f"{asg_name} {group.label} is now {role.value}")


def settle_roles(ctx: Context, outcome: Outcome, state: FleetState | None = None) -> FleetState:
    """Make every role tag say what the routing says (after a switch, or after a crash)."""
    state = state or fleet.read(ctx)
    for group in state.retags:
        set_role(ctx, outcome, state, group.asg_name, group.role)
    return fleet.read(ctx) if state.retags else state
