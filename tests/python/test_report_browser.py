"""The report page in a real headless browser (Debian's chromium): for each of the design note's
four states (Canary-0..3), and a weighted step, the page `status --output html` writes renders,
its diagram shows the groups and routes AWS shows, and it asks the network for nothing."""

from __future__ import annotations

import pytest
from browser import Elements, find_chromium, render
from helpers import routing_generations

from kie_bluegreen.pictures import svg

STATES = (
    # (state, command, routing AWS must show, roles of the groups in the picture)
    ("Canary-0", ("init", "--version", "1.0.0"), {"default": 1, "blue": 1, "green": None}, {1: "blue"}),
    ("Canary-1", ("deploy", "--version", "2.0.0"), {"default": 1, "blue": 1, "green": 2}, {1: "blue", 2: "green"}),
    ("Canary-2", ("promote",), {"default": 2, "blue": 2, "green": None}, {2: "blue", 1: "standby"}),
    ("Canary-3", ("rollback",), {"default": 1, "blue": 1, "green": None}, {1: "blue", 2: "retired"}),
)


@pytest.fixture(scope="module")
def chromium():
    try:
        return find_chromium()
    except RuntimeError as exc:  # make test installs it; a machine that cannot is a failure, not a skip
        pytest.fail(str(exc))


def picture_routing(dom: str) -> tuple[dict, dict, list]:
    """What the rendered diagram says: each route's destination (generation, None for the fixed
    404, {generation: percent} while split), each group box's role, other teams' arrows."""
    elements = Elements(dom)
    boxes = {box["data-box"]: box for box in elements.with_class("box")}

    def destination(key: str):
        box = boxes[key]
        return int(box["data-generation"]) if box["data-kind"] == "group" else (
            None if box.get("data-target") == "fixed-response:404" else box.get("data-target"))

    routing = {}
    arrows = elements.with_class("arrow")
    for route in ("default", "blue", "green"):
        mine = [arrow for arrow in arrows if arrow["data-route"] == route and "data-warming" not in arrow]
        if len(mine) > 1:
            routing[route] = {destination(arrow["data-to"]): int(arrow["data-percent"]) for arrow in mine}
        else:
            routing[route] = destination(mine[0]["data-to"]) if mine else None
    roles = {int(box["data-generation"]): box["data-role"] for box in boxes.values() if box["data-kind"] == "group"}
    others = [(arrow["data-from"], boxes[arrow["data-to"]]["data-kind"]) for arrow in arrows if arrow["data-route"] == "other"]
    return routing, roles, others


def test_the_four_states_render_as_aws_routes_them(chromium, run, make_config, aws, world, tmp_path):
    path = make_config(retire={"previous": "standby", "keep": 1, "candidate": "keep"})  # Canary-3 keeps the faulty group
    for state, argv, expected, roles in STATES:
        assert run(path, *argv).code == 0, argv
        assert routing_generations(aws, world.listener_arn) == expected, state
        page = tmp_path / f"{state}.html"
        page.write_text(run(path, "--output", "html", "status").out, encoding="utf-8")

        shown = render(chromium, page, width=900, height=700)
        assert shown.page_requests == [], state  # nothing fetched: it works with no network
        routing, drawn_roles, others = picture_routing(shown.dom)
        assert routing == expected, state
        assert drawn_roles == roles, state
        assert others == [("rule-5", "foreign")], state  # the other team's rule, greyed, to its own group
        pixels = shown.pixels
        for role in ("blue", "green", "standby", "retired"):
            fill = svg.ROLE_COLOURS[role][1]
            assert (pixels.count(fill) > 2000) == (role in roles.values()), f"{state}: {role} group drawn?"
        assert (pixels.count(svg.FIXED_COLOURS[1]) > 2000) == (expected["green"] is None), f"{state}: fixed 404 drawn?"
        assert pixels.count(svg.FOREIGN_COLOURS[1]) > 1000, state  # the other team's group, greyed


def test_a_weighted_step_and_a_warming_group_render_as_aws_routes_them(chromium, run, make_config, aws, world, tmp_path):
    path = make_config()
    for argv in (("init", "--version", "1.0.0"), ("deploy", "--version", "2.0.0"), ("phase", "shift", "--weight", "25")):
        assert run(path, *argv).code == 0, argv
    assert routing_generations(aws, world.listener_arn) == {"default": {1: 75, 2: 25}, "blue": 1, "green": 2}
    page = tmp_path / "weighted.html"
    page.write_text(run(path, "--output", "html", "status").out, encoding="utf-8")
    shown = render(chromium, page, width=900, height=700)
    routing, roles, _ = picture_routing(shown.dom)
    assert routing == {"default": {1: 75, 2: 25}, "blue": 1, "green": 2}
    assert ">75%</text>" in shown.dom and ">25%</text>" in shown.dom

    assert run(path, "rollback").code == 0
    assert run(path, "phase", "provision", "--version", "3.0.0").code == 0  # referenced with weight 0, not routed
    page.write_text(run(path, "--output", "html", "status").out, encoding="utf-8")
    warming = [a for a in Elements(render(chromium, page, width=900, height=700).dom).with_class("arrow")
               if "data-warming" in a]
    assert [(a["data-route"], a["data-to"]) for a in warming] == [("default", "g3")]


def test_a_page_that_needs_the_network_is_caught(chromium, tmp_path):
    """The check above can fail: a page loading a script from a CDN is seen asking for it."""
    page = tmp_path / "cdn.html"
    page.write_text('<!DOCTYPE html><html><head><script src="https://cdn.example.com/mermaid.min.js"></script></head>'
                    "<body>a diagram rendered by a script</body></html>", encoding="utf-8")
    assert render(chromium, page, width=400, height=300).page_requests == ["https://cdn.example.com/mermaid.min.js"]


def test_the_build_report_renders_every_entry(chromium, run, make_config, tmp_path):
    """The timeline page (what the Jenkins steps archive): one before/after pair per runner call
    that changed something, the approval note, the routing now."""
    import json

    path = make_config()
    results = []
    for argv in (("init", "--version", "1.0.0"), ("phase", "provision", "--version", "2.0.0"), ("phase", "wait"),
                 ("phase", "route"), ("promote",)):
        result = run(path, "--output", "json", *argv)
        assert result.code == 0, argv
        results.append(result.json)
    timeline = {"title": "orders production #42", "build_url": "https://jenkins.example.com/job/orders/42/", "entries": [
        {"phase": "Provision (production)", "at": "2026-12-04T10:00:00Z", "result": results[1]},
        {"phase": "Wait healthy (production)", "at": "2026-12-04T10:03:00Z", "result": results[2]},
        {"phase": "Rewrite rules (production)", "at": "2026-12-04T10:03:10Z", "result": results[3]},
        {"phase": "Approval (production)", "at": "2026-12-04T10:20:00Z", "note": "Promote, approved by alice"},
        {"phase": "Promote (production)", "at": "2026-12-04T10:20:05Z", "result": results[4]},
    ]}
    document = tmp_path / "report.json"
    document.write_text(json.dumps(timeline), encoding="utf-8")
    page = tmp_path / "report.html"
    assert run(None, "report", str(document), "--page", str(page)).code == 0
    shown = render(chromium, page, width=1400, height=900)
    assert shown.page_requests == []
    elements = Elements(shown.dom)
    figures = [figure["data-picture"] for _, figure in elements.found if "data-picture" in figure]
    # phase wait changed nothing: no before picture, only after; the approval is a note
    assert figures == ["now", "r1-before", "r1-after", "r2-after", "r3-before", "r3-after", "r5-before", "r5-after"]
    assert "Promote, approved by alice" in shown.dom and "orders production #42" in shown.dom
    routing, roles, _ = picture_routing(shown.dom.split('data-picture="r1-before"')[0])  # the "now" picture
    assert routing == {"default": 2, "blue": 2, "green": None} and roles == {2: "blue", 1: "standby"}
