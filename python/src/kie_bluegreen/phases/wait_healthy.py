"""Wait healthy: "when all the configured servers are ready" (the design note).

Ready means: as many InService instances as the group wants, every one of them `healthy` in the
group's target group, and, with `kie.verify`, every server's KIE REST API reporting our
container STARTED at the requested version. One poll costs two AWS calls (three with
kie.verify) whatever the size of the fleet.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import log, retry
from ..context import Context
from ..errors import DeploymentFailed
from ..model import TAG_CONTAINER
from ..steps import WaitReady

if TYPE_CHECKING:
    from ..executor import Run

_log = log.get("wait")
HEARTBEAT = 60.0  # seconds between progress lines when nothing changes
# A listener change takes a few seconds to reach the load balancer; targets still `unused` after
# this long will not be health-checked (a zone the load balancer does not enable).
UNUSED_GRACE = 60.0


@dataclass
class Readiness:
    desired: int
    ready: list = field(default_factory=list)  # instance ids
    waiting: dict = field(default_factory=dict)  # instance id -> why it is not ready
    missing: int = 0  # instances the group wants but has not launched yet
    unused: list = field(default_factory=list)  # registered, but AWS does not health-check them

    @property
    def done(self) -> bool:
        return self.desired > 0 and len(self.ready) >= self.desired

    def line(self) -> str:
        """'3/4 ready, 1 initial (Elb.InitialHealthChecking)'"""
        parts = [f"{len(self.ready)}/{self.desired} ready"]
        for why, count in Counter(self.waiting.values()).most_common():
            parts.append(f"{count} {why}")
        if self.missing:
            parts.append(f"{self.missing} not launched yet")
        return ", ".join(parts)

    def detail(self) -> str:
        waiting = "; ".join(f"{instance} {why}" for instance, why in sorted(self.waiting.items()))
        return waiting or (f"{self.missing} servers never launched" if self.missing else "no servers")


class WaitTimeout(DeploymentFailed):
    def __init__(self, group: str, label: str, readiness: Readiness, timeout: float, why: str = ""):
        super().__init__(
            f"{group} {label}: {len(readiness.ready)}/{readiness.desired} servers ready after"
            f" {timeout:g}s; not ready: {readiness.detail()}" + (f"; {why}" if why else "")
        )
        self.readiness = readiness


def check(ctx: Context, asg_name: str, target_group: str, version: str, verified: set) -> Readiness:
    """One look at the group: which servers are ready and why the others are not."""
    asg = ctx.asg.find(asg_name)
    if asg is None:
        return Readiness(desired=1, missing=1)
    health = ctx.alb.target_health(target_group)
    readiness = Readiness(desired=asg.capacity.desired)
    healthy = []
    for instance in asg.instances:
        target = health.get(instance.id)
        if not instance.in_service:
            readiness.waiting[instance.id] = instance.lifecycle.lower()  # pending, pending:wait (a lifecycle hook)...
        elif target is None:
            readiness.waiting[instance.id] = "not registered"
        elif target.state != "healthy":
            readiness.waiting[instance.id] = target.describe()
            if target.state == "unused":
                readiness.unused.append(instance.id)
        else:
            healthy.append(instance.id)
    readiness.missing = max(0, asg.capacity.desired - len(asg.instances))
    if ctx.config.kie.verify:
        # The id the group's servers were launched to deploy (its propagated tag); container.id
        # with the version filled in for a group launched before the tag existed.
        container_id = asg.tags.get(TAG_CONTAINER) or ctx.config.container_id(version)
        healthy = _verify_kie(ctx, version, container_id, healthy, readiness, verified)
    readiness.ready = healthy
    return readiness


def _verify_kie(
    ctx: Context, version: str, container_id: str, healthy: list, readiness: Readiness, verified: set
) -> list:
    """Ask each healthy server's KIE API for the container `container_id` (it carries the version
    when container.id is a template) at `version`; remember the ones that passed."""
    to_check = [instance for instance in healthy if instance not in verified]
    addresses = ctx.ec2.addresses(to_check)
    kie = ctx.config.kie

    def ask(instance: str):
        url = kie.url.format(
            **addresses.get(instance, {"instance_id": instance, "private_ip": "", "public_ip": "", "private_dns": ""})
        )
        return instance, ctx.kie.check_container(url, container_id, version)

    with ThreadPoolExecutor(max_workers=min(16, max(1, len(to_check)))) as pool:
        for instance, answer in pool.map(ask, to_check):
            if answer.ok:
                verified.add(instance)
            else:
                readiness.waiting[instance] = f"KIE: {answer.detail}"
    return [instance for instance in healthy if instance in verified]


def wait_ready(run: Run, step: WaitReady) -> list[str]:
    """Poll until every server of the group is ready; WaitTimeout (exit 1) when time runs out,
    or at once when AWS keeps its targets `unused` although the listener references the group
    (their zone is not enabled on the load balancer)."""
    ctx = run.ctx
    target_group = run.resolve(step.target_group)
    version = step.version
    timeout, interval = step.timeout, ctx.config.wait.poll_interval
    started = ctx.clock.now()
    progress = log.Progress(_log, ctx.clock, HEARTBEAT)
    _log.info("waiting for %s %s to be ready (timeout %gs, every %gs)", step.group, step.label, timeout, interval)

    def look() -> Readiness:
        readiness = check(ctx, step.group, target_group, version, run.verified)
        progress.show(step.label, readiness.line())
        return readiness

    def finished(readiness: Readiness) -> bool:
        return readiness.done or _stuck_unused(readiness, ctx.clock.now() - started)

    readiness = retry.poll(ctx.clock, look, finished, timeout, interval)
    if _stuck_unused(readiness, ctx.clock.now() - started):
        raise WaitTimeout(
            step.group,
            step.label,
            readiness,
            ctx.clock.now() - started,
            "AWS does not health-check them although the listener references the group: their"
            " Availability Zone is probably not enabled on the load balancer (see preflight)",
        )
    if not readiness.done:
        raise WaitTimeout(step.group, step.label, readiness, timeout)
    return []


def _stuck_unused(readiness: Readiness, waited: float) -> bool:
    """Targets still `unused` well after the reference reached the load balancer."""
    return bool(readiness.unused) and waited >= UNUSED_GRACE and not readiness.done
