"""KIE Server emulators: one per running EC2 instance in moto, all served by one local front.

An instance's server is reached at `<front>/instances/<instance-id>/kie-server/services/rest/server`
(the runner's `kie.url` template in the sandbox config points there). It serves the release the
instance was launched with, read from its propagated `kie-bluegreen:release` tag, under the
container id of its `kie-bluegreen:container` tag (a versioned id like `app-2.0.0` when
container.id is a template; `BootSettings.container_id` for servers launched without the tag),
as the shipped user data does.

Boot, as a real KIE Server does it: the JVM starts (nothing listens: the connection is closed
without an answer), then the server listens and deploys the container (`/readycheck` 503,
container CREATING), then it is ready (200, STARTED). A release listed as never-ready listens
but its container FAILED: `/readycheck` and `/healthcheck` answer 503 for ever.

A failing release (`BootSettings.failing`, version -> share) boots and passes its health checks
like any other, but answers that share of its container calls with a 500 FAILURE: the bad
release that health checks cannot see and a 5xx share (or an alarm on it) can. The failures
are spread evenly over the release's calls (every fifth for 0.2), so a run is repeatable.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from .. import log
from ..model import Release
from . import moto_state
from .http_server import LocalHttpServer

LOG = log.get("sandbox.kie")

REST_BASE = "/kie-server/services/rest/server"
_PATH = re.compile(r"^/instances/(?P<instance>i-[0-9a-f]+)" + re.escape(REST_BASE) + r"(?P<rest>/.*)?$")


@dataclass(frozen=True)
class BootSettings:
    boot_delay: float = 3.0  # launch -> ready, seconds
    listen_fraction: float = 0.5  # part of the boot during which nothing listens yet
    never_ready: frozenset[str] = frozenset()  # versions whose container never starts
    request_latency: float = 0.002  # service time of one KIE call, seconds
    container_id: str = "app"  # for servers launched without a kie-bluegreen:container tag
    failing: Mapping[str, float] = field(default_factory=dict)  # version -> share of container calls answered 500


@dataclass
class KieServer:
    instance_id: str
    release: Release
    launched_at: float
    settings: BootSettings
    stopped: threading.Event = field(default_factory=threading.Event)
    container_id: str | None = None  # the id it deploys its release under; None: settings.container_id

    @property
    def container(self) -> str:
        return self.container_id or self.settings.container_id

    def phase(self, now: float) -> str:
        """booting (not listening), starting (listening, container CREATING), ready or failed."""
        elapsed = now - self.launched_at
        if elapsed < self.settings.boot_delay * self.settings.listen_fraction:
            return "booting"
        if self.release.version in self.settings.never_ready:
            return "failed"
        return "ready" if elapsed >= self.settings.boot_delay else "starting"

    @property
    def ready_at(self) -> float | None:
        return None if self.release.version in self.settings.never_ready else self.launched_at + self.settings.boot_delay


class FailureShare:
    """Fails `share` of the calls, spread evenly: call n fails when floor(n * share) grows."""

    def __init__(self, share: float):
        self.share, self.calls, self.failed = share, 0, 0
        self._lock = threading.Lock()

    def next_fails(self) -> bool:
        with self._lock:
            self.calls += 1
            due = int(self.calls * self.share + 1e-9)
            if due > self.failed:
                self.failed = due
                return True
            return False


class Fleet:
    """The KIE servers of the running instances; follows moto's EC2 state."""

    def __init__(self, region: str, settings: BootSettings):
        self.region, self.settings = region, settings
        self._servers: dict[str, KieServer] = {}
        self._lock = threading.Lock()
        # One count per failing release, shared by its servers.
        self.failures = {version: FailureShare(share) for version, share in settings.failing.items()}

    def fails(self, server: KieServer) -> bool:
        """Whether this container call of the server fails (its release's failure share)."""
        share = self.failures.get(server.release.version)
        return share is not None and share.next_fails()

    def sync(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        running = {view.id: view for view in moto_state.instances(self.region) if view.state == "running" and view.release}
        with self._lock:
            for instance_id, view in running.items():
                if instance_id not in self._servers:
                    try:
                        release = Release.parse(view.release)
                    except ValueError:
                        LOG.warning("instance %s: tag %s=%r is not group:artifact:version; no KIE server started",
                                    instance_id, moto_state.RELEASE_TAG, view.release)
                        continue
                    self._servers[instance_id] = KieServer(instance_id, release, now, self.settings,
                                                           container_id=view.container)
            for instance_id in set(self._servers) - set(running):  # terminated or stopped
                self._servers.pop(instance_id).stopped.set()

    def get(self, instance_id: str) -> KieServer | None:
        with self._lock:
            return self._servers.get(instance_id)

    def servers(self) -> list[KieServer]:
        with self._lock:
            return list(self._servers.values())


def container_body(server: KieServer, status: str) -> dict:
    release = {"group-id": server.release.group_id, "artifact-id": server.release.artifact_id,
               "version": server.release.version}
    return {
        "type": "SUCCESS",
        "msg": f"Info for container {server.container}",
        "result": {"kie-container": {
            "container-id": server.container,
            "release-id": release,
            "resolved-release-id": release,
            "status": status,
            "messages": [],
        }},
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "KieFront"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        LOG.debug("kie %s", format % args)

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def _serve(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        match = _PATH.match(urlsplit(self.path).path)
        server = self.server.fleet.get(match["instance"]) if match else None
        if server is None or server.phase(time.monotonic()) == "booting":
            self._no_answer()  # no such host, or its JVM is not listening yet
            return
        time.sleep(server.settings.request_latency)
        if server.stopped.is_set():  # terminated while the request was in flight
            self._no_answer()
            return
        status, payload = respond(server, method, match["rest"] or "/", urlsplit(self.path).query, body,
                                  failing=lambda: self.server.fleet.fails(server))
        self._send(status, payload)

    def _no_answer(self) -> None:
        self.close_connection = True

    def _send(self, status: int, payload) -> None:
        data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if isinstance(payload, str) else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def respond(server: KieServer, method: str, rest: str, query: str, body: bytes,
            failing: Callable[[], bool] = lambda: False) -> tuple[int, dict | str]:
    """The KIE Server REST answer of one server in its current phase. `failing()` tells
    whether a container call of a ready server fails (the release's failure share)."""
    phase = server.phase(time.monotonic())
    container_status = {"starting": "CREATING", "failed": "FAILED", "ready": "STARTED"}[phase]
    container = server.container
    own_container = rest in ("/containers/" + container, "/containers/" + container + "/ksession")
    if own_container and phase == "ready" and failing():
        return 500, {"type": "FAILURE", "msg": f"Error calling container {container}: release"
                     f" {server.release.version} failed this request (a failing release of the sandbox)"}
    if method == "GET" and rest == "/readycheck":
        return (200, "OK") if phase == "ready" else (503, "KIE Server is not ready")
    if method == "GET" and rest == "/healthcheck":
        healthy = phase == "ready"
        if "report=true" in query:
            return (200 if healthy else 503), [{"severity": "INFO" if healthy else "ERROR",
                                                 "messages": [f"container {container}: {container_status}"]}]
        return (200, "OK") if healthy else (503, "KIE Server is not healthy")
    if rest == "/containers/" + container and method == "GET":
        return 200, container_body(server, container_status)
    if rest == "/containers/" + container + "/ksession" and method == "POST":
        # The sample request: a batch execution whose result names the release that ran it.
        if phase != "ready":
            return 503, {"type": "FAILURE", "msg": f"Container {container} is {container_status}"}
        return 200, {"type": "SUCCESS", "msg": f"Container {container} successfully called.",
                     "result": {"execution-results": {"results": [
                         {"key": "release", "value": str(server.release)},
                         {"key": "server", "value": server.instance_id}], "facts": []}}}
    if rest.startswith("/containers/"):
        return 404, {"type": "FAILURE", "msg": f"Container {rest.split('/')[2]} is not instantiated."}
    return 404, {"type": "FAILURE", "msg": f"Not found: {method} {rest}"}


class KieFront(LocalHttpServer):
    """One HTTP endpoint in front of every emulated KIE Server."""

    def __init__(self, fleet: Fleet, port: int = 0, host: str = "127.0.0.1"):
        self.fleet = fleet
        super().__init__("kie-front", _Handler, port, host)

    def instance_url(self, instance_id: str) -> str:
        """Where an instance's port 8080 is: prefix of every path the ALB or a check sends it."""
        return f"{self.url}/instances/{instance_id}"

    def kie_url_template(self) -> str:
        """The runner's `kie.url` for this sandbox (placeholders like {instance_id})."""
        return f"{self.url}/instances/{{instance_id}}{REST_BASE}"
