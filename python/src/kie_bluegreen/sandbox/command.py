"""`kie-bluegreen demo` (the story is demo.py) and `kie-bluegreen sandbox up`: a long-running local
AWS + KIE fleet + ALB to try the runner against."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import threading

from ..config import parse_duration
from ..errors import ConfigError
from ..report import CommandResult
from . import demo, stories


def register(subparsers) -> None:
    _register_demo(subparsers)
    parser = subparsers.add_parser("sandbox", help="a local AWS + KIE Server fleet + ALB to try everything against")
    actions = parser.add_subparsers(dest="sandbox_action", metavar="ACTION")
    actions.required = True
    up = actions.add_parser(
        "up",
        help="start the sandbox and keep it running until Ctrl-C",
        description="Start moto (the AWS API), the design note's starting world (ALB alb-ks, generation 1 with release 1.0.0),"
        " one KIE Server emulator per instance, ALB-like health checks and an ALB data plane. Prints the"
        " AWS_ENDPOINT_URL to export, the config file to pass with --config and the ALB URL to send traffic to.",
    )
    up.add_argument("--dir", default=".kie-sandbox", help="where kie-deploy.yaml is written (default: .kie-sandbox)")
    up.add_argument("--servers", type=int, default=2, help="servers of generation 1 (default: 2)")
    up.add_argument("--boot-delay", default="5s", help="launch -> KIE Server ready (default: 5s)")
    up.add_argument(
        "--never-ready",
        action="append",
        default=[],
        metavar="VERSION",
        help="a release version whose container never starts (repeatable)",
    )
    up.add_argument(
        "--failing",
        action="append",
        default=[],
        metavar="VERSION=SHARE",
        help="a release version whose servers pass their health checks but answer a share of the container"
        " calls with a 500, e.g. 3.0.0=0.2 (repeatable)",
    )
    up.add_argument(
        "--propagation-delay", type=float, default=2.0, help="seconds until a rule change is served (default: 2)"
    )
    up.add_argument("--health-interval", type=float, default=1.0, help="seconds between health checks (default: 1)")
    up.add_argument(
        "--deregistration-delay",
        type=int,
        default=3,
        help="seconds a deregistered target drains; keep it above the propagation delay (default: 3)",
    )
    up.add_argument(
        "--https",
        action="store_true",
        help="make the listener HTTPS (port 443, a sandbox certificate), which authenticate actions need;"
        " the ALB data plane itself still speaks plain HTTP",
    )
    up.add_argument("--alb-port", type=int, default=0, help="port of the ALB data plane (default: any free port)")
    up.add_argument("--aws-port", type=int, default=0, help="port of the AWS endpoint (default: any free port)")
    up.set_defaults(handler=run, command_name="sandbox up")


def _sandbox_modules():
    # moto is an optional dependency (the [demo] extra): import it only when a sandbox starts,
    # so the runner's other commands work without it.
    try:
        from . import kie_server, runtime
    except ImportError as exc:
        raise ConfigError(f"the sandbox needs moto: pip install 'kie-bluegreen[demo]' ({exc})") from None
    return kie_server, runtime


def settings_from(args):
    kie_server, runtime = _sandbox_modules()
    boot_delay = parse_duration(args.boot_delay)
    if boot_delay is None:
        raise ConfigError(f"--boot-delay: expected a duration like 5s, got {args.boot_delay!r}")
    if not 1 <= args.servers <= 100:
        raise ConfigError(f"--servers: expected 1 to 100, got {args.servers}")
    for option, value in (
        ("--propagation-delay", args.propagation_delay),
        ("--deregistration-delay", args.deregistration_delay),
    ):
        if value < 0:
            raise ConfigError(f"{option}: expected 0 or more seconds, got {value}")
    if args.health_interval <= 0:
        raise ConfigError(f"--health-interval: expected a positive number of seconds, got {args.health_interval}")
    return runtime.SandboxSettings(
        servers=args.servers,
        boot=kie_server.BootSettings(
            boot_delay=boot_delay, never_ready=frozenset(args.never_ready), failing=failing_shares(args.failing)
        ),
        health_interval=args.health_interval,
        propagation_delay=args.propagation_delay,
        deregistration_delay=args.deregistration_delay,
        moto_port=args.aws_port,
        alb_port=args.alb_port,
        https=args.https,
    )


def failing_shares(values: list[str]) -> dict[str, float]:
    """--failing VERSION=SHARE ... -> {version: share}, each share above 0 and at most 1."""
    shares = {}
    for value in values:
        version, _, share = value.partition("=")
        try:
            number = float(share)
        except ValueError:
            number = -1.0
        if not version or not 0 < number <= 1:
            raise ConfigError(
                f"--failing: expected VERSION=SHARE with a share above 0 and at most 1, e.g. 3.0.0=0.2; got {value!r}"
            )
        shares[version] = number
    return shares


def run(args, stop: threading.Event | None = None) -> CommandResult:
    settings = settings_from(args)
    os.makedirs(args.dir, exist_ok=True)
    sandbox = _sandbox_modules()[1].Sandbox(settings, os.path.abspath(args.dir))
    with sandbox:
        data = {
            "command": "sandbox up",
            "result": "running",
            "environment": sandbox.environment(),
            "config": sandbox.config_path,
            "alb_url": sandbox.alb_url,
            "listener_arn": sandbox.world.listener_arn,
        }
        _announce(data, args.output)
        try:
            (stop or threading.Event()).wait()
        except KeyboardInterrupt:
            pass
    data["result"] = "stopped"
    return CommandResult(data=data, text="sandbox stopped")


def _announce(data: dict, output: str) -> None:
    if output == "json":
        print(json.dumps(data), flush=True)
        return
    lines = [f"export {name}={value}" for name, value in data["environment"].items()]
    lines += [
        f"# config: {data['config']}",
        f"# ALB:    {data['alb_url']}",
        f"# try:    kie-bluegreen --config {data['config']} init --version 1.0.0",
        f"#         kie-bluegreen probe --url {data['alb_url']} --header x-client-mode=green --expect-status 404",
        "# Ctrl-C stops the sandbox",
    ]
    print("\n".join(lines), flush=True)
    sys.stdout.flush()


def _register_demo(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="a story of releases on an embedded AWS, no account needed",
        description=demo.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--topology",
        choices=stories.TOPOLOGIES,
        default="per-release",
        help="per-release (default): a new Auto Scaling group per release; fixed-pair: two groups"
        " used in turn; single-group: one group rolled in place by instance refreshes (no canary)",
    )
    parser.add_argument(
        "--scenario",
        choices=stories.SCENARIOS,
        default="canary",
        help="canary (default): the design note's story; bad-release: a weighted release whose new"
        " version fails a share of its requests and is rolled back by itself",
    )
    parser.add_argument(
        "--pages",
        metavar="DIR",
        help="folder for the report page of each step (default: a new folder in the temporary directory)",
    )
    parser.set_defaults(handler=_demo, command_name="demo")


def _demo(args) -> CommandResult:
    try:
        story = stories.story(args.topology, args.scenario)
    except ValueError as exc:
        raise ConfigError(f"--topology {args.topology} --scenario {args.scenario}: {exc}") from None
    pages = args.pages or tempfile.mkdtemp(prefix="kie-bluegreen-demo-pages-")
    # The story prints as it goes; with --output json that goes to stderr, the object to stdout.
    target = sys.stderr if args.output == "json" else sys.stdout
    with contextlib.redirect_stdout(target):
        ok, steps, traffic = demo.run(pages=pages, story=story)
    return CommandResult(
        data={
            "command": "demo",
            "result": "ok" if ok else "failed",
            "exit_code": 0 if ok else 1,
            "error": None if ok else "a step did not end as expected or traffic failed",
            "steps": steps,
            "traffic": traffic,
            "pages": pages,
        },
        exit_code=0 if ok else 1,
    )
