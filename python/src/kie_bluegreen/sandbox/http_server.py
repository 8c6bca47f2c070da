"""A local HTTP server in a daemon thread: the base of the KIE front and the ALB data plane."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer

from .. import log

LOG = log.get("sandbox.http")


class LocalHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # socketserver's default backlog of 5 drops connections under load

    def __init__(self, name: str, handler, port: int = 0, host: str = "127.0.0.1"):
        super().__init__((host, port), handler)
        # A short poll interval so stop() (shutdown) returns at once.
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), name=name, daemon=True)

    def handle_error(self, request, client_address) -> None:
        LOG.debug("client %s went away", client_address)  # a closed connection, not a sandbox failure

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)
