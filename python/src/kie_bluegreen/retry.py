"""Retry policies as named values (tenacity).

botocore's `standard` retry mode already retries throttling of single calls (aws/session.py).
These policies sit one level up: idempotent phase steps that AWS answers "busy" to
(ResourceContention, ScalingActivityInProgress, throttling that outlasted botocore), reads that
must see what we just wrote (eventual consistency), and polling loops with a deadline. Every
policy sleeps on the injected clock, so tests never wait.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    retry_if_result,
    stop_after_attempt,
    wait_exponential,
    wait_fixed,
)

from . import log
from .aws.api import AwsCallError
from .clock import Clock

T = TypeVar("T")
_log = log.get("retry")


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, AwsCallError) and exc.transient


def _log_retry(state: RetryCallState) -> None:
    outcome = state.outcome
    if outcome is not None and outcome.failed:
        _log.info("  AWS is busy (%s); trying again (attempt %d)", outcome.exception(), state.attempt_number + 1)


def not_yet_visible(exc: BaseException) -> bool:
    """A resource created a moment ago that another service does not see yet (eventual
    consistency): e.g. Auto Scaling refusing the target group ELB just created."""
    if not isinstance(exc, AwsCallError):
        return False
    text = str(exc).lower()
    return exc.code == "TargetGroupNotFound" or (exc.code == "ValidationError" and "target group" in text)


def aws_step(
    clock: Clock, fn: Callable[[], T], attempts: int = 6, also: Callable[[BaseException], bool] = lambda exc: False
) -> T:
    """Run an idempotent AWS step, retrying transient errors (and what `also` accepts, e.g.
    `not_yet_visible` right after a create) with exponential backoff."""
    retrying = Retrying(
        retry=retry_if_exception(lambda exc: is_transient(exc) or also(exc)),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=1, min=1, max=20),
        sleep=clock.sleep,
        before_sleep=_log_retry,
        reraise=True,
    )
    return retrying(fn)


def until_consistent(clock: Clock, read: Callable[[], T], ok: Callable[[T], bool], attempts: int = 5) -> T:
    """Read until `ok(result)` (AWS is eventually consistent after a write); return the last read."""
    retrying = Retrying(
        retry=retry_if_result(lambda value: not ok(value)) | retry_if_exception(is_transient),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=0.5, min=0.5, max=4),
        sleep=clock.sleep,
        retry_error_callback=_last_outcome,  # raises if the last try raised
    )
    return retrying(read)


def poll(clock: Clock, check: Callable[[], T], done: Callable[[T], bool], timeout: float, interval: float) -> T:
    """Call `check` every `interval` seconds until `done(result)` or `timeout`; return the last
    result either way (the caller decides what a timeout means). Transient AWS errors count as
    "not yet"."""
    started = clock.now()

    def out_of_time(state: RetryCallState) -> bool:
        return clock.now() - started + interval > timeout

    retrying = Retrying(
        retry=retry_if_result(lambda value: not done(value)) | retry_if_exception(is_transient),
        stop=out_of_time,
        wait=wait_fixed(interval),
        sleep=clock.sleep,
        retry_error_callback=_last_outcome,
    )
    return retrying(check)


def _last_outcome(state: RetryCallState):
    """What the last attempt returned (or raised) once the retries ran out."""
    if state.outcome is None:
        raise RuntimeError("retry: no attempt was made")
    return state.outcome.result()
