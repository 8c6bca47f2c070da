"""PURE: which notification events a plan's steps stand for, and what each event says.

The executor reports every step it finished; this module decides, from the step and the plan
it belongs to, whether that step is the moment of an event:

| event             | after                                                                    |
|-------------------|--------------------------------------------------------------------------|
| `deploy-started`  | the first provisioning step of a deploy (creating or resuming the candidate) |
| `candidate-ready` | a deploy's wait-ready: every server of the candidate is ready            |
| `routed`          | a deploy's route of the green header to the candidate; a weighted step (below 100) |
| `promoted`        | the last route change of a promote (the command, an all-at-once deploy, a weighted  |
|                   | deploy or `phase shift` reaching 100)                                               |
| `rolled-back`     | the last route change of a rollback (asked for, or automatic after an alarm) |
| `failed`          | a command that failed once it had started changing AWS (flows report it) |

A promote or rollback is recognised by the transition it records on the header rules before it
changes any route ("promote:3", "rollback:3:2"). The event's data (versions, routing) is filled
in by the notifier from what the execution knows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..config import NOTIFY_EVENTS
from ..model import FIXED_404
from ..steps import PROVISION, Plan, Record, Route, Shift, Step, WaitReady, Watch

TEST = "test"  # `kie-bluegreen notify --test`: not a deployment event, sent to every target
# The REST API of a KIE Server below its default web context; clients reach a container at
# <this>/containers/<container id> (KIE Server REST API documentation, "KIE Server REST API for
# KIE containers and business assets").
KIE_REST_BASE = "/kie-server/services/rest/server"
# Events whose clients may have to change what they call: the data names the container id and
# its REST base path (with a versioned container.id the path changes with every release).
ADDRESSING_EVENTS = ("routed", "promoted", "rolled-back")

__all__ = ["NOTIFY_EVENTS", "TEST", "Event", "after_step", "rest_base_path"]


@dataclass(frozen=True)
class Event:
    """One notification, before it is addressed to a target."""

    kind: str  # one of NOTIFY_EVENTS, or TEST
    app: str
    stage: str
    version: str | None  # the release the event is about (rolled-back: the one taken out)
    previous_version: str | None  # the release that served everyone before (rolled-back: serving again)
    container_id: str | None  # the container id clients address after the event
    routing: dict  # each route after the event: {"target", "group", "version"}; "weights" while split
    at: float  # epoch seconds
    text: str  # one human line (Slack and Teams show it)
    build_url: str | None = None  # Jenkins' BUILD_URL when the runner runs in a build
    details: dict = field(default_factory=dict)  # e.g. {"error": ...} for failed, {"percent": 10} for a weighted step

    def payload(self) -> dict:
        """The JSON object every target receives (a webhook's body, an SNS message)."""
        data = {
            "event": self.kind,
            "app": self.app,
            "stage": self.stage,
            "version": self.version,
            "previous_version": self.previous_version,
            "container_id": self.container_id,
            "routing": self.routing,
            "build_url": self.build_url,
            "at": datetime.fromtimestamp(self.at, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "text": self.text,
        }
        if self.kind in ADDRESSING_EVENTS and self.container_id:
            data["rest_base_path"] = rest_base_path(self.container_id)
        data.update(self.details)
        return data

    @property
    def subject(self) -> str:
        return f"kie-bluegreen {self.app}/{self.stage}: {self.kind} {self.version or ''}".strip()


def rest_base_path(container_id: str) -> str:
    """Where clients reach the container through the load balancer."""
    return f"{KIE_REST_BASE}/containers/{container_id}"


def after_step(plan: Plan, step: Step) -> list[str]:
    """The events that finishing `step` (a step of `plan`, by identity) stands for, in order."""
    index = next(position for position, candidate in enumerate(plan.steps) if candidate is step)
    events = []
    if plan.command == "deploy" and index == _first(plan, lambda s: s.phase == PROVISION):
        events.append("deploy-started")
    if plan.command == "deploy" and isinstance(step, WaitReady):
        events.append("candidate-ready")
    if plan.command in ("deploy", "shift") and _routes_candidate(step):
        events.append("routed")
    for transition, event in (("promote:", "promoted"), ("rollback:", "rolled-back")):
        if index == _transition_done(plan, transition):
            events.append(event)
    return events


def _routes_candidate(step: Step) -> bool:
    """The green header now reaches the candidate, or a weighted step below 100 percent."""
    if isinstance(step, Route):
        return step.route == "green" and step.to != FIXED_404
    return isinstance(step, Shift) and step.weight < 100


def _first(plan: Plan, wanted) -> int | None:
    return next((index for index, step in enumerate(plan.steps) if wanted(step)), None)


def _transition_done(plan: Plan, prefix: str) -> int | None:
    """The index of the step that completes a recorded promote or rollback: its last route
    change (before a bake's watch), or the record itself when no route changes follow."""
    start = _first(plan, lambda s: isinstance(s, Record) and (s.transition or "").startswith(prefix))
    if start is None:
        return None
    done = start
    for index in range(start + 1, len(plan.steps)):
        step = plan.steps[index]
        if isinstance(step, Watch):
            break  # the bake watches a release that is already promoted
        if isinstance(step, (Route, Shift)):
            done = index
    return done
