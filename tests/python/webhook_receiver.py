"""A webhook receiver on localhost over real HTTP, for the notification tests: it records every
POST (path, headers, parsed JSON body) and answers with the statuses it is told to."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class WebhookReceiver:
    """`answers`: statuses for the next requests, in order (then 200). `received`: every request."""

    def __init__(self, path: str = "/services/T000/B000/s3cr3t-t0ken-XYZ"):
        self.path = path
        self.answers: list[int] = []
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    document = json.loads(body)
                except ValueError:
                    document = None
                receiver.received.append({"path": self.path, "content_type": self.headers.get("Content-Type"),
                                          "json": document})
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):  # quiet
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{self.path}"

    @property
    def events(self) -> list[str]:
        return [request["json"]["event"] for request in self.received]

    @property
    def payloads(self) -> list[dict]:
        return [request["json"] for request in self.received]

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def unreachable_url(path: str = "/hooks/unreachable-s3cr3t") -> str:
    """A localhost URL nothing listens on (a port just freed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"
