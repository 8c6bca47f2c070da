"""End to end: the demo's story (init, canary deploy, promote, deploy, rollback) run by the real
runner against the sandbox, under probe traffic from a default, a blue and a green client."""

from kie_bluegreen import demo
from kie_bluegreen.sandbox.kie_server import BootSettings
from kie_bluegreen.sandbox.runtime import SandboxSettings

FAST = SandboxSettings(boot=BootSettings(boot_delay=0.5), health_interval=0.1, propagation_delay=0.3,
                       deregistration_delay=1)


def test_story_under_traffic_has_no_failed_request_and_the_expected_versions(capsys, tmp_path):
    ok, steps, traffic = demo.run(settings=FAST, rate=40, pages=str(tmp_path / "pages"))
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
    last = traffic["steps"][-1]["seen"]
    assert list(last["default"]["outcomes"]) == ["2.0.0"] and list(last["green"]["outcomes"])[-1] == "404"


def test_versions_by_generation_follow_the_story():
    assert demo.versions_by_generation() == {1: "1.0.0", 2: "2.0.0", 3: "3.0.0"}
    promote = next(step for step in demo.STORY if step.argv == ("promote",))
    assert demo.client_expectations(promote, demo.versions_by_generation()) == {
        "default": "2.0.0", "blue": "2.0.0", "green": "404"}
