"""`kie-bluegreen probe`: the command line of the probe."""

from __future__ import annotations

import argparse
import os

from .. import log, secrets
from ..config import parse_duration
from ..errors import ConfigError
from ..report import CommandResult
from .client import Sample, basic_auth, target_url
from .summary import LiveTimeline, render, summarize, timeline
from .traffic import Traffic

LOG = log.get("probe")
# The runner's variables (kie.py), as Jenkins' withCredentials provides them.
USER_VARIABLE, PASSWORD_VARIABLE = "KIE_SERVER_USER", "KIE_SERVER_PASSWORD"
MAX_RATE = 5000
POLL_SECONDS = 0.2  # how often the live timeline looks for completed seconds


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "probe", help="steady HTTP traffic with a per-second timeline of status codes and versions",
        description="Send steady GET requests to a KIE Server container endpoint (usually through the ALB) and report"
        " status codes, latency and the release version of every answer (KIE's resolved-release-id). Exits 1 when"
        " more requests failed than --max-failures.",
        epilog="URL: the ALB's address (http://alb-ks-123.eu-west-1.elb.amazonaws.com) or a KIE REST base"
        " (.../kie-server/services/rest/server) is completed with /containers/<--container>; any other URL is"
        f" requested as given. Basic authentication when {USER_VARIABLE} (or --user) and {PASSWORD_VARIABLE} are set.",
    )
    parser.add_argument("--url", required=True, help="ALB address, KIE REST base or full URL to request")
    parser.add_argument("--container", default="app", help="KIE container id appended to an ALB or REST-base URL (default: app)")
    parser.add_argument("--header", action="append", default=[], metavar="NAME=VALUE",
                        help="request header, e.g. x-client-mode=green (repeatable)")
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second (default: 100)")
    parser.add_argument("--duration", default="60s", help="how long to send: 90, 90s, 15m (default: 60s)")
    parser.add_argument("--max-failures", type=int, default=0, help="failed requests tolerated before exit 1 (default: 0)")
    parser.add_argument("--expect-status", type=int, action="append", default=[], metavar="CODE",
                        help="an HTTP status that is expected, not a failure (e.g. 404 behind a green rule at rest)")
    parser.add_argument("--timeout", default="5s", help="per request (default: 5s)")
    parser.add_argument("--user", help=f"KIE Server user for basic authentication (default: ${USER_VARIABLE};"
                        f" password from ${PASSWORD_VARIABLE})")
    parser.add_argument("--timeline", action=argparse.BooleanOptionalAction, default=True,
                        help="print the per-second timeline in text output, each line as soon as its second is"
                             " complete (flushed: also into files and Jenkins logs) (default: yes)")
    parser.set_defaults(handler=run, command_name="probe")


def _headers(pairs: list[str], user: str | None) -> dict[str, str]:
    headers = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name.strip():
            raise ConfigError(f"--header: expected NAME=VALUE like x-client-mode=green, got {pair!r}")
        headers[name.strip()] = value.strip()
    user = user or os.environ.get(USER_VARIABLE)
    if user:
        password = os.environ.get(PASSWORD_VARIABLE)
        if password is None:
            raise ConfigError(f"--user: set the password in the {PASSWORD_VARIABLE} environment variable")
        headers["Authorization"] = basic_auth(user, password)
    return headers


def _seconds(value: str, option: str) -> float:
    seconds = parse_duration(value)
    if seconds is None or seconds <= 0:
        raise ConfigError(f"{option}: expected a positive duration like 60s or 2m, got {value!r}")
    return seconds


def run(args) -> CommandResult:
    try:
        url = target_url(args.url, args.container)
    except ValueError as exc:
        raise ConfigError(f"--url: {exc}") from None
    if not 0 < args.rate <= MAX_RATE:
        raise ConfigError(f"--rate: expected 0 < rate <= {MAX_RATE} requests per second, got {args.rate:g}")
    if args.max_failures < 0:
        raise ConfigError(f"--max-failures: expected 0 or more, got {args.max_failures}")
    duration, timeout = _seconds(args.duration, "--duration"), _seconds(args.timeout, "--timeout")
    headers = _headers(args.header, args.user)

    LOG.info("probing %s at %g requests/s for %gs", url, args.rate, duration)
    traffic = Traffic(url, args.rate, headers, timeout, frozenset(args.expect_status), duration)
    live = args.timeline and args.output == "text"
    samples = run_live(traffic, _stdout_line) if live else traffic.run()
    summary = summarize(samples)
    seconds = timeline(samples, traffic.started)
    passed = summary.failed <= args.max_failures
    shown_headers = {name: ("***" if name.lower() == "authorization" else value) for name, value in headers.items()}
    data = {
        "command": "probe",
        "result": "ok" if passed else "failed",
        "url": url,
        "headers": shown_headers,
        "rate": args.rate,
        "duration": duration,
        "max_failures": args.max_failures,
        "summary": summary.to_dict(),
        "timeline": seconds,
    }
    text = render(summary, seconds if args.timeline and not live else None)  # live: already written
    error = None if passed else f"{summary.failed} of {summary.requests} requests failed (at most {args.max_failures} allowed)"
    return CommandResult(data=data, text=text, exit_code=0 if passed else 1, error=error)


def run_live(traffic: Traffic, write, poll: float = POLL_SECONDS) -> list[Sample]:
    """Run the traffic, writing the timeline line by line as the seconds complete; return
    every sample in send order (as Traffic.run)."""
    traffic.start()
    timeline_ = LiveTimeline(traffic.started, write)
    seen = 0

    def catch_up(settled_only: bool) -> None:
        nonlocal seen
        settled, new = traffic.settled(seen)
        seen += len(new)
        timeline_.add(new)
        if settled_only:
            timeline_.write_until(settled)

    try:
        while not traffic.wait(poll):
            catch_up(settled_only=True)
    except KeyboardInterrupt:
        traffic.stop()
    samples = traffic.join()
    catch_up(settled_only=False)
    timeline_.finish()
    return samples


def _stdout_line(line: str) -> None:
    # Flushed at once: stdout is block-buffered when it is a file or a pipe (a Jenkins log).
    print(secrets.Redactor.from_environment()(line), flush=True)
