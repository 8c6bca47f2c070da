"""Where notifications go: the `notify` entries of the configuration, resolved for delivery.

A webhook URL is a secret (whoever has it can post): it comes from the file (`webhook:`), or
from the environment (`webhook-env: NAME`: the variable NAME, or a file named by NAME_FILE, as
Jenkins' `string` and `file` credentials bindings provide them), and is masked in every output
from the moment it is known. Labels name a target without its secret.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

from .. import secrets
from ..config import Notification
from ..config import _webhook_url as check_webhook_url  # the same rules as a URL written in the file
from ..errors import ConfigError

FILE_SUFFIX = "_FILE"


@dataclass(frozen=True)
class Target:
    label: str  # how messages name it: "sns <topic ARN>", "webhook https://host/****", "webhook-env NAME"
    events: tuple[str, ...]
    sns: str | None = None  # topic ARN
    url: str | None = field(default=None, repr=False)  # webhook URL (a secret)
    problem: str | None = None  # why it cannot be used (e.g. the variable is not set)

    def wants(self, event: str) -> bool:
        return event in self.events


def resolve(entries: tuple[Notification, ...], environ: Mapping[str, str] | None = None) -> list[Target]:
    """The targets of the configuration. A webhook-env whose URL is missing or invalid is kept
    with its problem: delivery reports it (a warning), it never stops a deployment."""
    environ = os.environ if environ is None else environ
    targets = []
    for entry in entries:
        if entry.sns:
            targets.append(Target(f"sns {entry.sns}", entry.events, sns=entry.sns))
        elif entry.webhook:
            secrets.learn(entry.webhook)
            targets.append(Target(f"webhook {masked(entry.webhook)}", entry.events, url=entry.webhook))
        else:
            targets.append(_from_environment(entry, environ))
    return targets


def _from_environment(entry: Notification, environ: Mapping[str, str]) -> Target:
    name = entry.webhook_env or ""  # config.py makes each entry exactly one of sns, webhook, webhook-env
    label = f"webhook-env {name}"
    url = environ.get(name) or None
    try:
        if url is None and environ.get(name + FILE_SUFFIX):
            url = secrets.read_secret_file(environ[name + FILE_SUFFIX], name + FILE_SUFFIX, "the webhook URL")
        secrets.learn(url)
        if url is None:
            raise ConfigError(f"{name}: not set (nor {name + FILE_SUFFIX}): no webhook URL to send to")
        check_webhook_url(url, name)
    except ConfigError as exc:
        return Target(label, entry.events, problem=str(exc))
    return Target(label, entry.events, url=url)


def masked(url: str) -> str:
    """'https://hooks.example.com/****': the scheme and host of a webhook URL, not its secret part."""
    try:
        split = urllib.parse.urlsplit(url)
        host = split.hostname or ""
    except ValueError:
        return "****"
    return f"{split.scheme}://{host}/****"
