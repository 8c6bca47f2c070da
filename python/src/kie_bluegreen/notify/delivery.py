"""Sending one event to one target: a JSON POST to a webhook, or a message to an SNS topic.

Delivery is retried (tenacity, on the injected clock: tests never wait) and never raises: the
outcome says whether the event arrived and, if not, why. A webhook gets the event's JSON object
with its human `text` line, which Slack incoming webhooks and Microsoft Teams' connector
webhooks show as the message (Slack, "Incoming webhooks":
https://docs.slack.dev/tools/java-slack-sdk/guides/incoming-webhooks); an SNS topic gets the same
object as the message text, and a short subject for e-mail subscribers.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from .. import __version__, log
from ..aws.api import AwsCallError
from ..aws.sns import Sns
from ..clock import Clock
from .events import Event
from .targets import Target

_log = log.get("notify")
ATTEMPTS = 3  # per event and target: the first try and two more, 1 s and 2 s apart
TIMEOUT = 10.0  # seconds for one webhook request


@dataclass(frozen=True)
class Delivery:
    event: str
    target: str  # the target's label (no secret in it)
    delivered: bool
    detail: str  # "HTTP 200", "message 1a2b...", or why it was not delivered

    def as_dict(self) -> dict:
        return {"event": self.event, "target": self.target, "delivered": self.delivered, "detail": self.detail}

    @property
    def warning(self) -> str:
        return f"notification {self.event} to {self.target} not delivered: {self.detail}"


class _Retry(Exception):
    """A failure worth trying again (the network, a 5xx, a 429, a busy AWS)."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect would send the event to an address nobody configured: it counts as a failure."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def deliver(event: Event, target: Target, sns: Sns, clock: Clock) -> Delivery:
    """Send the event; the outcome, never an exception (a notification never fails a command)."""
    if target.problem:
        return Delivery(event.kind, target.label, False, target.problem)
    send = _webhook if target.url else _sns
    retrying = Retrying(
        retry=retry_if_exception(lambda exc: isinstance(exc, _Retry)),
        stop=stop_after_attempt(ATTEMPTS),
        wait=wait_exponential(multiplier=1, min=1, max=4),
        sleep=clock.sleep,
        reraise=True,
    )
    try:
        detail = retrying(lambda: send(event, target, sns))
    except _Retry as exc:
        return Delivery(event.kind, target.label, False, f"{exc} (after {ATTEMPTS} attempts)")
    except Exception as exc:  # noqa: BLE001 - whatever went wrong, the deployment goes on
        return Delivery(event.kind, target.label, False, str(exc) or type(exc).__name__)
    return Delivery(event.kind, target.label, True, detail)


def _webhook(event: Event, target: Target, sns: Sns) -> str:
    body = json.dumps(event.payload()).encode("utf-8")
    request = urllib.request.Request(
        target.url or "",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": f"kie-bluegreen/{__version__}"},
    )
    try:
        with _OPENER.open(request, timeout=TIMEOUT) as response:  # noqa: S310 - https (http only to localhost), checked
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError) as exc:
        raise _Retry(f"unreachable ({getattr(exc, 'reason', exc)})") from None
    if 200 <= status < 300:
        return f"HTTP {status}"
    if status == 429 or status >= 500:
        raise _Retry(f"HTTP {status}")
    raise RuntimeError(f"HTTP {status}" + (" (a redirect: not followed)" if 300 <= status < 400 else ""))


def _sns(event: Event, target: Target, sns: Sns) -> str:
    try:
        message_id = sns.publish(target.sns or "", json.dumps(event.payload()), event.subject)
    except AwsCallError as exc:
        if exc.transient:
            raise _Retry(str(exc)) from None
        raise
    return f"message {message_id}"
