"""The commands users run, composed from the phases (DESIGN 4.2):
init, plan, deploy, promote, rollback, status, cleanup, and each phase on its own.

Every flow reads the state from AWS first, so running the same command again after a crash
resumes it, and running it when the work is already done changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import log, preflight, retry, routing, state as fleet
from .context import Context
from .errors import ConfigError, DeploymentFailed, Refused
from .model import FIXED_404, TAG_APP, TAG_STAGE, Group, Outcome, Role, Routing
from .phases.common import require_blue
from .phases.provision import PROPAGATED_TAGS, check_candidate, new_capacity, provision
from .phases.retire import delete, restore, retire
from .phases.route import set_role, settle_roles, switch
from .phases.wait_healthy import WaitTimeout, wait_healthy
from .preflight import check_rule_priorities
from .state import FleetState

_log = log.get("flows")


@dataclass
class FlowResult:
    command: str
    outcome: Outcome
    state: FleetState  # after the command, with target health
    planned: list | None = None  # plan only: what deploy would do


def _begin(ctx: Context) -> Outcome:
    """A fresh journal for this command (a Context may serve several commands in one process)."""
    ctx.outcome = Outcome()
    return ctx.outcome


def _finish(ctx: Context, command: str, outcome: Outcome, planned: list | None = None) -> FlowResult:
    return FlowResult(command, outcome, fleet.read(ctx, with_health=True), planned)


# -- init --------------------------------------------------------------------------------------


def init(ctx: Context, version: str, asg_name: str | None = None) -> FlowResult:
    """Adopt the group the listener forwards to as generation 1 (blue); create the header rules."""
    release = ctx.config.release(version)
    outcome = _begin(ctx)
    state = fleet.read(ctx)
    blue = state.blue
    if blue is None:
        blue = _adopt(ctx, outcome, state, release, asg_name)
        state = fleet.read(ctx)
    elif blue.release != release:
        _log.info("already initialised: blue is %s %s (--version %s ignored)", blue.asg_name, blue.label, version)
    check_rule_priorities(ctx, state)
    # Only create what is missing: a canary in progress must survive a second init.
    current = state.routing
    desired = Routing(current.default, current.blue or blue.target_group_arn, current.green or FIXED_404)
    switch(ctx, outcome, state, desired)
    return _finish(ctx, "init", outcome)


def _adopt(ctx: Context, outcome: Outcome, state: FleetState, release, asg_name: str | None) -> Group:
    default = state.routing.default
    if not default or not default.startswith("arn:") or ":targetgroup/" not in default:
        raise Refused(f"the listener's default action must forward to one target group to be adopted; it is {default!r}")
    if asg_name:
        asg = ctx.asg.find(asg_name)
        if asg is None:
            raise ConfigError(f"--asg: no Auto Scaling Group named {asg_name!r}")
        if default not in asg.target_group_arns:
            raise ConfigError(f"--asg: {asg_name} does not register into the listener's default target group {default}")
    else:
        attached = ctx.asg.attached_to(default)
        if len(attached) != 1:
            names = ", ".join(view.name for view in attached) or "none"
            raise ConfigError(
                f"--asg: the default target group has {len(attached)} Auto Scaling Groups ({names});"
                " name the live one with --asg NAME")
        asg = attached[0]
    owner = (asg.tags.get(TAG_APP), asg.tags.get(TAG_STAGE))
    if owner[0] and owner != (ctx.config.app, ctx.config.stage):
        raise Refused(f"{asg.name} already belongs to kie-bluegreen {owner[0]}/{owner[1]}; a group is adopted by one"
                      " app and stage only")
    generation = state.next_generation
    tags = ctx.tags(generation, release, Role.BLUE)
    retry.aws_step(ctx.clock, lambda: ctx.asg.tag(asg.name, tags, PROPAGATED_TAGS))
    retry.aws_step(ctx.clock, lambda: ctx.alb.tag(default, tags))
    outcome.add(f"adopted {asg.name} as generation {generation} (blue, {release})")
    return Group(generation, Role.BLUE, release, asg.name, default, asg.capacity)


# -- plan and deploy ---------------------------------------------------------------------------


def plan(ctx: Context, version: str, strategy: str | None = None) -> FlowResult:
    """What deploy would do, computed from the current state. Writes nothing."""
    cfg = ctx.config
    strategy = strategy or cfg.routing.strategy
    release = cfg.release(version)
    _begin(ctx)
    state = fleet.read(ctx)
    blue = require_blue(state)
    green = check_candidate(state, release)
    steps: list[str] = []
    if green is None and blue.release == release:
        ctx.outcome.message = f"{version} is already live on {blue.asg_name} {blue.label}"
        return _finish(ctx, "plan", ctx.outcome, steps)
    if green is None:
        name = cfg.group_name(state.next_generation)
        capacity = new_capacity(cfg, blue)
        target = f"<new target group {name}>"
        steps.append(f"create target group {name} (settings copied from the blue one)")
        steps.append(f"create auto scaling group {name} for {release} (min {capacity.min}, max {capacity.max},"
                     f" desired {capacity.desired})")
        steps.append(f"wait until {capacity.desired} servers of {name} are ready (timeout {cfg.wait.timeout:g}s)")
    else:
        name, target = green.asg_name, green.target_group_arn
        steps.append(f"resume {name} {green.label}: wait until its servers are ready")
    names = {**state.names(), target: f"{name} g{state.next_generation if green is None else green.generation} ({version})"}
    desired = routing.canary(blue.target_group_arn, target) if strategy == "canary" else routing.promoted(target)
    steps += [change.describe(names) for change in routing.changes(state.routing, desired)]
    if strategy == "all-at-once":
        steps.append(f"retire {blue.asg_name} {blue.label}: {cfg.retire.previous}")
    ctx.outcome.message = f"deploying {version} ({strategy}) would take {len(steps)} steps; nothing was changed"
    return _finish(ctx, "plan", ctx.outcome, steps)


def deploy(ctx: Context, version: str, strategy: str | None = None, keep_failed: bool = False) -> FlowResult:
    """Provision, wait healthy, route (canary or all-at-once), retire where the strategy retires."""
    state = preflight.before(ctx, "deploy", version)  # also the state to start from
    strategy = strategy or ctx.config.routing.strategy
    release = ctx.config.release(version)
    outcome = _begin(ctx)
    blue = require_blue(state)
    if check_candidate(state, release) is None and blue.release == release:
        outcome.message = f"{version} is already live on {blue.asg_name} {blue.label}"
        return _finish(ctx, "deploy", outcome)
    green = provision(ctx, outcome, state, release)
    wait_for_candidate(ctx, outcome, green, keep_failed)
    _route_candidate(ctx, outcome, strategy)
    return _finish(ctx, "deploy", outcome)


def wait_for_candidate(ctx: Context, outcome: Outcome, green: Group, keep_failed: bool = False) -> None:
    """Wait for the green group; if it never gets ready, remove it (or keep it when asked) and
    fail with exit 1. Routing is not touched."""
    try:
        wait_healthy(ctx, green)
    except WaitTimeout as exc:
        state = fleet.read(ctx)
        group = next((g for g in state.groups if g.asg_name == green.asg_name), green)
        if state.routed(group):
            raise DeploymentFailed(f"{exc}; it already receives traffic ({', '.join(state.routed(group))}),"
                                   " so it was left in place: run `kie-bluegreen rollback`") from None
        if keep_failed or ctx.config.retire.candidate == "keep":
            set_role(ctx, outcome, state, group.asg_name, Role.RETIRED)
            undone = f"{group.asg_name} was kept for debugging (role retired; `cleanup` deletes it)"
        else:
            delete(ctx, outcome, group, "never became ready", drain=False)
            undone = f"{group.asg_name} was deleted"
        raise DeploymentFailed(f"{exc}; {undone}; routing unchanged") from None


def _route_candidate(ctx: Context, outcome: Outcome, strategy: str) -> None:
    state = fleet.read(ctx)
    blue, green = require_blue(state), _require_green(state, "route")
    if strategy == "canary":
        switch(ctx, outcome, state, routing.canary(blue.target_group_arn, green.target_group_arn))
    else:
        _promote_to(ctx, outcome, state, green)


def _promote_to(ctx: Context, outcome: Outcome, state: FleetState, green: Group) -> None:
    state = switch(ctx, outcome, state, routing.promoted(green.target_group_arn))
    state = settle_roles(ctx, outcome, state)
    retire(ctx, outcome, state)


def _require_green(state: FleetState, command: str) -> Group:
    if state.green is None:
        raise Refused(f"nothing to {command}: there is no green candidate (deploy a new version first)")
    return state.green


# -- promote and rollback ----------------------------------------------------------------------


def promote(ctx: Context) -> FlowResult:
    """Green becomes blue: default and blue rule to green, green rule to 404, old blue retired."""
    state = preflight.before(ctx, "promote")  # also the state to start from
    outcome = _begin(ctx)
    blue = require_blue(state)
    if state.green is None:
        # A promote that stopped half-way (rules, tags or retiring) is finished; otherwise
        # there is nothing to promote.
        _promote_to(ctx, outcome, state, blue)
        if not outcome.changes:
            raise Refused("nothing to promote: there is no green candidate (deploy a new version first)")
        return _finish(ctx, "promote", outcome)
    green = state.green
    try:
        wait_healthy(ctx, green)  # never route everyone to a group that is not ready
    except WaitTimeout as exc:
        raise DeploymentFailed(f"{exc}; nothing was changed: roll back or fix the servers") from None
    _promote_to(ctx, outcome, state, green)
    return _finish(ctx, "promote", outcome)


def rollback(ctx: Context, generation: int | None = None) -> FlowResult:
    """Before promote: back to blue, drop green. After promote: the standby generation (scaled
    back up and waited for if needed) becomes blue again, the faulty one is retired."""
    state = preflight.before(ctx, "rollback", generation=generation)  # also the state to start from
    outcome = _begin(ctx)
    blue = require_blue(state)
    green = state.green
    if green is not None and generation in (None, blue.generation):
        set_role(ctx, outcome, state, green.asg_name, Role.RETIRED)  # intent first: safe to resume
        state = switch(ctx, outcome, state, routing.at_rest(blue.target_group_arn))
        retire(ctx, outcome, settle_roles(ctx, outcome, state))
        return _finish(ctx, "rollback", outcome)
    if green is not None:
        raise Refused(f"green candidate {green.asg_name} {green.label} is deployed; roll it back first (no --generation)")

    if generation is None and not state.standby:
        # A rollback that stopped while retiring the candidate is finished; otherwise there
        # is nothing to roll back to.
        retire(ctx, outcome, settle_roles(ctx, outcome, state))
        if outcome.changes:
            return _finish(ctx, "rollback", outcome)
    target = _rollback_target(state, blue, generation)
    target = restore(ctx, outcome, target)
    try:
        wait_healthy(ctx, target)
    except WaitTimeout as exc:
        raise DeploymentFailed(f"{exc}; routing unchanged, {blue.asg_name} {blue.label} still serves") from None
    set_role(ctx, outcome, state, blue.asg_name, Role.RETIRED)  # intent first: never rolled back to
    state = switch(ctx, outcome, state, routing.at_rest(target.target_group_arn))
    retire(ctx, outcome, settle_roles(ctx, outcome, state))
    return _finish(ctx, "rollback", outcome)


def _rollback_target(state: FleetState, blue: Group, generation: int | None) -> Group:
    if generation is None:
        if not state.standby:
            raise Refused("nothing to roll back to: there is no green candidate and no standby generation")
        return state.standby[0]
    if generation == blue.generation:
        raise Refused(f"generation {generation} is already blue")
    target = next((g for g in state.groups if g.generation == generation), None)
    if target is None or target.role not in (Role.STANDBY, Role.RETIRED):
        have = ", ".join(f"g{g.generation} {g.role.value}" for g in state.groups)
        raise Refused(f"--generation {generation}: not a standby or kept generation (have: {have})")
    return target


# -- status, cleanup and single phases ---------------------------------------------------------


def status(ctx: Context) -> FlowResult:
    return _finish(ctx, "status", _begin(ctx))


def cleanup(ctx: Context) -> FlowResult:
    """Delete retired groups and standby generations beyond retire.keep."""
    outcome = _begin(ctx)
    state = settle_roles(ctx, outcome)
    retire(ctx, outcome, state, delete_retired=True)
    return _finish(ctx, "cleanup", outcome)


def phase_provision(ctx: Context, version: str) -> FlowResult:
    outcome = _begin(ctx)
    state = fleet.read(ctx)
    blue = require_blue(state)
    release = ctx.config.release(version)
    if check_candidate(state, release) is None and blue.release == release:
        outcome.message = f"{version} is already live on {blue.asg_name} {blue.label}"
    else:
        provision(ctx, outcome, state, release)
    return _finish(ctx, "phase provision", outcome)


def phase_wait(ctx: Context, keep_failed: bool = False) -> FlowResult:
    outcome = _begin(ctx)
    state = fleet.read(ctx)
    require_blue(state)
    if state.green is None:
        outcome.message = "no green candidate to wait for"
    else:
        wait_for_candidate(ctx, outcome, state.green, keep_failed)
    return _finish(ctx, "phase wait", outcome)


def phase_route(ctx: Context, strategy: str | None = None) -> FlowResult:
    outcome = _begin(ctx)
    state = fleet.read(ctx)
    blue = require_blue(state)
    if state.green is None and state.routing == routing.promoted(blue.target_group_arn):
        outcome.message = "nothing to route: no green candidate"
    else:
        _route_candidate(ctx, outcome, strategy or ctx.config.routing.strategy)
    return _finish(ctx, "phase route", outcome)


def phase_retire(ctx: Context) -> FlowResult:
    outcome = _begin(ctx)
    retire(ctx, outcome, settle_roles(ctx, outcome))
    return _finish(ctx, "phase retire", outcome)

