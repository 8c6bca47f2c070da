"""One plan, executed as written: what `plan` (or the planner) says a command will do is what the
command then does, step for step, for every flow and strategy."""

from __future__ import annotations

import pytest
from helpers import deploy_stopped_during_the_refresh, fresh_world

from kie_bluegreen import config as configuration
from kie_bluegreen import flows, planner
from kie_bluegreen import state as fleet
from kie_bluegreen.aws.api import AwsApi
from kie_bluegreen.context import Context

# (starting point, the command as a planner request, the same command as a flow)
CASES = {
    "canary deploy": ([], planner.Request("deploy", "2.0.0", "canary"), lambda ctx: flows.deploy(ctx, "2.0.0", "canary")),
    "all-at-once deploy": ([], planner.Request("deploy", "2.0.0", "all-at-once"),
                           lambda ctx: flows.deploy(ctx, "2.0.0", "all-at-once")),
    "weighted deploy": ([], planner.Request("deploy", "2.0.0", "weighted"), lambda ctx: flows.deploy(ctx, "2.0.0", "weighted")),
    "all-at-once over a standby": ([lambda ctx: flows.deploy(ctx, "2.0.0", "all-at-once")],
                                   planner.Request("deploy", "3.0.0", "all-at-once"),
                                   lambda ctx: flows.deploy(ctx, "3.0.0", "all-at-once")),
    "promote": ([lambda ctx: flows.deploy(ctx, "2.0.0", "canary")], planner.Request("promote"), flows.promote),
    "rollback before promote": ([lambda ctx: flows.deploy(ctx, "2.0.0", "canary")], planner.Request("rollback"),
                                flows.rollback),
    "rollback after promote": ([lambda ctx: flows.deploy(ctx, "2.0.0", "canary"), flows.promote],
                               planner.Request("rollback"), flows.rollback),
    "shift": ([lambda ctx: flows.deploy(ctx, "2.0.0", "canary")], planner.Request("shift", weight=30),
              lambda ctx: flows.shift(ctx, 30)),
    "cleanup": ([lambda ctx: flows.deploy(ctx, "2.0.0", "canary"), flows.rollback], planner.Request("cleanup"),
                flows.cleanup),
}


def kinds_and_targets(steps, names) -> list[tuple[str, str]]:
    return [(step.kind, step.target) for step in steps]


# The same for a single group rolled in place.
SINGLE_GROUP_CASES = {
    "single-group deploy": ([], planner.Request("deploy", "2.0.0"), lambda ctx: flows.deploy(ctx, "2.0.0")),
    "single-group rollback while the refresh runs": ([deploy_stopped_during_the_refresh], planner.Request("rollback"),
                                                     flows.rollback),
    "single-group deploy finishing a stopped one": ([deploy_stopped_during_the_refresh], planner.Request("deploy", "2.0.0"),
                                                    lambda ctx: flows.deploy(ctx, "2.0.0")),
}


@pytest.mark.parametrize("case", sorted(CASES) + sorted(SINGLE_GROUP_CASES))
def test_the_command_executes_the_plan_step_for_step(aws, aws_like, monkeypatch, tmp_path, fake_clock, case):
    single = case in SINGLE_GROUP_CASES
    setup, request, command = (SINGLE_GROUP_CASES if single else CASES)[case]
    world, path = fresh_world(aws, monkeypatch, tmp_path, retire={"previous": "scale-to-zero", "keep": 1,
                                                                  "candidate": "keep"},
                              routing={"strategy": "all-at-once" if single else "canary", "steps": [10, 50, 100],
                                       "step-pause": "1m"},
                              topology="single-group" if single else "per-release")
    ctx = Context(configuration.load(path), AwsApi(aws), fake_clock)
    flows.init(ctx, "1.0.0")
    for step in setup:
        step(ctx)
    state = fleet.read(ctx)
    planned = planner.plan(request, state, ctx.config)
    assert planned.steps, f"{case}: nothing planned"
    result = command(ctx)
    executed = result.journal.steps
    assert kinds_and_targets(executed, {}) == kinds_and_targets(planned.steps, {}), case
    assert [entry["kind"] for entry in result.data["steps"]] == [step.kind for step in planned.steps]


@pytest.mark.parametrize("strategy", ["canary", "all-at-once", "weighted"])
def test_plan_command_prints_what_deploy_then_does(run, make_config, strategy):
    path = make_config(routing={"strategy": "canary", "steps": [25, 100], "step-pause": "30s"})
    assert run(path, "init", "--version", "1.0.0").code == 0
    planned = run(path, "--output", "json", "plan", "--version", "2.0.0", "--strategy", strategy).json
    assert planned["result"] == "ok" and planned["changes"] == []
    done = run(path, "--output", "json", "deploy", "--version", "2.0.0", "--strategy", strategy)
    assert done.code == 0, done.err
    assert [(s["kind"], s["target"]) for s in done.json["steps"]] == [(s["kind"], s["target"]) for s in planned["steps"]]
    assert planned["steps"][0] == {**planned["steps"][0], "kind": "create-target-group", "target": "orders-production-g2"}
