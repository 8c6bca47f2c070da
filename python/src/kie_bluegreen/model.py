"""Domain values: releases, groups (one generation = one ASG + one target group) and routing."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from . import parameters

# Maven versions: 2.0.0, 2.0.0-SNAPSHOT, 7.74.1.Final. No shell or path characters, ever. The
# pattern is shared with the Jenkins steps (resources/kie-bluegreen/parameters.json).
VERSION_PATTERN = parameters.pattern("version")

# Routing target of a rule that answers by itself instead of forwarding (green rule at rest).
FIXED_404 = "fixed-response:404"

TAG_PREFIX = "kie-bluegreen:"
TAG_APP = TAG_PREFIX + "app"
TAG_STAGE = TAG_PREFIX + "stage"
TAG_GENERATION = TAG_PREFIX + "generation"
TAG_RELEASE = TAG_PREFIX + "release"
TAG_ROLE = TAG_PREFIX + "role"
# The KIE container id the generation's servers deploy (container.id with {version} filled in),
# propagated to the servers like the release: user data reads both.
TAG_CONTAINER = TAG_PREFIX + "container"
# "min,max,desired" of a group scaled to zero, so a rollback can bring it back.
TAG_CAPACITY = TAG_PREFIX + "capacity"
# When a group stopped receiving traffic (epoch seconds): retire waits the deregistration delay
# from then before scaling it in or deleting it.
TAG_UNROUTED_AT = TAG_PREFIX + "unrouted-at"
# On listener rules: which of our header rules this is (blue or green), and the highest
# generation ever provisioned, so generation numbers never repeat after groups are deleted.
TAG_RULE = TAG_PREFIX + "rule"
TAG_LAST_GENERATION = TAG_PREFIX + "last-generation"
# The group a generation's scaling policies, hooks and other settings were copied from (written
# once they are all copied, so a stop before that copies again).
TAG_COPIED_FROM = TAG_PREFIX + "copied-from"
# A reused group of a fixed pair leaving its previous target group: noted before it detaches,
# so a stop before the target group is deleted still knows which one to delete.
TAG_LEAVING = TAG_PREFIX + "leaving-target-group"
# Single group: the generation and release the group ran before the current one ("1
# com.myspace:app:1.0.0"), so a rollback of an instance refresh in progress knows what to go back to.
TAG_PREVIOUS_RELEASE = TAG_PREFIX + "previous-release"
# On listener rules: the topology the stage runs (per-release, fixed-pair, single-group), so a
# switch of `topology` in the configuration is seen.
TAG_TOPOLOGY = TAG_PREFIX + "topology"
# On listener rules: the last promote or rollback, written before it changes any route
# ("promote:2", "rollback:3:2"), so a re-run can tell its work is already done.
TAG_TRANSITION = TAG_PREFIX + "transition"


class Role(str, Enum):
    BLUE = "blue"  # serves the default route (and the blue header)
    GREEN = "green"  # the candidate: the green header only (canary)
    STANDBY = "standby"  # a previous blue, unrouted, kept for rollback
    RETIRED = "retired"  # unrouted and waiting for deletion (or kept for debugging)


@dataclass(frozen=True)
class Release:
    group_id: str
    artifact_id: str
    version: str

    def __str__(self) -> str:
        return f"{self.group_id}:{self.artifact_id}:{self.version}"

    @classmethod
    def parse(cls, text: str) -> "Release":
        parts = text.split(":")
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"expected group-id:artifact-id:version, got {text!r}")
        return cls(*parts)


def check_version(version: str) -> str:
    """Return the version if it is a plain Maven-like version, else raise ValueError."""
    if not isinstance(version, str) or not VERSION_PATTERN.fullmatch(version):  # fullmatch: "$" allows a final newline
        raise ValueError(f"version {parameters.rule('version')}, got {version!r}")
    return version


@dataclass(frozen=True)
class Capacity:
    min: int
    max: int
    desired: int

    def __str__(self) -> str:
        return f"{self.min},{self.max},{self.desired}"

    @classmethod
    def parse(cls, text: str) -> "Capacity":
        low, high, desired = (int(part) for part in text.split(","))
        return cls(low, high, desired)


@dataclass(frozen=True)
class Group:
    """One generation of servers: an Auto Scaling Group and the target group it registers in."""

    generation: int
    role: Role  # the effective role: what the routing says, the tag where the routing is silent
    release: Release
    asg_name: str
    target_group_arn: str | None  # None: the target group is gone (a deletion that stopped half-way)
    capacity: Capacity
    instance_ids: tuple[str, ...] = ()  # InService instances
    saved_capacity: Capacity | None = None  # set while scaled to zero
    healthy: int | None = None  # healthy targets, when health was read
    unrouted_at: float | None = None  # epoch seconds when the last route to it was removed
    tagged_role: Role | None = None  # the role written in the group's tag
    instances: int = 0  # instances of any lifecycle state (launching, draining, terminating too)
    copied_from: str | None = None  # the group its settings were copied from (None: not yet, or adopted)
    schedules: int = 0  # scheduled actions on the group
    target_groups: tuple[str, ...] = ()  # every existing target group it registers into
    leaving: str | None = None  # a target group it is leaving (fixed pair), to delete
    previous: tuple[int, Release] | None = None  # single group: the generation and release before this one
    refresh: "RefreshView | None" = None  # single group: the latest instance refresh
    instance_releases: tuple[str, ...] = ()  # single group: the release tag of each instance

    @property
    def version(self) -> str:
        return self.release.version

    @property
    def arn(self) -> str:
        """Its target group, for a group that serves or can serve (a group whose target group is
        gone only waits to be deleted)."""
        if self.target_group_arn is None:
            raise ValueError(f"{self.asg_name} has no target group any more")
        return self.target_group_arn

    @property
    def label(self) -> str:
        return f"g{self.generation} ({self.release.version})"

    @property
    def name(self) -> str:
        return f"{self.asg_name} {self.label}"

    def summary(self) -> dict:
        """The JSON shape of a group in every command's result (README "Output")."""
        return {
            "generation": self.generation,
            "release": str(self.release),
            "version": self.release.version,
            "role": self.role.value,
            "asg": self.asg_name,
            "target_group_arn": self.target_group_arn,
            "desired": self.capacity.desired,
            "healthy": self.healthy,
        }


@dataclass(frozen=True)
class RefreshView:
    """An Auto Scaling instance refresh as DescribeInstanceRefreshes shows it."""

    id: str
    status: str  # Pending, InProgress, Successful, Failed, Cancelling, Cancelled, Rollback..., Baking
    reason: str
    percentage: int
    to_update: int

    @property
    def active(self) -> bool:
        return self.status in ("Pending", "InProgress", "Cancelling", "RollbackInProgress", "Baking")

    def line(self) -> str:
        """'InProgress, 50% (2 instances to update)'"""
        text = f"{self.status}, {self.percentage}% ({self.to_update} instances to update)"
        return f"{text}: {self.reason}" if self.reason else text


ROUTES = ("default", "blue", "green")


@dataclass(frozen=True)
class Routing:
    """Where each of our routes sends traffic: a target group ARN, FIXED_404, or None (no rule).

    `weights` lists every member of the default action's forward when it names several target
    groups: (ARN, weight) pairs, weight 0 included. A weight-0 member receives no traffic; it is
    there so the load balancer health-checks that group (it "warms"). `default` is the group the
    default route serves: its only member with traffic or, while traffic is split, the member
    that is not the green candidate."""

    default: str | None
    blue: str | None = None
    green: str | None = None
    weights: tuple[tuple[str, int], ...] = ()

    @property
    def warming(self) -> tuple[str, ...]:
        """Target groups the default action references with weight 0 (health-checked, no traffic)."""
        return tuple(arn for arn, weight in self.weights if weight == 0)

    @property
    def split(self) -> dict[str, int]:
        """{ARN: weight} while the default route splits traffic between several groups, else {}."""
        loaded = {arn: weight for arn, weight in self.weights if weight > 0}
        return loaded if len(loaded) > 1 else {}

    def serving(self) -> set[str]:
        """Target groups that receive traffic from one of our routes."""
        served: set[str | None] = {arn for arn, weight in self.weights if weight > 0} or {self.default}
        served |= {self.blue, self.green}
        return {target for target in served if target is not None and is_target_group(target)}

    def referencing(self) -> set[str]:
        """Target groups any of our routes names, weight 0 included (AWS health-checks these)."""
        return self.serving() | set(self.warming)

    def share(self, target: str) -> int:
        """Percent of the default route's traffic that goes to `target`."""
        if self.split:
            return round(100 * self.split.get(target, 0) / sum(self.split.values()))
        return 100 if target == self.default else 0

    def as_dict(self) -> dict:
        data: dict[str, object] = {"default": self.default, "blue": self.blue, "green": self.green}
        if self.split:
            data["weights"] = {arn: self.share(arn) for arn in self.split}
        if self.warming:
            data["warming"] = list(self.warming)
        return data


def is_target_group(target: str | None) -> bool:
    return target is not None and ":targetgroup/" in target


@dataclass(frozen=True)
class RuleChange:
    """One write to the listener: point `route` (default, blue or green) at `target`."""

    route: str
    target: str
    previous: str | None = None
    create: bool = False  # the header rule does not exist yet

    def describe(self, names: dict[str, str] | None = None) -> str:
        names = names or {}
        new = names.get(self.target, self.target)
        if self.create:
            return f"create {self.route} rule -> {new}"
        old = names.get(self.previous, self.previous) if self.previous else None
        return f"{self.route}: {old} -> {new}"
