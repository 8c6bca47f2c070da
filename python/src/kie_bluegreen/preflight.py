"""Checks run before a command changes anything. Each failure names what to fix."""

from __future__ import annotations

from .context import Context
from .errors import ConfigError
from .state import FleetState


def check_rule_priorities(ctx: Context, state: FleetState) -> None:
    """The header rules we would create must not take a priority another rule already holds."""
    routing = ctx.config.routing
    taken = state.listener.priorities()
    ours = {rule.arn for rule in state.listener.ours.values()}
    for route, priority in (("blue", routing.blue_priority), ("green", routing.green_priority)):
        if route in state.listener.ours:
            continue
        holder = taken.get(priority)
        if holder and holder not in ours:
            raise ConfigError(
                f"routing.{route}-priority: priority {priority} on the listener is held by another rule"
                f" ({holder}); choose a free priority for the {route} header rule")
