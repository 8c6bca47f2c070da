"""Notifications: events of a release (deploy-started, candidate-ready, routed, promoted,
rolled-back, failed) sent to SNS topics and webhooks (`notify` in the configuration).

The executor and the flows call the two hooks below; everything else lives in this package:
events.py (which step is which event), targets.py (where to), delivery.py (how, with retries),
notifier.py (building and sending), command.py (`kie-bluegreen notify --test`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..context import Context
    from ..errors import KieBlueGreenError
    from ..executor import Run
    from ..steps import Plan, Step


def after_step(run: "Run", plan: "Plan", step: "Step") -> None:
    """The executor finished `step` of `plan`: send the events it stands for."""
    run.ctx.notifier.after_step(run, plan, step)


def failed(ctx: "Context", exc: "KieBlueGreenError") -> "KieBlueGreenError":
    """A command failed once it had started changing AWS: send `failed`; returns `exc` to raise."""
    ctx.notifier.failed(exc)
    return exc
