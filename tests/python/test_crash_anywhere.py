"""Crash anywhere, resume everywhere: for every flow, the command is killed right after each of
its AWS writes, one run per write (like `kill -9` of a Jenkins agent), on moto behaving like
AWS (`aws_like`: health checks only while referenced, drains on scale-in). Then:
- the same command run again exits 0 and leaves AWS exactly as a run that was never killed
  (routing, groups, target groups, their tags);
- a third run writes nothing.
The writes are enumerated from a run that is not killed, not sampled.
"""

from __future__ import annotations

import pytest
from helpers import deploy_stopped_during_the_refresh, fingerprint, fresh_world

from kie_bluegreen import config as configuration
from kie_bluegreen import flows
from kie_bluegreen.aws.api import AwsApi
from kie_bluegreen.context import Context


class Killed(BaseException):
    """The process died here: nothing may catch it (BaseException, like a signal)."""


def is_write(operation: str) -> bool:
    return not operation.startswith(("describe_", "get_", "list_"))


class WriteCounter:
    """Counts AWS writes through the runner's single door to boto3; kills after the nth."""

    def __init__(self, monkeypatch, kill_after: int | None = None):
        self.writes: list[str] = []
        self.kill_after = kill_after
        original = AwsApi.call
        counter = self

        def call(api, service, operation, **kwargs):
            answer = original(api, service, operation, **kwargs)
            if is_write(operation):
                counter.writes.append(operation)
                if counter.kill_after is not None and len(counter.writes) == counter.kill_after:
                    raise Killed(f"killed after write {len(counter.writes)}: {operation}")
            return answer

        monkeypatch.setattr(AwsApi, "call", call)


# Each flow: the commands that build its starting point, then the command under test.
# With retire.previous: terminate no standby is left to roll back to, and with
# retire.candidate: terminate nothing is left for cleanup: those pairs do not exist.
FLOWS = {
    "canary deploy": ([], lambda ctx: flows.deploy(ctx, "2.0.0", "canary")),
    "all-at-once deploy": ([], lambda ctx: flows.deploy(ctx, "2.0.0", "all-at-once")),
    "weighted deploy": ([], lambda ctx: flows.deploy(ctx, "2.0.0", "weighted")),
    "all-at-once deploy over a standby": (
        [lambda ctx: flows.deploy(ctx, "2.0.0", "all-at-once")], lambda ctx: flows.deploy(ctx, "3.0.0", "all-at-once")),
    "promote": ([lambda ctx: flows.deploy(ctx, "2.0.0", "canary")], lambda ctx: flows.promote(ctx)),
    "rollback before promote": ([lambda ctx: flows.deploy(ctx, "2.0.0", "canary")], lambda ctx: flows.rollback(ctx)),
    "rollback after promote": ([lambda ctx: flows.deploy(ctx, "2.0.0", "canary"), lambda ctx: flows.promote(ctx)],
                               lambda ctx: flows.rollback(ctx)),
    "cleanup": ([lambda ctx: flows.deploy(ctx, "2.0.0", "canary"), lambda ctx: flows.rollback(ctx)],
                lambda ctx: flows.cleanup(ctx)),
    "fixed-pair canary deploy": ([], lambda ctx: flows.deploy(ctx, "2.0.0", "canary")),
    "fixed-pair deploy reusing the standby": ([lambda ctx: flows.deploy(ctx, "2.0.0", "all-at-once")],
                                              lambda ctx: flows.deploy(ctx, "3.0.0", "all-at-once")),
    "single-group deploy": ([], lambda ctx: flows.deploy(ctx, "2.0.0")),
    "single-group rollback while the refresh runs": ([deploy_stopped_during_the_refresh], lambda ctx: flows.rollback(ctx)),
}
POLICIES = {
    "scale-to-zero": {"previous": "scale-to-zero", "keep": 1, "candidate": "keep"},
    "terminate": {"previous": "terminate", "keep": 1, "candidate": "terminate"},
}


def topology_of(flow: str) -> str:
    return next((name for name in ("fixed-pair", "single-group") if flow.startswith(name)), "per-release")


def start(aws, monkeypatch, tmp_path, fake_clock, setup, policy, topology="per-release"):
    strategy = "all-at-once" if topology == "single-group" else "canary"  # one group: no canary
    world, path = fresh_world(aws, monkeypatch, tmp_path, retire=policy, topology=topology,
                              routing={"strategy": strategy, "steps": [20, 100], "step-pause": "1m"},
                              analysis={"bake": "1m"})
    ctx = Context(configuration.load(path), AwsApi(aws), fake_clock)
    flows.init(ctx, "1.0.0")
    for command in setup:
        command(ctx)
    fake_clock.sleep(31)  # AWS has drained what the setup scaled in (the scenario's deregistration delay is 30 s)
    return world, ctx


CASES = [(flow, policy) for flow in sorted(FLOWS) for policy in sorted(POLICIES)
         if not (policy == "terminate" and flow in ("rollback after promote", "cleanup"))
         and not (topology_of(flow) != "per-release" and policy == "terminate")]


@pytest.mark.slow
@pytest.mark.parametrize("flow,policy", CASES, ids=[f"{flow}-{policy}" for flow, policy in CASES])
def test_killed_after_any_write_the_rerun_finishes_the_job(aws, aws_like, monkeypatch, tmp_path, fake_clock, flow, policy):
    setup, command = FLOWS[flow]
    retire = POLICIES[policy]
    topology = topology_of(flow)
    world, ctx = start(aws, monkeypatch, tmp_path, fake_clock, setup, retire, topology)
    with monkeypatch.context() as patch:
        counter = WriteCounter(patch)
        command(ctx)
    expected = fingerprint(aws, world.listener_arn)
    assert counter.writes, f"{flow} wrote nothing"

    for kill_after in range(1, len(counter.writes) + 1):
        world, ctx = start(aws, monkeypatch, tmp_path, fake_clock, setup, retire, topology)
        where = f"{flow}, killed after write {kill_after} ({counter.writes[kill_after - 1]})"
        with monkeypatch.context() as patch:
            WriteCounter(patch, kill_after)
            with pytest.raises(Killed):
                command(ctx)
        result = command(ctx)  # the same command again: no exception means exit 0
        assert result.data["exit_code"] == 0, where
        seen = fingerprint(aws, world.listener_arn)
        assert seen == expected, f"{where}: " + "; ".join(
            f"{key}: {sorted(set(seen[key]) - set(expected[key]))} instead of {sorted(set(expected[key]) - set(seen[key]))}"
            for key in expected if seen[key] != expected[key])
        with monkeypatch.context() as patch:
            third = WriteCounter(patch)
            command(ctx)
        assert third.writes == [], f"{where}: a third run wrote {third.writes}"
