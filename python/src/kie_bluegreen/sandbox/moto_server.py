"""moto's AWS emulator served in-process over HTTP, with a log of every API call it answers.

This is what `moto.server.ThreadedMotoServer` does, plus one WSGI layer that records each call
(service, action, user agent, start and end time): the benchmark counts the runner's calls from
its user agent (`kie-bluegreen/<version>`), which the sandbox's own clients do not carry.
"""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from .. import log
from . import moto_gaps

LOG = log.get("sandbox.moto")

# moto keeps one set of backends per (account, region); the default account is this one.
ACCOUNT_ID = "123456789012"


@dataclass(frozen=True)
class ApiCall:
    service: str  # from the credential scope: elasticloadbalancing, autoscaling, ec2
    action: str  # DescribeTargetHealth, ModifyRule, ...
    user_agent: str
    started: float  # time.monotonic()
    ended: float
    status: int


class CallLog:
    def __init__(self):
        self._calls: list[ApiCall] = []
        self._lock = threading.Lock()
        # Called with each call once moto answered it, before the answer goes back to the client
        # (a test can stop the client right after a write, like a kill -9).
        self.listeners: list = []

    def add(self, call: ApiCall) -> None:
        with self._lock:
            self._calls.append(call)
        for listener in list(self.listeners):
            listener(call)

    def calls(self, since: float = float("-inf"), until: float = float("inf"), agent: str | None = None) -> list[ApiCall]:
        """Calls that started in [since, until], optionally only those whose user agent contains `agent`."""
        with self._lock:
            return [call for call in self._calls
                    if since <= call.started <= until and (agent is None or agent in call.user_agent)]


class _Recording:
    """WSGI middleware: read the action of each call: the Action field of query-protocol calls
    (ELBv2, Auto Scaling, EC2), the operation in the path of Smithy RPC v2 calls (botocore's
    CloudWatch: `/service/<Service>/operation/<Operation>`) or the X-Amz-Target header of JSON
    calls."""

    def __init__(self, app, log: CallLog):
        self.app, self.log = app, log

    def __call__(self, environ, start_response):
        started = time.monotonic()
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads the body again
        fields = parse_qs(body.decode("utf-8", "replace")) if body else {}
        fields.update(parse_qs(environ.get("QUERY_STRING", "")))
        action = (fields.get("Action") or [_operation(environ)])[0]
        service = _service(environ.get("HTTP_AUTHORIZATION", ""))
        status = []

        def recording_start_response(status_line, headers, exc_info=None):
            status.append(int(status_line.split()[0]))
            return start_response(status_line, headers, exc_info)

        try:
            return self.app(environ, recording_start_response)
        finally:
            self.log.add(ApiCall(service, action, environ.get("HTTP_USER_AGENT", ""), started, time.monotonic(),
                                 status[0] if status else 0))


def _operation(environ) -> str:
    path = environ.get("PATH_INFO", "")
    if "/operation/" in path:
        return path.rsplit("/operation/", 1)[1].strip("/") or "?"
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    return target.rsplit(".", 1)[-1] if target else "?"


def _service(authorization: str) -> str:
    # "AWS4-HMAC-SHA256 Credential=KEY/20240101/eu-west-1/elasticloadbalancing/aws4_request, ..."
    try:
        return authorization.split("Credential=")[1].split(",")[0].split("/")[3]
    except IndexError:
        return "?"


class _QuietHandler(MotoRequestHandler):
    """moto's handler logs every request on stderr; the sandbox keeps stderr for its own story."""

    def log_request(self, *args, **kwargs) -> None:
        pass

    def log(self, type: str, message: str, *args) -> None:  # noqa: A002 - werkzeug's name
        LOG.debug("moto %s: " + message, type, *args)


class MotoServer:
    """moto on 127.0.0.1 (a free port unless one is given), in a daemon thread."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1"):
        self.calls = CallLog()
        app = _Recording(DomainDispatcherApplication(create_backend_app), self.calls)
        self._server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
        self._server.handle_error = lambda request, address: LOG.debug("moto: client %s went away", address)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="moto-server", daemon=True)

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "MotoServer":
        moto_gaps.install()  # the APIs the runner calls that moto lacks
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
