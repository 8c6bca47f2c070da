"""`kie-bluegreen demo`: the design note's whole story on an embedded AWS (moto's server), no
account and no network. Each step runs the real command, then checks that the listener routes
the way the seed's pictures say (Canary-0 .. Canary-3) and that the other team's rule on the
same listener was not touched.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from dataclasses import dataclass
from typing import Callable

from . import cli, config as configuration, state as fleet
from .aws.session import clients
from .context import Context
from .model import FIXED_404
from .report import CommandResult
from .sandbox import scenario
from .sandbox.embedded_aws import embedded_aws


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
              on_step: Callable[[Step, bool], None] | None = None) -> bool:
    """Run every step; return True when each ended in its expected routing."""
    ctx = Context.for_config(configuration.load(config_path))
    other_rule_before = _rule(ctx, world.other_rule_arn)
    all_ok = True
    for number, step in enumerate(STORY, 1):
        print_(f"\n=== step {number}: kie-bluegreen {' '.join(step.argv)}")
        print_(f"    expected: {step.picture}")
        code = cli.main(["--config", config_path, *step.argv])
        seen = routing_by_generation(ctx)
        ok = code == 0 and seen == step.expected
        print_(f"    {'OK' if ok else 'UNEXPECTED'}: exit {code}, routing {_describe(seen)}"
               + ("" if ok else f" (expected {_describe(step.expected)})"))
        all_ok &= ok
        if on_step:
            on_step(step, ok)
    untouched = _rule(ctx, world.other_rule_arn) == other_rule_before
    print_(f"\nthe other team's rule (/billing/*) {'is unchanged' if untouched else 'WAS CHANGED'}")
    return all_ok and untouched


def _rule(ctx: Context, arn: str) -> dict:
    return ctx.api.call("elbv2", "describe_rules", RuleArns=[arn])["Rules"][0]


def _describe(routing: dict) -> str:
    return ", ".join(f"{route}->{'404' if target is None else f'g{target}'}" for route, target in routing.items())


def run() -> tuple[bool, list]:
    """Start the embedded AWS, build the seed's initial scenario, run the story."""
    steps: list = []
    with embedded_aws() as endpoint, tempfile.TemporaryDirectory() as directory:
        world = scenario.build(clients(scenario.REGION))
        config_path = scenario.write_config(world, directory, **{"target-group": {"deregistration-delay": "2s"}})
        print(f"embedded AWS (moto) at {endpoint}; listener {world.listener_arn}")
        print(f"initial scenario: {world.asg_name} runs 1.0.0 on 2 servers behind alb-ks; config {config_path}")
        ok = run_story(config_path, world, on_step=lambda step, passed: steps.append(
            {"command": " ".join(step.argv), "expected": step.picture, "ok": passed}))
    print("\ndemo " + ("passed: every step ended in the expected routing" if ok else "FAILED"))
    return ok, steps


def register(subparsers) -> None:
    parser = subparsers.add_parser("demo", help="the whole story on an embedded AWS, no account needed",
                                   description=__doc__)
    parser.set_defaults(handler=_handle, command_name="demo")


def _handle(args) -> CommandResult:
    # The story prints as it goes; with --output json that goes to stderr, the object to stdout.
    target = sys.stderr if args.output == "json" else sys.stdout
    with contextlib.redirect_stdout(target):
        ok, steps = run()
    return CommandResult(data={"command": "demo", "result": "ok" if ok else "failed", "exit_code": 0 if ok else 1,
                               "error": None if ok else "a step did not end in the expected routing", "steps": steps},
                         exit_code=0 if ok else 1)
