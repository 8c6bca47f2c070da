"""Domain values: releases, groups (one generation = one ASG + one target group) and routing."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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
# "min,max,desired" of a group scaled to zero, so a rollback can bring it back.
TAG_CAPACITY = TAG_PREFIX + "capacity"
# When a group stopped receiving traffic (epoch seconds): retire waits the deregistration delay
# from then before scaling it in or deleting it.
TAG_UNROUTED_AT = TAG_PREFIX + "unrouted-at"
# On listener rules: which of our header rules this is (blue or green), and the highest
# generation ever provisioned, so generation numbers never repeat after groups are deleted.
TAG_RULE = TAG_PREFIX + "rule"
TAG_LAST_GENERATION = TAG_PREFIX + "last-generation"


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
    role: Role
    release: Release
    asg_name: str
    target_group_arn: str | None
    capacity: Capacity
    instance_ids: tuple[str, ...] = ()  # InService instances
    saved_capacity: Capacity | None = None  # set while scaled to zero
    healthy: int | None = None  # healthy targets, when health was read
    unrouted_at: float | None = None  # epoch seconds when the last route to it was removed

    @property
    def version(self) -> str:
        return self.release.version

    @property
    def label(self) -> str:
        return f"g{self.generation} ({self.release.version})"

    def with_role(self, role: Role) -> "Group":
        return replace(self, role=role)

    def summary(self) -> dict:
        """The JSON shape of a group in `--output json` (README "Output")."""
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
class Routing:
    """Where each of our routes sends traffic: a target group ARN, FIXED_404, or None (no rule)."""

    default: str | None
    blue: str | None = None
    green: str | None = None

    def as_dict(self) -> dict:
        return {"default": self.default, "blue": self.blue, "green": self.green}


ROUTES = ("default", "blue", "green")


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
        old = names.get(self.previous, self.previous)
        return f"{self.route}: {old} -> {new}"


@dataclass
class Outcome:
    """What a command did: the changes made, in order, and the word for the JSON `result`."""

    changes: list[str] = field(default_factory=list)
    message: str | None = None

    @property
    def result(self) -> str:
        return "ok" if self.changes else "unchanged"

    def add(self, change: str) -> None:
        self.changes.append(change)
