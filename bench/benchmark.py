"""Benchmark of kie-bluegreen in the local sandbox (moto behaving like AWS): does the promise of
near zero downtime hold, and does a bad release go back by itself in time?

    .venv/bin/python bench/benchmark.py            # the full run (~8 min), writes docs/benchmark.md
    .venv/bin/python bench/benchmark.py --quick    # a smaller run to try the script

1. The demo's story (init, canary deploy 2.0.0, promote, deploy 3.0.0, rollback; on a single group
   all-at-once deploys by instance refresh) on each topology, under steady traffic from three clients (default route, blue header,
   green header): failed requests, time from the deploy's start to all traffic on 2.0.0, the
   runner's AWS calls.
2. The first deploy of the per-release story, timed: server boot, ALB health checks, the runner
   noticing (against boto3's `target_in_service` waiter polling as often, in the same run),
   switching the rules (and how many mutating calls that took) and the ALB serving them.
3. One deploy for fleets of 2, 10 and 50 servers with the same boot time: the runner's AWS API
   calls (polling must not grow with the fleet) and its wall time minus the simulated boot.
4. A weighted release under the same traffic: a good one (2.0.0), then a bad one (3.0.0, whose
   servers answer a fifth of their calls with a 500) that the runner rolls back by itself when
   the 5xx share the ALB publishes to CloudWatch goes over analysis.max-5xx-percent: requests
   that reached it, and the time from the metric firing to everyone back on 2.0.0.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
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

from measure import (  # noqa: E402
    AutomaticRollback,
    DeployTimes,
    WaiterRace,
    automatic_rollback,
    count_by_action,
    deploy_times,
    runner_calls,
    served,
    target_group_arn,
)

from kie_bluegreen import commands  # noqa: E402
from kie_bluegreen.config import parse_duration  # noqa: E402
from kie_bluegreen.probe import summarize  # noqa: E402
from kie_bluegreen.report import CommandResult  # noqa: E402
from kie_bluegreen.sandbox import demo, stories  # noqa: E402
from kie_bluegreen.sandbox.kie_server import BootSettings  # noqa: E402
from kie_bluegreen.sandbox.runtime import Sandbox, SandboxSettings  # noqa: E402
from kie_bluegreen.sandbox.story_traffic import StoryTraffic, outcome  # noqa: E402

CANDIDATE = "orders-production-g2"  # the target group of generation 2 (config.group_name), in every topology
BAD = "orders-production-g3"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def settings(args, servers: int = 2, failing: dict | None = None) -> SandboxSettings:
    return SandboxSettings(servers=servers, boot=BootSettings(boot_delay=args.boot_delay, failing=failing or {}),
                           health_interval=args.health_interval, propagation_delay=args.propagation_delay,
                           deregistration_delay=args.deregistration_delay, poll_interval=args.poll_interval,
                           metrics_interval=args.metrics_interval)


@dataclasses.dataclass
class StoryRun:
    story: stories.Story
    routing_ok: bool
    traffic: StoryTraffic
    windows: list[tuple[float, float]]  # each step's (start, end) of its command
    exit_codes: list[int]
    calls: dict[str, int]  # the runner's calls over the whole story, by action
    release_calls: int  # the runner's calls of the commands that brought 2.0.0 to everyone
    to_everyone: float | None  # seconds from the deploy of 2.0.0 to all traffic on it (see markdown)
    deploy: DeployTimes | None = None
    waiter_error: str | None = None
    rollback: AutomaticRollback | None = None


def run_story(args, story: stories.Story) -> StoryRun:
    """The story under the clients' traffic, each step followed by `hold` seconds of traffic on
    its final routing; the measures are read from the sandbox before it stops."""
    settle = args.propagation_delay + demo.SETTLE_MARGIN
    windows: list[tuple[float, float]] = []
    results: list[CommandResult] = []
    with tempfile.TemporaryDirectory() as directory, \
            Sandbox(settings(args, failing=story.failing), directory) as sandbox, sandbox.pointed():
        config_path = sandbox.write_config(**story.stage)
        traffic = StoryTraffic(sandbox.alb_url, args.rate, initial=story.outcomes(-1), settle=settle).start()
        waiter = WaiterRace(sandbox, CANDIDATE, delay=parse_duration(args.poll_interval))
        waiter.start()

        @contextlib.contextmanager
        def around(index, step):
            with traffic.step(step.command, story.outcomes(index), story.during(index), linger=settle + args.hold):
                started = time.monotonic()
                yield
                windows.append((started, time.monotonic()))

        with contextlib.redirect_stdout(sys.stderr):
            routing_ok = demo.run_story(story, config_path, sandbox.world, print_=log, around_step=around,
                                        on_step=lambda step, result, passed: results.append(result))
        traffic.stop(linger=0)
        waiter.join(timeout=5)
        run = StoryRun(story, routing_ok, traffic, windows, [result.exit_code for result in results],
                       count_by_action(runner_calls(sandbox, windows[0][0], windows[-1][1])), 0, None,
                       waiter_error=waiter.error)
        deploy_index = next(index for index, step in enumerate(story.steps) if step.argv[:3] == ("deploy", "--version", "2.0.0"))
        deploy_start, deploy_end = windows[deploy_index]
        strategy = story.steps[deploy_index].argv[-1]
        # A single group retires 2.0.0's target group when 3.0.0 comes: its ARN is in the deploy's result.
        new = results[deploy_index].data["routing"]["default"] if strategy == "all-at-once" else target_group_arn(
            sandbox, CANDIDATE)
        everyone = {"default": frozenset({new}), "blue": frozenset({new})}
        if strategy == "all-at-once":  # a single group: the deploy's instance refresh brings everyone to 2.0.0
            at = served(sandbox, deploy_start, everyone)
            run.to_everyone = None if at is None else at - deploy_start
            run.release_calls = len(runner_calls(sandbox, deploy_start, deploy_end))
        elif strategy == "weighted":  # the deploy itself brings everyone to 2.0.0
            at = served(sandbox, deploy_start, everyone)
            run.to_everyone = None if at is None else at - deploy_start
            run.release_calls = len(runner_calls(sandbox, deploy_start, deploy_end))
            bad_start, bad_end = windows[-1]
            run.rollback = automatic_rollback(sandbox, bad_start, bad_end, target_group_arn(sandbox, BAD), new,
                                              stories.MAX_5XX_PERCENT)
        else:  # canary: the deploy's own time, then the promote's time to everyone (the testers' time between excluded)
            promote_start, promote_end = windows[deploy_index + 1]
            at = served(sandbox, promote_start, everyone)
            run.to_everyone = None if at is None else (deploy_end - deploy_start) + (at - promote_start)
            run.release_calls = (len(runner_calls(sandbox, deploy_start, deploy_end))
                                 + len(runner_calls(sandbox, promote_start, promote_end)))
            run.deploy = deploy_times(sandbox, CANDIDATE, "2.0.0", deploy_start, deploy_end, waiter)
    return run


def one_deploy(args, servers: int) -> DeployTimes:
    with tempfile.TemporaryDirectory() as directory, Sandbox(settings(args, servers), directory) as sandbox, \
            sandbox.pointed():
        init = commands.run(["--config", sandbox.config_path, "init", "--version", "1.0.0"])
        if init.exit_code != 0:
            raise RuntimeError(f"init failed: {init.error}")
        waiter = WaiterRace(sandbox, CANDIDATE, delay=parse_duration(args.poll_interval))
        waiter.start()
        started = time.monotonic()
        deploy = commands.run(["--config", sandbox.config_path, "deploy", "--version", "2.0.0", "--strategy", "canary"])
        if deploy.exit_code != 0:
            raise RuntimeError(f"deploy of {servers} servers failed: {deploy.error}")
        ended = time.monotonic()
        waiter.join(timeout=30)
        return deploy_times(sandbox, CANDIDATE, "2.0.0", started, ended, waiter)


# -- report -------------------------------------------------------------------------------------


def seconds(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{value:.2f} s"


def passed(run: StoryRun) -> bool:
    failed = sum(verdict.failed - verdict.expected_failures for verdict in run.traffic.verdict().values())
    return run.routing_ok and run.traffic.passed() and run.traffic.settled_as_expected() and failed == 0


def topology_rows(runs: dict[str, StoryRun]) -> list[str]:
    lines = ["| topology | requests | failed | outside the expected versions | every step as expected |"
             " deploy start → all traffic on 2.0.0 | runner's AWS calls: story (deploy + promote) |",
             "|---|---:|---:|---:|---|---:|---:|"]
    for topology in stories.TOPOLOGIES:
        run = runs.get(topology)
        if run is None:
            lines.append(f"| {topology} | not run | | | | | |")
            continue
        verdicts = run.traffic.verdict().values()
        requests, failed = run.traffic.total()
        unexpected = sum(verdict.unexpected for verdict in verdicts)
        lines.append(f"| {topology} | {requests:,} | **{failed}** | {unexpected} |"
                     f" {'yes' if passed(run) else 'NO'} | {seconds(run.to_everyone)} |"
                     f" {sum(run.calls.values())} ({run.release_calls}) |")
    return lines


def weighted_measures(args, run: StoryRun) -> dict[str, str]:
    """One run of the weighted story: measure -> its value as the table shows it."""
    rollback, traffic = run.rollback, run.traffic
    good = traffic.per_step()[1]["seen"]
    bad_start = run.windows[-1][0]  # the good release's step window ends where the bad one starts
    bad_seen = {client: sum(1 for sample in samples if sample.started >= bad_start
                            and outcome(sample) in (stories.BAD_VERSION, stories.FAILURE_500))
                for client, samples in traffic.samples.items()}
    reached, errors = rollback.reached

    def between(start: float | None, end: float | None) -> str:
        return seconds(None if start is None or end is None else end - start)

    return {
        "good": f"**{sum(seen['failed'] for seen in good.values())}** of"
                f" {sum(seen['requests'] for seen in good.values()):,}",
        "good_time": seconds(run.to_everyone),
        "good_calls": str(run.release_calls),
        "exit": str(run.exit_codes[-1]),
        "reached": f"{reached:,} ({errors} answered 500)",
        "seen": f"{bad_seen['default']} / {bad_seen['green']}",
        "share": "n/a" if rollback.share_at_firing is None else f"{rollback.share_at_firing:.1f} %",
        "noticed": between(rollback.fired, rollback.rollback_started),
        "applied": between(rollback.rollback_started, rollback.rules_applied),
        "back": f"**{between(rollback.fired, rollback.back)}**",
        "story": f"{traffic.total()[1]} of {traffic.total()[0]:,} ({traffic.expected_failures()} expected);"
                 f" {'yes' if passed(run) else 'NO'}",
    }


WEIGHTED_ROWS = (
    ("good", "good release: failed requests while it went 10 → 50 → 100 %"),
    ("good_time", "good release: deploy start → all traffic on 2.0.0 (boot, health checks, two held steps)"),
    ("good_calls", "good release: the runner's AWS calls during that deploy"),
    ("exit", "bad release: the deploy's exit code (1: rolled back by itself)"),
    ("reached", f"bad release: requests the ALB sent to {stories.BAD_VERSION} (its RequestCount)"),
    ("seen", f"… of which default-route clients / green testers saw {stories.BAD_VERSION} or its 500"),
    ("share", "bad release: its 5xx share when the metric fired"),
    ("noticed", "metric fired → runner starts the rollback (its first routing write)"),
    ("applied", "runner starts the rollback → rules applied and read back"),
    ("back", "**metric fired → all traffic back on 2.0.0** (the ALB serves the previous rules)"),
    ("story", "whole story: failed requests (the bad release's own 500s); every step as expected"),
)


def weighted_section(args, runs: list[StoryRun]) -> list[str]:
    measures = [weighted_measures(args, run) for run in runs]
    goal = parse_duration(args.poll_interval) + args.propagation_delay
    lines = [
        f"`routing.strategy: weighted`, steps 10, 50, 100 %, each held {stories.STEP_PAUSE};"
        f" `analysis.max-5xx-percent: {stories.MAX_5XX_PERCENT:g}`. Same clients and rate as above. First 2.0.0,"
        f" a good release; then {stories.BAD_VERSION}, whose servers pass their health checks but answer"
        f" {stories.BAD_SHARE:.0%} of their calls with a 500. The sandbox's ALB publishes RequestCount and"
        f" HTTPCode_Target_5XX_Count per target group every {args.metrics_interval:g} s (AWS: every 60 s)."
        f" The story ran {len(runs)} times, each in a fresh sandbox.",
        "",
        "| measure | " + " | ".join(f"run {number}" for number in range(1, len(runs) + 1)) + " |",
        "|---|" + "---:|" * len(runs),
    ]
    for key, label in WEIGHTED_ROWS:
        lines.append(f"| {label} | " + " | ".join(measure[key] for measure in measures) + " |")
    lines += [
        "",
        f"The goal for the last row is one poll interval plus the rule propagation: {goal:g} s here."
        " \"Metric fired\" is the publication after which the 5xx share of the bad release's target group, summed"
        " from the start of the runner's watch as it reads it (GetMetricData, Sum, period 60), was over the limit."
        f" The runner looks every `wait.poll-interval` ({args.poll_interval}); its rollback then reads the fleet,"
        " plans and rewrites the default action and the green rule (one call each, each read back), and the ALB"
        " serves them after the propagation delay.",
    ]
    return lines


def markdown(args, command: str, runs: dict[str, StoryRun], weighted: list[StoryRun],
             fleets: dict[int, DeployTimes]) -> str:
    per_release = runs["per-release"]
    deploy: DeployTimes = per_release.deploy
    latency = summarize([sample for samples in per_release.traffic.samples.values() for sample in samples])
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
        " (docs/sandbox.md) is moto patched to behave like AWS (docs/aws-behaviour.md: health checks only while a"
        " listener references a group, drain on scale-in, ...) plus emulated KIE Servers, ALB-like health checks,"
        " an ALB data plane and its CloudWatch metrics, in the same process as the runner.",
        "",
        f"Settings: boot {args.boot_delay:g} s per server, health check every {args.health_interval:g} s"
        " (healthy after 2 passes), rule changes served after"
        f" {args.propagation_delay:g} s, deregistration delay {args.deregistration_delay} s, runner"
        f" `wait.poll-interval` {args.poll_interval}, `kie.verify` on; {args.rate:g} requests/s from each of three"
        " clients (default route, `x-client-mode: blue`, `x-client-mode: green`), and"
        f" {args.hold:g} s of steady traffic on each step's final routing once it reached the ALB.",
        "",
        "## 1. The story on each topology, under load",
        "",
        "init, canary deploy 2.0.0, promote, deploy 3.0.0, rollback; on a single group (no canary): init, deploy"
        " 2.0.0 and 3.0.0 all at once by instance refresh, a rollback AWS refuses once the refresh ended (exit 3,"
        " expected), deploy 2.0.0 again. A request fails on a 5xx, a connection error,"
        " a timeout or a KIE answer that is not a STARTED container; the green rule's fixed 404 is an expected answer."
        " \"Every step as expected\": each command ended in the story's routing, the other team's rule is unchanged,"
        " and once each step's changes reached the ALB every client saw that step's release alone.",
        "",
        *topology_rows(runs),
        "",
        "\"Deploy start → all traffic on 2.0.0\" for a canary is the deploy's own time plus the time from the"
        " promote's start until the ALB serves 2.0.0 on the default and blue routes: the time the testers had"
        " between the two (here the hold) is not counted. On a single group it is the deploy's time until the"
        " ALB serves 2.0.0 alone, and the runner's calls in brackets are the deploy's only.",
        "",
        f"Latency through the sandbox ALB (per-release run): p50 {latency.p50_ms:.1f} ms, p99 {latency.p99_ms:.1f} ms,"
        f" max {latency.max_ms:.1f} ms.",
        "",
        "## 2. The first deploy, timed (per-release, 2 servers, under the load above)",
        "",
        "| from | to | time |",
        "|---|---|---:|",
        f"| deploy starts | last new server ready (simulated boot) | {seconds(deploy.servers_ready - deploy.started)} |",
        f"| last server ready | ALB health checks say healthy | {seconds(deploy.alb_healthy - deploy.servers_ready)} |",
        f"| ALB healthy | **runner notices** (end of its last DescribeTargetHealth) |"
        f" **{seconds(deploy.runner_noticed - deploy.alb_healthy)}** |",
        f"| ALB healthy | boto3 `target_in_service` waiter returns (same poll delay, same run) |"
        f" {seconds(None if deploy.waiter_noticed is None else deploy.waiter_noticed - deploy.alb_healthy)} |",
        f"| runner notices | **rules applied and read back** | **{seconds(deploy.rules_applied - deploy.runner_noticed)}**"
        f" ({deploy.switch_mutations} mutating call{'s' if deploy.switch_mutations != 1 else ''}) |",
        f"| rules applied | the ALB data plane serves them (propagation) |"
        f" {seconds(None if deploy.traffic_switched is None else deploy.traffic_switched - deploy.rules_applied)} |",
        "",
        "The runner's \"notices\" includes its `kie.verify` look at each new server's container (KIE REST, not AWS)."
        " The new group's servers are health-checked only once the runner references its target group in the"
        " listener (weight 0), as on AWS; the waiter polls the same target group."
        + (f" The waiter failed: {per_release.waiter_error}." if per_release.waiter_error else ""),
        "",
        "## 3. One deploy by fleet size (no traffic)",
        "",
        f"Same boot time for every server ({args.boot_delay:g} s); calls counted at the AWS endpoint from the runner's"
        " user agent, for the whole `deploy` command (preflight, provision, wait, route, report).",
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
                     f" {seconds(wall)} | {seconds(wall - args.boot_delay)} |"
                     f" {seconds(times.runner_noticed - times.alb_healthy)} | {seconds(waiter)} |")
    lines += ["", "Calls by action:", ""]
    for servers, times in fleets.items():
        lines.append(f"- {servers} servers: " + ", ".join(f"{action} {count}" for action, count in times.calls.items()))
    lines += [
        "",
        "\"wall - boot\" is the runner's own overhead plus the ALB's health checks (about two check intervals)"
        " and the polling granularity. Lags are single samples: with polling every"
        f" {args.poll_interval}, either side can be up to one interval late.",
        "",
        "## 4. A weighted release: a good one, then a bad one rolled back by itself",
        "",
        *weighted_section(args, weighted),
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
    parser.add_argument("--metrics-interval", type=float, default=1.0,
                        help="seconds between two publications of the ALB's CloudWatch metrics (default: 1)")
    parser.add_argument("--weighted-runs", type=int, default=3,
                        help="times the weighted story (good then bad release) runs for part 4 (default: 3)")
    parser.add_argument("--fleet-sizes", default="2,10,50", help="servers per deploy for part 3 (default: 2,10,50)")
    parser.add_argument("--output", default=os.path.join(HERE, os.pardir, "docs", "benchmark.md"),
                        help="markdown report (default: docs/benchmark.md)")
    parser.add_argument("--quick", action="store_true",
                        help="a short run to try the script (rate 30, hold 1, boot 1, fleets 2,4, one weighted run)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rate, args.hold, args.boot_delay, args.fleet_sizes, args.weighted_runs = 30, 1, 1, "2,4", 1
    command = "python bench/benchmark.py " + " ".join(argv if argv is not None else sys.argv[1:])

    runs = {}
    for topology in stories.TOPOLOGIES:
        log(f"== 1-2. the story on topology {topology} under load")
        runs[topology] = run_story(args, stories.canary(topology))
    fleets = {}
    for servers in (int(size) for size in args.fleet_sizes.split(",")):
        log(f"== 3. one deploy of {servers} servers")
        fleets[servers] = one_deploy(args, servers)
    weighted = []
    for number in range(1, args.weighted_runs + 1):
        log(f"== 4. a weighted release, good then bad, under load (run {number} of {args.weighted_runs})")
        weighted.append(run_story(args, stories.bad_release()))
    report = markdown(args, command.strip(), runs, weighted, fleets)
    with open(args.output, "w", encoding="utf-8") as handle:
        handle.write(report)
    print(report)
    everything = list(runs.values()) + weighted
    return 0 if all(passed(run) for run in everything) and all(run.exit_codes[-1] == 1 for run in weighted) else 1


if __name__ == "__main__":
    sys.exit(main())
