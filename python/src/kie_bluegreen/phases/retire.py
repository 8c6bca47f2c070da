"""Retire: what happens to groups no route sends traffic to any more.

After a promote, the previous blue is a standby: kept running (`standby`), scaled to zero with
its capacity remembered in a tag (`scale-to-zero`), or deleted (`terminate`); at most
`retire.keep` standby generations are kept. After a rollback the candidate is `retired`: deleted
(`retire.candidate: terminate`) or kept for debugging until `cleanup`.

Safety: a group that any listener rule still forwards to is never touched, and nothing is
scaled in or deleted before the target group's deregistration delay has passed since the group
was unrouted, so in-flight requests finish.
"""

from __future__ import annotations

from dataclasses import replace

from .. import log, retry, state as fleet
from ..context import Context
from ..model import TAG_CAPACITY, TAG_UNROUTED_AT, Capacity, Group, Outcome
from ..aws.api import AwsCallError
from ..state import FleetState

_log = log.get("retire")
DRAIN_PROGRESS = 30.0  # seconds between progress lines while waiting for a drain
# A rule change takes a few seconds to reach every ALB node: until then requests may still
# arrive at the old group, so its drain only starts counting after that.
RULE_PROPAGATION = 5.0


def retire(ctx: Context, outcome: Outcome, state: FleetState | None = None, delete_retired: bool = False) -> FleetState:
    """Apply the retire policy to every standby and retired group. `delete_retired` (cleanup)
    also deletes retired groups kept for debugging."""
    state = state or fleet.read(ctx)
    policy = ctx.config.retire
    keep = 0 if policy.previous == "terminate" else policy.keep
    touched = False
    for index, group in enumerate(state.standby):
        if _still_routed(state, group):
            continue
        if index >= keep:
            delete(ctx, outcome, group, f"standby beyond retire.keep ({keep})" if keep else "retire.previous is terminate")
            touched = True
        elif policy.previous == "scale-to-zero" and group.capacity.desired > 0:
            _scale_to_zero(ctx, outcome, group)
            touched = True
    for group in state.retired:
        if _still_routed(state, group):
            continue
        if delete_retired or policy.candidate == "terminate":
            delete(ctx, outcome, group, "retired")
            touched = True
    return fleet.read(ctx) if touched else state


def _still_routed(state: FleetState, group: Group) -> bool:
    rules = state.routed(group)
    if rules:
        _log.info("  leaving %s %s alone: still routed by %s", group.asg_name, group.label, ", ".join(rules))
    return bool(rules)


def wait_drained(ctx: Context, group: Group) -> None:
    """Sleep until the deregistration delay, plus the time the ALB takes to apply a rule change,
    has passed since the group was unrouted."""
    delay = ctx.alb.deregistration_delay(group.target_group_arn) if group.target_group_arn else 0
    delay += RULE_PROPAGATION
    if group.unrouted_at is None:
        # No stamp (e.g. adopted groups): stamp now, so a crash during the wait resumes it.
        retry.aws_step(ctx.clock, lambda: ctx.asg.tag(group.asg_name, {TAG_UNROUTED_AT: f"{ctx.clock.wall():.3f}"}))
        remaining = delay
    else:
        remaining = group.unrouted_at + delay - ctx.clock.wall()
    if remaining > 0:
        _log.info("  waiting %.0fs for in-flight requests to %s to drain (deregistration delay and"
                  " rule propagation, %.0fs)", remaining, group.asg_name, delay)
    while remaining > 0:
        step = min(remaining, DRAIN_PROGRESS)
        ctx.clock.sleep(step)
        remaining -= step
        if remaining > 0:
            _log.info("  %s: %.0fs of draining left", group.asg_name, remaining)


def _scale_to_zero(ctx: Context, outcome: Outcome, group: Group) -> None:
    wait_drained(ctx, group)
    retry.aws_step(ctx.clock, lambda: ctx.asg.tag(group.asg_name, {TAG_CAPACITY: str(group.capacity)}))
    retry.aws_step(ctx.clock, lambda: ctx.asg.set_capacity(group.asg_name, Capacity(0, group.capacity.max, 0)))
    outcome.add(f"scaled {group.asg_name} {group.label} to zero (capacity {group.capacity} kept in tag {TAG_CAPACITY})")


def delete(ctx: Context, outcome: Outcome, group: Group, why: str, drain: bool = True) -> None:
    """Delete the group's target group and ASG. `drain=False` only for a group never routed."""
    if drain:
        wait_drained(ctx, group)
    # Target group first: if we stop in between, the ASG (which carries the tags) is still
    # there to find, and the next run deletes it.
    if group.target_group_arn:
        try:
            retry.aws_step(ctx.clock, lambda: ctx.alb.delete_target_group(group.target_group_arn))
        except AwsCallError as exc:
            if exc.code != "TargetGroupNotFound":
                raise
    retry.aws_step(ctx.clock, lambda: ctx.asg.delete(group.asg_name))
    outcome.add(f"deleted {group.asg_name} {group.label} and its target group ({why})")


def restore(ctx: Context, outcome: Outcome, group: Group) -> Group:
    """Bring a scaled-to-zero standby back to its remembered capacity (before a rollback)."""
    if group.capacity.desired > 0 or group.saved_capacity is None:
        return group
    capacity = group.saved_capacity
    retry.aws_step(ctx.clock, lambda: ctx.asg.set_capacity(group.asg_name, capacity))
    retry.aws_step(ctx.clock, lambda: ctx.asg.untag(group.asg_name, [TAG_CAPACITY, TAG_UNROUTED_AT]))
    outcome.add(f"scaled {group.asg_name} {group.label} back to {capacity.desired} servers")
    return replace(group, capacity=capacity, saved_capacity=None)
