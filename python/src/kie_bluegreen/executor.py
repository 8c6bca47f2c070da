"""Runs a plan step by step and keeps the journal of what it did.

Each step is idempotent: it first looks at what AWS shows and does only what is missing, so a
run that stopped anywhere is finished by planning again from AWS and running what is left.
The mapping from step kind to the code that performs it is explicit (STEP_ACTIONS).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import log, notify
from .aws.alb import ListenerView
from .context import Context
from .journal import Entry, Journal
from .phases import provision, refresh, retire, route, wait_healthy
from .state import FleetState
from .steps import (
    Adopt,
    AdoptSpare,
    ClearUnrouted,
    CopySettings,
    CreateGroup,
    CreatePairGroup,
    CreateTargetGroup,
    DeleteGroup,
    DeleteTargetGroup,
    DetachTargetGroup,
    EmptyGroup,
    MarkGeneration,
    MarkUnrouted,
    MoveSchedules,
    Plan,
    Record,
    Reference,
    Repoint,
    RollbackRefresh,
    Route,
    ScaleToZero,
    ScaleUp,
    SetRole,
    Shift,
    StartRefresh,
    SyncLogin,
    Unreference,
    WaitReady,
    WaitRefresh,
    Watch,
    is_placeholder,
)

_log = log.get("executor")


@dataclass
class Run:
    """What the steps of one execution share: the context, the state it started from, the
    listener as last read, and the target groups created so far (placeholder -> ARN)."""

    ctx: Context
    state: FleetState
    listener: ListenerView
    created: dict = field(default_factory=dict)
    verified: set = field(default_factory=set)  # instances whose KIE container was verified
    names: dict = field(default_factory=dict)  # ARN -> readable name, for messages
    versions: dict = field(default_factory=dict)  # Auto Scaling group -> the version it runs
    owners: dict = field(default_factory=dict)  # target group ARN -> the Auto Scaling group registering into it

    def resolve(self, target: str) -> str:
        """The ARN of a target group, the placeholder of one this run created resolved."""
        return self.created[target] if is_placeholder(target) else target

    def asg_of(self, target_group: str | None) -> str | None:
        """The Auto Scaling group that registers into a target group (created ones included)."""
        return self.owners.get(target_group)

    def reread_listener(self) -> ListenerView:
        cfg = self.ctx.config
        self.listener = self.ctx.alb.read_listener(cfg.listener_arn, cfg.routing.header, cfg.app, cfg.stage)
        return self.listener


STEP_ACTIONS: dict[type, Callable[[Run, Any], list[str]]] = {
    Adopt: provision.adopt,
    AdoptSpare: provision.adopt_spare,
    CreatePairGroup: provision.create_pair_group,
    EmptyGroup: provision.empty_group,
    Repoint: provision.repoint,
    DetachTargetGroup: provision.detach_target_group,
    CreateTargetGroup: provision.create_target_group,
    CreateGroup: provision.create_group,
    CopySettings: provision.copy_settings,
    MarkGeneration: provision.mark_generation,
    ScaleUp: provision.scale_up,
    Reference: route.reference,
    WaitReady: wait_healthy.wait_ready,
    Record: route.record,
    Route: route.route,
    Shift: route.shift,
    Watch: route.watch,
    Unreference: route.unreference,
    SyncLogin: route.sync_login,
    SetRole: route.set_role,
    MoveSchedules: route.move_schedules,
    ClearUnrouted: route.clear_unrouted,
    MarkUnrouted: route.mark_unrouted,
    ScaleToZero: retire.scale_to_zero,
    DeleteGroup: retire.delete_group,
    DeleteTargetGroup: retire.delete_target_group,
    StartRefresh: refresh.start_refresh,
    RollbackRefresh: refresh.rollback_refresh,
    WaitRefresh: refresh.wait_refresh,
}


def execute(ctx: Context, plan: Plan, state: FleetState) -> Journal:
    """Run every step in order; the journal (also on ctx, for failure reports) says what was done."""
    run = Run(
        ctx,
        state,
        state.listener,
        names=state.names(),
        versions={group.asg_name: group.version for group in state.groups},
        owners={group.target_group_arn: group.asg_name for group in state.groups if group.target_group_arn},
    )
    journal = ctx.journal
    journal.before = journal.before or state
    for step in plan.steps:
        entry = Entry(step)
        journal.entries.append(entry)
        _log.debug("step %s %s", step.kind, step.target)
        for change in STEP_ACTIONS[type(step)](run, step) or []:
            _log.info("  %s", change)
            entry.changes.append(change)
        notify.after_step(run, plan, step)
    return journal
