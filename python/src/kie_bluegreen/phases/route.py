"""Route: every write to the listener (routes, weights, weight-0 references, logins) and the tags
that follow what serves traffic (roles, when a group stopped serving, the last transition).

Every listener write is read back until AWS shows it. No route starts sending traffic to a
group unless every one of its servers is ready at that moment: the same check guards every
command, so no entry point can route to servers that are not ready.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import analysis, log, retry
from ..aws import asg_settings
from ..aws.alb import RuleSpec, forward_members
from ..errors import AwsError, Refused
from ..model import FIXED_404, TAG_APP, TAG_ROLE, TAG_STAGE, TAG_TOPOLOGY, TAG_TRANSITION, TAG_UNROUTED_AT, Routing
from ..steps import (
    ClearUnrouted,
    MarkUnrouted,
    MoveSchedules,
    Record,
    Reference,
    Route,
    SetRole,
    Shift,
    SyncLogin,
    Unreference,
    Watch,
)
from . import wait_healthy

if TYPE_CHECKING:
    from ..executor import Run

_log = log.get("route")
WATCH_PROGRESS = 60.0  # seconds between progress lines while a step is held


def route(run: Run, step: Route) -> list[str]:
    ctx, cfg = run.ctx, run.ctx.config
    target = run.resolve(step.to)
    listener = run.listener
    current = getattr(listener.routing, step.route)
    if current == target and (step.route != "default" or len(forward_members(listener.default_actions)) == 1):
        return []
    if step.to != FIXED_404:
        require_ready(run, target, f"the {step.route} route")
    values = {"blue": cfg.routing.blue_value, "green": cfg.routing.green_value}
    priorities = {"blue": cfg.routing.blue_priority, "green": cfg.routing.green_priority}
    spec = RuleSpec(
        cfg.routing.header,
        values.get(step.route, ""),
        priorities.get(step.route, 0),
        {TAG_APP: cfg.app, TAG_STAGE: cfg.stage},
    )
    retry.aws_step(ctx.clock, lambda: ctx.alb.route(listener, step.route, target, spec))
    _read_back(
        run,
        lambda routing: getattr(routing, step.route) == target and (step.route != "default" or not routing.weights),
        f"{step.route} -> {target}",
    )
    return [step.describe(run.names)]


def shift(run: Run, step: Shift) -> list[str]:
    """Split the default route between blue and the candidate (weights in percent)."""
    ctx = run.ctx
    target, blue = run.resolve(step.to), run.resolve(step.blue)
    listener = run.listener
    members = ((blue, 100 - step.weight), (target, step.weight))
    if set(forward_members(listener.default_actions)) == set(members):
        return []
    require_ready(run, target, "a share of the default route")
    retry.aws_step(ctx.clock, lambda: ctx.alb.set_default(listener, members))
    _read_back(
        run,
        lambda routing: routing.share(target) == step.weight and set(routing.weights) == set(members),
        f"default {step.weight}% -> {target}",
    )
    return [step.describe(run.names)]


def reference(run: Run, step: Reference) -> list[str]:
    """Add the group to the default action with weight 0: AWS health-checks only target groups
    a listener references, and weight 0 sends it no request."""
    ctx = run.ctx
    target = run.resolve(step.target_group)
    listener = run.listener
    members = forward_members(listener.default_actions)
    if any(arn == target for arn, _ in members):
        return []
    retry.aws_step(ctx.clock, lambda: ctx.alb.set_default(listener, members + ((target, 0),)))
    _read_back(run, lambda routing: target in routing.warming, f"weight-0 reference to {target}")
    return [step.describe(run.names)]


def unreference(run: Run, step: Unreference) -> list[str]:
    ctx = run.ctx
    target = run.resolve(step.target_group)
    listener = run.listener
    members = forward_members(listener.default_actions)
    kept = tuple(member for member in members if not (member[0] == target and member[1] == 0))
    if kept == members:
        return []
    retry.aws_step(ctx.clock, lambda: ctx.alb.set_default(listener, kept))
    _read_back(run, lambda routing: target not in routing.warming, f"no weight-0 reference to {target}")
    return [step.describe(run.names)]


def sync_login(run: Run, step: SyncLogin) -> list[str]:
    ctx = run.ctx
    retry.aws_step(ctx.clock, lambda: ctx.alb.sync_login(run.listener, step.route))
    run.reread_listener()
    return [step.describe(run.names)]


def record(run: Run, step: Record) -> list[str]:
    ctx = run.ctx
    tags = {TAG_TOPOLOGY: step.topology, **({TAG_TRANSITION: step.transition} if step.transition else {})}
    listener = run.reread_listener()  # rules an earlier step of this run created are there too
    rules = [rule.arn for rule in listener.ours.values() if any(rule.tags.get(k) != v for k, v in tags.items())]
    if rules:
        retry.aws_step(ctx.clock, lambda: ctx.alb.tag(rules, tags))
    return []  # bookkeeping, not a change worth reporting


def set_role(run: Run, step: SetRole) -> list[str]:
    """The target group's tag first, the Auto Scaling group's last: the group's tag is the one
    the next run reads, so a stop in between is seen and finished."""
    ctx = run.ctx
    if step.target_group:
        target_group = run.resolve(step.target_group)
        retry.aws_step(ctx.clock, lambda: ctx.alb.tag(target_group, {TAG_ROLE: step.role.value}))
    retry.aws_step(ctx.clock, lambda: ctx.asg.tag(step.group, {TAG_ROLE: step.role.value}))
    return [step.describe(run.names)]


def mark_unrouted(run: Run, step: MarkUnrouted) -> list[str]:
    ctx = run.ctx
    view = ctx.asg.find(step.group)
    if view is not None and TAG_UNROUTED_AT not in view.tags:
        retry.aws_step(ctx.clock, lambda: ctx.asg.tag(step.group, {TAG_UNROUTED_AT: f"{ctx.clock.wall():.3f}"}))
    return []


def move_schedules(run: Run, step: MoveSchedules) -> list[str]:
    ctx = run.ctx
    actions = asg_settings.schedules(ctx.api).get(step.source, [])
    if not actions:
        return []
    retry.aws_step(ctx.clock, lambda: asg_settings.move_schedules(ctx.api, step.source, step.group, actions))
    return [
        f"moved {len(actions)} scheduled actions from {step.source} to {step.group} (only the blue group scales on a schedule)"
    ]


def clear_unrouted(run: Run, step: ClearUnrouted) -> list[str]:
    ctx = run.ctx
    retry.aws_step(ctx.clock, lambda: ctx.asg.untag(step.group, [TAG_UNROUTED_AT]))
    return []


def watch(run: Run, step: Watch) -> list[str]:
    """Hold the step for its time while watching the alarms and the 5xx share (analysis.*);
    AnalysisFailed (the release is rolled back) as soon as one of them fires."""
    ctx = run.ctx
    _log.info("%s", step.describe(run.names).capitalize())
    watcher = analysis.Watcher(
        ctx, run.listener.load_balancer_arn, run.resolve(step.target_group), step.why, step.looking_back
    )
    started = ctx.clock.now()
    last_line = started
    while True:
        watcher.look()
        left = step.seconds - (ctx.clock.now() - started)
        if left <= 0:
            break
        ctx.clock.sleep(min(left, ctx.config.wait.poll_interval))
        if ctx.clock.now() - last_line >= WATCH_PROGRESS and step.seconds - (ctx.clock.now() - started) > 0:
            _log.info("  %s: %.0fs left, %s", step.why, step.seconds - (ctx.clock.now() - started), watcher.summary())
            last_line = ctx.clock.now()
    return watcher.notes()


# -- shared -------------------------------------------------------------------------------------


def require_ready(run: Run, target: str, what: str) -> None:
    """Refuse (exit 3) to start sending traffic to a group unless all its servers are ready."""
    if target in run.listener.routing.serving():
        return  # it already serves: not a new destination
    asg_name = run.asg_of(target)
    if asg_name is None:
        raise Refused(
            f"refusing to route {what} to {run.names.get(target, target)}: it is not a group of"
            f" {run.ctx.config.app}/{run.ctx.config.stage}"
        )
    readiness = wait_healthy.check(run.ctx, asg_name, target, run.versions[asg_name], run.verified)
    if not readiness.done:
        raise Refused(
            f"refusing to route {what} to {asg_name}: {readiness.line()}; not ready: {readiness.detail()}."
            " Traffic only goes to a group whose servers are all ready: wait for them"
            " (kie-bluegreen phase wait) and run the command again"
        )


def _read_back(run: Run, shows: Callable[[Routing], bool], wanted: str) -> None:
    """Read the listener until it shows the write (AWS is eventually consistent)."""
    ctx = run.ctx
    after = retry.until_consistent(ctx.clock, run.reread_listener, lambda listener: shows(listener.routing))
    if not shows(after.routing):
        raise AwsError(
            f"the listener does not show what was written: wanted {wanted}, AWS shows"
            f" {after.routing.as_dict()}; run the same command again to retry"
        )
