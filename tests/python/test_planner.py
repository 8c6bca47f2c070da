"""The planner and routing.changes as tables: from a state (built here, no AWS) and a request,
the steps in order, and the routing they leave. The design note's four pictures are the cases:
Canary-0 (at rest), Canary-1 (canary), Canary-2 (promoted), Canary-3 (rolled back)."""

from __future__ import annotations

import pytest

from kie_bluegreen import planner, routing
from kie_bluegreen.aws.alb import HeaderRule, ListenerView
from kie_bluegreen.config import Container, RetireSettings, StageConfig
from kie_bluegreen.errors import Refused
from kie_bluegreen.model import (
    FIXED_404,
    TAG_LAST_GENERATION,
    TAG_TRANSITION,
    Capacity,
    Group,
    Release,
    Role,
    Routing,
    RuleChange,
)
from kie_bluegreen.state import FleetState, effective_role
from kie_bluegreen.steps import new_target_group

CONFIG = StageConfig(app="orders", stage="production", container=Container("app", "com.myspace", "app"),
                     region="eu-west-1",
                     listener_arn="arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/alb-ks/0a/0b")


def tg(generation: int) -> str:
    return f"arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/orders-production-g{generation}/{generation:04x}"


def forward(target) -> list:
    if target == FIXED_404:
        return [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}]
    if isinstance(target, tuple):  # ((generation, weight), ...)
        return [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": tg(g), "Weight": w} for g, w in target]}}]
    return [{"Type": "forward", "TargetGroupArn": tg(target)}]


def world(default, blue, green, groups, last=None, transition=None) -> FleetState:
    """default/blue/green: a generation, FIXED_404 or ((generation, weight), ...) for default."""
    tags = {TAG_LAST_GENERATION: str(last or max(g[0] for g in groups))}
    if transition:
        tags[TAG_TRANSITION] = transition
    rules, ours = [], {}
    for route, target, priority in (("blue", blue, 100), ("green", green, 101)):
        arn = f"rule-{route}"
        rules.append({"RuleArn": arn, "Priority": str(priority), "Actions": forward(target), "Conditions": []})
        ours[route] = HeaderRule(route, arn, priority, FIXED_404 if target == FIXED_404 else tg(target), tags)
    listener = ListenerView(CONFIG.listener_arn, "lb", tuple(forward(default)), tuple(rules), ours)
    built = []
    for generation, tagged, *options in groups:
        extra = options[0] if options else {}
        group = Group(generation, tagged, Release("com.myspace", "app", f"{generation}.0.0"),
                      f"orders-production-g{generation}", tg(generation), extra.get("capacity", Capacity(2, 4, 2)),
                      saved_capacity=extra.get("saved"), unrouted_at=extra.get("unrouted"), tagged_role=tagged,
                      instances=2, copied_from=None if generation == 1 else "orders-kie-1",
                      schedules=extra.get("schedules", 0))
        built.append(Group(**{**group.__dict__, "role": effective_role(group, listener.routing)}))
    return FleetState(listener, tuple(built), asgs={})


CANARY_0 = world(1, 1, FIXED_404, [(1, Role.BLUE)])
CANARY_1 = world(1, 1, 2, [(1, Role.BLUE), (2, Role.GREEN)])
CANARY_2 = world(2, 2, FIXED_404, [(1, Role.STANDBY, {"unrouted": 1.0}), (2, Role.BLUE)], transition="promote:2")
G2 = "orders-production-g2"


def steps(plan) -> list[tuple[str, str]]:
    return [(step.kind, step.target) for step in plan.steps]


def routing_after(state: FleetState, plan) -> Routing:
    draft = planner.Draft(state, CONFIG, "test")
    for step in plan.steps:
        draft.add(step)
    return draft.routing


def test_canary_0_to_canary_1_deploy():
    plan = planner.plan(planner.Request("deploy", "2.0.0", "canary"), CANARY_0, CONFIG)
    assert steps(plan) == [("create-target-group", G2), ("create-group", G2), ("copy-settings", G2),
                           ("scale-up", G2), ("mark-generation", "header rules"),
                           ("reference", G2), ("wait-ready", G2), ("route", "green"), ("unreference", G2)]
    assert routing_after(CANARY_0, plan) == Routing(tg(1), tg(1), new_target_group(G2))


def test_canary_1_to_canary_2_promote():
    plan = planner.plan(planner.Request("promote"), CANARY_1, CONFIG)
    assert steps(plan) == [("wait-ready", G2), ("record", "header rules"), ("route", "default"), ("route", "blue"),
                           ("route", "green"), ("set-role", "orders-production-g1"), ("mark-unrouted", "orders-production-g1"),
                           ("set-role", G2)]
    assert [s.role for s in plan.steps if s.kind == "set-role"] == [Role.STANDBY, Role.BLUE]
    assert routing_after(CANARY_1, plan) == Routing(tg(2), tg(2), FIXED_404)


def test_canary_1_to_canary_3_rollback_before_promote():
    plan = planner.plan(planner.Request("rollback"), CANARY_1, CONFIG)
    assert steps(plan) == [("record", "header rules"), ("set-role", G2), ("route", "green"),
                           ("mark-unrouted", G2), ("delete-group", G2)]
    assert routing_after(CANARY_1, plan) == Routing(tg(1), tg(1), FIXED_404)


def test_canary_2_rollback_brings_the_standby_back():
    plan = planner.plan(planner.Request("rollback"), CANARY_2, CONFIG)
    assert steps(plan) == [("reference", "orders-production-g1"), ("wait-ready", "orders-production-g1"),
                           ("record", "header rules"), ("set-role", G2), ("route", "default"), ("route", "blue"),
                           ("set-role", "orders-production-g1"), ("clear-unrouted", "orders-production-g1"),
                           ("mark-unrouted", G2), ("delete-group", G2)]
    assert routing_after(CANARY_2, plan) == Routing(tg(1), tg(1), FIXED_404)


def test_a_standby_at_zero_servers_is_scaled_up_before_the_wait():
    state = world(2, 2, FIXED_404, [(1, Role.STANDBY, {"capacity": Capacity(0, 4, 0), "saved": Capacity(2, 4, 2),
                                                       "unrouted": 1.0}), (2, Role.BLUE)])
    plan = planner.plan(planner.Request("rollback"), state, CONFIG)
    assert steps(plan)[:3] == [("scale-up", "orders-production-g1"), ("reference", "orders-production-g1"),
                               ("wait-ready", "orders-production-g1")]


def test_a_promote_stopped_after_the_default_switch_is_finished():
    half = world(2, 1, 2, [(1, Role.BLUE), (2, Role.GREEN)], transition="promote:2")  # default moved, the rules did not
    plan = planner.plan(planner.Request("promote"), half, CONFIG)
    assert steps(plan)[:2] == [("route", "blue"), ("route", "green")]
    assert routing_after(half, plan) == Routing(tg(2), tg(2), FIXED_404)
    assert plan.message == "finishing the promote of orders-production-g2 g2 (2.0.0)"


def test_a_done_promote_or_rollback_is_unchanged_not_refused():
    assert planner.plan(planner.Request("promote"), CANARY_2, CONFIG).steps == ()
    rolled_back = world(1, 1, FIXED_404, [(1, Role.BLUE, {})], last=2, transition="rollback:2:1")
    plan = planner.plan(planner.Request("rollback"), rolled_back, CONFIG)
    assert plan.steps == () and plan.message.startswith("already rolled back")


@pytest.mark.parametrize("state,request_,message", [
    (CANARY_0, planner.Request("promote"), "nothing to promote"),
    (CANARY_0, planner.Request("rollback"), "nothing to roll back to"),
    (CANARY_1, planner.Request("deploy", "3.0.0"), "promote it or roll it back before deploying 3.0.0"),
    (CANARY_1, planner.Request("rollback", generation=1), None),
    (CANARY_2, planner.Request("rollback", generation=2), "generation 2 is already blue"),
])
def test_refusals(state, request_, message):
    if message is None:  # rolling back to blue's own generation before promote is a plain rollback
        assert planner.plan(request_, state, CONFIG).steps
        return
    with pytest.raises(Refused, match=message):
        planner.plan(request_, state, CONFIG)


def test_redeploying_the_live_or_the_green_version_plans_nothing():
    assert planner.plan(planner.Request("deploy", "1.0.0"), CANARY_0, CONFIG).steps == ()
    assert planner.plan(planner.Request("deploy", "2.0.0", "canary"), CANARY_1, CONFIG).steps == ()


def test_weighted_steps_resume_from_the_weights_aws_shows():
    cfg = StageConfig(**{**CONFIG.__dict__, "routing": CONFIG.routing.__class__(steps=(10, 50, 100), step_pause=60.0)})
    split = world(((1, 90), (2, 10)), 1, 2, [(1, Role.BLUE), (2, Role.GREEN)])
    assert split.routing.default == tg(1) and split.routing.share(tg(2)) == 10
    plan = planner.plan(planner.Request("deploy", "2.0.0", "weighted"), split, cfg)
    assert steps(plan)[:3] == [("watch", G2), ("shift", "default"), ("watch", G2)]
    assert [s.weight for s in plan.steps if s.kind == "shift"] == [50]
    assert routing_after(split, plan) == Routing(tg(2), tg(2), FIXED_404)


def test_a_weight_0_reference_nobody_waits_for_is_removed():
    leftover = world(((1, 1), (2, 0)), 1, FIXED_404, [(1, Role.BLUE), (2, Role.RETIRED)])
    assert leftover.routing.warming == (tg(2),) and leftover.routing.default == tg(1)
    plan = planner.plan(planner.Request("cleanup"), leftover, CONFIG)
    assert steps(plan)[0] == ("unreference", G2)
    assert ("delete-group", G2) in steps(plan)


def test_scheduled_actions_follow_the_blue_group():
    state = world(1, 1, 2, [(1, Role.BLUE, {"schedules": 2}), (2, Role.GREEN)])
    plan = planner.plan(planner.Request("promote"), state, CONFIG)
    assert ("move-scheduled-actions", G2) in steps(plan)
    assert next(s for s in plan.steps if s.kind == "move-scheduled-actions").source == "orders-production-g1"


def test_retire_policy_terminate_deletes_the_previous_blue():
    cfg = StageConfig(**{**CONFIG.__dict__, "retire": RetireSettings(previous="terminate")})
    plan = planner.plan(planner.Request("promote"), CANARY_1, cfg)
    assert steps(plan)[-1] == ("delete-group", "orders-production-g1")


@pytest.mark.parametrize("current,desired,expected", [
    (routing.at_rest(tg(1)), routing.canary(tg(1), tg(2)), [RuleChange("green", tg(2), FIXED_404)]),
    (routing.canary(tg(1), tg(2)), routing.promoted(tg(2)),
     [RuleChange("default", tg(2), tg(1)), RuleChange("blue", tg(2), tg(1)), RuleChange("green", FIXED_404, tg(2))]),
    (routing.canary(tg(1), tg(2)), routing.at_rest(tg(1)), [RuleChange("green", FIXED_404, tg(2))]),
    (routing.promoted(tg(2)), routing.at_rest(tg(1)), [RuleChange("default", tg(1), tg(2)), RuleChange("blue", tg(1), tg(2))]),
    (Routing(tg(1)), routing.at_rest(tg(1)), [RuleChange("blue", tg(1), None, create=True),
                                              RuleChange("green", FIXED_404, None, create=True)]),
    (routing.at_rest(tg(1)), routing.at_rest(tg(1)), []),
])
def test_routing_changes_in_a_safe_order(current, desired, expected):
    assert routing.changes(current, desired) == expected


# -- single group: one group rolled in place --------------------------------------------------------

SINGLE = StageConfig(**{**CONFIG.__dict__, "topology": "single-group",
                        "routing": CONFIG.routing.__class__(strategy="all-at-once")})
GROUP = "orders-production-g1"


def single(default: int, target_groups: tuple, releases: tuple, generation: int, refresh=None, previous=None):
    from kie_bluegreen.aws.refresh import RefreshView

    state = world(default, default, FIXED_404, [(generation, Role.BLUE)], last=generation)
    group = state.groups[0]
    group = Group(**{**group.__dict__, "asg_name": GROUP, "target_group_arn": tg(default), "role": Role.BLUE,
                     "target_groups": tuple(tg(g) for g in target_groups), "instance_releases": releases,
                     "refresh": RefreshView("r-1", refresh, "", 50, 1) if refresh else None, "previous": previous})
    return FleetState(state.listener, (group,), asgs={})


def test_single_group_deploy_rolls_the_group_in_place():
    state = single(1, (1,), ("com.myspace:app:1.0.0",) * 2, 1)
    plan = planner.plan(planner.Request("deploy", "2.0.0", "all-at-once"), state, SINGLE)
    assert steps(plan) == [("create-target-group", G2), ("repoint-group", GROUP), ("mark-generation", "header rules"),
                           ("reference", GROUP), ("wait-ready", GROUP), ("record", "header rules"), ("shift", "default"),
                           ("route", "blue"), ("start-instance-refresh", GROUP), ("wait-instance-refresh", GROUP),
                           ("unreference", GROUP), ("detach-target-group", GROUP),
                           ("delete-target-group", "orders-production-g1")]
    assert plan.steps[1].previous == "1 com.myspace:app:1.0.0"
    # Everyone on the new target group, the previous one kept with weight 0 during the refresh:
    # the group registers the new servers in both, and AWS waits until both report them healthy.
    assert (plan.steps[6].weight, plan.steps[6].blue) == (100, state.groups[0].target_group_arn)


def test_single_group_resumes_a_refresh_in_progress():
    release = Release("com.myspace", "app", "2.0.0")
    state = single(2, (1, 2), ("com.myspace:app:1.0.0", "com.myspace:app:2.0.0"), 2, refresh="InProgress",
                   previous=(1, Release("com.myspace", "app", "1.0.0")))
    state = FleetState(state.listener, (Group(**{**state.groups[0].__dict__, "release": release}),), asgs={})
    plan = planner.plan(planner.Request("deploy", "2.0.0", "all-at-once"), state, SINGLE)
    assert steps(plan) == [("wait-instance-refresh", GROUP), ("detach-target-group", GROUP),
                           ("delete-target-group", "orders-production-g1")]


def test_single_group_rollback_while_the_refresh_runs_and_refused_after():
    release = Release("com.myspace", "app", "2.0.0")
    previous = (1, Release("com.myspace", "app", "1.0.0"))
    rolling = single(2, (1, 2), ("com.myspace:app:1.0.0", "com.myspace:app:2.0.0"), 2, refresh="InProgress",
                     previous=previous)
    rolling = FleetState(rolling.listener, (Group(**{**rolling.groups[0].__dict__, "release": release}),), asgs={})
    plan = planner.plan(planner.Request("rollback"), rolling, SINGLE)
    assert steps(plan)[:5] == [("record", "header rules"), ("repoint-group", GROUP), ("reference", GROUP),
                               ("rollback-instance-refresh", GROUP), ("wait-instance-refresh", GROUP)]
    assert ("route", "default") in steps(plan) and steps(plan)[-1] == ("delete-target-group", G2)

    done = single(2, (2,), ("com.myspace:app:2.0.0",) * 2, 2, refresh="Successful", previous=previous)
    done = FleetState(done.listener, (Group(**{**done.groups[0].__dict__, "release": release}),), asgs={})
    with pytest.raises(Refused, match="AWS rolls back only an instance refresh in progress: to go back, deploy 1.0.0 again"):
        planner.plan(planner.Request("rollback"), done, SINGLE)


def test_single_group_has_one_fleet_no_weights():
    from kie_bluegreen.errors import ConfigError
    state = single(1, (1,), ("com.myspace:app:1.0.0",) * 2, 1)
    with pytest.raises(ConfigError, match="routing.strategy: weighted needs two fleets"):
        planner.plan(planner.Request("deploy", "2.0.0", "weighted"), state, SINGLE)
