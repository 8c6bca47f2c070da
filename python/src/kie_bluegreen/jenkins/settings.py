"""Where Jenkins is and who we are (options or environment), and the `jenkins:` section of the
stage configuration (folder, library, script source).

The API token is read from JENKINS_API_TOKEN or a file, never from a command-line value (it
would show in `ps` and shell history), and never printed: it is left out of repr().
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import config
from ..errors import ConfigError

ENV_URL = "JENKINS_URL"
ENV_USER = "JENKINS_USER"
ENV_TOKEN = "JENKINS_API_TOKEN"

# Allow-lists for values that end up inside the Groovy job scripts and the job XML: nothing
# that could close a string literal, start an interpolation or break a line.
FOLDER_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}(/[A-Za-z0-9_][A-Za-z0-9._-]{0,63}){0,4}$")
LIBRARY_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}(@[A-Za-z0-9_][A-Za-z0-9._/+-]{0,99})?$")
AGENT_PATTERN = re.compile(r"^[A-Za-z0-9_.:&|!() -]{1,200}$")  # a label expression like "linux && aws"
GIT_URL_PATTERN = re.compile(r"^(https?://|ssh://|git@)[\x21-\x7e]{1,500}$")
BRANCH_PATTERN = re.compile(r"^[A-Za-z0-9_*][A-Za-z0-9._/*+-]{0,199}$")
CREDENTIALS_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")
SCRIPT_PATH_PATTERN = re.compile(r"^[A-Za-z0-9_{][A-Za-z0-9._/{}-]{0,199}$")
SCRIPT_PATH_FIELDS = ("app", "stage", "action")


@dataclass(frozen=True)
class Connection:
    url: str
    user: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class ScmSettings:
    """Take the job scripts from a Git repository instead of writing them into the jobs."""

    url: str
    script_path: str  # may use {app}, {stage} and {action} (promote or rollback)
    branch: str = "*/main"
    credentials_id: str = ""


@dataclass(frozen=True)
class JobSettings:
    folder: str = ""  # "" = top level; "a/b" = inside folder b of folder a
    library: str = "kie-bluegreen"  # name[@version] of the Global Trusted Pipeline Library
    agent: str = ""  # label expression of the agents that run the runner; "" = any agent
    scm: ScmSettings | None = None  # None: the job scripts of resources/ are written into the jobs


def connection(url: str | None, user: str | None, token_file: str | None,
               environ: Mapping[str, str] = os.environ) -> Connection:
    """Options win over the environment; a missing value is a ConfigError naming both."""
    url = url or environ.get(ENV_URL, "")
    user = user or environ.get(ENV_USER, "")
    if not url:
        raise ConfigError(f"--jenkins-url / {ENV_URL}: missing; the address of Jenkins, e.g. https://jenkins.example.com/")
    if not re.match(r"^https?://[^\s/]+", url):
        raise ConfigError(f"--jenkins-url / {ENV_URL}: expected an http(s) URL like https://jenkins.example.com/, got {url!r}")
    if not user:
        raise ConfigError(f"--jenkins-user / {ENV_USER}: missing; the Jenkins user the API token belongs to")
    token = _token(token_file, environ)
    return Connection(url=url, user=user, token=token)


def _token(token_file: str | None, environ: Mapping[str, str]) -> str:
    if token_file:
        try:
            with open(token_file, encoding="utf-8") as handle:
                token = handle.read().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"--jenkins-token-file: cannot read {token_file}: {exc.__class__.__name__}") from None
        if not token:
            raise ConfigError(f"--jenkins-token-file: {token_file} is empty")
        return token
    token = environ.get(ENV_TOKEN, "").strip()
    if not token:
        raise ConfigError(
            f"{ENV_TOKEN}: missing; set it to an API token of the Jenkins user"
            " (Jenkins: your user > Security > API Token), or pass --jenkins-token-file FILE"
        )
    return token


# ---------------------------------------------------------------------------------------------
# The `jenkins:` section of kie-deploy.yaml


def job_settings(path: str) -> JobSettings:
    """Read the `jenkins:` section of the configuration file (all keys optional)."""
    document = config.read_yaml(path)
    config.require_mapping(document, "(top level)")
    return parse_job_settings(document.get("jenkins"))


def parse_job_settings(raw: Any) -> JobSettings:
    if raw is None:
        return JobSettings()
    return config.section({"jenkins": raw}, "jenkins", _where("jenkins"), JobSettings, {
        "folder": config.pattern(FOLDER_PATTERN, "a folder path like kie or kie/orders (letters, digits, . _ -)"),
        "library": config.pattern(LIBRARY_PATTERN, "a library name, optionally with @version, like kie-bluegreen@1.0.0"),
        "agent": config.pattern(AGENT_PATTERN, "an agent label expression like linux && aws"),
        "scm": _scm,
    })


def _scm(value: Any, path: str) -> ScmSettings:
    config.require_mapping(value, path)
    config.required(value, path, "url")
    config.required(value, path, "script-path")
    scm = config.section({"scm": value}, "scm", _where(path), ScmSettings, {
        "url": config.pattern(GIT_URL_PATTERN, "a Git repository URL (https://, ssh:// or git@)"),
        "script-path": _script_path,
        "branch": config.pattern(BRANCH_PATTERN, "a branch like main or */main"),
        "credentials-id": config.pattern(CREDENTIALS_ID_PATTERN, "a Jenkins credentials id"),
    })
    return scm


def _script_path(value: Any, path: str) -> str:
    config.pattern(SCRIPT_PATH_PATTERN, "a path in the repository like jenkins/{stage}-{action}.groovy")(value, path)
    try:
        value.format(**{name: "x" for name in SCRIPT_PATH_FIELDS})
    except (KeyError, IndexError, ValueError) as exc:
        allowed = ", ".join("{" + name + "}" for name in SCRIPT_PATH_FIELDS)
        raise ConfigError(f"{path}: unknown placeholder {exc}; allowed: {allowed}") from None
    return value


def _where(prefix: str):
    """Key paths for config.section: the first key is the section itself, named by prefix."""
    return lambda *keys: ".".join((prefix,) + keys[1:])
