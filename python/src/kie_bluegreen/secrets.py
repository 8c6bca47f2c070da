"""Secrets: where the KIE Server credentials come from, and keeping every secret out of output.

Credentials come only from the environment, as Jenkins' `withCredentials` provides them:
KIE_SERVER_USER with KIE_SERVER_PASSWORD (usernamePassword / string bindings), or with
KIE_SERVER_PASSWORD_FILE (a `file` binding: the path of a file holding the password). Never from
the YAML (config.py refuses credential keys and URLs with user:password@) nor from the command
line (there is no option for them).

Everything the runner prints passes through a Redactor built from the same sources, plus the AWS
secret key and session token: log lines (also with --verbose), the result text, the JSON object
and error messages. Secrets the runner only learns while a command runs (webhook URLs, from the
configuration or from an environment variable or file) are added with `learn`: every Redactor
masks them from then on, also one built before.
"""

from __future__ import annotations

import base64
import logging
import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError

USER_VARIABLE = "KIE_SERVER_USER"
PASSWORD_VARIABLE = "KIE_SERVER_PASSWORD"
PASSWORD_FILE_VARIABLE = "KIE_SERVER_PASSWORD_FILE"
AWS_SECRET_VARIABLES = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
MAX_PASSWORD_FILE_BYTES = 4096
# Shorter values are not redacted: replacing every "ab" in the output would hide everything and
# protect nothing (a 3-character password is not a secret).
MIN_REDACTED_LENGTH = 4
MASK = "****"


@dataclass(frozen=True)
class KieCredentials:
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def authorization(self) -> str | None:
        """The HTTP Basic Authorization header value, or None without credentials."""
        if not self.user:
            return None
        token = base64.b64encode(f"{self.user}:{self.password or ''}".encode()).decode()
        return f"Basic {token}"


def kie_credentials(environ: Mapping[str, str] | None = None) -> KieCredentials:
    """The KIE Server credentials of the environment; ConfigError (exit 2) when they are
    inconsistent or the password file cannot be used. Messages name variables and paths, never values."""
    environ = os.environ if environ is None else environ
    user = environ.get(USER_VARIABLE) or None
    password = environ.get(PASSWORD_VARIABLE) or None
    path = environ.get(PASSWORD_FILE_VARIABLE) or None
    if password and path:
        raise ConfigError(f"{PASSWORD_VARIABLE} and {PASSWORD_FILE_VARIABLE} are both set; set only one")
    if path:
        password = read_password_file(path)
    if password and not user:
        raise ConfigError(f"a KIE Server password is set but {USER_VARIABLE} is not; set the user too")
    return KieCredentials(user, password)


def read_password_file(path: str) -> str:
    """The password in a file (one trailing newline dropped, as `echo` and editors add one)."""
    return read_secret_file(path, PASSWORD_FILE_VARIABLE, "the password")


def read_secret_file(path: str, variable: str, what: str = "the secret") -> str:
    """The secret in the file a variable names (a Jenkins `file` credentials binding), one
    trailing newline dropped. Messages name the variable and the path, never the content."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_PASSWORD_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{variable}: cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_PASSWORD_FILE_BYTES:
        raise ConfigError(
            f"{variable}: {path} is larger than {MAX_PASSWORD_FILE_BYTES} bytes; it should hold only {what}"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{variable}: {path} is not UTF-8 text") from None
    for ending in ("\r\n", "\n"):
        if text.endswith(ending):
            text = text[: -len(ending)]
            break
    if not text:
        raise ConfigError(f"{variable}: {path} is empty")
    return text


# Secrets learnt while the process runs (see `learn`), in every form a Redactor masks.
_learnt: list[str] = []


def learn(secret: str | None) -> None:
    """From now on every Redactor masks this secret too (a webhook URL read from the
    configuration, an environment variable or a file)."""
    if secret and len(secret) >= MIN_REDACTED_LENGTH:
        forms = set(_learnt) | _forms(secret)
        _learnt[:] = sorted(forms, key=len, reverse=True)


def _forms(secret: str) -> set[str]:
    """The secret as it may appear in output: as is, URL-encoded, form-encoded."""
    forms = {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}
    return {form for form in forms if len(form) >= MIN_REDACTED_LENGTH}


class Redactor:
    """Replaces every known secret value (and its Basic-auth and URL-encoded forms) in text."""

    def __init__(self, secrets: list[str]):
        forms = set()
        for secret in secrets:
            if secret and len(secret) >= MIN_REDACTED_LENGTH:
                forms.update(_forms(secret))
        # Longest first, so a secret containing another one is masked whole.
        self.forms = sorted(forms, key=len, reverse=True)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> "Redactor":
        """Best effort: a broken password file is reported when the credentials are used, not here."""
        environ = os.environ if environ is None else environ
        passwords = [environ.get(PASSWORD_VARIABLE, "")]
        if environ.get(PASSWORD_FILE_VARIABLE):
            try:
                passwords.append(read_password_file(environ[PASSWORD_FILE_VARIABLE]))
            except ConfigError:
                pass
        secrets = passwords + [environ.get(name, "") for name in AWS_SECRET_VARIABLES]
        for password in filter(None, passwords):
            authorization = KieCredentials(environ.get(USER_VARIABLE), password).authorization
            if authorization:
                secrets.append(authorization.split(" ", 1)[1])  # the base64 of user:password
        return cls(secrets)

    def __call__(self, text: str) -> str:
        forms = self.forms
        if _learnt:  # longest first across both lists, so a longer secret is masked whole
            forms = sorted(set(forms) | set(_learnt), key=len, reverse=True)
        for form in forms:
            text = text.replace(form, MASK)
        return text

    def data(self, value: Any) -> Any:
        """A copy of a JSON-like value with every string redacted (before json.dumps, so escaping
        cannot hide a secret from the match)."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {self.data(key): self.data(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.data(item) for item in value]
        return value


class RedactingFilter(logging.Filter):
    """A handler filter: formats the record's message, then masks secrets in it."""

    def __init__(self, redactor: Redactor):
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redactor(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self.redactor(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = self.redactor(record.exc_text)
        return True


def install(logger: logging.Logger, redactor: Redactor) -> None:
    """Mask secrets in everything the logger's handlers write."""
    for handler in logger.handlers:
        handler.filters = [f for f in handler.filters if not isinstance(f, RedactingFilter)]
        handler.addFilter(RedactingFilter(redactor))
