"""`kie-bluegreen demo`: the design note's whole story on an embedded AWS (moto's server), no
account and no network. Each step runs the real command, then checks that the listener routes
the way the seed's pictures say (Canary-0 .. Canary-3) and that the other team's rule on the
same listener was not touched. Meanwhile three clients (default route, blue header, green
header) send steady requests through the sandbox's ALB to emulated KIE Servers: the demo passes
only if no request failed and each client saw the expected versions. The report page of each
step (pictures of the routing before and after it) is written to a folder, with an index.html
of the whole story.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from typing import Callable, ContextManager

from . import cli, config as configuration, secrets, state as fleet
from .context import Context
from .errors import ConfigError
from .model import FIXED_404
from .pictures import page as report_page
from .report import CommandResult
from .sandbox import scenario

DEMO_RATE = 20  # requests per second from each of the three clients
SETTLE_MARGIN = 0.5  # seconds beyond the ALB's propagation delay before a step's routing must show


@dataclass(frozen=True)
class Step:
    argv: tuple
    picture: str  # what the seed's picture says should happen
    expected: dict  # route -> generation number, or None for the fixed 404


STORY = (
    Step(("init", "--version", "1.0.0"), "Canary-0: everyone on 1.0.0, green testers get 404",
         {"default": 1, "blue": 1, "green": None}),
    Step(("deploy", "--version", "2.0.0", "--strategy", "canary"),
         "Canary-1: default and blue stay on 1.0.0, green testers reach 2.0.0",
         {"default": 1, "blue": 1, "green": 2}),
    Step(("promote",), "Canary-2: everyone on 2.0.0, 1.0.0 kept in standby, green testers get 404",
         {"default": 2, "blue": 2, "green": None}),
    Step(("deploy", "--version", "3.0.0", "--strategy", "canary"),
         "Canary-1 again: green testers reach 3.0.0", {"default": 2, "blue": 2, "green": 3}),
    Step(("rollback",), "Canary-3: 3.0.0 dropped, everyone stays on 2.0.0, green testers get 404",
         {"default": 2, "blue": 2, "green": None}),
)


def routing_by_generation(ctx: Context) -> dict:
    state = fleet.read(ctx)
    result = {}
    for route, target in state.routing.as_dict().items():
        group = state.group_of(target)
        result[route] = None if target == FIXED_404 else (group.generation if group else target)
    return result


def run_story(config_path: str, world: scenario.World, print_=print,
              on_step: Callable[[Step, bool], None] | None = None,
              around_step: Callable[[Step], ContextManager] | None = None,
              pages: str | None = None) -> bool:
    """Run every step; return True when each ended in its expected routing. `around_step`
    (e.g. the traffic's step marker) wraps each command; `pages`: a folder for the report page
    of each step."""
    ctx = Context.for_config(configuration.load(config_path))
    other_rule_before = _rule(ctx, world.other_rule_arn)
    all_ok = True
    results: list[tuple[int, Step, dict]] = []  # (number, step, its JSON result), for the pages
    for number, step in enumerate(STORY, 1):
        print_(f"\n=== step {number}: kie-bluegreen {' '.join(step.argv)}")
        print_(f"    expected: {step.picture}")
        captured: list = []
        with around_step(step) if around_step else contextlib.nullcontext():
            code = cli.main(["--config", config_path, *step.argv], on_result=captured.append)
        if captured:
            results.append((number, step, captured[-1].data))
            if pages:
                print_(f"    page: {write_page(pages, number, step, captured[-1].data)}")
        seen = routing_by_generation(ctx)
        ok = code == 0 and seen == step.expected
        print_(f"    {'OK' if ok else 'UNEXPECTED'}: exit {code}, routing {_describe(seen)}"
               + ("" if ok else f" (expected {_describe(step.expected)})"))
        all_ok &= ok
        if on_step:
            on_step(step, ok)
    untouched = _rule(ctx, world.other_rule_arn) == other_rule_before
    print_(f"\nthe other team's rule (/billing/*) {'is unchanged' if untouched else 'WAS CHANGED'}")
    if pages:
        index = write_index(pages, results)
        print_(f"report pages of every step: {pages} (the whole story: {index})")
    return all_ok and untouched


def write_page(folder: str, number: int, step: Step, result: dict) -> str:
    """The report page of one step (its result's routing before and after), and its JSON."""
    os.makedirs(folder, exist_ok=True)
    name = f"{number:02d}-{'-'.join(part.lstrip('-') for part in step.argv)}"
    redact = secrets.Redactor.from_environment()
    with open(os.path.join(folder, name + ".json"), "w", encoding="utf-8") as handle:
        json.dump(redact.data(result), handle, indent=2)
    path = os.path.join(folder, name + ".html")
    report = report_page.Report((report_page.Entry(result=result),),
                                title=f"demo step {number}: kie-bluegreen {' '.join(step.argv)} ({step.picture})")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(redact(report_page.render(report)))
    return path


def write_index(folder: str, results: list[tuple[int, Step, dict]]) -> str:
    """One page for the whole story: the routing now, and each step before and after."""
    os.makedirs(folder, exist_ok=True)
    entries = tuple(report_page.Entry(phase=f"step {number}: {step.picture}", result=result)
                    for number, step, result in results)
    path = os.path.join(folder, "index.html")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(secrets.Redactor.from_environment()(report_page.render(report_page.Report(
            entries, title="kie-bluegreen demo: the design note's story"))))
    return path


def _rule(ctx: Context, arn: str) -> dict:
    return ctx.api.call("elbv2", "describe_rules", RuleArns=[arn])["Rules"][0]


def _describe(routing: dict) -> str:
    return ", ".join(f"{route}->{'404' if target is None else f'g{target}'}" for route, target in routing.items())


def versions_by_generation(story=STORY) -> dict[int, str]:
    """Generation 1 runs init's version; each deploy adds the next generation."""
    versions = [step.argv[step.argv.index("--version") + 1] for step in story if step.argv[0] in ("init", "deploy")]
    return {generation: version for generation, version in enumerate(versions, 1)}


def client_expectations(step: Step, versions: dict[int, str]) -> dict[str, str]:
    """What each probe client must see once the step is done: a version, or 404 (fixed response)."""
    return {route: "404" if generation is None else versions[generation] for route, generation in step.expected.items()}


def run(settings=None, rate: float = DEMO_RATE, pages: str | None = None) -> tuple[bool, list, dict]:
    """Start the sandbox (embedded AWS, KIE servers, ALB), send probe traffic on the default
    route and both headers for the whole story, run the story; return (ok, steps, traffic).
    `pages`: the folder the report page of each step is written to."""
    try:
        from .sandbox.runtime import Sandbox, SandboxSettings
        from .sandbox.story_traffic import StoryTraffic
    except ImportError as exc:  # moto is an optional dependency of the runner
        raise ConfigError(f"the demo needs moto: pip install 'kie-bluegreen[demo]' ({exc})") from None
    settings = settings or SandboxSettings()
    steps: list = []
    versions = versions_by_generation()
    with tempfile.TemporaryDirectory() as directory, Sandbox(settings, directory) as sandbox, sandbox.pointed():
        world = sandbox.world
        print(f"embedded AWS (moto) at {sandbox.moto.endpoint_url}; listener {world.listener_arn}")
        print(f"initial scenario: {world.asg_name} runs {versions[1]} on {settings.servers} servers behind alb-ks;"
              f" config {sandbox.config_path}")
        print(f"ALB data plane at {sandbox.alb_url}: {rate:g} requests/s each from a default, a blue and a green client;"
              f" rule changes reach it after {settings.propagation_delay:g}s")
        traffic = StoryTraffic(sandbox.alb_url, rate, initial={client: versions[1] for client in ("default", "blue", "green")},
                               settle=settings.propagation_delay + SETTLE_MARGIN).start()
        routing_ok = run_story(
            sandbox.config_path, world,
            on_step=lambda step, passed: steps.append({"command": " ".join(step.argv), "expected": step.picture, "ok": passed}),
            around_step=lambda step: traffic.step(" ".join(step.argv), client_expectations(step, versions), linger=True),
            pages=pages)
        traffic.stop(linger=0)
    requests, failed = traffic.total()
    print("\nwhat each client saw during each step (in order of appearance; 404 = the green rule's fixed response):")
    print(traffic.render())
    traffic_ok = traffic.passed()
    print(f"\ntraffic: {requests} requests, {failed} failed"
          + ("; every client saw the expected versions" if traffic_ok else "; NOT as expected"))
    ok = routing_ok and traffic_ok
    print("\ndemo " + ("passed: every step ended in the expected routing, no request failed" if ok else "FAILED"))
    report = {"requests": requests, "failed": failed, "ok": traffic_ok, "steps": traffic.per_step(),
              "clients": {client: vars(verdict) for client, verdict in traffic.verdict().items()}}
    return ok, steps, report


def register(subparsers) -> None:
    parser = subparsers.add_parser("demo", help="the whole story on an embedded AWS, no account needed",
                                   description=__doc__)
    parser.add_argument("--pages", metavar="DIR",
                        help="folder for the report page of each step (default: a new folder in the temporary directory)")
    parser.set_defaults(handler=_handle, command_name="demo")


def _handle(args) -> CommandResult:
    pages = args.pages or tempfile.mkdtemp(prefix="kie-bluegreen-demo-pages-")
    # The story prints as it goes; with --output json that goes to stderr, the object to stdout.
    target = sys.stderr if args.output == "json" else sys.stdout
    with contextlib.redirect_stdout(target):
        ok, steps, traffic = run(pages=pages)
    return CommandResult(data={"command": "demo", "result": "ok" if ok else "failed", "exit_code": 0 if ok else 1,
                               "error": None if ok else "a step did not end in the expected routing or traffic failed",
                               "steps": steps, "traffic": traffic, "pages": pages},
                         exit_code=0 if ok else 1)
