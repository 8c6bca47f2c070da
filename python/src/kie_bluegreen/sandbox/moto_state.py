"""Read-only views of moto's in-process backends: the instances and the target groups.

The sandbox plays the parts of AWS that moto leaves out (servers that boot, health checks, an
ALB data plane); those parts watch moto's state here, cheaply and without API calls, so the
benchmark's call counts are the runner's alone. Every access to moto's internal model lives in
this module and in health_patch.py, so a moto upgrade has two places to look at.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from moto.backends import get_backend

from .moto_server import ACCOUNT_ID

RELEASE_TAG = "kie-bluegreen:release"
CONTAINER_TAG = "kie-bluegreen:container"


@dataclass(frozen=True)
class InstanceView:
    id: str
    state: str  # pending, running, stopped, terminated ...
    private_ip: str
    release: str | None  # the propagated kie-bluegreen:release tag, group:artifact:version
    container: str | None  # the propagated kie-bluegreen:container tag: the KIE container id to deploy
    lifecycle: str | None  # the Auto Scaling lifecycle state (InService, Standby) or None


@dataclass(frozen=True)
class TargetGroupView:
    arn: str
    name: str
    port: int
    health_check_path: str
    healthy_threshold: int
    unhealthy_threshold: int
    deregistration_delay: float
    matcher: str  # HttpCode, e.g. "200" or "200-299"
    # Targets an ALB would health-check: registered in moto and not in Standby. moto keeps
    # Standby instances registered, AWS deregisters them (they then drain).
    registered: tuple[str, ...]


def _stable(read, attempts: int = 5):
    """Run `read` again when a moto request thread changed a dict while we iterated it."""
    for attempt in range(attempts):
        try:
            return read()
        except RuntimeError:  # "dictionary changed size during iteration"
            if attempt == attempts - 1:
                raise
            time.sleep(0.001)


def instances(region: str) -> list[InstanceView]:
    ec2 = get_backend("ec2")[ACCOUNT_ID][region]
    autoscaling = get_backend("autoscaling")[ACCOUNT_ID][region]

    def read():
        lifecycle = {
            state.instance.id: state.lifecycle_state
            for group in list(autoscaling.autoscaling_groups.values())
            for state in list(group.instance_states)
        }
        tags_by_instance: dict[str, dict[str, str]] = {}
        for resource_id, tags in list(ec2.tags.items()):
            tags_by_instance[resource_id] = dict(tags)
        return [
            InstanceView(
                id=instance.id,
                state=instance.state,
                private_ip=instance.private_ip,
                release=tags_by_instance.get(instance.id, {}).get(RELEASE_TAG),
                container=tags_by_instance.get(instance.id, {}).get(CONTAINER_TAG),
                lifecycle=lifecycle.get(instance.id),
            )
            for reservation in list(ec2.reservations.values())
            for instance in list(reservation.instances)
        ]

    return _stable(read)


def target_groups(region: str) -> list[TargetGroupView]:
    elbv2 = get_backend("elbv2")[ACCOUNT_ID][region]
    by_id = {view.id: view for view in instances(region)}

    def routable(instance_id: str) -> bool:
        view = by_id.get(instance_id)
        return view is not None and view.state == "running" and view.lifecycle != "Standby"

    def read():
        return [
            TargetGroupView(
                arn=group.arn,
                name=group.name,
                port=int(group.port),
                health_check_path=group.health_check_path or "/",
                healthy_threshold=int(group.healthy_threshold_count),
                unhealthy_threshold=int(group.unhealthy_threshold_count),
                deregistration_delay=float(group.attributes.get("deregistration_delay.timeout_seconds", 300)),
                matcher=str((group.matcher or {}).get("HttpCode", "200")) if hasattr(group, "matcher") else "200",
                registered=tuple(target_id for target_id in list(group.targets) if routable(target_id)),
            )
            for group in list(elbv2.target_groups.values())
        ]

    return _stable(read)


def matcher_accepts(matcher: str, status: int) -> bool:
    """The target group's success codes, e.g. "200", "200,202" or "200-299"."""
    for part in matcher.split(","):
        low, _, high = part.strip().partition("-")
        if low and int(low) <= status <= int(high or low):
            return True
    return False
