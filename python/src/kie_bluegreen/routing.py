"""PURE routing decisions: the routing each transition wants (the design note's pictures Canary-0 to
Canary-3) and the ordered rule changes from the current routing to it. No AWS here.
"""

from __future__ import annotations

from .model import FIXED_404, ROUTES, Routing, RuleChange


def at_rest(blue: str) -> Routing:
    """Canary-0, and after a rollback (Canary-3): everyone on blue, green testers get 404."""
    return Routing(default=blue, blue=blue, green=FIXED_404)


def canary(blue: str, green: str) -> Routing:
    """Canary-1: default and blue stay on blue, the green header reaches the candidate."""
    return Routing(default=blue, blue=blue, green=green)


def promoted(new_blue: str) -> Routing:
    """Canary-2 (and all-at-once, an implicit promotion): everyone on the new group."""
    return at_rest(new_blue)


def changes(current: Routing, desired: Routing) -> list[RuleChange]:
    """The fewest writes (one per route that differs), in a safe order: routes that start
    forwarding to a ready group first, default before the header rules (most traffic moves
    first), and routes that stop serving (fixed 404) last, so testers keep a working target
    until everyone else has moved."""
    wanted = []
    for route in ROUTES:
        target, previous = getattr(desired, route), getattr(current, route)
        if target is not None and target != previous:
            wanted.append(RuleChange(route, target, previous, create=(route != "default" and previous is None)))
    return sorted(wanted, key=lambda change: change.target == FIXED_404)
