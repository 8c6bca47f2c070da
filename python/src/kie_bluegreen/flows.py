"""The commands users run: init, plan, deploy, promote, rollback, status, cleanup, shift and each
phase of a deploy on its own.

Every command runs the same way: the preflight checks of the listener, the state read from
AWS, the plan (planner.py), the preflight checks of that plan, the executor, the report. So a
command run again after a crash plans from what AWS shows and does what is left, and the
single phases refuse exactly what the whole flows refuse, before any write.
"""

from __future__ import annotations

from . import executor, log, notify, planner, preflight
from . import state as fleet
from .analysis import AnalysisFailed
from .context import Context
from .errors import AwsError, ConfigError, DeploymentFailed, KieBlueGreenError
from .journal import Journal
from .phases.wait_healthy import WaitTimeout
from .planner import Request
from .report import CommandResult, fleet_data, fleet_result
from .steps import PROVISION, ROUTE, WAIT, Plan, WaitReady

_log = log.get("flows")


def _prepare(ctx: Context, request: Request, phase: str | None = None) -> preflight.Preflight:
    """Preflight, state and plan: everything before the first write. Raises what refuses."""
    ctx.journal = Journal()
    pre = preflight.Preflight(ctx, request.command, request, phase)
    preflight.checked(pre)
    return pre


def _execute(
    ctx: Context, command: str, request: Request, phase: str | None = None, keep_failed: bool = False
) -> CommandResult:
    pre = _prepare(ctx, request, phase)
    try:
        executor.execute(ctx, pre.planned, pre.fleet)
    except WaitTimeout as exc:
        raise notify.failed(ctx, _wait_failed(ctx, request, exc, keep_failed)) from None
    except AnalysisFailed as exc:
        raise notify.failed(ctx, _roll_back_automatically(ctx, exc)) from None
    except (DeploymentFailed, AwsError) as exc:  # a refusal (exit 3) changed nothing worth a notification
        raise notify.failed(ctx, exc) from exc
    return _finish(ctx, command, pre.planned.message)


def _roll_back_automatically(ctx: Context, exc: AnalysisFailed) -> KieBlueGreenError:
    """An alarm fired during a weighted step or the bake: everyone back on the previous group
    at once, the candidate retired as a rollback does."""
    _log.info("%s: rolling back", exc)
    state = fleet.read(ctx)
    plan = planner.plan(Request("rollback"), state, ctx.config)
    executor.execute(ctx, plan, state)
    blue = fleet.read(ctx).blue
    return DeploymentFailed(
        f"{exc}; rolled back automatically: everyone is on {blue.name if blue else 'the previous group'}"
    )


def _finish(ctx: Context, command: str, message: str | None) -> CommandResult:
    return fleet_result(command, ctx.config, fleet.read(ctx, with_health=True), ctx.journal, message)


def failure_details(ctx: Context, command: str) -> dict:
    """What the JSON of a failed command still reports: where AWS stands and what was changed."""
    try:
        current = fleet.read(ctx)
    except KieBlueGreenError:
        current = None  # AWS itself is the problem: report what we know
    data = fleet_data(command, ctx.config, current, ctx.journal)
    for key in ("command", "result", "exit_code", "error", "message"):
        data.pop(key)
    return data


# -- init ----------------------------------------------------------------------------------------


def init(ctx: Context, version: str, asg_name: str | None = None) -> CommandResult:
    """Adopt the group the listener forwards to as generation 1 (blue); create the header rules."""
    ctx.config.release(version)  # a bad version is refused before anything is read
    ctx.journal = Journal()
    pre = preflight.Preflight(ctx, "init")
    preflight.checked(pre, checks=pre.listener_checks())
    pre.state = fleet.read(ctx, listener=pre.listener_view)
    adopt = None if pre.fleet.blue is not None else _adoptable(ctx, pre.fleet, asg_name).name
    pre.request = Request("init", version=version, adopt=adopt)
    preflight.checked(pre, checks=pre.plan_checks())
    executor.execute(ctx, pre.planned, pre.fleet)
    return _finish(ctx, "init", pre.planned.message)


def _adoptable(ctx: Context, state, asg_name: str | None):
    """The live Auto Scaling group behind the listener's default target group."""
    from .errors import Refused
    from .model import TAG_APP, TAG_STAGE

    default = state.routing.default
    if not default or not default.startswith("arn:") or ":targetgroup/" not in default:
        raise Refused(
            f"the listener's default action must forward to one target group to be adopted; it is {default!r}"
        )
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
                " name the live one with --asg NAME"
            )
        asg = attached[0]
    owner = (asg.tags.get(TAG_APP), asg.tags.get(TAG_STAGE))
    if owner[0] and owner != (ctx.config.app, ctx.config.stage):
        raise Refused(
            f"{asg.name} already belongs to kie-bluegreen {owner[0]}/{owner[1]}; a group is adopted by one"
            " app and stage only"
        )
    return asg


# -- plan and deploy ---------------------------------------------------------------------------


def plan(ctx: Context, version: str, strategy: str | None = None) -> CommandResult:
    """The plan deploy would execute on the state AWS shows now. Writes nothing."""
    pre = _prepare(ctx, Request("deploy", version=version, strategy=strategy))
    message = pre.planned.message
    if pre.planned:
        message = (
            f"deploying {version} ({strategy or ctx.config.routing.strategy}) would take"
            f" {len(pre.planned.steps)} steps; nothing was changed"
        )
    return fleet_result("plan", ctx.config, fleet.read(ctx, with_health=True), Journal(), message, plan=pre.planned)


def deploy(ctx: Context, version: str, strategy: str | None = None, keep_failed: bool = False) -> CommandResult:
    """Provision, wait until ready, route (canary, all-at-once or weighted), retire."""
    return _execute(ctx, "deploy", Request("deploy", version=version, strategy=strategy), keep_failed=keep_failed)


def _wait_failed(ctx: Context, request: Request, exc: WaitTimeout, keep_failed: bool) -> KieBlueGreenError:
    """A group never got ready. A deploy's candidate that serves nobody is removed (or kept,
    when asked); routing stays as it was."""
    waited = next((entry.step for entry in reversed(ctx.journal.entries) if isinstance(entry.step, WaitReady)), None)
    if request.command == "promote":
        return DeploymentFailed(f"{exc}; nothing was changed: roll back or fix the servers")
    if request.command in ("rollback", "shift"):
        return DeploymentFailed(f"{exc}; routing unchanged")
    state = fleet.read(ctx)
    group = state.group_named(waited.group) if waited else None
    if group is None:
        return DeploymentFailed(str(exc))
    if state.routed(group):
        return DeploymentFailed(
            f"{exc}; it already receives traffic ({', '.join(state.routed(group))}),"
            " so it was left in place: run `kie-bluegreen rollback`"
        )
    keep = keep_failed or ctx.config.retire.candidate == "keep"
    executor.execute(ctx, planner.abandon(state, ctx.config, group.asg_name, keep), state)
    if keep:
        undone = f"{group.asg_name} was kept for debugging (role retired; `cleanup` deletes it)"
    else:
        undone = (
            f"{group.asg_name} was deleted (run with --keep-failed, or set retire.candidate: keep, to keep"
            " failed servers for debugging)"
        )
    return DeploymentFailed(f"{exc}; {undone}; routing unchanged")


# -- promote, rollback, shift ------------------------------------------------------------------


def promote(ctx: Context) -> CommandResult:
    """Green becomes blue: default and blue rule to green, green rule to 404, old blue retired."""
    return _execute(ctx, "promote", Request("promote"))


def rollback(ctx: Context, generation: int | None = None) -> CommandResult:
    """Before promote: back to blue, drop green. After promote: the standby generation (scaled
    back up and waited for if needed) becomes blue again, the faulty one is retired."""
    return _execute(ctx, "rollback", Request("rollback", generation=generation))


def shift(ctx: Context, weight: int) -> CommandResult:
    """One weighted step: `weight` percent of the default route to the green candidate."""
    if not 0 <= weight <= 100:
        raise ConfigError(f"--weight: expected a percentage from 0 to 100, got {weight}")
    return _execute(ctx, "phase shift", Request("shift", weight=weight))


# -- status, cleanup and single phases ---------------------------------------------------------


def status(ctx: Context) -> CommandResult:
    """Routing, groups, versions, health, and what a stopped run left unfinished."""
    ctx.journal = Journal()
    state = fleet.read(ctx, with_health=True)
    return fleet_result("status", ctx.config, state, ctx.journal, pending=planner.pending(state, ctx.config))


def cleanup(ctx: Context) -> CommandResult:
    """Delete retired groups and standby generations beyond retire.keep."""
    return _execute(ctx, "cleanup", Request("cleanup"))


def phase_provision(ctx: Context, version: str) -> CommandResult:
    return _execute(ctx, "phase provision", Request("deploy", version=version), phase=PROVISION)


def phase_wait(ctx: Context, keep_failed: bool = False) -> CommandResult:
    """Wait for the green candidate (the version in progress: no --version)."""
    return _execute(ctx, "phase wait", Request("deploy"), phase=WAIT, keep_failed=keep_failed)


def phase_route(ctx: Context, strategy: str | None = None) -> CommandResult:
    return _execute(ctx, "phase route", Request("deploy", strategy=strategy), phase=ROUTE)


def phase_retire(ctx: Context) -> CommandResult:
    return _execute(ctx, "phase retire", Request("retire"))


__all__ = [
    "init",
    "plan",
    "deploy",
    "promote",
    "rollback",
    "shift",
    "status",
    "cleanup",
    "phase_provision",
    "phase_wait",
    "phase_route",
    "phase_retire",
    "failure_details",
    "Plan",
]
