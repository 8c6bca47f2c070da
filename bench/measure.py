"""Measurements of one deploy in the sandbox, from what the sandbox recorded.

Sources: the moto server's call log (the runner's calls carry the user agent `kie-bluegreen/`),
the health board's transitions, the KIE emulators' boot times and the data plane's rule history.
All times are time.monotonic() seconds.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import boto3

from kie_bluegreen.sandbox import moto_state
from kie_bluegreen.sandbox.aws_model.target_health import HEALTHY

RUNNER_AGENT = "kie-bluegreen/"
ROUTING_MUTATIONS = {"ModifyListener", "ModifyRule", "CreateRule", "DeleteRule", "SetRulePriorities"}


def is_mutation(action: str) -> bool:
    return not action.startswith(("Describe", "Get", "List"))


@dataclass
class DeployTimes:
    started: float
    ended: float
    servers_ready: float  # the last new KIE server answered ready (end of its simulated boot)
    alb_healthy: float  # the last new target turned healthy in the ALB's health checks
    runner_noticed: float  # end of the runner's last DescribeTargetHealth before it switched
    rules_applied: float  # end of the runner's first DescribeRules after its last routing change
    traffic_switched: float | None  # the data plane served the new rules (propagation delay later)
    calls: dict  # action -> count, the runner's calls during the deploy
    switch_mutations: int  # mutating calls between noticing and rules applied
    waiter_noticed: float | None = None  # boto3's target_in_service waiter returned

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


def deploy_times(sandbox, group_name: str, version: str, started: float, ended: float,
                 waiter: "WaiterRace | None" = None) -> DeployTimes:
    calls = sandbox.moto.calls.calls(since=started, until=ended, agent=RUNNER_AGENT)
    counts: dict[str, int] = {}
    for call in calls:
        counts[call.action] = counts.get(call.action, 0) + 1
    routing = [call for call in calls if call.action in ROUTING_MUTATIONS]
    if not routing:
        raise RuntimeError(f"the runner changed no listener rule between {started:.1f} and {ended:.1f}")
    first_switch, last_switch = routing[0], routing[-1]
    noticed = max(call.ended for call in calls if call.action == "DescribeTargetHealth" and call.started < first_switch.started)
    read_back = min((call.ended for call in calls if call.action == "DescribeRules" and call.started > last_switch.ended),
                    default=float("nan"))
    mutations = sum(1 for call in calls if is_mutation(call.action) and noticed <= call.started <= read_back)

    group_arn = next(view.arn for view in moto_state.target_groups(sandbox.world.region) if view.name == group_name)
    healthy = [at for at, arn, _, state in sandbox.health.transitions if arn == group_arn and state == HEALTHY]
    ready = [server.ready_at for server in sandbox.fleet.servers() if server.release.version == version]
    applied = [change.at for change in sandbox.propagation.applied if change.at > last_switch.started]
    return DeployTimes(
        started=started, ended=ended, servers_ready=max(ready), alb_healthy=max(healthy), runner_noticed=noticed,
        rules_applied=read_back, traffic_switched=min(applied) if applied else None, calls=dict(sorted(counts.items())),
        switch_mutations=mutations, waiter_noticed=waiter.done_at if waiter else None)


class WaiterRace(threading.Thread):
    """boto3's own `target_in_service` waiter on the new target group, started as soon as the
    runner creates it, polling as often as the runner does: the baseline for detection lag."""

    def __init__(self, sandbox, group_name: str, delay: float, timeout: float = 600):
        super().__init__(name="waiter-race", daemon=True)
        self.sandbox, self.group_name, self.delay, self.timeout = sandbox, group_name, delay, timeout
        self.done_at: float | None = None
        self.error: str | None = None

    def run(self) -> None:
        deadline = time.monotonic() + self.timeout
        arn = None
        while arn is None and time.monotonic() < deadline:
            arn = next((view.arn for view in moto_state.target_groups(self.sandbox.world.region)
                        if view.name == self.group_name and view.registered), None)
            time.sleep(0.01)
        if arn is None:
            self.error = f"target group {self.group_name} never appeared"
            return
        environment = self.sandbox.environment()
        client = boto3.client("elbv2", region_name=self.sandbox.world.region, endpoint_url=environment["AWS_ENDPOINT_URL"],
                              aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
                              aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"])
        try:
            client.get_waiter("target_in_service").wait(
                TargetGroupArn=arn, WaiterConfig={"Delay": self.delay, "MaxAttempts": int(self.timeout / self.delay)})
            self.done_at = time.monotonic()
        except Exception as exc:  # reported in the results, not hidden
            self.error = f"{type(exc).__name__}: {exc}"
