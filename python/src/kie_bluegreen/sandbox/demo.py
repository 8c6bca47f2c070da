"""`kie-bluegreen demo`: a story of releases on an embedded AWS (moto's server behaving like AWS),
no account and no network.

    kie-bluegreen demo [--topology per-release|fixed-pair|single-group] [--scenario canary|bad-release]
                       [--pages DIR]

The canary scenario is the design note's story: init, canary deploy 2.0.0, promote, deploy
3.0.0, rollback, on a new Auto Scaling group per release or on a fixed pair of groups. A single
group has no canary: init, deploy 2.0.0 and 3.0.0 all at once (instance refreshes), a rollback
that AWS no longer allows once the refresh ended (refused, exit 3), and 2.0.0 deployed again. The
bad-release scenario deploys 2.0.0 in weighted steps, then 3.0.0, whose servers answer a fifth
of their calls with a 500: its 5xx share in CloudWatch goes over analysis.max-5xx-percent during
the first step and the runner rolls it back by itself (that deploy exits 1, as it must).

Each step runs the real command, prints what each client should see before and after it and
why, then checks that the listener routes the way the story says and that the other team's rule
on the same listener was not touched. Meanwhile three clients (default route, blue header, green
header) send steady requests through the sandbox's ALB to emulated KIE Servers: the demo passes
only if no request failed unexpectedly and each client saw the expected versions, and only them
once each step's changes reached the ALB. The report page of each step (pictures of the routing
before and after it) is written to a folder, with an index.html of the whole story.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager

from .. import commands, secrets
from .. import config as configuration
from .. import state as fleet
from ..context import Context
from ..errors import ConfigError
from ..model import FIXED_404, TAG_GENERATION
from ..pictures import page as report_page
from ..report import CommandResult
from . import scenario, stories
from .stories import CLIENTS, Step, Story

DEMO_RATE = 20  # requests per second from each of the three clients
SETTLE_MARGIN = 0.5  # seconds beyond the ALB's propagation delay before a step's routing must show
OBSERVE = 1.0  # seconds each step's final routing is watched once it reached the ALB


ROUTES = ("default", "blue", "green")


def routing_by_generation(ctx: Context) -> dict:
    """Route -> the generation of the target group it forwards to (None: the fixed 404), read
    from the target group's own generation tag: on a single group the group's generation moves
    to the new target group before the routes do. The three routes the story checks (a weight-0
    reference that only makes AWS health-check a group is not one of them)."""
    routes = fleet.read(ctx).routing.as_dict()
    targets = [routes.get(route) for route in ROUTES]
    arns = sorted({target for target in targets if isinstance(target, str) and ":targetgroup/" in target})
    generations = {}
    if arns:
        for description in ctx.api.call("elbv2", "describe_tags", ResourceArns=arns)["TagDescriptions"]:
            tags = {tag["Key"]: tag["Value"] for tag in description.get("Tags", [])}
            generation = tags.get(TAG_GENERATION)
            generations[description["ResourceArn"]] = int(generation) if generation and generation.isdigit() else None
    return {
        route: None if target == FIXED_404 else generations.get(target) or target
        for route, target in zip(ROUTES, targets, strict=True)
    }


def run_story(
    story: Story,
    config_path: str,
    world: scenario.World,
    print_=print,
    on_step: Callable[[Step, CommandResult, bool], None] | None = None,
    around_step: Callable[[int, Step], AbstractContextManager] | None = None,
    pages: str | None = None,
) -> bool:
    """Run every step; True when each ended as the story says. `around_step(index, step)` (e.g.
    the traffic's step marker) wraps each command; `pages`: a folder for the report page of each
    step."""
    ctx = Context.for_config(configuration.load(config_path))
    other_rule_before = _rule(ctx, world.other_rule_arn)
    redact = secrets.Redactor.from_environment()
    all_ok = True
    results: list[tuple[int, Step, dict]] = []  # (number, step, its JSON result), for the pages
    for index, step in enumerate(story.steps):
        number = index + 1
        print_(f"\n=== step {number}: kie-bluegreen {step.command}")
        print_(explain(story, index))
        with around_step(index, step) if around_step else contextlib.nullcontext():
            result = commands.run(["--config", config_path, *step.argv])
        if result.error:
            print_(redact(f"kie-bluegreen: {result.error}"))
        if result.text:
            print_(redact(result.text))
        results.append((number, step, result.data))
        if pages:
            print_(f"    page: {write_page(pages, number, step, result.data)}")
        seen = routing_by_generation(ctx)
        problems = judge(step, result, seen)
        expected_exit = "" if step.exit_code == 0 else " (as expected)"
        print_(
            f"    UNEXPECTED: {'; '.join(problems)}"
            if problems
            else f"    OK: exit {result.exit_code}{expected_exit}, routing {_describe(seen)}"
        )
        all_ok &= not problems
        if on_step:
            on_step(step, result, not problems)
    untouched = _rule(ctx, world.other_rule_arn) == other_rule_before
    print_(f"\nthe other team's rule (/billing/*) {'is unchanged' if untouched else 'WAS CHANGED'}")
    if pages:
        index_page = write_index(pages, story, results)
        print_(f"report pages of every step: {pages} (the whole story: {index_page})")
    return all_ok and untouched


def judge(step: Step, result: CommandResult, seen: dict) -> list[str]:
    """What is not as the story says after a step: its exit code, its error, the routing."""
    problems = []
    if result.exit_code != step.exit_code:
        problems.append(f"exit {result.exit_code} instead of {step.exit_code}")
    if step.fails_with and step.fails_with not in (result.error or ""):
        problems.append(f"its error does not name {step.fails_with}")
    if seen != step.expected:
        problems.append(f"routing {_describe(seen)} instead of {_describe(step.expected)}")
    return problems


def explain(story: Story, index: int) -> str:
    """The step's picture, and each client's expected transition with the reason."""
    step, before, after = story.steps[index], story.outcomes(index - 1), story.outcomes(index)
    lines = [f"    {step.picture}", "    client    before -> after    why"]
    for client in CLIENTS:
        meanwhile = step.during.get(client)
        also = f" (meanwhile also {', '.join(meanwhile)})" if meanwhile else ""
        lines.append(f"    {client:<9} {before[client]:<6} -> {after[client]:<8} {step.why[client]}{also}")
    return "\n".join(lines)


def write_page(folder: str, number: int, step: Step, result: dict) -> str:
    """The report page of one step (its result's routing before and after), and its JSON."""
    os.makedirs(folder, exist_ok=True)
    name = f"{number:02d}-{'-'.join(part.lstrip('-') for part in step.argv)}"
    redact = secrets.Redactor.from_environment()
    with open(os.path.join(folder, name + ".json"), "w", encoding="utf-8") as handle:
        json.dump(redact.data(result), handle, indent=2)
    path = os.path.join(folder, name + ".html")
    report = report_page.Report(
        (report_page.Entry(result=result),), title=f"demo step {number}: kie-bluegreen {step.command} ({step.picture})"
    )
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(redact(report_page.render(report)))
    return path


def write_index(folder: str, story: Story, results: list[tuple[int, Step, dict]]) -> str:
    """One page for the whole story: the routing now, and each step before and after."""
    os.makedirs(folder, exist_ok=True)
    entries = tuple(
        report_page.Entry(phase=f"step {number}: {step.picture}", result=result) for number, step, result in results
    )
    path = os.path.join(folder, "index.html")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(
            secrets.Redactor.from_environment()(
                report_page.render(report_page.Report(entries, title=f"kie-bluegreen demo: {story.title}"))
            )
        )
    return path


def _rule(ctx: Context, arn: str) -> dict:
    return ctx.api.call("elbv2", "describe_rules", RuleArns=[arn])["Rules"][0]


def _describe(routing: dict) -> str:
    return ", ".join(f"{route}->{'404' if target is None else f'g{target}'}" for route, target in routing.items())


def run(
    settings=None,
    rate: float = DEMO_RATE,
    pages: str | None = None,
    story: Story | None = None,
    observe: float = OBSERVE,
) -> tuple[bool, list, dict]:
    """Start the sandbox (embedded AWS, KIE servers, ALB), send probe traffic on the default
    route and both headers for the whole story, run the story; return (ok, steps, traffic).
    `pages`: the folder the report page of each step is written to; `observe`: seconds each
    step's final routing is watched once it reached the ALB."""
    try:
        from .runtime import Sandbox, SandboxSettings
        from .story_traffic import StoryTraffic
    except ImportError as exc:  # moto is an optional dependency of the runner
        raise ConfigError(f"the demo needs moto: pip install 'kie-bluegreen[demo]' ({exc})") from None
    story = story or stories.canary()
    settings = settings or SandboxSettings()
    if story.failing:
        settings = dataclasses.replace(
            settings, boot=dataclasses.replace(settings.boot, failing={**settings.boot.failing, **story.failing})
        )
    steps: list = []
    versions = story.versions()
    settle = settings.propagation_delay + SETTLE_MARGIN
    with tempfile.TemporaryDirectory() as directory, Sandbox(settings, directory) as sandbox, sandbox.pointed():
        world = sandbox.world
        config_path = sandbox.write_config(**story.stage)
        print(f"kie-bluegreen demo: {story.title}")
        print(f"embedded AWS (moto) at {sandbox.moto.endpoint_url}; listener {world.listener_arn}")
        print(
            f"initial scenario: {world.asg_name} runs {versions[1]} on {settings.servers} servers behind alb-ks;"
            f" config {config_path}"
        )
        for version, share in story.failing.items():
            print(
                f"release {version} is a bad one: its servers pass their health checks but answer {share:.0%} of"
                " their calls with a 500"
            )
        print(
            f"ALB data plane at {sandbox.alb_url}: {rate:g} requests/s each from a default, a blue and a green client;"
            f" rule changes reach it after {settings.propagation_delay:g}s; its CloudWatch metrics are published"
            f" every {settings.metrics_interval:g}s"
        )
        traffic = StoryTraffic(sandbox.alb_url, rate, initial=story.outcomes(-1), settle=settle).start()
        routing_ok = run_story(
            story,
            config_path,
            world,
            on_step=lambda step, result, passed: steps.append(
                {"command": step.command, "expected": step.picture, "exit_code": result.exit_code, "ok": passed}
            ),
            around_step=lambda index, step: traffic.step(
                step.command, story.outcomes(index), story.during(index), linger=settle + observe
            ),
            pages=pages,
        )
        traffic.stop(linger=0)
        published = _published(sandbox.metrics)
    requests, failed = traffic.total()
    expected_failures = traffic.expected_failures()
    print(
        "\nwhat each client saw during each step (in order of appearance; 404 = the green rule's fixed response),"
        " and once the step's changes reached the ALB:"
    )
    print(traffic.render())
    print(
        "\nwhat the ALB published to CloudWatch (AWS/ApplicationELB, per target group: RequestCount,"
        " HTTPCode_Target_5XX_Count):"
    )
    for name, (count, errors) in published.items():
        print(f"  {name:<24} {count:>6} requests, {errors} 5xx")
    traffic_ok = traffic.passed() and traffic.settled_as_expected()
    expected = (
        f" ({expected_failures} of them the bad release's own 500s, expected before its rollback)"
        if expected_failures
        else ""
    )
    print(
        f"\ntraffic: {requests} requests, {failed} failed{expected}"
        + ("; every client saw the expected versions" if traffic_ok else "; NOT as expected")
    )
    ok = routing_ok and traffic_ok
    print("\ndemo " + ("passed: every step ended as expected, no request failed unexpectedly" if ok else "FAILED"))
    report = {
        "story": story.name,
        "requests": requests,
        "failed": failed,
        "expected_failures": expected_failures,
        "ok": traffic_ok,
        "steps": traffic.per_step(),
        "published": {name: {"requests": count, "errors": errors} for name, (count, errors) in published.items()},
        "clients": {client: vars(verdict) for client, verdict in traffic.verdict().items()},
    }
    return ok, steps, report


def _published(metrics) -> dict[str, tuple[int, int]]:
    """Target group name -> (requests, 5xx) the ALB put into CloudWatch."""
    totals: dict[str, tuple[int, int]] = {}
    for row in metrics.published:
        name = row.target_group_arn.split(":targetgroup/")[-1].split("/")[0]
        count, errors = totals.get(name, (0, 0))
        totals[name] = (count + row.requests, errors + row.errors)
    return totals
