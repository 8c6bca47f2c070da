"""Benchmark of kie-bluegreen in the local sandbox: does the promise of near zero downtime hold?

    .venv/bin/python bench/benchmark.py            # the full run (~3 min), writes docs/benchmark.md
    .venv/bin/python bench/benchmark.py --quick    # a smaller run to try the script

1. The whole story (init, canary deploy 2.0.0, promote, deploy 3.0.0, rollback) under steady
   traffic from three clients (default route, blue header, green header): failed requests.
2. The first deploy of that story, timed: server boot, ALB health checks, the runner noticing
   (against boto3's `target_in_service` waiter polling as often, in the same run), switching the
   rules (and how many mutating calls that took) and the ALB serving the new rules.
3. One deploy for fleets of 2, 10 and 50 servers with the same boot time: the runner's AWS API
   calls (polling must not grow with the fleet) and its wall time minus the simulated boot.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time
from importlib import metadata

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from measure import DeployTimes, WaiterRace, deploy_times  # noqa: E402

from kie_bluegreen import cli, demo  # noqa: E402
from kie_bluegreen.config import parse_duration  # noqa: E402
from kie_bluegreen.probe import summarize  # noqa: E402
from kie_bluegreen.sandbox.kie_server import BootSettings  # noqa: E402
from kie_bluegreen.sandbox.runtime import Sandbox, SandboxSettings  # noqa: E402
from kie_bluegreen.sandbox.story_traffic import StoryTraffic  # noqa: E402

FIRST_DEPLOY = "deploy --version 2.0.0 --strategy canary"
CANDIDATE = "orders-production-g2"  # the target group and ASG of generation 2 (config.group_name)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def settings(args, servers: int = 2) -> SandboxSettings:
    return SandboxSettings(servers=servers, boot=BootSettings(boot_delay=args.boot_delay),
                           health_interval=args.health_interval, propagation_delay=args.propagation_delay,
                           deregistration_delay=args.deregistration_delay, poll_interval=args.poll_interval)


def story_under_load(args) -> dict:
    versions = demo.versions_by_generation()
    windows: dict[str, tuple[float, float]] = {}
    settle = args.propagation_delay + demo.SETTLE_MARGIN
    with tempfile.TemporaryDirectory() as directory, Sandbox(settings(args), directory) as sandbox, sandbox.pointed():
        traffic = StoryTraffic(sandbox.alb_url, args.rate, initial={c: versions[1] for c in ("default", "blue", "green")},
                               settle=settle).start()
        waiter = WaiterRace(sandbox, CANDIDATE, delay=parse_duration(args.poll_interval))
        waiter.start()

        @contextlib.contextmanager
        def around(step):
            name = " ".join(step.argv)
            with traffic.step(name, demo.client_expectations(step, versions)):
                started = time.monotonic()
                yield
                windows[name] = (started, time.monotonic())
                time.sleep(args.hold)  # steady traffic on the new routing: canary testing, approval

        with contextlib.redirect_stdout(sys.stderr):
            routing_ok = demo.run_story(sandbox.config_path, sandbox.world, print_=log, around_step=around)
        traffic.stop(linger=settle)
        waiter.join(timeout=5)
        deploy = deploy_times(sandbox, CANDIDATE, versions[2], *windows[FIRST_DEPLOY], waiter)
    requests, failed = traffic.total()
    all_samples = [sample for samples in traffic.samples.values() for sample in samples]
    duration = max(s.started for s in all_samples) - min(s.started for s in all_samples)
    return {"routing_ok": routing_ok, "requests": requests, "failed": failed, "passed": traffic.passed(),
            "clients": traffic.verdict(), "latency": summarize(all_samples), "duration": duration,
            "steps": {name: end - start for name, (start, end) in windows.items()}, "deploy": deploy,
            "waiter_error": waiter.error}


def one_deploy(args, servers: int) -> DeployTimes:
    with tempfile.TemporaryDirectory() as directory, Sandbox(settings(args, servers), directory) as sandbox, \
            sandbox.pointed(), contextlib.redirect_stdout(sys.stderr):
        if cli.main(["--config", sandbox.config_path, "init", "--version", "1.0.0"]) != 0:
            raise RuntimeError("init failed")
        waiter = WaiterRace(sandbox, CANDIDATE, delay=parse_duration(args.poll_interval))
        waiter.start()
        started = time.monotonic()
        if cli.main(["--config", sandbox.config_path, "deploy", "--version", "2.0.0", "--strategy", "canary"]) != 0:
            raise RuntimeError(f"deploy of {servers} servers failed")
        ended = time.monotonic()
        waiter.join(timeout=30)
        return deploy_times(sandbox, CANDIDATE, "2.0.0", started, ended, waiter)


# -- report -------------------------------------------------------------------------------------


def seconds(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{value:.2f} s"


def markdown(args, command: str, story: dict, fleets: dict[int, DeployTimes]) -> str:
    deploy: DeployTimes = story["deploy"]
    latency = story["latency"]
    lines = [
        "# Benchmark: near zero downtime in the sandbox",
        "",
        "Produced by `bench/benchmark.py`; every number below comes from one run of:",
        "",
        "```",
        command,
        "```",
        "",
        f"Run {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, commit {_commit()}, Python"
        f" {platform.python_version()}, moto {metadata.version('moto')}, {os.cpu_count()} CPUs. The sandbox"
        " (docs/sandbox.md) is moto for the AWS API plus emulated KIE Servers, ALB-like health checks and an ALB"
        " data plane in the same process as the runner.",
        "",
        f"Settings: boot {args.boot_delay:g} s per server, health check every {args.health_interval:g} s"
        " (healthy after 2 passes), rule changes served after"
        f" {args.propagation_delay:g} s, deregistration delay {args.deregistration_delay} s, runner"
        f" `wait.poll-interval` {args.poll_interval}, `kie.verify` on.",
        "",
        "## 1. The whole story under load",
        "",
        f"init, canary deploy 2.0.0, promote, deploy 3.0.0, rollback; {args.rate:g} requests/s from each of three"
        f" clients (default route, `x-client-mode: blue`, `x-client-mode: green`), {args.hold:g} s of steady"
        " traffic after each step. A request fails on a 5xx, a connection error, a timeout or a KIE answer that is"
        " not a STARTED container; the green rule's fixed 404 is an expected answer.",
        "",
        "| client | requests | failed | answered outside the expected versions |",
        "|---|---:|---:|---:|",
    ]
    for client, verdict in story["clients"].items():
        lines.append(f"| {client} | {verdict.requests:,} | {verdict.failed} | {verdict.unexpected} |")
    lines += [
        f"| **all** | **{story['requests']:,}** | **{story['failed']}** | |",
        "",
        f"{story['duration']:.0f} s of traffic; latency through the sandbox ALB p50 {latency.p50_ms:.1f} ms,"
        f" p99 {latency.p99_ms:.1f} ms, max {latency.max_ms:.1f} ms. Every step ended in the expected routing:"
        f" {'yes' if story['routing_ok'] else 'NO'}.",
        "",
        "## 2. The first deploy, timed (2 servers, under the load above)",
        "",
        "| from | to | time |",
        "|---|---|---:|",
        f"| deploy starts | last new server ready (simulated boot) | {seconds(deploy.servers_ready - deploy.started)} |",
        f"| last server ready | ALB health checks say healthy | {seconds(deploy.alb_healthy - deploy.servers_ready)} |",
        f"| ALB healthy | **runner notices** (end of its last DescribeTargetHealth) | **{seconds(deploy.runner_noticed - deploy.alb_healthy)}** |",
        f"| ALB healthy | boto3 `target_in_service` waiter returns (same poll delay, same run) |"
        f" {seconds(None if deploy.waiter_noticed is None else deploy.waiter_noticed - deploy.alb_healthy)} |",
        f"| runner notices | **rules applied and read back** | **{seconds(deploy.rules_applied - deploy.runner_noticed)}**"
        f" ({deploy.switch_mutations} mutating call{'s' if deploy.switch_mutations != 1 else ''}) |",
        f"| rules applied | the ALB data plane serves them (propagation) |"
        f" {seconds(None if deploy.traffic_switched is None else deploy.traffic_switched - deploy.rules_applied)} |",
        "",
        "The runner's \"notices\" includes its `kie.verify` look at each new server's container (KIE REST, not AWS)."
        + (f" The waiter failed: {story['waiter_error']}." if story["waiter_error"] else ""),
        "",
        "## 3. One deploy by fleet size (no traffic)",
        "",
        f"Same boot time for every server ({args.boot_delay:g} s); calls counted at the AWS endpoint from the runner's"
        " user agent, for the whole `deploy` command (provision, wait, route, report).",
        "",
        "| servers | AWS calls | DescribeTargetHealth | DescribeAutoScalingGroups | other | wall time | wall - boot |"
        " runner lag | waiter lag |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for servers, times in fleets.items():
        health, groups = times.calls.get("DescribeTargetHealth", 0), times.calls.get("DescribeAutoScalingGroups", 0)
        wall = times.ended - times.started
        waiter = None if times.waiter_noticed is None else times.waiter_noticed - times.alb_healthy
        lines.append(f"| {servers} | {times.total_calls} | {health} | {groups} | {times.total_calls - health - groups} |"
                     f" {seconds(wall)} | {seconds(wall - args.boot_delay)} | {seconds(times.runner_noticed - times.alb_healthy)} |"
                     f" {seconds(waiter)} |")
    lines += [
        "",
        "Calls by action:",
        "",
    ]
    for servers, times in fleets.items():
        lines.append(f"- {servers} servers: " + ", ".join(f"{action} {count}" for action, count in times.calls.items()))
    lines += [
        "",
        "\"wall - boot\" is the runner's own overhead plus the ALB's health checks (about two check intervals)"
        " and the polling granularity. Lags are single samples: with polling every"
        f" {args.poll_interval}, either side can be up to one interval late.",
        "",
    ]
    return "\n".join(lines)


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=140, help="requests/s per client (default: 140)")
    parser.add_argument("--hold", type=float, default=5, help="seconds of steady traffic after each step (default: 5)")
    parser.add_argument("--boot-delay", type=float, default=5, help="simulated KIE Server boot, seconds (default: 5)")
    parser.add_argument("--health-interval", type=float, default=0.5, help="ALB health check interval (default: 0.5)")
    parser.add_argument("--propagation-delay", type=float, default=2, help="rule change -> served (default: 2)")
    parser.add_argument("--deregistration-delay", type=int, default=3, help="seconds (default: 3)")
    parser.add_argument("--poll-interval", default="1s", help="the runner's wait.poll-interval (default: 1s)")
    parser.add_argument("--fleet-sizes", default="2,10,50", help="servers per deploy for part 3 (default: 2,10,50)")
    parser.add_argument("--output", default=os.path.join(HERE, os.pardir, "docs", "benchmark.md"),
                        help="markdown report (default: docs/benchmark.md)")
    parser.add_argument("--quick", action="store_true", help="a short run to try the script (rate 30, hold 1, boot 1, fleets 2,4)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rate, args.hold, args.boot_delay, args.fleet_sizes = 30, 1, 1, "2,4"
    command = "python bench/benchmark.py " + " ".join(argv if argv is not None else sys.argv[1:])

    log("== 1-2. the story under load")
    story = story_under_load(args)
    fleets = {}
    for servers in (int(size) for size in args.fleet_sizes.split(",")):
        log(f"== 3. one deploy of {servers} servers")
        fleets[servers] = one_deploy(args, servers)
    report = markdown(args, command.strip(), story, fleets)
    with open(args.output, "w", encoding="utf-8") as handle:
        handle.write(report)
    print(report)
    return 0 if story["passed"] and story["routing_ok"] and story["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
