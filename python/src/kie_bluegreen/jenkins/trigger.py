"""Start a promotion or rollback job and follow it to its end: queue item, build, console.

Jenkins answers buildWithParameters with a queue item, not a build: the build number appears
in the item's `executable` once an executor takes it (concurrent builds are disabled, so it may
wait behind another one). The console is read progressively (only the new part each time) and
written to stderr as it comes; the build's result decides the exit code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .. import log
from ..clock import Clock
from ..errors import ConfigError, JenkinsError, Refused
from .client import Build, JenkinsClient
from .job_xml import WORKFLOW_JOB_CLASS
from .jobs import CONFIRM, GENERATION, REASON

LOG = log.get("jenkins.trigger")

GENERATION_PATTERN = re.compile(r"^[1-9][0-9]{0,5}$")  # as kieRollback's allow-list
MAX_REASON = 500
SUCCESS = "SUCCESS"


CANCELLED = "CANCELLED"  # our word for a build cancelled while it waited in the queue


@dataclass(frozen=True)
class Outcome:
    queue_id: int
    build: Build | None  # None when cancelled in the queue

    @property
    def result(self) -> str:
        return self.build.result if self.build else CANCELLED

    @property
    def succeeded(self) -> bool:
        return self.result == SUCCESS


class StillRunning(JenkinsError):
    """We stopped following; the build goes on in Jenkins."""


def build_parameters(action: str, reason: str, generation: str | None) -> dict[str, str]:
    """The job's parameters; ConfigError (exit 2) for a value the job would refuse anyway."""
    reason = (reason or "").strip()
    if not reason:
        raise ConfigError("--reason: required; say why (ticket, incident, who approved)")
    if len(reason) > MAX_REASON or re.search(r"[\x00-\x1f\x7f]", reason):
        raise ConfigError(f"--reason: must be one line of at most {MAX_REASON} characters")
    parameters = {CONFIRM: "true", REASON: reason}
    if generation is not None:
        if action != "rollback":
            raise ConfigError("--generation: only rollback takes a generation")
        if not GENERATION_PATTERN.match(generation):
            raise ConfigError(f"--generation: expected a generation number like 3, got {generation!r}")
        parameters[GENERATION] = generation
    return parameters


def check_job(client: JenkinsClient, name: str, parameters: dict[str, str]) -> None:
    """The job must exist, be a pipeline job, take our parameters and be enabled."""
    item = client.item(name)
    if item is None:
        raise JenkinsError(
            f"job {name} not found in Jenkins (or {client.user!r} lacks Job/Read on it);"
            " create it with `kie-bluegreen jenkins sync-jobs`"
        )
    if item.kind != WORKFLOW_JOB_CLASS:
        raise Refused(f"{name} is not a pipeline job ({item.kind}); it is not ours, not starting it")
    missing = [key for key in parameters if key not in item.parameters]
    if missing:
        raise Refused(f"job {name} has no parameter {', '.join(missing)}; update it with `kie-bluegreen jenkins sync-jobs`")
    if not item.buildable:
        raise Refused(f"job {name} is disabled in Jenkins; enable it first")


def run(client: JenkinsClient, name: str, parameters: dict[str, str], clock: Clock,
        console: Callable[[str], None], timeout: float, poll_interval: float = 2.0) -> Outcome:
    """Start the job and follow it; StillRunning when timeout seconds pass first."""
    deadline = clock.now() + timeout
    queue_id = client.start_build(name, parameters)
    LOG.info("queued %s (queue item %d)", name, queue_id)
    number = _wait_for_start(client, name, queue_id, clock, deadline, poll_interval)
    if number is None:
        LOG.warning("the build of %s was cancelled while it waited in the queue (queue item %d)", name, queue_id)
        return Outcome(queue_id, None)
    LOG.info("started %s #%d", name, number)
    _stream_console(client, name, number, clock, console, deadline, poll_interval)
    build = _wait_for_result(client, name, number, clock, deadline, poll_interval)
    return Outcome(queue_id, build)


def _wait_for_start(client, name, queue_id, clock, deadline, poll_interval) -> int | None:
    last_why = None
    while True:
        item = client.queue_item(queue_id)
        if item.build_number is not None:
            return item.build_number
        if item.cancelled:
            return None
        if item.why and item.why != last_why:
            LOG.info("waiting: %s", item.why)
            last_why = item.why
        _sleep_until_next(clock, deadline, poll_interval,
                          f"{name} did not start in time (queue item {queue_id}); it may still start")


def _stream_console(client, name, number, clock, console, deadline, poll_interval) -> None:
    offset = 0
    while True:
        chunk = client.log_chunk(name, number, offset)
        if chunk.text:
            console(chunk.text)
        offset = chunk.next_offset
        if not chunk.more:
            return
        _sleep_until_next(clock, deadline, poll_interval, f"{name} #{number} still runs; stopped following it")


def _wait_for_result(client, name, number, clock, deadline, poll_interval) -> Build:
    # The console can end a moment before Jenkins records the result.
    while True:
        build = client.build(name, number)
        if not build.building and build.result:
            return build
        _sleep_until_next(clock, deadline, poll_interval, f"{name} #{number} still runs; stopped following it")


def _sleep_until_next(clock: Clock, deadline: float, poll_interval: float, message: str) -> None:
    if clock.now() >= deadline:
        raise StillRunning(message + " (--timeout)")
    clock.sleep(min(poll_interval, max(deadline - clock.now(), 0)))
