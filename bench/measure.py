"""Measurements in the sandbox, from what the sandbox recorded.

Sources: the moto server's call log (the runner's calls carry the user agent `kie-bluegreen/`),
the health board's transitions, the KIE emulators' boot times, the data plane's rule history
(each set of rules with the moment it took effect) and the CloudWatch metrics it published.
All times are time.monotonic() seconds.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import boto3

from kie_bluegreen.sandbox import alb_rules, moto_state
from kie_bluegreen.sandbox.aws_model.target_health import HEALTHY
from kie_bluegreen.sandbox.story_traffic import CLIENT_HEADERS

RUNNER_AGENT = "kie-bluegreen/"
ROUTING_MUTATIONS = {"ModifyListener", "ModifyRule", "CreateRule", "DeleteRule", "SetRulePriorities"}


READ_BACKS = {"DescribeRules", "DescribeListeners"}
FIXED = "404"  # a client answered by the green rule's fixed response
REQUEST_PATH = "/kie-server/services/rest/server/containers/app"


def is_mutation(action: str) -> bool:
    return not action.startswith(("Describe", "Get", "List"))


def runner_calls(sandbox, since: float, until: float) -> list:
    return sandbox.moto.calls.calls(since=since, until=until, agent=RUNNER_AGENT)


def count_by_action(calls) -> dict[str, int]:
    counts: dict[str, int] = {}
    for call in calls:
        counts[call.action] = counts.get(call.action, 0) + 1
    return dict(sorted(counts.items()))


def destination(rules: list[dict], client: str) -> frozenset[str] | str:
    """Where a client's request goes under these rules: the target groups that may get it
    (weight above 0), or '404' for a fixed response."""
    request = alb_rules.Request("GET", REQUEST_PATH, tuple(CLIENT_HEADERS[client].items()))
    action = alb_rules.evaluate(rules, request)
    if isinstance(action, alb_rules.Forward):
        return frozenset(arn for arn, weight in action.target_groups if weight > 0)
    return FIXED if isinstance(action, alb_rules.FixedResponse) and action.status == 404 else f"{type(action).__name__}"


def served(sandbox, since: float, wanted: dict[str, frozenset[str] | str]) -> float | None:
    """When the data plane first served, at or after `since`, rules that send every client
    where `wanted` says (client -> target groups, or '404')."""
    for change in sandbox.propagation.applied:
        if change.at >= since and all(destination(list(change.rules), client) == where
                                      for client, where in wanted.items()):
            return change.at
    return None


def target_group_arn(sandbox, name: str) -> str:
    return next(view.arn for view in moto_state.target_groups(sandbox.world.region) if view.name == name)


@dataclass
class DeployTimes:
    started: float
    ended: float
    servers_ready: float  # the last new KIE server answered ready (end of its simulated boot)
    alb_healthy: float  # the last new target turned healthy in the ALB's health checks
    runner_noticed: float  # end of the runner's last DescribeTargetHealth before it switched
    rules_applied: float  # end of the runner's first read back (DescribeListeners/Rules) after the switch
    traffic_switched: float | None  # the data plane served the new rules (propagation delay later)
    calls: dict  # action -> count, the runner's calls during the deploy
    switch_mutations: int  # mutating calls between noticing and rules applied
    waiter_noticed: float | None = None  # boto3's target_in_service waiter returned

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


def deploy_times(sandbox, group_name: str, version: str, started: float, ended: float,
                 waiter: "WaiterRace | None" = None) -> DeployTimes:
    """The switch is the first routing write after the runner started polling the new group's
    health (before it, the runner references the group with weight 0 so that the ALB checks it)."""
    calls = runner_calls(sandbox, started, ended)
    polls = [call for call in calls if call.action == "DescribeTargetHealth"]
    if not polls:
        raise RuntimeError(f"the runner polled no target health between {started:.1f} and {ended:.1f}")
    switch = next((call for call in calls if call.action in ROUTING_MUTATIONS and call.started > polls[0].ended), None)
    if switch is None:
        raise RuntimeError(f"the runner changed no listener rule after its wait between {started:.1f} and {ended:.1f}")
    noticed = max(call.ended for call in polls if call.started < switch.started)
    read_back = min((call.ended for call in calls if call.action in READ_BACKS and call.started > switch.ended),
                    default=float("nan"))
    mutations = sum(1 for call in calls if is_mutation(call.action) and noticed <= call.started <= read_back)

    group_arn = target_group_arn(sandbox, group_name)
    healthy = [at for at, arn, _, state in sandbox.health.transitions if arn == group_arn and state == HEALTHY]
    ready = [server.ready_at for server in sandbox.fleet.servers() if server.release.version == version]
    applied = [change.at for change in sandbox.propagation.applied if change.at > switch.started]
    return DeployTimes(
        started=started, ended=ended, servers_ready=max(ready), alb_healthy=max(healthy), runner_noticed=noticed,
        rules_applied=read_back, traffic_switched=min(applied) if applied else None, calls=count_by_action(calls),
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


@dataclass
class AutomaticRollback:
    """A bad release's weighted step, from its first look at the metrics to everyone back."""
    watch_started: float  # the runner's first GetMetricData of the held step
    fired: float | None  # the publication that put the 5xx share (since the watch started) over the limit
    share_at_firing: float | None  # percent
    rollback_started: float | None  # the runner's first routing write after the firing
    rules_applied: float | None  # its read back after the last routing write
    back: float | None  # the data plane serves everyone the previous group again (green testers: 404)
    reached: tuple[int, int]  # (requests, 5xx) the ALB sent the bad release's target group, the whole step


def automatic_rollback(sandbox, started: float, ended: float, bad_group: str, previous_group: str,
                       limit_percent: float) -> AutomaticRollback:
    calls = runner_calls(sandbox, started, ended)
    watch = min(call.started for call in calls if call.action == "GetMetricData")
    rows = [row for row in sandbox.metrics.published if row.target_group_arn == bad_group]
    offset = rows[0].wall - rows[0].at if rows else 0.0
    since_wall = int(watch + offset)  # the runner asks from its watch's start, CloudWatch counts whole seconds
    fired = share = None
    requests = errors = 0
    for row in rows:
        if row.wall < since_wall:
            continue
        requests, errors = requests + row.requests, errors + row.errors
        if requests and 100 * errors / requests > limit_percent:
            fired, share = row.at, 100 * errors / requests
            break
    writes = [call for call in calls if call.action in ROUTING_MUTATIONS and fired is not None and call.started >= fired]
    read_back = min((call.ended for call in calls if call.action in READ_BACKS and writes and call.started > writes[-1].ended),
                    default=None)
    back = served(sandbox, fired, {"default": frozenset({previous_group}), "blue": frozenset({previous_group}),
                                   "green": FIXED}) if fired is not None else None
    return AutomaticRollback(watch, fired, share, writes[0].started if writes else None, read_back, back,
                             sandbox.metrics.totals(bad_group))
