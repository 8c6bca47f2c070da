"""Checks the phases share."""

from __future__ import annotations

from ..errors import Refused
from ..model import Group
from ..state import FleetState


def require_blue(state: FleetState) -> Group:
    blue = state.blue
    if blue is None:
        raise Refused(
            f"the listener's default action ({state.routing.default}) is not a group managed by kie-bluegreen;"
            " run `kie-bluegreen init --version V` first to adopt the live group as generation 1")
    return blue
