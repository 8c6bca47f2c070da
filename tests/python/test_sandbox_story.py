"""End to end: the demo's stories run by the real runner against the sandbox, under probe traffic
from a default, a blue and a green client: the design note's story on each topology the sandbox
can run, and a bad release rolled back by itself when its 5xx share fires."""

import json

from kie_bluegreen import cli
from kie_bluegreen.sandbox import demo, stories
from kie_bluegreen.sandbox.kie_server import BootSettings
from kie_bluegreen.sandbox.runtime import SandboxSettings

FAST = SandboxSettings(boot=BootSettings(boot_delay=0.5), health_interval=0.1, propagation_delay=0.3,
                       deregistration_delay=1, metrics_interval=0.3)
OBSERVE = 0.5  # seconds of traffic on each step's final routing (20 requests per client at 40/s)


def test_story_under_traffic_has_no_failed_request_and_the_expected_versions(capsys, tmp_path):
    ok, steps, traffic = demo.run(settings=FAST, rate=40, pages=str(tmp_path / "pages"), observe=OBSERVE)
    out = capsys.readouterr().out
    assert ok, out
    pages = sorted(path.name for path in (tmp_path / "pages").glob("*.html"))
    assert pages == ["01-init-version-1.0.0.html", "02-deploy-version-2.0.0-strategy-canary.html", "03-promote.html",
                     "04-deploy-version-3.0.0-strategy-canary.html", "05-rollback.html", "index.html"]
    assert f"report pages of every step: {tmp_path / 'pages'}" in out
    index = (tmp_path / "pages" / "index.html").read_text(encoding="utf-8")
    assert index.count('<li class="result"') == 5 and "Canary-3" in index
    assert [step["ok"] for step in steps] == [True] * 5
    assert traffic["failed"] == 0 and traffic["requests"] > 500
    clients = traffic["clients"]
    assert all(client["failed"] == 0 and client["unexpected"] == 0 for client in clients.values())
    # Each client saw every outcome of its story, and nothing else.
    assert set(clients["default"]["outcomes"]) == {"1.0.0", "2.0.0"}
    assert set(clients["blue"]["outcomes"]) == {"1.0.0", "2.0.0"}
    assert set(clients["green"]["outcomes"]) == {"1.0.0", "404", "2.0.0", "3.0.0"}
    # Once each step's changes reached the ALB, every client saw that step's outcome alone.
    settled = [{client: set(seen) for client, seen in row["settled"].items()} for row in traffic["steps"]]
    assert settled[2] == {"default": {"2.0.0"}, "blue": {"2.0.0"}, "green": {"404"}}  # promote
    assert settled[3]["green"] == {"3.0.0"} and settled[4]["green"] == {"404"}
    # The demo says what each client should see before and after each step, and why.
    assert "    green     404    -> 2.0.0    the green rule forwards to g2" in out
    # The ALB's CloudWatch metrics of every group that served.
    assert set(traffic["published"]) == {"orders-kie-1", "orders-production-g2", "orders-production-g3"}
    assert all(counts["errors"] == 0 for counts in traffic["published"].values())


def test_the_story_on_a_fixed_pair_uses_two_groups_in_turn(capsys, tmp_path):
    ok, steps, traffic = demo.run(settings=FAST, rate=40, pages=str(tmp_path), story=stories.canary("fixed-pair"),
                                     observe=OBSERVE)
    out = capsys.readouterr().out
    assert ok, out
    assert traffic["failed"] == 0
    deployed = json.loads((tmp_path / "04-deploy-version-3.0.0-strategy-canary.json").read_text(encoding="utf-8"))
    # generation 3 runs on the pair's idle group, the one generation 1 ran on
    assert (deployed["green"]["generation"], deployed["green"]["asg"]) == (3, "orders-kie-1")
    assert deployed["blue"]["asg"] == "orders-production-pair"


def test_a_bad_release_is_rolled_back_by_itself_when_its_5xx_share_fires(capsys, tmp_path):
    ok, steps, traffic = demo.run(settings=FAST, rate=40, pages=str(tmp_path), story=stories.bad_release(),
                                     observe=OBSERVE)
    out = capsys.readouterr().out
    assert ok, out
    assert [(step["exit_code"], step["ok"]) for step in steps] == [(0, True), (0, True), (1, True)]
    assert "over analysis.max-5xx-percent 5%; rolled back automatically" in out
    # The bad release's 500s reached clients, all of them expected; once the rollback reached
    # the ALB every client was back on 2.0.0 (green testers on the 404).
    assert traffic["failed"] == traffic["expected_failures"] > 0
    last = traffic["steps"][-1]
    assert {client: set(seen) for client, seen in last["settled"].items()} == {
        "default": {"2.0.0"}, "blue": {"2.0.0"}, "green": {"404"}}
    assert "3.0.0" in last["seen"]["green"]["outcomes"] and "http-500" in last["seen"]["green"]["outcomes"]
    bad = traffic["published"]["orders-production-g3"]
    assert bad["errors"] > 0 and traffic["published"]["orders-production-g2"]["errors"] == 0
    # The good weighted release before it failed no request and ended with everyone on 2.0.0.
    good = traffic["steps"][1]
    assert all(seen["failed"] == 0 for seen in good["seen"].values())
    assert set(good["seen"]["default"]["outcomes"]) == {"1.0.0", "2.0.0"}


def test_the_demo_refuses_a_weighted_scenario_on_a_single_group(capsys):
    assert cli.main(["demo", "--topology", "single-group", "--scenario", "bad-release"]) == 2
    err = capsys.readouterr().err
    assert "--topology single-group --scenario bad-release:" in err and "needs two fleets" in err


def test_versions_and_expectations_follow_the_story():
    story = stories.canary()
    assert story.versions() == {1: "1.0.0", 2: "2.0.0", 3: "3.0.0"}
    promote = next(index for index, step in enumerate(story.steps) if step.argv == ("promote",))
    assert story.outcomes(promote) == {"default": "2.0.0", "blue": "2.0.0", "green": "404"}
    assert story.outcomes(-1) == {"default": "1.0.0", "blue": "1.0.0", "green": "1.0.0"}  # no header rules yet
    bad = stories.bad_release()
    assert bad.failing == {"3.0.0": 0.2} and bad.steps[-1].exit_code == 1
    assert bad.during(len(bad.steps) - 1)["green"] == {"3.0.0", "http-500"}
    # One group: no canary; going back after a finished refresh is a new deploy of the previous release.
    single = stories.story("single-group")
    assert single.stage == {"topology": "single-group", "routing": {"strategy": "all-at-once"}}
    assert single.versions() == {1: "1.0.0", 2: "2.0.0", 3: "3.0.0", 4: "2.0.0"}
    assert all(single.outcomes(index)["green"] == "404" for index in range(len(single.steps)))
    assert [step.exit_code for step in single.steps] == [0, 0, 0, 3, 0]
    assert single.outcomes(3) == {"default": "3.0.0", "blue": "3.0.0", "green": "404"}
    assert single.outcomes(4) == {"default": "2.0.0", "blue": "2.0.0", "green": "404"}
