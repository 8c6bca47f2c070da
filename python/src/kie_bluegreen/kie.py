"""KIE Server REST client: is a server ready, and does it run our container at the right version?

Base URL: http://host:8080/kie-server/services/rest/server. `GET /readycheck` answers 200 when
the server is ready; `GET /containers/{id}` describes a container (status CREATING, STARTED,
FAILED or DISPOSING, and the resolved release). Credentials come from the environment
(KIE_SERVER_USER, KIE_SERVER_PASSWORD) as Jenkins' withCredentials provides them; newer
servers answer the ready check without them.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass


@dataclass(frozen=True)
class ContainerCheck:
    ok: bool
    detail: str  # "STARTED 2.0.0", or what is wrong


class KieClient:
    def __init__(self, user: str | None = None, password: str | None = None, timeout: float = 5.0):
        self._authorization = None
        if user:
            token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
            self._authorization = f"Basic {token}"
        self.timeout = timeout

    @classmethod
    def from_environment(cls, timeout: float = 5.0) -> "KieClient":
        return cls(os.environ.get("KIE_SERVER_USER"), os.environ.get("KIE_SERVER_PASSWORD"), timeout)

    def _get(self, url: str) -> tuple[int, bytes]:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        if self._authorization:
            request.add_header("Authorization", self._authorization)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - http(s) only, checked in config
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read() if exc.fp else b""

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
            return ContainerCheck(False, f"KIE Server refused the credentials ({status}); set KIE_SERVER_USER and KIE_SERVER_PASSWORD")
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
