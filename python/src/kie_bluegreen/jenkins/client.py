"""The only module that talks to Jenkins: python-jenkins calls behind methods named for what we
do with them, and every failure turned into a JenkinsError that says what went wrong.

python-jenkins folds 401, 403 and 500 into one "possibly authentication failed" message and
lets connection errors through as requests exceptions. Here a 401 names the credentials, a 403
names the missing permission (from Jenkins' X-Required-Permission header, or the one the call
needs), a refused CSRF crumb is fetched again once, a 500 to a configuration sent to Jenkins says
that Jenkins could not read it (the item type's plugin is missing: core's
ItemGroupMixIn#createProjectFromXML and AbstractItem#updateByXml fail when XStream cannot load
the XML), and an unreachable server says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote

import jenkins
import requests
import tenacity

from .. import log
from ..clock import Clock
from ..errors import JenkinsError
from .settings import Connection

LOG = log.get("jenkins")

REQUEST_TIMEOUT = 30  # seconds per HTTP request
NO_VALID_CRUMB = "No valid crumb"

# Jenkins permission ids (X-Required-Permission) as the security matrix names them.
PERMISSION_WORDS = {
    "hudson.model.Hudson.Read": "Overall/Read",
    "hudson.model.Hudson.Administer": "Overall/Administer",
    "hudson.model.Item.Create": "Job/Create",
    "hudson.model.Item.Configure": "Job/Configure",
    "hudson.model.Item.Read": "Job/Read",
    "hudson.model.Item.ExtendedRead": "Job/ExtendedRead",
    "hudson.model.Item.Build": "Job/Build",
    "hudson.model.Item.Discover": "Job/Discover",
    "hudson.model.Item.Cancel": "Job/Cancel",
}


class Unreachable(JenkinsError):
    """No answer, or a gateway/server error: worth another try for calls that change nothing."""


class AccessDenied(JenkinsError):
    """401 or 403."""


@dataclass(frozen=True)
class Item:
    full_name: str
    kind: str  # Jenkins class, e.g. org.jenkinsci.plugins.workflow.job.WorkflowJob
    parameters: tuple[str, ...] = ()  # names of the build parameters
    buildable: bool = True


@dataclass(frozen=True)
class QueueItem:
    id: int
    build_number: int | None  # set once the build started
    cancelled: bool
    why: str  # why it still waits, e.g. "Build #3 is already in progress"


@dataclass(frozen=True)
class Build:
    number: int
    url: str
    building: bool
    result: str | None  # SUCCESS, UNSTABLE, FAILURE, ABORTED, NOT_BUILT; None while building


@dataclass(frozen=True)
class LogChunk:
    text: str
    next_offset: int
    more: bool  # the build is still writing its log


def permission_words(permission_id: str) -> str:
    if permission_id in PERMISSION_WORDS:
        return PERMISSION_WORDS[permission_id]
    for prefix, words in (("hudson.model.Item.", "Job/"), ("hudson.model.Hudson.", "Overall/")):
        if permission_id.startswith(prefix):
            return words + permission_id[len(prefix):]
    return permission_id


class JenkinsClient:
    def __init__(self, connection: Connection, clock: Clock | None = None, attempts: int = 4):
        self.url = connection.url.rstrip("/") + "/"
        self.user = connection.user
        self._clock = clock or Clock()
        self._attempts = attempts
        self._server = jenkins.Jenkins(self.url, username=connection.user, password=connection.token,
                                       timeout=REQUEST_TIMEOUT)

    # --- who and what -------------------------------------------------------------------------

    def check_access(self) -> str:
        """Verify URL and credentials before anything else; return the Jenkins version."""
        me = self._read("read the current user (me/api/json)", "hudson.model.Hudson.Read", self._server.get_whoami)
        if str(me.get("id", "")).lower() == "anonymous":
            raise AccessDenied(f"Jenkins at {self.url} treats the requests as anonymous: check {self.user!r} and its API token")
        return self._read("read the Jenkins version", "hudson.model.Hudson.Read", self._version)

    def _version(self) -> str:
        try:
            return self._server.get_version()
        except KeyError:  # python-jenkins reads the X-Jenkins header without checking for it
            raise JenkinsError(f"{self.url} answered without an X-Jenkins header; is it Jenkins?") from None

    def item(self, full_name: str) -> Item | None:
        """The job or folder of that name, or None when there is none (or we may not see it)."""
        try:
            info = self._read(f"read {full_name}", "hudson.model.Item.Read", self._server.get_job_info, full_name)
        except _NotFound:
            return None
        parameters = tuple(
            definition.get("name", "")
            for prop in info.get("property") or []
            for definition in prop.get("parameterDefinitions") or []
        )
        return Item(full_name, info.get("_class", ""), parameters, bool(info.get("buildable", True)))

    def job_config(self, full_name: str) -> str:
        return self._read(f"read the configuration of {full_name}", "hudson.model.Item.ExtendedRead",
                          self._server.get_job_config, full_name)

    # --- changes ------------------------------------------------------------------------------

    def create_item(self, full_name: str, config_xml: str) -> None:
        """Create a job or folder from its config.xml (createItem)."""
        action = f"create {full_name}"
        try:
            self._write(action, "hudson.model.Item.Create", self._server.create_job, full_name, config_xml, sends_xml=True)
        except _NotFound:
            raise JenkinsError(f"cannot {action}: its folder does not exist") from None
        except _BadRequest:
            # Jenkins hides items a user may not read, then refuses to create one of that name.
            raise JenkinsError(
                f"cannot {action}: Jenkins refused (HTTP 400); an item of that name may exist"
                f" that {self.user!r} cannot see (Job/Read missing?)"
            ) from None

    def update_job(self, full_name: str, config_xml: str) -> None:
        self._write(f"reconfigure {full_name}", "hudson.model.Item.Configure",
                    self._server.reconfig_job, full_name, config_xml, sends_xml=True)

    def start_build(self, full_name: str, parameters: dict[str, str]) -> int:
        """Queue a build with parameters; return the queue item id (from the Location header)."""
        return self._write(f"start {full_name}", "hudson.model.Item.Build",
                           self._server.build_job, full_name, parameters)

    # --- following a build --------------------------------------------------------------------

    def queue_item(self, queue_id: int) -> QueueItem:
        data = self._read(f"read queue item {queue_id}", "hudson.model.Item.Read", self._server.get_queue_item, queue_id)
        executable = data.get("executable") or {}
        return QueueItem(
            id=queue_id,
            build_number=executable.get("number"),
            cancelled=bool(data.get("cancelled")),
            why=data.get("why") or "",
        )

    def build(self, full_name: str, number: int) -> Build:
        data = self._read(f"read build {full_name} #{number}", "hudson.model.Item.Read",
                          self._server.get_build_info, full_name, number)
        return Build(number=number, url=data.get("url", ""), building=bool(data.get("building")),
                     result=data.get("result"))

    def log_chunk(self, full_name: str, number: int, offset: int) -> LogChunk:
        """The console text from offset on (progressiveText), so a long log is read only once."""
        url = self.url + _job_path(full_name) + f"{number}/logText/progressiveText?start={offset}"

        def call():
            return self._server.jenkins_request(requests.Request("GET", url))

        response = self._read(f"read the console of {full_name} #{number}", "hudson.model.Item.Read", call)
        next_offset = int(response.headers.get("X-Text-Size", offset + len(response.content)))
        more = response.headers.get("X-More-Data", "").lower() == "true"
        return LogChunk(response.text, next_offset, more)

    # --- error translation --------------------------------------------------------------------

    def _read(self, action: str, permission: str, call, *args):
        """A call that changes nothing: retried while Jenkins is unreachable or restarting."""
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(Unreachable),
            stop=tenacity.stop_after_attempt(self._attempts),
            wait=tenacity.wait_exponential(multiplier=1, max=30),
            sleep=self._clock.sleep,
            before_sleep=lambda state: LOG.warning("%s; trying again", state.outcome.exception()),
            reraise=True,
        )
        return retrying(self._translated, action, permission, call, *args)

    def _write(self, action: str, permission: str, call, *args, sends_xml: bool = False):
        """A call that changes something: never repeated blindly, except for a refused crumb
        (Jenkins rejected the request before doing anything). sends_xml: the call sends a
        config.xml, which Jenkins answers with HTTP 500 when it cannot read it."""
        try:
            return self._translated(action, permission, call, *args, sends_xml=sends_xml)
        except _CrumbRefused:
            LOG.info("Jenkins refused the CSRF crumb; fetching a new one")
            self._server.crumb = None  # python-jenkins keeps the first crumb for ever
            try:
                return self._translated(action, permission, call, *args, sends_xml=sends_xml)
            except _CrumbRefused as exc:
                raise AccessDenied(
                    f"cannot {action}: Jenkins at {self.url} refused the CSRF crumb twice ({exc});"
                    " check that a proxy keeps the session cookie, or use an API token (exempt from CSRF checks)"
                ) from None

    def _translated(self, action: str, permission: str, call, *args, sends_xml: bool = False):
        try:
            return call(*args)
        except (requests.ConnectionError, requests.Timeout, jenkins.TimeoutException) as exc:
            raise Unreachable(f"cannot {action}: Jenkins at {self.url} is unreachable ({_short(exc)})") from None
        except (jenkins.JenkinsException, requests.HTTPError) as exc:
            response = _http_response(exc)
            if response is None:
                if isinstance(exc, jenkins.NotFoundException):
                    raise _NotFound(action) from None
                raise JenkinsError(f"cannot {action}: {_short(exc)}") from None
            raise self._http_error(action, permission, response, sends_xml) from None
        except json.JSONDecodeError:
            raise JenkinsError(f"cannot {action}: {self.url} did not answer with JSON; is it Jenkins?") from None

    def _http_error(self, action: str, permission: str, response: requests.Response,
                    sends_xml: bool = False) -> Exception:
        status = response.status_code
        if status == 401:
            return AccessDenied(
                f"cannot {action}: Jenkins at {self.url} rejected the credentials of {self.user!r} (HTTP 401);"
                " check JENKINS_USER and JENKINS_API_TOKEN"
            )
        if status == 403 and NO_VALID_CRUMB in response.text:
            return _CrumbRefused(f"HTTP 403: {NO_VALID_CRUMB}")
        if status == 403:
            required = response.headers.get("X-Required-Permission") or permission
            who = response.headers.get("X-You-Are-Authenticated-As") or self.user
            return AccessDenied(
                f"cannot {action}: Jenkins user {who!r} lacks the {permission_words(required)} permission"
                f" (HTTP 403); grant it in Manage Jenkins > Security, or on the folder"
            )
        if status == 404:
            return _NotFound(action)
        if status == 400:
            return _BadRequest(f"cannot {action}: Jenkins answered HTTP 400{_body_hint(response)}")
        if status == 500 and sends_xml:
            return JenkinsError(
                f"cannot {action}: Jenkins could not read the configuration it was sent (HTTP 500{_body_hint(response)});"
                " this usually means a plugin it needs is missing: Pipeline (workflow-job, workflow-cps) for the jobs,"
                " Folders for jenkins.folder, Git for jenkins.scm (Manage Jenkins > Plugins)"
            )
        if status in (500, 502, 503, 504):
            return Unreachable(f"cannot {action}: Jenkins at {self.url} answered HTTP {status}{_body_hint(response)}")
        return JenkinsError(f"cannot {action}: Jenkins answered HTTP {status}{_body_hint(response)}")


class _NotFound(JenkinsError):
    """HTTP 404; callers that expect it catch it, otherwise it reads as a missing item."""

    def __init__(self, action: str):
        super().__init__(f"cannot {action}: not found (HTTP 404)")


class _CrumbRefused(JenkinsError):
    pass


class _BadRequest(JenkinsError):
    pass


def _http_response(exc: BaseException) -> requests.Response | None:
    """python-jenkins raises its own exceptions inside `except HTTPError`: find the response."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        response = getattr(exc, "response", None)
        if isinstance(exc, requests.HTTPError) and response is not None:
            return response
        exc = exc.__cause__ or exc.__context__
    return None


def _job_path(full_name: str) -> str:
    """URL path of a job, also inside folders: a/b -> job/a/job/b/."""
    return "".join(f"job/{quote(part)}/" for part in full_name.split("/"))


def _body_hint(response: requests.Response) -> str:
    text = " ".join(response.text.split())
    return f": {text[:200]}" if text and not text.startswith("<") else ""


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."
