"""The sandbox's parts on their own: health state machine, rule propagation, target picking."""

from kie_bluegreen.sandbox.alb import RulePropagation, TargetPicker
from kie_bluegreen.sandbox.alb_rules import Forward
from kie_bluegreen.sandbox.aws_model.target_health import (
    DRAINING,
    HEALTHY,
    INITIAL,
    UNHEALTHY,
    HealthBoard,
    TargetHealth,
)
from kie_bluegreen.sandbox.moto_state import RegisteredTarget, TargetGroupView, matcher_accepts


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def view(arn="tg-a", registered=("i-1",), delay=2.0):
    """A target group a listener action references, its targets in a zone the load balancer
    enables: health-checked (an unreferenced one would be `unused`, as on AWS)."""
    return TargetGroupView(arn=arn, name=arn, port=8080, health_check_path="/ready", healthy_threshold=2,
                           unhealthy_threshold=3, deregistration_delay=delay, matcher="200",
                           targets=tuple(RegisteredTarget(target, "eu-west-1a") for target in registered),
                           serving_zones=frozenset({"eu-west-1a"}))


def test_new_target_is_initial_until_healthy_threshold_of_consecutive_successes():
    health = TargetHealth()
    health.observe(True, 2, 3, now=1)
    assert health.state == INITIAL
    health.observe(True, 2, 3, now=2)
    assert health.state == HEALTHY


def test_failures_must_be_consecutive_to_turn_unhealthy():
    health = TargetHealth(state=HEALTHY)
    for ok in (False, False, True, False, False):
        health.observe(ok, 2, 3, now=1)
    assert health.state == HEALTHY
    health.observe(False, 2, 3, now=2)
    assert health.state == UNHEALTHY


def test_booting_target_goes_initial_unhealthy_healthy():
    health, seen = TargetHealth(), []
    for ok in (False, False, False, False, True, True):
        health.observe(ok, 2, 3, now=0)
        seen.append(health.state)
    assert seen == [INITIAL, INITIAL, UNHEALTHY, UNHEALTHY, UNHEALTHY, HEALTHY]


def test_board_drains_a_deregistered_target_for_the_delay_then_forgets_it():
    clock = Clock()
    board = HealthBoard(clock)
    board.sync([view(registered=("i-1", "i-2"))])
    for _ in range(2):
        board.record("tg-a", "i-1", True)
        board.record("tg-a", "i-2", True)
    assert board.states("tg-a") == {"i-1": HEALTHY, "i-2": HEALTHY}

    board.sync([view(registered=("i-1",), delay=2.0)])
    assert board.states("tg-a") == {"i-1": HEALTHY, "i-2": DRAINING}
    assert board.routable("tg-a") == ["i-1"]
    board.record("tg-a", "i-2", True)  # checks of a draining target change nothing
    assert board.states("tg-a")["i-2"] == DRAINING

    clock.now += 1.9
    board.sync([view(registered=("i-1",))])
    assert "i-2" in board.states("tg-a")
    clock.now += 0.2
    board.sync([view(registered=("i-1",))])
    assert board.states("tg-a") == {"i-1": HEALTHY}


def test_board_fails_open_when_no_target_is_healthy_but_never_to_draining_ones():
    board = HealthBoard(Clock())
    board.sync([view(registered=("i-1", "i-2"))])
    assert board.routable("tg-a") == ["i-1", "i-2"]  # both initial: fail open
    board.sync([view(registered=())])
    assert board.routable("tg-a") == []


def test_board_forgets_deleted_target_groups():
    board = HealthBoard(Clock())
    board.sync([view()])
    board.sync([])
    assert not board.tracks("tg-a")


def test_rule_change_is_served_only_after_the_propagation_delay():
    clock = Clock()
    propagation = RulePropagation(delay=2.0, clock=clock)
    first, second, third = [{"v": 1}], [{"v": 2}], [{"v": 3}]
    propagation.observe(first)
    assert propagation.current() == first  # the starting rules apply at once
    clock.now += 1
    propagation.observe(second)
    clock.now += 0.5
    propagation.observe(third)
    clock.now += 1.4  # second seen 1.9 s ago
    assert propagation.current() == first
    clock.now += 0.1
    assert propagation.current() == second
    clock.now += 0.5
    assert propagation.current() == third
    assert [change.at for change in propagation.applied] == [100.0, 103.0, 103.5]


def test_an_unchanged_read_is_not_a_change():
    clock = Clock()
    propagation = RulePropagation(delay=1.0, clock=clock)
    propagation.observe([{"v": 1}])
    propagation.observe([{"v": 1}])
    clock.now += 5
    propagation.current()
    assert len(propagation.applied) == 1


def test_picker_round_robins_healthy_targets_and_respects_weights():
    board = HealthBoard(Clock())
    board.sync([view("tg-a", ("i-1", "i-2", "i-3")), view("tg-b", ("i-9",))])
    for target in ("i-1", "i-2", "i-3", "i-9"):
        for _ in range(2):
            board.record("tg-b" if target == "i-9" else "tg-a", target, True)
    picker = TargetPicker(board, seed=1)
    picks = [picker.pick(Forward((("tg-a", 1),), "r"))[1] for _ in range(6)]
    assert picks == ["i-1", "i-2", "i-3", "i-1", "i-2", "i-3"]
    weighted = [picker.pick(Forward((("tg-a", 0), ("tg-b", 5)), "r"))[1] for _ in range(20)]
    assert set(weighted) == {"i-9"}  # weight 0 gets nothing


def test_picker_has_nothing_for_an_empty_group():
    board = HealthBoard(Clock())
    board.sync([view("tg-a", ())])
    assert TargetPicker(board).pick(Forward((("tg-a", 1),), "r")) is None


def test_matcher_codes_and_ranges():
    assert matcher_accepts("200", 200) and not matcher_accepts("200", 503)
    assert matcher_accepts("200,202", 202)
    assert matcher_accepts("200-299", 204) and not matcher_accepts("200-299", 300)


def story(settle=1.0):
    from kie_bluegreen.sandbox.story_traffic import Step, StoryTraffic

    traffic = StoryTraffic("http://127.0.0.1:9", rate=1, initial={"green": "1.0.0"}, settle=settle,
                           clients={"green": {"x-client-mode": "green"}})
    traffic.steps = [Step("(start)", {"green": "1.0.0"}, 0, 0), Step("init", {"green": "404"}, 10, 11),
                     Step("deploy", {"green": "2.0.0"}, 11, 15)]
    return traffic


def test_story_allows_the_previous_outcome_until_the_change_propagated():
    traffic = story(settle=1.0)
    assert traffic.allowed("green", 5) == {"1.0.0"}
    assert traffic.allowed("green", 10.5) == {"1.0.0", "404"}
    # init ended at 11, its change reaches the ALB by 12: the deploy step started meanwhile.
    assert traffic.allowed("green", 11.5) == {"1.0.0", "404", "2.0.0"}
    assert traffic.allowed("green", 12.5) == {"404", "2.0.0"}
    assert traffic.allowed("green", 16.5) == {"2.0.0"}


def test_story_verdict_counts_failures_and_unexpected_answers():
    from kie_bluegreen.probe import Sample

    traffic = story()
    traffic.samples = {"green": [Sample(5, 0.001, 200, "ok", "1.0.0"), Sample(13, 0.001, 200, "ok", "1.0.0"),
                                 Sample(14, 0.001, 502, "http-502", None), Sample(17, 0.001, 404, "expected-404", None)]}
    verdict = traffic.verdict()["green"]
    assert (verdict.requests, verdict.failed, verdict.unexpected) == (4, 1, 2)
    assert not traffic.passed()


def test_a_step_allows_its_during_outcomes_until_its_change_reached_the_alb_and_counts_them_apart():
    from kie_bluegreen.probe import Sample
    from kie_bluegreen.sandbox.story_traffic import Step

    traffic = story(settle=1.0)
    # The deploy's testers may also meet the bad release's 500s while it runs (until 15 + 1).
    traffic.steps[2].during = {"green": frozenset({"http-500"})}
    traffic.samples = {"green": [Sample(12, 0.001, 500, "http-500", None), Sample(15.5, 0.001, 500, "http-500", None),
                                 Sample(16.5, 0.001, 500, "http-500", None), Sample(17, 0.001, 200, "ok", "2.0.0")]}
    verdict = traffic.verdict()["green"]
    assert (verdict.failed, verdict.expected_failures, verdict.unexpected) == (3, 2, 0)
    assert not verdict.passed  # the 500 after the step's end + settle was not expected
    traffic.samples["green"].pop(2)
    assert traffic.passed()
    assert traffic.steps[2] == Step("deploy", {"green": "2.0.0"}, 11, 15, {"green": frozenset({"http-500"})})


def test_settled_windows_show_what_each_client_saw_once_a_step_reached_the_alb():
    from kie_bluegreen.probe import Sample

    traffic = story(settle=1.0)  # init 10-11 (settled from 12), deploy 11-15 (settled from 16)
    traffic.samples = {"green": [Sample(11.5, 0.001, 404, "expected-404", None),
                                 Sample(16.2, 0.001, 200, "ok", "1.0.0"), Sample(16.4, 0.001, 200, "ok", "2.0.0")]}
    assert traffic.settled(1) == {"green": {}}  # the deploy started before init's change had settled
    assert traffic.settled(2) == {"green": {"1.0.0": 1, "2.0.0": 1}}
    assert not traffic.settled_as_expected()  # an empty window proves nothing, 1.0.0 after the deploy is wrong
    traffic.steps[2].started = 13
    traffic.samples["green"] = [Sample(12.5, 0.001, 404, "expected-404", None), Sample(16.4, 0.001, 200, "ok", "2.0.0")]
    assert traffic.settled_as_expected()


class FakeCloudWatch:
    def __init__(self, fail=False):
        self.puts, self.fail = [], fail

    def put_metric_data(self, **kwargs):
        if self.fail:
            raise ConnectionError("CloudWatch is unreachable")
        self.puts.append(kwargs)


LOAD_BALANCER = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/alb-ks/50dc6c495c0c9188"
GROUP = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/orders-production-g2/73e2d6bc24d8a067"


def test_alb_metrics_publish_only_while_requests_flow_and_5xx_only_when_targets_answered_one():
    from kie_bluegreen.sandbox.alb_metrics import AlbMetrics

    cloudwatch = FakeCloudWatch()
    metrics = AlbMetrics(LOAD_BALANCER, cloudwatch, clock=Clock(), wall=lambda: 1_700_000_000.0)
    assert metrics.publish() == [] and cloudwatch.puts == []  # no request flowed: nothing is reported
    for status in (200, 200, 500, 503, None):  # None: the target gave no answer, the ALB answered 502
        metrics.record(GROUP, status)
    [published] = metrics.publish()
    assert (published.requests, published.errors) == (5, 2)
    [put] = cloudwatch.puts
    assert put["Namespace"] == "AWS/ApplicationELB"
    assert {(datum["MetricName"], datum["Value"]) for datum in put["MetricData"]} == {
        ("RequestCount", 5), ("HTTPCode_Target_5XX_Count", 2)}
    assert put["MetricData"][0]["Dimensions"] == [{"Name": "LoadBalancer", "Value": "app/alb-ks/50dc6c495c0c9188"},
                                                  {"Name": "TargetGroup",
                                                   "Value": "targetgroup/orders-production-g2/73e2d6bc24d8a067"}]
    metrics.record(GROUP, 200)
    metrics.publish()
    assert [datum["MetricName"] for datum in cloudwatch.puts[-1]["MetricData"]] == ["RequestCount"]  # no 5xx: not reported
    assert metrics.totals(GROUP) == (6, 2)


def test_alb_metrics_keep_what_a_failed_publication_could_not_put():
    import pytest

    from kie_bluegreen.sandbox.alb_metrics import AlbMetrics

    cloudwatch = FakeCloudWatch(fail=True)
    metrics = AlbMetrics(LOAD_BALANCER, cloudwatch, clock=Clock(), wall=lambda: 1_700_000_000.0)
    metrics.record(GROUP, 500)
    with pytest.raises(ConnectionError):
        metrics.publish()
    cloudwatch.fail = False
    metrics.record(GROUP, 200)
    [published] = metrics.publish()
    assert (published.requests, published.errors) == (2, 1)


def test_a_failure_share_fails_evenly_spread_calls():
    from kie_bluegreen.sandbox.kie_server import FailureShare

    share = FailureShare(0.2)
    assert [number for number in range(1, 21) if share.next_fails()] == [5, 10, 15, 20]
    third = FailureShare(1 / 3)
    assert sum(third.next_fails() for _ in range(30)) == 10
