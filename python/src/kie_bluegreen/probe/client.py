"""One probe request: send it, time it, and classify the answer.

Outcomes (Sample.kind):
- `ok`: a 2xx answer; for the KIE container endpoint, a SUCCESS body whose container is
  STARTED (the release version is read from `resolved-release-id`);
- `expected-<code>`: a status the caller declared expected (e.g. the green rule's fixed 404);
- failures: `http-<code>` (any other status, e.g. http-503 from the ALB), `connection`
  (refused, reset or closed without an answer), `timeout`, `bad-body` (2xx that is not a KIE
  SUCCESS answer) and `container-<status>` (the container is CREATING, FAILED, ...).
"""

from __future__ import annotations

import base64
import http.client
import json
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

KIE_REST_BASE = "/kie-server/services/rest/server"
OK = "ok"


@dataclass(frozen=True)
class Sample:
    started: float  # time.monotonic() when the request was sent
    latency: float  # seconds until the whole answer was read (or the failure)
    status: int | None  # HTTP status, None when no answer came
    kind: str  # see the module docstring
    version: str | None  # the release version that answered, when the answer carries one

    @property
    def failed(self) -> bool:
        return self.kind != OK and not self.kind.startswith("expected-")


def target_url(url: str, container: str) -> str:
    """The URL to request. A URL without a path (the ALB's address) or ending at the KIE REST
    base gets `.../containers/<container>` appended; any other URL is requested as given."""
    split = urlsplit(url)
    if split.scheme not in ("http", "https") or not split.netloc:
        raise ValueError(f"expected an http(s) URL like http://alb-ks-123.eu-west-1.elb.amazonaws.com, got {url!r}")
    path = split.path.rstrip("/")
    if path == "":
        path = KIE_REST_BASE
    if path.endswith("/services/rest/server"):
        path += f"/containers/{container}"
    return split._replace(path=path).geturl()


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Client:
    """One keep-alive connection, as a steady client (or a pool member) holds one."""

    def __init__(self, url: str, headers: dict[str, str], timeout: float, expect_status: frozenset[int] = frozenset()):
        split = urlsplit(url)
        self._https = split.scheme == "https"
        self._netloc = split.netloc
        self._path = split.path + (f"?{split.query}" if split.query else "")
        self._headers = {"Accept": "application/json", "User-Agent": "kie-bluegreen-probe", **headers}
        self._timeout = timeout
        self._expect_status = expect_status
        self._connection: http.client.HTTPConnection | None = None
        self._used = False  # the connection already carried a request

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection, self._used = None, False

    def send(self) -> Sample:
        started = time.monotonic()
        try:
            status, body = self._exchange()
        except TimeoutError:
            self.close()
            return Sample(started, time.monotonic() - started, None, "timeout", None)
        except (OSError, http.client.HTTPException):
            self.close()
            return Sample(started, time.monotonic() - started, None, "connection", None)
        kind, version = classify(status, body, self._expect_status)
        return Sample(started, time.monotonic() - started, status, kind, version)

    def _exchange(self) -> tuple[int, bytes]:
        try:
            return self._request()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            if not self._used:
                raise
            # The server closed an idle keep-alive connection just as we reused it: the request
            # never reached it. Retry once on a new connection, as HTTP clients do for a GET.
            self.close()
            return self._request()

    def _request(self) -> tuple[int, bytes]:
        if self._connection is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._connection = kind(self._netloc, timeout=self._timeout)
        self._connection.request("GET", self._path, headers=self._headers)
        response = self._connection.getresponse()
        body = response.read()
        self._used = True
        if response.will_close:
            self.close()
        return response.status, body


def classify(status: int, body: bytes, expect_status: frozenset[int] = frozenset()) -> tuple[str, str | None]:
    if status in expect_status:
        return f"expected-{status}", None
    if not 200 <= status < 300:
        return f"http-{status}", None
    try:
        document = json.loads(body)
    except ValueError:
        return OK, None  # not JSON: some other 2xx endpoint the user chose to probe
    if not isinstance(document, dict) or "type" not in document:
        return OK, None
    if document.get("type") != "SUCCESS":
        return "bad-body", None
    container = (document.get("result") or {}).get("kie-container")
    if container is None:
        return OK, None  # a SUCCESS answer of another KIE endpoint
    release = container.get("resolved-release-id") or container.get("release-id") or {}
    if container.get("status") != "STARTED":
        return f"container-{str(container.get('status')).lower()}", release.get("version")
    return OK, release.get("version")
