"""One fake KIE Server fleet over real HTTP for the tests: every instance answers at
http://127.0.0.1:PORT/<instance id>/kie-server/services/rest/server/..."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from kie_bluegreen.sandbox import scenario

KIE_PATH = "/kie-server/services/rest/server"


@dataclass
class FakeKieServer:
    """`version_of(instance_id)` says which release a server runs; `answers[instance_id] =
    (readycheck status, container status, version)` overrides that for one server; with
    `credentials`, a request without them gets 401; with `redirect_to`, every request is
    redirected there. With `container_of(instance_id)`, a server knows only that container id (others
    answer 404, as KIE Server does for a container it does not run). `seen` records (path,
    Authorization header)."""

    version_of: Callable[[str], str]
    credentials: tuple[str, str] | None = None
    redirect_to: str | None = None
    answers: dict = field(default_factory=dict)
    seen: list = field(default_factory=list)
    container_of: Callable[[str], str] | None = None

    def __post_init__(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                authorization = self.headers.get("Authorization")
                server.seen.append((self.path, authorization))
                if server.redirect_to:
                    return self._answer(302, b"", {"Location": server.redirect_to + self.path})
                if server.credentials and authorization != basic(*server.credentials):
                    return self._answer(401, b'{"type": "FAILURE"}')
                instance, _, rest = self.path.lstrip("/").partition("/")
                ready, status, version = server.answers.get(instance) or (200, "STARTED", server.version_of(instance))
                if rest.endswith("/readycheck"):
                    return self._answer(ready, b"")
                if "/containers/" in rest:
                    container = rest.rsplit("/", 1)[1]
                    if server.container_of and server.container_of(instance) != container:
                        return self._answer(404, json.dumps({"type": "FAILURE", "msg": f"Container {container} is not"
                                                             " instantiated."}).encode())
                    return self._answer(200, json.dumps(container_answer(container, version, status)).encode())
                return self._answer(404, b"")

            def _answer(self, code, body, headers=None):
                self.send_response(code)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # quiet
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url_template(self) -> str:
        """The kie.url for the configuration: one path per instance, on this server."""
        return self.base + "/{instance_id}" + KIE_PATH

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def container_answer(container: str, version: str, status: str = "STARTED") -> dict:
    release = {"group-id": scenario.GROUP_ID, "artifact-id": scenario.ARTIFACT_ID, "version": version}
    return {"type": "SUCCESS", "result": {"kie-container": {
        "container-id": container, "release-id": release, "resolved-release-id": release, "status": status}}}


def version_from_launch_tags(ec2) -> Callable[[str], str]:
    """A server runs the release its Auto Scaling group propagated to it (as user data would)."""
    def version_of(instance_id: str) -> str:
        return instance_tags(ec2, instance_id).get("kie-bluegreen:release", "::unknown").split(":")[-1]
    return version_of


def container_from_launch_tags(ec2, default: str = "app") -> Callable[[str], str]:
    """A server deploys its release under the container id its group propagated to it, as the
    shipped user data does (`default` for a server launched without the tag)."""
    def container_of(instance_id: str) -> str:
        return instance_tags(ec2, instance_id).get("kie-bluegreen:container", default)
    return container_of


def instance_tags(ec2, instance_id: str) -> dict:
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    return {t["Key"]: t["Value"] for t in reservations[0]["Instances"][0].get("Tags", [])}
