"""Pictures of the routing without a browser: the diagram read from results, the Mermaid text,
`kie-bluegreen report` and `--output html|mermaid` (test_report_browser.py renders the pages)."""

from __future__ import annotations

import json

from kie_bluegreen.pictures import diagram, page


def story(run, path, *commands) -> list[dict]:
    results = []
    for argv in commands:
        result = run(path, "--output", "json", *argv)
        assert result.code == 0, (argv, result.err)
        results.append(result.json)
    return results


def test_the_diagram_follows_the_result(run, config_path):
    init, deploy = story(run, config_path, ("init", "--version", "1.0.0"), ("deploy", "--version", "2.0.0"))
    drawn = diagram.build(deploy, "after deploy")
    assert [(rule.key, rule.priority, rule.label) for rule in drawn.rules] == [
        ("rule-5", 5, "path-pattern /billing/*"),
        ("blue", 100, "x-client-mode: blue"),
        ("green", 101, "x-client-mode: green"),
        ("default", None, "default (no rule matched)"),
    ]
    assert {(a.route, a.target) for a in drawn.arrows} == {
        ("other", "foreign-1"),
        ("blue", "g1"),
        ("green", "g2"),
        ("default", "g1"),
    }
    g2 = drawn.box("g2")
    assert (g2.role, g2.version, g2.title) == ("green", "2.0.0", "g2 · 2.0.0")
    assert g2.lines == ("green", "orders-production-g2", "2/2 servers healthy", "container app")
    assert drawn.box("foreign-1").title == "billing-api"
    before = diagram.build({**deploy["before"]}, "before deploy")
    assert {(a.route, a.target) for a in before.arrows} >= {("green", "fixed-404"), ("default", "g1")}
    assert init["before"]["routing"]["blue"] is None and init["routing"]["blue"] is not None  # init created the rules


def test_the_mermaid_text_draws_the_same_routes(run, config_path):
    story(
        run,
        config_path,
        ("init", "--version", "1.0.0"),
        ("deploy", "--version", "2.0.0"),
        ("phase", "shift", "--weight", "10"),
    )
    result = run(config_path, "--output", "mermaid", "status")
    assert result.code == 0
    text = result.out
    assert text.startswith("flowchart LR\n")
    assert 'n_rule_5["5: path-pattern /billing/*"]:::other' in text
    assert 'n_default -- "90%" --> n_g1' in text and 'n_default -- "10%" --> n_g2' in text
    assert "n_green --> n_g2" in text and "n_blue --> n_g1" in text
    assert "n_rule_5 -.-> n_foreign_1" in text


def test_report_turns_saved_results_into_one_page(run, config_path, tmp_path):
    results = story(run, config_path, ("init", "--version", "1.0.0"), ("deploy", "--version", "2.0.0"), ("promote",))
    files = []
    for number, result in enumerate(results):
        files.append(tmp_path / f"{number}.json")
        files[-1].write_text(json.dumps(result), encoding="utf-8")
    printed = run(None, "report", *map(str, files))
    assert printed.code == 0 and printed.out.startswith("<!DOCTYPE html>")
    assert printed.out.count('class="listener-diagram"') == 1 + 2 * 3  # now, and before/after of each
    written = run(None, "--output", "json", "report", str(files[1]), "--page", str(tmp_path / "out" / "deploy.html"))
    assert written.code == 0 and written.json["page"].endswith("deploy.html")
    html = (tmp_path / "out" / "deploy.html").read_text(encoding="utf-8")
    assert "<h2>Before and after</h2>" in html and "created auto scaling group orders-production-g2" in html
    as_list = tmp_path / "list.json"
    as_list.write_text(json.dumps(results), encoding="utf-8")
    assert run(None, "report", str(as_list)).out.count('<li class="result"') == 3


def test_report_refuses_what_is_not_a_result(run, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    result = run(None, "report", str(bad))
    assert result.code == 2 and f"{bad}: not a JSON document" in result.err
    bad.write_text(json.dumps({"hello": "world"}), encoding="utf-8")
    result = run(None, "report", str(bad))
    assert result.code == 2 and "expected the JSON object of a kie-bluegreen command" in result.err
    bad.write_text(json.dumps({"entries": [{"phase": "x"}]}), encoding="utf-8")
    assert "entries[0]: expected an object with 'result'" in run(None, "report", str(bad)).err
    assert run(None, "report", str(tmp_path / "missing.json")).code == 2
    bad.write_text(json.dumps({"command": "status", "routing": ["not", "an", "object"]}), encoding="utf-8")
    assert "bad.json.routing: expected an object or null, got list" in run(None, "report", str(bad)).err
    bad.write_text(json.dumps({"command": "status", "standby": [{"generation": "two"}]}), encoding="utf-8")
    assert "standby: expected groups with a whole-number 'generation'" in run(None, "report", str(bad)).err
    bad.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    deep = run(None, "report", str(bad))
    assert deep.code == 2 and "not a JSON document" in deep.err
    assert "Traceback" not in result.err + deep.err


def test_hostile_text_in_a_result_stays_text(run, config_path, tmp_path):
    result = story(run, config_path, ("init", "--version", "1.0.0"))[0]
    result["message"] = '<script>alert("x")</script><img src="http://evil.example/x.png">'
    result["changes"] = ["</li><script>steal()</script>"]
    saved = tmp_path / "hostile.json"
    saved.write_text(json.dumps(result), encoding="utf-8")
    html = run(None, "report", str(saved)).out
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "default-src 'none'" in html  # and the page may fetch nothing anyway


def test_a_failed_result_has_a_page_too(run, config_path, tmp_path):
    failure = run(config_path, "--output", "html", "promote")  # nothing to promote before init
    assert failure.code == 3
    assert "<!DOCTYPE html>" in failure.out and "kie-bluegreen promote" in failure.out
    mermaid = run(config_path, "--output", "mermaid", "promote")  # where AWS stands, although promote was refused
    assert mermaid.code == 3 and mermaid.out.startswith("flowchart LR") and "n_default --> n_foreign_" in mermaid.out


def test_pictures_are_for_fleet_commands(run, config_path):
    result = run(config_path, "--output", "html", "version")
    assert result.code == 2 and "--output html: only the fleet commands" in result.err
    assert run(config_path, "--output", "mermaid", "iam-policy", "--generic").code == 2


def test_a_page_shows_secrets_masked(run, config_path, tmp_path, monkeypatch):
    monkeypatch.setenv("KIE_SERVER_USER", "deployer")
    monkeypatch.setenv("KIE_SERVER_PASSWORD", "hunter2-very-secret")
    result = story(run, config_path, ("init", "--version", "1.0.0"))[0]
    result["message"] = "the server said hunter2-very-secret"
    saved = tmp_path / "r.json"
    saved.write_text(json.dumps(result), encoding="utf-8")
    assert "hunter2-very-secret" not in run(None, "report", str(saved)).out
    run(None, "report", str(saved), "--page", str(tmp_path / "p.html"))
    assert "hunter2-very-secret" not in (tmp_path / "p.html").read_text(encoding="utf-8")


def test_old_results_without_listener_details_still_draw():
    result = {
        "command": "status",
        "app": "orders",
        "stage": "production",
        "result": "ok",
        "blue": {
            "generation": 3,
            "version": "2.0.0",
            "role": "blue",
            "asg": "g3",
            "target_group_arn": "arn:tg3",
            "desired": 2,
            "healthy": 2,
            "release": "g:a:2.0.0",
        },
        "green": None,
        "standby": [],
        "retired": [],
        "routing": {"default": "arn:tg3", "blue": "arn:tg3", "green": "fixed-response:404"},
    }
    drawn = diagram.build(result, "status")
    assert [rule.label for rule in drawn.rules] == [
        "x-client-mode: blue",
        "x-client-mode: green",
        "default (no rule matched)",
    ]
    assert "g3 · 2.0.0" in page.render(page.Report((page.Entry(result=result),)))
