"""Make moto's DescribeTargetHealth answer from the sandbox's HealthBoard.

moto reports every registered target `healthy` at once (DESIGN 5). While a sandbox runs, the
ELBv2 backend's describe_target_health is replaced, for the target groups the board tracks, by
the board's states: initial, healthy, unhealthy, draining (deregistered targets stay listed
while they drain, as on AWS) and unused for a target asked for by id that is not registered.
The patch is process-wide and undone by `uninstall`; only the sandbox installs it.
"""

from __future__ import annotations

import threading

from moto.elbv2.exceptions import TargetGroupNotFoundError
from moto.elbv2.models import ELBv2Backend, FakeHealthStatus

from . import moto_state
from .health import REASONS, HealthBoard

_lock = threading.Lock()
_boards: dict[str, HealthBoard] = {}  # region -> board of the running sandbox
_original = ELBv2Backend.describe_target_health


def _describe_target_health(self, target_group_arn: str, targets: list[dict]) -> list[FakeHealthStatus]:
    board = _boards.get(self.region_name)
    if board is not None:
        # Follow registrations made since the checker's last look, so a target group created a
        # moment ago answers `initial` like AWS, never moto's instant `healthy`.
        board.sync(moto_state.target_groups(self.region_name))
    if board is None or not board.tracks(target_group_arn):
        return _original(self, target_group_arn, targets)
    group = self.target_groups.get(target_group_arn)
    if group is None:
        raise TargetGroupNotFoundError()
    states = board.states(target_group_arn)
    wanted = [target["Id"] for target in targets] if targets else sorted(states)
    answers = []
    for target_id in wanted:
        state = states.get(target_id, "unused")
        reason, description = REASONS.get(state, ("Target.NotRegistered", "Target is not registered to the target group")) \
            if state != "healthy" else (None, None)
        answers.append(FakeHealthStatus(target_id, group.port, group.health_check_port, state, reason, description))
    return answers


def install(region: str, board: HealthBoard) -> None:
    with _lock:
        if region in _boards:
            raise RuntimeError(f"a sandbox already reports target health in {region}")
        _boards[region] = board
        ELBv2Backend.describe_target_health = _describe_target_health


def uninstall(region: str) -> None:
    with _lock:
        _boards.pop(region, None)
        if not _boards:
            ELBv2Backend.describe_target_health = _original
