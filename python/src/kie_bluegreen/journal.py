"""The journal of a command: every step it ran and the changes each one made, in order.

The report prints it; a failed command still reports what it changed before it failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .steps import Step


@dataclass
class Entry:
    step: Step
    changes: list = field(default_factory=list)  # what was written to AWS, in words


@dataclass
class Journal:
    """What a command did: every step it ran, and the changes each one made."""

    entries: list = field(default_factory=list)
    before: object = None  # the FleetState the first execution started from (the report's "before" picture)
    notifications: list = field(default_factory=list)  # notify.delivery.Delivery, in the order sent

    @property
    def changes(self) -> list[str]:
        return [change for entry in self.entries for change in entry.changes]

    @property
    def steps(self) -> list[Step]:
        return [entry.step for entry in self.entries]
