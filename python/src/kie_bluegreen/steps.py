"""The steps a plan is made of: immutable values, one kind each, no AWS here.

The planner (planner.py) turns (what was asked, what AWS shows) into a list of these; the
executor (executor.py) runs them in order. Each step says what it acts on (`target`), which
phase of a release it belongs to (`phase`: a Jenkins stage runs the steps of one phase), and
how it reads in a plan (`describe`). A target group that the plan itself creates is named by a
placeholder, `new_target_group(name)`, until the executor has created it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, fields
from typing import ClassVar

from .model import FIXED_404, Capacity, Release, Role

NEW_PREFIX = "new-target-group:"

PROVISION, WAIT, ROUTE, RETIRE, INIT = "provision", "wait", "route", "retire", "init"
PHASES = (INIT, PROVISION, WAIT, ROUTE, RETIRE)


def new_target_group(name: str) -> str:
    """Placeholder for the target group a plan creates under this name."""
    return NEW_PREFIX + name


def is_placeholder(target: str | None) -> bool:
    return target is not None and target.startswith(NEW_PREFIX)


@dataclass(frozen=True)
class Step(ABC):
    kind: ClassVar[str]
    phase: ClassVar[str]

    @property
    @abstractmethod
    def target(self) -> str:
        """The name of what the step acts on."""

    @abstractmethod
    def describe(self, names: dict[str, str]) -> str:
        """One line for a plan or a journal; `names` turns ARNs into readable names."""

    def as_dict(self, names: dict[str, str]) -> dict:
        data = {"kind": self.kind, "target": self.target, "phase": self.phase, "description": self.describe(names)}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, (Role, Release, Capacity)):
                value = value.value if isinstance(value, Role) else str(value)
            data.setdefault(item.name.replace("_", "-"), value)
        return data


def _name(names: dict[str, str], target: str | None) -> str:
    if target is None:
        return "(nothing)"
    if target in names:
        return names[target]
    if is_placeholder(target):
        return target[len(NEW_PREFIX) :] + " (new)"
    return names.get(target, target)


# -- init ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Adopt(Step):
    kind: ClassVar[str] = "adopt"
    phase: ClassVar[str] = INIT
    asg: str
    target_group: str
    generation: int
    release: Release

    @property
    def target(self) -> str:
        return self.asg

    def describe(self, names):
        return f"adopt {self.asg} as generation {self.generation} (blue, {self.release})"


# -- provision -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateTargetGroup(Step):
    kind: ClassVar[str] = "create-target-group"
    phase: ClassVar[str] = PROVISION
    name: str
    like: str  # ARN of the target group whose settings are copied

    @property
    def target(self) -> str:
        return self.name

    def describe(self, names):
        return f"create target group {self.name} (settings copied from {_name(names, self.like)})"


@dataclass(frozen=True)
class CreateGroup(Step):
    kind: ClassVar[str] = "create-group"
    phase: ClassVar[str] = PROVISION
    name: str
    generation: int
    release: Release
    capacity: Capacity
    target_group: str
    like: str  # the Auto Scaling group whose settings are copied

    @property
    def target(self) -> str:
        return self.name

    def describe(self, names):
        return (
            f"create auto scaling group {self.name} for {self.release} (min {self.capacity.min},"
            f" max {self.capacity.max}, desired {self.capacity.desired}), copied from {self.like}"
        )


@dataclass(frozen=True)
class CopySettings(Step):
    """Scaling policies, lifecycle hooks, notifications, metrics collection, warm pool and
    suspended processes of the live group onto the new one."""

    kind: ClassVar[str] = "copy-settings"
    phase: ClassVar[str] = PROVISION
    group: str
    like: str
    target_group: str  # the new group's target group (a target tracking label names it)
    like_target_group: str

    @property
    def target(self) -> str:
        return self.group

    def describe(self, names):
        return (
            f"copy the scaling policies, lifecycle hooks, notifications, metrics collection, warm pool and"
            f" suspended processes of {self.like} onto {self.group}"
        )


@dataclass(frozen=True)
class CreatePairGroup(Step):
    """Fixed pair: the second group, a copy of the live one at zero servers."""

    kind: ClassVar[str] = "create-pair-group"
    phase: ClassVar[str] = INIT
    name: str
    like: str

    @property
    def target(self) -> str:
        return self.name

    def describe(self, names):
        return f"create {self.name}, the second group of the pair, as a copy of {self.like} at zero servers"


@dataclass(frozen=True)
class AdoptSpare(Step):
    """Fixed pair: the named second group joins the stage (tagged app and stage, no generation)."""

    kind: ClassVar[str] = "adopt-spare"
    phase: ClassVar[str] = INIT
    name: str

    @property
    def target(self) -> str:
        return self.name

    def describe(self, names):
        return f"take {self.name} as the second group of the pair"


@dataclass(frozen=True)
class EmptyGroup(Step):
    """Fixed pair: the idle group's previous release leaves before the group is reused."""

    kind: ClassVar[str] = "empty-group"
    phase: ClassVar[str] = PROVISION
    group: str
    timeout: float

    @property
    def target(self) -> str:
        return self.group

    def describe(self, names):
        return f"scale {self.group} to zero and wait until its servers are gone (AWS drains them)"


@dataclass(frozen=True)
class Repoint(Step):
    """Fixed pair: the idle group runs the new generation: its tags (and launch template
    version) name the new release, it registers into the new target group, not the old ones."""

    kind: ClassVar[str] = "repoint-group"
    phase: ClassVar[str] = PROVISION
    group: str
    generation: int
    release: Release
    target_group: str
    role: Role = Role.GREEN
    previous: str | None = None  # single group: "<generation> <release>" it ran, for a rollback to find
    template: bool = True  # render the user data into a launch template version (a fixed pair's idle group)

    @property
    def target(self) -> str:
        return self.group

    def describe(self, names):
        return (
            f"point {self.group} at generation {self.generation} ({self.release}): register into"
            f" {_name(names, self.target_group)}"
        )


@dataclass(frozen=True)
class DetachTargetGroup(Step):
    """Fixed pair: a reused group leaves the target group of the generation it ran before."""

    kind: ClassVar[str] = "detach-target-group"
    phase: ClassVar[str] = PROVISION
    group: str
    arn: str

    @property
    def target(self) -> str:
        return self.group

    def describe(self, names):
        return f"{self.group} leaves {_name(names, self.arn)}"


@dataclass(frozen=True)
class MarkGeneration(Step):
    kind: ClassVar[str] = "mark-generation"
    phase: ClassVar[str] = PROVISION
    generation: int

    @property
    def target(self) -> str:
        return "header rules"

    def describe(self, names):
        return f"remember generation {self.generation} on the header rules (numbers are never reused)"


@dataclass(frozen=True)
class ScaleUp(Step):
    kind: ClassVar[str] = "scale-up"
    phase: ClassVar[str] = PROVISION
    group: str
    capacity: Capacity

    @property
    def target(self) -> str:
        return self.group

    def describe(self, names):
        return f"scale {self.group} back to {self.capacity.desired} servers (min {self.capacity.min}, max {self.capacity.max})"


@dataclass(frozen=True)
class Reference(Step):
    """Name the group in the default action with weight 0: AWS health-checks only target groups
    a listener references, and weight 0 sends no traffic."""

    kind: ClassVar[str] = "reference"
    phase: ClassVar[str] = PROVISION
    group: str
    target_group: str

    @property
    def target(self) -> str:
        return self.group

    def describe(self, names):
        target = _name(names, self.target_group)
        return f"reference {target} in the default action with weight 0 (health checks start, no traffic)"


# -- wait ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaitReady(Step):
    kind: ClassVar[str] = "wait-ready"
    phase: ClassVar[str] = WAIT
    group: str
    label: str
    target_group: str
    version: str
    timeout: float

    @property
    def target(self) -> str:
        return self.group

    def describe(self, names):
        return f"wait until every server of {self.group} {self.label} is ready (timeout {self.timeout:g}s)"


# -- route ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record(Step):
    """Write down the transition (and the topology) on our rules before any route changes, so a
    re-run knows it."""

    kind: ClassVar[str] = "record"
    phase: ClassVar[str] = ROUTE
    transition: str | None
    topology: str

    @property
    def target(self) -> str:
        return "header rules"

    def describe(self, names):
        what = self.transition.replace(":", " ", 1) if self.transition else f"topology {self.topology}"
        return f"record {what} on the header rules"


@dataclass(frozen=True)
class Route(Step):
    kind: ClassVar[str] = "route"
    phase: ClassVar[str] = ROUTE
    route: str  # default, blue or green
    to: str  # target group ARN (or placeholder), or FIXED_404
    previous: str | None
    create: bool = False  # the header rule does not exist yet

    @property
    def target(self) -> str:
        return self.route

    def describe(self, names):
        if self.create:
            return f"create the {self.route} header rule -> {_name(names, self.to)}"
        return f"{self.route}: {_name(names, self.previous)} -> {_name(names, self.to)}"

    @property
    def starts_traffic(self) -> bool:
        return self.to != FIXED_404


@dataclass(frozen=True)
class Shift(Step):
    """Split the default route: `weight` percent to the candidate, the rest to blue."""

    kind: ClassVar[str] = "shift"
    phase: ClassVar[str] = ROUTE
    weight: int
    to: str  # the candidate's target group
    blue: str  # the blue target group

    @property
    def target(self) -> str:
        return "default"

    def describe(self, names):
        return f"default: {self.weight}% to {_name(names, self.to)}, {100 - self.weight}% to {_name(names, self.blue)}"


@dataclass(frozen=True)
class Watch(Step):
    """Hold for `seconds` while watching the configured alarms (a weighted step, or the bake).
    `looking_back`: the 5xx share counts from that many seconds before the watch starts (a hold
    that happened outside the runner, such as a Jenkins `sleep` between two `phase shift`)."""

    kind: ClassVar[str] = "watch"
    phase: ClassVar[str] = ROUTE
    group: str
    target_group: str  # whose 5xx share is watched
    seconds: float
    why: str
    looking_back: float = 0

    @property
    def target(self) -> str:
        return self.group

    def describe(self, names):
        if self.looking_back:
            return f"look at the alarms and {self.group}'s 5xx share of the last {self.looking_back:g}s ({self.why})"
        return f"watch {self.group} for {self.seconds:g}s ({self.why})"


@dataclass(frozen=True)
class Unreference(Step):
    kind: ClassVar[str] = "unreference"
    phase: ClassVar[str] = ROUTE
    group: str
    target_group: str

    @property
    def target(self) -> str:
        return self.group

    def describe(self, names):
        return f"remove the weight-0 reference to {_name(names, self.target_group)} from the default action"


@dataclass(frozen=True)
class SyncLogin(Step):
    kind: ClassVar[str] = "sync-login"
    phase: ClassVar[str] = ROUTE
    route: str

    @property
    def target(self) -> str:
        return self.route

    def describe(self, names):
        return f"{self.route} header rule: log in like the default action"


@dataclass(frozen=True)
class SetRole(Step):
    kind: ClassVar[str] = "set-role"
    phase: ClassVar[str] = ROUTE
    group: str
    label: str
    role: Role
    target_group: str | None

    @property
    def target(self) -> str:
        return self.group

    def describe(self, names):
        return f"{self.group} {self.label} is now {self.role.value}"


@dataclass(frozen=True)
class MoveSchedules(Step):
    """Only the blue group scales on a schedule: its scheduled actions follow it."""

    kind: ClassVar[str] = "move-scheduled-actions"
    phase: ClassVar[str] = ROUTE
    source: str
    group: str

    @property
    def target(self) -> str:
        return self.group

    def describe(self, names):
        return f"move the scheduled actions of {self.source} to {self.group}, the blue group"


@dataclass(frozen=True)
class MarkUnrouted(Step):
    """Remember when a group stopped serving: retire waits from then for the rule change to
    reach every load balancer node before it scales the group in."""

    kind: ClassVar[str] = "mark-unrouted"
    phase: ClassVar[str] = ROUTE
    group: str

    @property
    def target(self) -> str:
        return self.group

    def describe(self, names):
        return f"{self.group} no longer serves: note the time"


@dataclass(frozen=True)
class ClearUnrouted(Step):
    """A group that serves again must not carry the time it stopped serving."""

    kind: ClassVar[str] = "clear-unrouted"
    phase: ClassVar[str] = ROUTE
    group: str

    @property
    def target(self) -> str:
        return self.group

    def describe(self, names):
        return f"{self.group} serves again: forget when it stopped"


# -- retire --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScaleToZero(Step):
    kind: ClassVar[str] = "scale-to-zero"
    phase: ClassVar[str] = RETIRE
    group: str
    label: str
    capacity: Capacity

    @property
    def target(self) -> str:
        return self.group

    def describe(self, names):
        return (
            f"scale {self.group} {self.label} to zero (capacity {self.capacity} kept in a tag; AWS drains each server)"
        )


@dataclass(frozen=True)
class DeleteGroup(Step):
    kind: ClassVar[str] = "delete-group"
    phase: ClassVar[str] = RETIRE
    group: str
    label: str
    target_group: str | None
    why: str
    never_routed: bool = False  # a candidate that never served: no drain needed

    @property
    def target(self) -> str:
        return self.group

    def describe(self, names):
        return f"delete {self.group} {self.label} and its target group ({self.why})"


@dataclass(frozen=True)
class DeleteTargetGroup(Step):
    kind: ClassVar[str] = "delete-target-group"
    phase: ClassVar[str] = RETIRE
    name: str
    arn: str
    why: str
    left_by: str | None = None  # the group that noted it was leaving it

    @property
    def target(self) -> str:
        return self.name

    def describe(self, names):
        return f"delete target group {self.name} ({self.why})"


@dataclass(frozen=True)
class StartRefresh(Step):
    """Single group: AWS replaces the servers in place (instance refresh), one by one."""

    kind: ClassVar[str] = "start-instance-refresh"
    phase: ClassVar[str] = ROUTE
    group: str
    release: Release
    generation: int  # names the launch template version a user data template is rendered into

    @property
    def target(self) -> str:
        return self.group

    def describe(self, names):
        return f"instance refresh of {self.group}: replace every server by one running {self.release}"


@dataclass(frozen=True)
class RollbackRefresh(Step):
    kind: ClassVar[str] = "rollback-instance-refresh"
    phase: ClassVar[str] = ROUTE
    group: str
    release: Release  # what the servers go back to

    @property
    def target(self) -> str:
        return self.group

    def describe(self, names):
        return f"roll back the instance refresh of {self.group}: servers back on {self.release}"


@dataclass(frozen=True)
class WaitRefresh(Step):
    kind: ClassVar[str] = "wait-instance-refresh"
    phase: ClassVar[str] = WAIT
    group: str
    release: Release  # every server must run it at the end
    timeout: float
    rollback: bool = False  # waiting for a rollback of the refresh, not the refresh

    @property
    def target(self) -> str:
        return self.group

    def describe(self, names):
        return f"wait until every server of {self.group} runs {self.release} (timeout {self.timeout:g}s)"


@dataclass(frozen=True)
class Plan:
    """What a command will do, in order. `message` explains an empty plan."""

    command: str
    steps: tuple = ()
    message: str | None = None

    def slice(self, phase: str) -> "Plan":
        """The steps of one phase (what `kie-bluegreen phase <phase>` runs)."""
        return Plan(self.command, tuple(step for step in self.steps if step.phase == phase), self.message)

    def of_kind(self, *kinds: str) -> list:
        return [step for step in self.steps if step.kind in kinds]

    def __bool__(self) -> bool:
        return bool(self.steps)
