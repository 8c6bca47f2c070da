"""The ALB data plane: a local HTTP endpoint that routes by the listener's real rules in moto.

- Rules are read from moto through the public API (DescribeRules) every few milliseconds; a
  change takes effect `propagation_delay` seconds after it was written, as on AWS where a
  listener change reaches every load balancer node after a few seconds. Each API call is a
  separate change, so the intermediate states of a multi-call switch are served too.
- Rules come back from DescribeRules in AWS's shape (the AWS model's read-back: a forward as
  ForwardConfig, Order on every action), and are evaluated by alb_rules.
- forward: weighted choice among the action's target groups, then round-robin among the
  group's healthy targets (the AWS model's HealthBoard); with no healthy target the ALB fails
  open to every checked one (initial or unhealthy); with none at all it answers 503. Draining
  and unused targets get no new request, but a request already sent to one completes.
- fixed-response: the rule's status, content type and body.
- authenticate-oidc / authenticate-cognito: without a session cookie, 302 to the identity
  provider (or 401 with OnUnauthenticatedRequest deny); with one, on to the next action.
- The target's own failure: 502 when it closes the connection or refuses it, 504 on timeout.
- Every request forwarded to a target is counted for the CloudWatch metrics of its target group
  (alb_metrics: RequestCount, HTTPCode_Target_5XX_Count).
"""

from __future__ import annotations

import http.client
import itertools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from .. import log
from . import alb_rules
from .alb_metrics import AlbMetrics
from .aws_model.target_health import HealthBoard
from .http_server import LocalHttpServer

LOG = log.get("sandbox.alb")

TARGET_TIMEOUT = 10.0  # seconds the data plane waits for a target's answer before its 504

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "content-length"}


@dataclass(frozen=True)
class RulesChange:
    at: float  # pending: when the sandbox saw it in moto; applied: when it took effect
    rules: tuple  # describe_rules' Rules, as returned


class RulePropagation:
    """The listener's rules as the data plane serves them: what moto said `delay` seconds ago."""

    def __init__(self, delay: float, clock: Callable[[], float] = time.monotonic):
        self.delay, self._clock = delay, clock
        self._lock = threading.Lock()
        self._pending: list[RulesChange] = []
        self._current: RulesChange | None = None
        self.applied: list[RulesChange] = []  # every change, stamped with when it took effect

    def observe(self, rules: list[dict]) -> None:
        snapshot = tuple(rules)
        with self._lock:
            latest = self._pending[-1] if self._pending else self._current
            if latest is not None and latest.rules == snapshot:
                return
            change = RulesChange(self._clock(), snapshot)
            if self._current is None:  # the first rules the ALB starts with: no propagation
                self._current = change
                self.applied.append(change)
            else:
                self._pending.append(change)

    def current(self) -> list[dict]:
        now = self._clock()
        with self._lock:
            while self._pending and self._pending[0].at + self.delay <= now:
                change = self._pending.pop(0)
                self._current = change
                self.applied.append(RulesChange(change.at + self.delay, change.rules))
            if self._current is None:
                raise alb_rules.RuleError("the listener's rules were not read yet")
            return list(self._current.rules)


def read_rules(elbv2, listener_arn: str) -> list[dict]:
    rules, marker = [], None
    while True:
        page = elbv2.describe_rules(ListenerArn=listener_arn, **({"Marker": marker} if marker else {}))
        rules.extend(page["Rules"])
        marker = page.get("NextMarker")
        if not marker:
            return rules


class TargetPicker:
    """Weighted choice of a target group, then round-robin among its routable targets."""

    def __init__(self, board: HealthBoard, seed: int | None = None):
        self.board = board
        self._random = random.Random(seed)
        self._counters: dict[str, itertools.count] = {}
        self._lock = threading.Lock()

    def pick(self, action: alb_rules.Forward) -> tuple[str, str] | None:
        """(target group ARN, target id), or None when the chosen group has no target."""
        groups = [(arn, weight) for arn, weight in action.target_groups if weight > 0]
        if not groups:
            return None
        with self._lock:
            arn = self._random.choices([arn for arn, _ in groups], [weight for _, weight in groups])[0]
            counter = self._counters.setdefault(arn, itertools.count())
            turn = next(counter)
        targets = self.board.routable(arn, served=True)  # the action comes from the rules being served
        return (arn, targets[turn % len(targets)]) if targets else None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "AlbDataPlane"

    def log_message(self, format, *args):  # noqa: A002
        LOG.debug("alb %s", format % args)

    def do_GET(self):
        self._route()

    def do_POST(self):
        self._route()

    def do_PUT(self):
        self._route()

    def do_DELETE(self):
        self._route()

    def _route(self) -> None:
        plane = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        split = urlsplit(self.path)
        request = alb_rules.Request(self.command, split.path or "/", tuple(self.headers.items()))
        try:
            action = alb_rules.evaluate(plane.propagation.current(), request)
        except alb_rules.RuleError as exc:
            self._answer(500, "text/plain", f"sandbox ALB cannot evaluate the rules: {exc}")
            return
        if isinstance(action, alb_rules.FixedResponse):
            self._answer(action.status, action.content_type, action.body)
            return
        if isinstance(action, alb_rules.LoginRedirect):
            self._answer(302, "text/html", "<html><body><h1>302 Found</h1></body></html>",
                         [("Location", action.location)])
            return
        picked = plane.picker.pick(action)
        if picked is None:
            self._answer(503, "text/html", "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>")
            return
        target_group_arn, target_id = picked
        self._forward(target_group_arn, target_id, body)

    def _forward(self, target_group_arn: str, target_id: str, body: bytes) -> None:
        plane = self.server
        base = urlsplit(plane.target_url(target_id))
        headers = {key: value for key, value in self.headers.items() if key.lower() not in HOP_BY_HOP}
        headers["X-Forwarded-For"] = self.client_address[0]
        connection = http.client.HTTPConnection(base.netloc, timeout=plane.target_timeout)
        plane.in_flight(target_id, +1)
        target_status = None  # the target's own answer; None when the ALB answers for it
        try:
            connection.request(self.command, base.path + self.path, body=body or None, headers=headers)
            response = connection.getresponse()
            data = response.read()
            target_status = response.status
            self._answer(response.status, response.getheader("Content-Type") or "application/octet-stream", data,
                         [(key, value) for key, value in response.getheaders()
                          if key.lower() not in HOP_BY_HOP | {"content-type", "date", "server"}])
        except TimeoutError:
            self._answer(504, "text/html", "<html><body><h1>504 Gateway Time-out</h1></body></html>")
        except (OSError, http.client.HTTPException):
            self._answer(502, "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>")
        finally:
            plane.in_flight(target_id, -1)
            connection.close()
            if plane.metrics is not None:
                plane.metrics.record(target_group_arn, target_status)

    def _answer(self, status: int, content_type: str, payload: str | bytes, extra_headers=()) -> None:
        data = payload.encode() if isinstance(payload, str) else payload
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in extra_headers:
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


class AlbDataPlane(LocalHttpServer):
    def __init__(self, propagation: RulePropagation, picker: TargetPicker, target_url: Callable[[str], str],
                 port: int = 0, host: str = "127.0.0.1", target_timeout: float = TARGET_TIMEOUT,
                 metrics: AlbMetrics | None = None):
        self.propagation, self.picker, self.target_url = propagation, picker, target_url
        self.target_timeout, self.metrics = target_timeout, metrics
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()
        super().__init__("alb-data-plane", _Handler, port, host)

    def in_flight(self, target_id: str, delta: int = 0) -> int:
        """Requests being forwarded to a target now (after adding `delta`)."""
        with self._lock:
            self._in_flight[target_id] = self._in_flight.get(target_id, 0) + delta
            return self._in_flight[target_id]
