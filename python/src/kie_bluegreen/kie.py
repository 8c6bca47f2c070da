"""KIE Server REST client: is a server ready, and does it run our container at the right version?

Base URL: http://host:8080/kie-server/services/rest/server. `GET /readycheck` answers 200 when
the server is ready; `GET /containers/{id}` describes a container (status CREATING, STARTED,
FAILED or DISPOSING, and the resolved release). Credentials come from the environment
(KIE_SERVER_USER with KIE_SERVER_PASSWORD or KIE_SERVER_PASSWORD_FILE, see secrets.py) as
Jenkins' withCredentials provides them; newer servers answer the ready check without them.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from . import log
from .secrets import KieCredentials, kie_credentials

_log = log.get("kie")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A KIE Server does not redirect its REST API; following one would send the credentials
    to wherever it points. The 3xx is reported as the answer instead."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


@dataclass(frozen=True)
class ContainerCheck:
    ok: bool
    detail: str  # "STARTED 2.0.0", or what is wrong


class KieClient:
    def __init__(self, user: str | None = None, password: str | None = None, timeout: float = 5.0):
        self._authorization = KieCredentials(user, password).authorization
        self.timeout = timeout

    def __repr__(self) -> str:  # never the credentials
        return f"KieClient(authenticated={self._authorization is not None}, timeout={self.timeout})"

    @classmethod
    def from_environment(cls, timeout: float = 5.0) -> "KieClient":
        credentials = kie_credentials()
        return cls(credentials.user, credentials.password, timeout)

    def _get(self, url: str) -> tuple[int, bytes]:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        if self._authorization:
            request.add_header("Authorization", self._authorization)
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:  # noqa: S310 - http(s) only, checked in config
                status, body = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read() if exc.fp else b""
        _log.debug("  KIE GET %s -> %s (%s)", url, status, "with credentials" if self._authorization else "anonymous")
        return status, body

    def check_container(self, base_url: str, container_id: str, version: str) -> ContainerCheck:
        """Ready, container STARTED, and resolved to `version`."""
        base_url = base_url.rstrip("/")
        try:
            status, _ = self._get(f"{base_url}/readycheck")
            if status != 200:
                return ContainerCheck(False, f"readycheck answered {status}")
            status, body = self._get(f"{base_url}/containers/{container_id}")
        except (OSError, urllib.error.URLError) as exc:
            return ContainerCheck(False, f"unreachable ({getattr(exc, 'reason', exc)})")
        if status == 401 or status == 403:
            return ContainerCheck(
                False,
                f"KIE Server refused the credentials ({status}); set KIE_SERVER_USER and KIE_SERVER_PASSWORD"
                " (or KIE_SERVER_PASSWORD_FILE)",
            )
        if status != 200:
            return ContainerCheck(False, f"container {container_id} answered {status}")
        try:
            container = json.loads(body)["result"]["kie-container"]
        except (ValueError, KeyError, TypeError):
            return ContainerCheck(False, f"container {container_id}: unexpected answer")
        state = container.get("status")
        resolved = (container.get("resolved-release-id") or container.get("release-id") or {}).get("version")
        if state != "STARTED":
            return ContainerCheck(False, f"container {container_id} is {state}")
        if resolved != version:
            return ContainerCheck(False, f"container {container_id} runs {resolved}, not {version}")
        return ContainerCheck(True, f"STARTED {resolved}")
