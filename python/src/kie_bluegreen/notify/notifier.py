"""The notifier of one Context: turns what the executor did into events, delivers them to the
configured targets, and keeps the outcomes on the command's journal (the result reports them;
an undelivered one is a warning, never a failure).

Without `notify` in the configuration it does nothing at all (no extra AWS call).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .. import log
from ..aws.sns import Sns
from ..model import FIXED_404, Routing
from ..steps import CreateGroup, Record, Repoint, Route, Shift, Step, WaitReady
from . import events as catalogue
from .delivery import Delivery, deliver
from .events import Event
from .targets import resolve

if TYPE_CHECKING:
    from ..context import Context
    from ..executor import Run
    from ..steps import Plan

_log = log.get("notify")
BUILD_URL = "BUILD_URL"  # set by Jenkins in every build


class Notifier:
    def __init__(self, ctx: "Context", environ: Mapping[str, str] | None = None):
        self.ctx = ctx
        self.environ = os.environ if environ is None else environ
        self.targets = resolve(ctx.config.notify, self.environ)
        self.sns = Sns(ctx.api)

    @property
    def active(self) -> bool:
        return bool(self.targets)

    # -- the hooks ---------------------------------------------------------------------------

    def after_step(self, run: "Run", plan: "Plan", step: Step) -> None:
        if not self.active:
            return
        for kind in catalogue.after_step(plan, step):
            self.send(self._event(kind, run, plan, step))

    def failed(self, exc: Exception, version: str | None = None) -> None:
        """A command failed after it started changing AWS: `failed`, with where AWS stands now."""
        if not self.active:
            return
        from .. import state as fleet  # the state module reads AWS: only when someone listens

        try:
            state = fleet.read(self.ctx)
        except Exception:  # noqa: BLE001 - AWS may be what failed; report what is known
            state = None
        candidate = (
            version
            or _working_version(self.ctx.journal.steps)
            or (state.green.version if state and state.green else None)
        )
        blue = state.blue.version if state and state.blue else None
        routing = _routing_view(state.routing, _by_state(state)) if state else {}
        text = f"{self._where()}: {_subject_of(candidate)} failed: {exc}"
        self.send(self._new("failed", candidate, blue, candidate, routing, text, {"error": str(exc)}))

    def test(self) -> list[Delivery]:
        """`notify --test`: one test event to every target, whatever events it listens to."""
        text = f"{self._where()}: test notification from kie-bluegreen (nothing was deployed)"
        return self.send(self._new(catalogue.TEST, None, None, None, {}, text), every_target=True)

    # -- delivery ----------------------------------------------------------------------------

    def send(self, event: Event, every_target: bool = False) -> list[Delivery]:
        outcomes = []
        for target in self.targets:
            if not (every_target or target.wants(event.kind)):
                continue
            outcome = deliver(event, target, self.sns, self.ctx.clock)
            if outcome.delivered:
                _log.info("  notified %s: %s (%s)", target.label, event.kind, outcome.detail)
            else:
                _log.warning("kie-bluegreen: warning: %s", outcome.warning)
            outcomes.append(outcome)
        self.ctx.journal.notifications.extend(outcomes)
        return outcomes

    # -- building events ---------------------------------------------------------------------

    def _event(self, kind: str, run: "Run", plan: "Plan", step: Step) -> Event:
        cfg = self.ctx.config
        blue = run.state.blue.version if run.state.blue else None
        routing = run.listener.routing
        view = _routing_view(routing, _by_run(run))
        where = self._where()
        if kind in ("deploy-started", "candidate-ready"):
            version = _candidate_version(plan)
            text = (
                f"{where}: deploying {version} next to {blue}"
                if kind == "deploy-started"
                else f"{where}: {version} is ready on every server of {step.target}; no traffic yet"
            )
            return self._new(kind, version, blue, version, view, text)
        if kind == "routed" and isinstance(step, (Route, Shift)):
            target = run.resolve(step.to)
            version = run.versions.get(run.asg_of(target))
            details: dict[str, object]
            if isinstance(step, Shift):
                text = f"{where}: {version} now takes {step.weight}% of the default route; the rest stays on {blue}"
                details = {"percent": step.weight}
            else:
                header = f"{cfg.routing.header}: {cfg.routing.green_value}"
                text = f"{where}: {version} is live for green testers ({header}); everyone else stays on {blue}"
                details = {"header": header}
            return self._new(kind, version, blue, version, view, text, details)
        versions = _versions_by_generation(run, plan)
        record = next(
            s
            for s in plan.steps
            if isinstance(s, Record)
            and (s.transition or "").startswith("promote:" if kind == "promoted" else "rollback:")
        )
        numbers = [int(part) for part in (record.transition or "").split(":")[1:]]
        if kind == "promoted":
            version = versions.get(numbers[0])
            text = f"{where}: {version} promoted: everyone is on it now (before: {blue})"
            return self._new(kind, version, blue, version, view, text)
        removed, serving = versions.get(numbers[0]), versions.get(numbers[1])
        text = f"{where}: {removed} rolled back: everyone is on {serving} again"
        return self._new(kind, removed, serving, serving, view, text)

    def _new(
        self, kind: str, version, previous, container_version, routing: dict, text: str, details: dict | None = None
    ) -> Event:
        cfg = self.ctx.config
        build_url = self.environ.get(BUILD_URL) or None
        container = (
            cfg.container_id(container_version)
            if container_version
            else (None if cfg.container.versioned else cfg.container.id)
        )
        return Event(
            kind,
            cfg.app,
            cfg.stage,
            version,
            previous,
            container,
            routing,
            self.ctx.clock.wall(),
            text + (f" ({build_url})" if build_url else ""),
            build_url,
            details or {},
        )

    def _where(self) -> str:
        return f"{self.ctx.config.app}/{self.ctx.config.stage}"


def _subject_of(version: str | None) -> str:
    return f"the release of {version}" if version else "the command"


def _candidate_version(plan: "Plan") -> str | None:
    for step in plan.steps:
        if isinstance(step, (CreateGroup, Repoint)):
            return step.release.version
        if isinstance(step, WaitReady):
            return step.version
    return None


def _working_version(steps) -> str | None:
    """The release a failed command was working on: the first it created or waited for (an
    automatic rollback that followed waits for the previous one)."""
    for step in steps:
        if isinstance(step, (CreateGroup, Repoint)):
            return step.release.version
        if isinstance(step, WaitReady):
            return step.version
    return None


def _versions_by_generation(run: "Run", plan: "Plan") -> dict[int, str]:
    versions = {group.generation: group.version for group in run.state.groups}
    versions.update(
        {step.generation: step.release.version for step in plan.steps if isinstance(step, (CreateGroup, Repoint))}
    )
    return versions


def _by_run(run: "Run"):
    def describe(arn: str) -> tuple[str | None, str | None]:
        group = run.asg_of(arn)
        return group, run.versions.get(group)

    return describe


def _by_state(state):
    def describe(arn: str) -> tuple[str | None, str | None]:
        group = state.group_of(arn)
        return (group.asg_name, group.version) if group else (None, None)

    return describe


def _routing_view(routing: Routing, describe) -> dict:
    """Each route with the group and release it reaches (target: an ARN or fixed-response:404)."""

    def one(target: str) -> dict:
        if target == FIXED_404:
            return {"target": target, "group": None, "version": None}
        group, version = describe(target)
        return {"target": target, "group": group, "version": version}

    view: dict[str, object] = {}
    for route in ("default", "blue", "green"):
        target = getattr(routing, route)
        view[route] = one(target) if target is not None else None
    if routing.split:
        view["weights"] = [{**one(arn), "percent": routing.share(arn)} for arn in routing.split]
    return view
