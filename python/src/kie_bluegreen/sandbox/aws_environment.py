"""Point boto3 at the sandbox's local AWS endpoint through the standard variables
(AWS_ENDPOINT_URL and dummy credentials), exactly as a user would: the runner cannot tell."""

from __future__ import annotations

import contextlib
import os

ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
}


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
