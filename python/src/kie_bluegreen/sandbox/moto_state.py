"""Read-only views of moto's in-process backends: instances, target groups and what references them.

The AWS model (sandbox/aws_model) and the sandbox play the parts of AWS that moto leaves out
(health checks, draining, servers that boot, an ALB data plane); they watch moto's state here,
cheaply and without API calls, so the benchmark's call counts are the runner's alone. The
read-only views of moto's internal model live in this module; the patches that change moto's
behaviour (sandbox/aws_model/*_patch.py, hooks.py) touch the objects they patch. A moto upgrade
has those places to look at.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from moto.backends import get_backend

from .aws_model import actions
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
    lifecycle: str | None  # the Auto Scaling lifecycle state (InService, Standby, Terminating) or None
    zone: str | None = None  # Availability Zone


@dataclass(frozen=True)
class RegisteredTarget:
    id: str
    zone: str | None = None  # the instance's Availability Zone; None when unknown
    state: str = "running"  # the instance's state; a stopped one is not checked (Target.InvalidState)


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
    targets: tuple[RegisteredTarget, ...] = ()  # registered in moto
    interval: float = 30.0  # HealthCheckIntervalSeconds
    # Availability Zones enabled on the load balancers whose listener actions reference the
    # group (default actions and rules, weight 0 included); None when no action references it.
    serving_zones: frozenset[str] | None = None

    @property
    def registered(self) -> tuple[str, ...]:
        return tuple(target.id for target in self.targets)


def _stable(read, attempts: int = 5):
    """Run `read` again when a moto request thread changed a dict while we iterated it."""
    for attempt in range(attempts):
        try:
            return read()
        except RuntimeError:  # "dictionary changed size during iteration"
            if attempt == attempts - 1:
                raise
            time.sleep(0.001)


def instances(region: str, account: str = ACCOUNT_ID) -> list[InstanceView]:
    ec2 = get_backend("ec2")[account][region]
    autoscaling = get_backend("autoscaling")[account][region]

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
                zone=instance.placement.zone,
            )
            for reservation in list(ec2.reservations.values())
            for instance in list(reservation.instances)
        ]

    return _stable(read)


def serving_zones(region: str, account: str = ACCOUNT_ID) -> dict[str, frozenset[str]]:
    """Target group ARN -> Availability Zones of the load balancers whose listener actions
    (default actions and rules) reference it."""
    # "Target groups for your Application Load Balancers", https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html
    elbv2 = get_backend("elbv2")[account][region]

    def read():
        zones: dict[str, set[str]] = {}
        for balancer in list(elbv2.load_balancers.values()):
            enabled = {zone.zone_name for zone in balancer.availability_zones}
            for listener in list(balancer.listeners.values()):
                for rule in list(listener.rules.values()):
                    for action in list(rule.actions):
                        for arn in actions.referenced_target_groups(action.data):
                            zones.setdefault(arn, set()).update(enabled)
        return {arn: frozenset(enabled) for arn, enabled in zones.items()}

    return _stable(read)


def target_groups(region: str, account: str = ACCOUNT_ID) -> list[TargetGroupView]:
    elbv2 = get_backend("elbv2")[account][region]
    by_id = {view.id: view for view in instances(region, account)}
    referenced = serving_zones(region, account)

    def target(target_id: str) -> RegisteredTarget:
        view = by_id.get(target_id)
        if view is None:  # an IP address or Lambda target: no instance state to follow
            return RegisteredTarget(target_id)
        return RegisteredTarget(target_id, view.zone, view.state)

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
                matcher=str((getattr(group, "matcher", None) or {}).get("HttpCode", "200")),
                targets=tuple(target(target_id) for target_id in list(group.targets)),
                interval=float(group.health_check_interval_seconds or 30),
                serving_zones=referenced.get(group.arn),
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
