"""Retire: scale a standby to zero, delete a group and its target group.

Safety: nothing is touched while a listener rule still names the group, and nothing is scaled
in before a rule change has had time to reach every load balancer node (RULE_PROPAGATION after
the group stopped serving). Draining in-flight requests is AWS's job on scale-in: the group
deregisters each instance and waits for the target group's deregistration delay before it
terminates it. The runner does not wait for that drain a second time, nor block on it: a
group whose servers are still draining is deleted by the next run (or `cleanup`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import log, retry
from ..errors import Refused
from ..model import TAG_CAPACITY, TAG_LEAVING, TAG_UNROUTED_AT, Capacity
from ..steps import DeleteGroup, DeleteTargetGroup, ScaleToZero

if TYPE_CHECKING:
    from ..executor import Run

_log = log.get("retire")
# A rule change takes a few seconds to reach every ALB node: until then requests may still
# arrive at the old group, so it is scaled in only after that.
RULE_PROPAGATION = 5.0


def scale_to_zero(run: Run, step: ScaleToZero) -> list[str]:
    ctx = run.ctx
    view = ctx.asg.find(step.group)
    if view is None or view.capacity.desired == 0:
        return []
    _require_unreferenced(run, step.group)
    wait_propagated(run, step.group)
    retry.aws_step(ctx.clock, lambda: ctx.asg.tag(step.group, {TAG_CAPACITY: str(step.capacity)}))
    retry.aws_step(ctx.clock, lambda: ctx.asg.set_capacity(step.group, Capacity(0, step.capacity.max, 0)))
    return [
        f"scaled {step.group} {step.label} to zero (capacity {step.capacity} kept in tag {TAG_CAPACITY};"
        " AWS drains each server before terminating it)"
    ]


def delete_group(run: Run, step: DeleteGroup) -> list[str]:
    """Scale the group to zero (AWS drains its servers), then delete it and its target group
    once no server is left. A candidate that never served is deleted at once."""
    ctx = run.ctx
    view = ctx.asg.find(step.group)
    target_group = run.resolve(step.target_group) if step.target_group else None
    changes = []
    if view is not None:
        _require_unreferenced(run, step.group)
        if step.never_routed:
            retry.aws_step(ctx.clock, lambda: ctx.asg.delete(step.group, force=True))
            view = None
        elif view.instances:
            if view.capacity.desired > 0 or view.capacity.min > 0:
                wait_propagated(run, step.group)
                retry.aws_step(ctx.clock, lambda: ctx.asg.set_capacity(step.group, Capacity(0, view.capacity.max, 0)))
                changes.append(f"scaled {step.group} {step.label} to zero before deleting it ({step.why})")
            view = ctx.asg.find(step.group)
    if view is not None and view.instances:
        _log.info(
            "  %s: AWS is draining %d servers before terminating them; the next run (or `kie-bluegreen"
            " cleanup`) deletes the group and its target group",
            step.group,
            len(view.instances),
        )
        return changes
    # Target group first, then the group: a stop in between leaves the group (which carries our
    # tags) for the next run to find and delete.
    if target_group:
        retry.aws_step(ctx.clock, lambda: ctx.alb.delete_target_group(target_group))
    if view is not None:
        retry.aws_step(ctx.clock, lambda: ctx.asg.delete(step.group, force=True))
    return changes + [f"deleted {step.group} {step.label} and its target group ({step.why})"]


def delete_target_group(run: Run, step: DeleteTargetGroup) -> list[str]:
    ctx = run.ctx
    retry.aws_step(ctx.clock, lambda: ctx.alb.delete_target_group(step.arn))
    if step.left_by:
        retry.aws_step(ctx.clock, lambda: ctx.asg.untag(step.left_by, [TAG_LEAVING]))
    return [step.describe(run.names)]


def wait_propagated(run: Run, asg_name: str) -> None:
    """Sleep until RULE_PROPAGATION has passed since the group stopped serving."""
    ctx = run.ctx
    group = run.state.group_named(asg_name)
    unrouted_at = group.unrouted_at if group else None
    view = ctx.asg.find(asg_name)
    if view is not None and TAG_UNROUTED_AT in view.tags:
        try:
            unrouted_at = float(view.tags[TAG_UNROUTED_AT])
        except ValueError:
            unrouted_at = None
    if unrouted_at is None:
        # No stamp (an adopted group, a stop right after the switch): stamp now, so a crash
        # during the wait resumes it.
        retry.aws_step(ctx.clock, lambda: ctx.asg.tag(asg_name, {TAG_UNROUTED_AT: f"{ctx.clock.wall():.3f}"}))
        unrouted_at = ctx.clock.wall()
    remaining = unrouted_at + RULE_PROPAGATION - ctx.clock.wall()
    if remaining > 0:
        _log.info(
            "  waiting %.0fs for the rule change to reach every load balancer node before scaling in %s",
            remaining,
            asg_name,
        )
        ctx.clock.sleep(remaining)


def _require_unreferenced(run: Run, asg_name: str) -> None:
    """The last guard: never scale in or delete a group a listener rule still names."""
    listener = run.reread_listener()
    group = run.state.group_named(asg_name)
    arn = group.target_group_arn if group else None
    rules = listener.rules_referencing(arn) if arn else []
    if rules:
        raise Refused(f"not retiring {asg_name}: the listener still names its target group ({', '.join(rules)})")
