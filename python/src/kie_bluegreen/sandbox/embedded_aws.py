"""moto's AWS emulator as a local server in this process, reached through AWS_ENDPOINT_URL
exactly as a real endpoint would be: the runner cannot tell the difference."""

from __future__ import annotations

import contextlib
import logging
import os

ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
}


@contextlib.contextmanager
def embedded_aws(port: int = 0):
    """Start moto's server on 127.0.0.1 and point boto3 at it; yield the endpoint URL."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:  # moto is an optional dependency of the runner
        from ..errors import ConfigError
        raise ConfigError("the embedded AWS needs moto: pip install 'kie-bluegreen[demo]'") from exc
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    endpoint = f"http://{host}:{bound}"
    try:
        with pointed_at(endpoint):
            yield endpoint
    finally:
        server.stop()


@contextlib.contextmanager
def pointed_at(endpoint: str):
    """Point boto3 (through the standard AWS_* variables) at a local endpoint, then restore."""
    saved = {key: os.environ.get(key) for key in (*ENVIRONMENT, "AWS_ENDPOINT_URL", "AWS_PROFILE")}
    os.environ.update(ENVIRONMENT, AWS_ENDPOINT_URL=endpoint)
    os.environ.pop("AWS_PROFILE", None)
    try:
        yield endpoint
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
