"""A small Jenkins for tests: a real HTTP server on 127.0.0.1 that speaks the REST endpoints
python-jenkins and the runner use, so tests exercise python-jenkins itself (URLs, headers,
crumbs, auth, error handling) instead of a mock of it.

Endpoints: `/` (X-Jenkins header), `api/json`, `me/api/json`, `crumbIssuer/api/json`,
`[job/F/]createItem`, `job/<name>/config.xml` (GET, POST), `job/<name>/api/json`,
`job/<name>/buildWithParameters` (201 + Location of the queue item), `queue/item/N/api/json`,
`job/<name>/N/api/json`, `job/<name>/N/consoleText`, `job/<name>/N/logText/progressiveText`.
Folders nest as `job/a/job/b/`. Like Jenkins: HTTP Basic with an API token (401 when wrong),
403 with X-Required-Permission when a permission is missing, a CSRF crumb bound to the session
cookie on every POST, byte offsets in the progressive console.

Builds run by request count, not by time: a planned build waits `queue_polls` queue reads,
then sends one console chunk per progressiveText read, then reports its result.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

WORKFLOW_JOB = "org.jenkinsci.plugins.workflow.job.WorkflowJob"
FREESTYLE = "hudson.model.FreeStyleProject"
FOLDER = "com.cloudbees.hudson.plugins.folder.Folder"
KINDS = {"flow-definition": WORKFLOW_JOB, "project": FREESTYLE, FOLDER: FOLDER}
# The plugin that defines the item type of each root element: without it, Jenkins' XStream cannot
# load the XML and createItem or a config.xml POST fails with HTTP 500 (core's
# ItemGroupMixIn#createProjectFromXML, AbstractItem#updateByXml).
PLUGIN_OF_KIND = {"flow-definition": "workflow-job", "project": None, FOLDER: "cloudbees-folder"}

OVERALL_READ = "hudson.model.Hudson.Read"
ADMINISTER = "hudson.model.Hudson.Administer"
ITEM_READ = "hudson.model.Item.Read"
ITEM_EXTENDED_READ = "hudson.model.Item.ExtendedRead"
ITEM_CREATE = "hudson.model.Item.Create"
ITEM_CONFIGURE = "hudson.model.Item.Configure"
ITEM_BUILD = "hudson.model.Item.Build"
ALL_PERMISSIONS = {OVERALL_READ, ITEM_READ, ITEM_EXTENDED_READ, ITEM_CREATE, ITEM_CONFIGURE, ITEM_BUILD}
# Having the key implies the values (as in Jenkins' permission tree).
IMPLIES = {ADMINISTER: ALL_PERMISSIONS, ITEM_CONFIGURE: {ITEM_EXTENDED_READ}}

USER = "deployer"
TOKEN = "11aa22bb33cc44dd55ee"
CRUMB_FIELD = "Jenkins-Crumb"
SESSION_COOKIE = "JSESSIONID.fake"


@dataclass
class BuildPlan:
    console: list[str] = field(default_factory=lambda: ["Started by user deployer\n", "Finished: SUCCESS\n"])
    result: str = "SUCCESS"
    queue_polls: int = 1  # queue reads that still answer "waiting"
    result_lag: int = 0  # build reads that still answer "building" after the console ended
    cancelled: bool = False  # cancelled while in the queue


@dataclass
class FakeBuild:
    number: int
    parameters: dict[str, str]
    plan: BuildPlan
    chunks_sent: int = 0
    result_polls: int = 0

    @property
    def log_done(self) -> bool:
        return self.chunks_sent >= len(self.plan.console)

    @property
    def building(self) -> bool:
        return not self.log_done or self.result_polls <= self.plan.result_lag


@dataclass
class FakeItem:
    kind: str
    config_xml: str
    builds: dict[int, FakeBuild] = field(default_factory=dict)
    next_build: int = 1
    buildable: bool = True


@dataclass
class QueueEntry:
    id: int
    job: str
    parameters: dict[str, str]
    plan: BuildPlan
    polls: int = 0
    build: int | None = None


class FakeJenkins:
    def __init__(self):
        self.tokens = {USER: TOKEN}
        self.permissions: dict[str, set[str]] = {USER: {ADMINISTER}, "anonymous": set()}
        self.items: dict[str, FakeItem] = {}
        self.queue: dict[int, QueueEntry] = {}
        self.plans: dict[str, list[BuildPlan]] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path with query)
        self.version: str | None = "2.440.3"
        self.require_crumb = True
        self.crumbs: dict[str, str] = {}  # session -> crumb
        self.unavailable = 0  # answer 503 to that many next requests
        self.plugins = {"workflow-job", "workflow-cps", "cloudbees-folder", "git"}
        self.lock = threading.RLock()
        self._next_queue_id = 100
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        # Keep-alive connections of the client may outlive a test: do not wait for them.
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    # --- test controls --------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> "FakeJenkins":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def writes(self) -> list[tuple[str, str]]:
        """Every POST received, crumb requests excluded (those are reads)."""
        return [request for request in self.requests if request[0] == "POST"]

    def add_item(self, name: str, config_xml: str) -> FakeItem:
        item = FakeItem(KINDS[ET.fromstring(config_xml).tag], config_xml)
        self.items[name] = item
        return item

    def add_folder(self, name: str) -> FakeItem:
        return self.add_item(name, f"<{FOLDER}><description/></{FOLDER}>")

    def plan_build(self, job: str, plan: BuildPlan) -> None:
        self.plans.setdefault(job, []).append(plan)

    def builds(self, job: str) -> list[FakeBuild]:
        return list(self.items[job].builds.values())

    def expire_crumbs(self) -> None:
        """As after a restart of Jenkins: crumbs already handed out are no longer valid."""
        self.crumbs.clear()

    # --- request handling (called by the handler thread) -----------------------------------

    def handle(self, request: "_Request") -> "_Response":
        with self.lock:
            self.requests.append((request.method, request.target))
            if self.unavailable > 0:
                self.unavailable -= 1
                return _Response(503, "Jenkins is getting ready to work")
            user = request.user
            if user is None:
                return _Response(401, "Invalid password/token for user")
            if request.path == "" and request.method == "GET":
                return self._root()
            if not self._allowed(user, OVERALL_READ):
                return self._denied(user, OVERALL_READ)
            if request.method == "POST" and self.require_crumb:
                crumb = self.crumbs.get(request.session or "")
                if crumb is None or request.headers.get(CRUMB_FIELD) != crumb:
                    return _Response(403, "No valid crumb was included in the request")
            return self._route(request, user)

    def _root(self) -> "_Response":
        headers = {"X-Jenkins": self.version} if self.version else {}
        return _Response(200, "<html><body>Dashboard</body></html>", headers=headers, content_type="text/html")

    def _route(self, request: "_Request", user: str) -> "_Response":
        match = re.match(r"^((?:job/[^/]+/)*)(.*)$", request.path)
        name = "/".join(unquote(part) for part in re.findall(r"job/([^/]+)/", match[1]))
        rest = match[2]
        get, post = request.method == "GET", request.method == "POST"
        if not name:
            if get and rest == "api/json":
                return _json({"_class": "hudson.model.Hudson", "jobs": [{"name": n} for n in self.items if "/" not in n]})
            if get and rest == "me/api/json":
                return _json({"_class": "hudson.model.User", "id": user, "fullName": user.title()})
            if get and rest == "crumbIssuer/api/json":
                return self._crumb(request)
            queue = re.match(r"^queue/item/(\d+)/api/json$", rest)
            if get and queue:
                return self._queue_item(int(queue[1]))
        if post and rest == "createItem":
            return self._create(request, user, name)
        item = self.items.get(name)
        if item is None:
            return _Response(404, "Not Found")
        if not self._allowed(user, ITEM_READ):
            return self._denied(user, ITEM_READ)
        if get and rest == "api/json":
            return _json(self._item_json(name, item))
        if rest == "config.xml":
            if get:
                if not self._allowed(user, ITEM_EXTENDED_READ):
                    return self._denied(user, ITEM_EXTENDED_READ)
                return _Response(200, item.config_xml, content_type="application/xml")
            if post:
                if not self._allowed(user, ITEM_CONFIGURE):
                    return self._denied(user, ITEM_CONFIGURE)
                unreadable = self._unreadable(request.body.decode("utf-8"))
                if unreadable:
                    return unreadable
                item.config_xml = request.body.decode("utf-8")
                return _Response(200, "")
        if post and rest == "buildWithParameters":
            if not self._allowed(user, ITEM_BUILD):
                return self._denied(user, ITEM_BUILD)
            return self._build_with_parameters(name, item, request)
        build = re.match(r"^(\d+)/(api/json|consoleText|logText/progressiveText)$", rest)
        if get and build and int(build[1]) in item.builds:
            return self._build_endpoint(item.builds[int(build[1])], name, build[2], request)
        return _Response(404, "Not Found")

    def _allowed(self, user: str, permission: str) -> bool:
        granted = set(self.permissions.get(user, set()))
        for held in list(granted):
            granted |= IMPLIES.get(held, set())
        return permission in granted

    def _denied(self, user: str, permission: str) -> "_Response":
        headers = {"X-You-Are-Authenticated-As": user, "X-Required-Permission": permission}
        return _Response(403, f"<html><body>Access Denied: {user} is missing the {permission} permission</body></html>",
                         headers=headers, content_type="text/html")

    def _crumb(self, request: "_Request") -> "_Response":
        session = request.session or secrets.token_hex(8)
        crumb = self.crumbs.setdefault(session, secrets.token_hex(16))
        return _json({"_class": "hudson.security.csrf.DefaultCrumbIssuer", "crumb": crumb,
                      "crumbRequestField": CRUMB_FIELD}, cookie=f"{SESSION_COOKIE}={session}; Path=/")

    def _create(self, request: "_Request", user: str, folder: str) -> "_Response":
        if folder and (folder not in self.items or self.items[folder].kind != FOLDER):
            return _Response(404, "Not Found")
        if not self._allowed(user, ITEM_CREATE):
            return self._denied(user, ITEM_CREATE)
        short = request.query.get("name", [""])[0]
        full = f"{folder}/{short}" if folder else short
        if not short:
            return _Response(400, "Query parameter 'name' is required")
        if full in self.items:
            return _Response(400, f"A job already exists with the name '{short}'")
        if "xml" not in request.headers.get("Content-Type", ""):
            return _Response(400, "Requires a config.xml body (Content-Type: application/xml)")
        unreadable = self._unreadable(request.body.decode("utf-8"))
        if unreadable:
            return unreadable
        root = ET.fromstring(request.body.decode("utf-8"))
        self.items[full] = FakeItem(KINDS[root.tag], request.body.decode("utf-8"))
        return _Response(200, "")

    def _unreadable(self, text: str) -> "_Response | None":
        """The HTTP 500 Jenkins answers an XML it cannot load, or None."""
        try:
            root = ET.fromstring(text)
        except ET.ParseError as exc:
            return _Response(500, f"Failed to parse config.xml: {exc}")
        if root.tag not in KINDS or (PLUGIN_OF_KIND[root.tag] and PLUGIN_OF_KIND[root.tag] not in self.plugins):
            return _Response(500, "<html><body>com.thoughtworks.xstream.mapper.CannotResolveClassException: "
                                  f"{root.tag}</body></html>", content_type="text/html")
        return None

    def _item_json(self, name: str, item: FakeItem) -> dict:
        data = {"_class": item.kind, "name": name.rsplit("/", 1)[-1], "fullName": name,
                "url": f"{self.url}{_job_path(name)}", "buildable": item.buildable}
        if item.kind == WORKFLOW_JOB:
            root = ET.fromstring(item.config_xml)
            definitions = [{"_class": p.tag, "name": p.findtext("name")}
                           for p in root.findall("properties/hudson.model.ParametersDefinitionProperty/parameterDefinitions/*")]
            data["property"] = [{"_class": "hudson.model.ParametersDefinitionProperty",
                                 "parameterDefinitions": definitions}] if definitions else []
            data["nextBuildNumber"] = item.next_build
        return data

    def _build_with_parameters(self, name: str, item: FakeItem, request: "_Request") -> "_Response":
        parameters = {key: values[-1] for key, values in request.query.items()}
        queue_id = self._next_queue_id
        self._next_queue_id += 1
        plans = self.plans.get(name) or []
        plan = plans.pop(0) if plans else BuildPlan()
        self.queue[queue_id] = QueueEntry(queue_id, name, parameters, plan)
        return _Response(201, "", headers={"Location": f"{self.url}queue/item/{queue_id}/"})

    def _queue_item(self, queue_id: int) -> "_Response":
        entry = self.queue.get(queue_id)
        if entry is None:
            return _Response(404, "Not Found")
        entry.polls += 1
        data = {"id": queue_id, "task": {"name": entry.job}, "cancelled": False, "executable": None, "why": None}
        if entry.polls <= entry.plan.queue_polls:
            data.update({"_class": "hudson.model.Queue$WaitingItem", "why": "Waiting for next available executor"})
        elif entry.plan.cancelled:
            data.update({"_class": "hudson.model.Queue$LeftItem", "cancelled": True})
        else:
            if entry.build is None:
                item = self.items[entry.job]
                entry.build = item.next_build
                item.builds[entry.build] = FakeBuild(entry.build, entry.parameters, entry.plan)
                item.next_build += 1
            data.update({"_class": "hudson.model.Queue$LeftItem", "executable": {
                "_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun", "number": entry.build,
                "url": f"{self.url}{_job_path(entry.job)}{entry.build}/"}})
        return _json(data)

    def _build_endpoint(self, build: FakeBuild, name: str, what: str, request: "_Request") -> "_Response":
        if what == "api/json":
            if build.log_done:
                build.result_polls += 1
            return _json({"_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun", "number": build.number,
                          "url": f"{self.url}{_job_path(name)}{build.number}/", "building": build.building,
                          "result": None if build.building else build.plan.result})
        if what == "consoleText":
            return _Response(200, "".join(build.plan.console[:build.chunks_sent]), content_type="text/plain")
        # progressiveText: one more chunk per read; offsets are bytes, as in Jenkins.
        build.chunks_sent = min(build.chunks_sent + 1, len(build.plan.console))
        text = "".join(build.plan.console[:build.chunks_sent]).encode("utf-8")
        start = int(request.query.get("start", ["0"])[0])
        headers = {"X-Text-Size": str(len(text))}
        if not build.log_done:
            headers["X-More-Data"] = "true"
        return _Response(200, text[start:], headers=headers, content_type="text/plain")


# ---------------------------------------------------------------------------------------------
# HTTP plumbing


@dataclass
class _Request:
    method: str
    target: str
    path: str  # without the leading / and the query
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    user: str | None  # None: wrong credentials
    session: str | None


@dataclass
class _Response:
    status: int
    body: str | bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/plain"
    cookie: str | None = None


def _json(data: dict, cookie: str | None = None) -> _Response:
    return _Response(200, json.dumps(data), content_type="application/json", cookie=cookie)


def _job_path(name: str) -> str:
    return "".join(f"job/{part}/" for part in name.split("/"))


def _handler(fake: FakeJenkins):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # else small responses wait ~40 ms for delayed ACKs

        def do_GET(self):
            self._serve("GET")

        def do_POST(self):
            self._serve("POST")

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            request = _Request(
                method=method, target=self.path, path=parts.path.lstrip("/"), query=parse_qs(parts.query),
                headers={key: value for key, value in self.headers.items()}, body=body,
                user=self._user(), session=self._session(),
            )
            response = fake.handle(request)
            payload = response.body if isinstance(response.body, bytes) else response.body.encode("utf-8")
            self.send_response(response.status)
            self.send_header("Content-Type", f"{response.content_type};charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            if fake.version:
                self.send_header("X-Jenkins", fake.version)
            for key, value in response.headers.items():
                if key != "X-Jenkins":
                    self.send_header(key, value)
            if response.cookie:
                self.send_header("Set-Cookie", response.cookie)
            self.end_headers()
            self.wfile.write(payload)

        def _user(self) -> str | None:
            header = self.headers.get("Authorization", "")
            if not header.startswith("Basic "):
                return "anonymous"
            user, _, token = base64.b64decode(header[6:]).decode("utf-8").partition(":")
            return user if fake.tokens.get(user) == token else None

        def _session(self) -> str | None:
            match = re.search(rf"{re.escape(SESSION_COOKIE)}=([0-9a-f]+)", self.headers.get("Cookie", ""))
            return match[1] if match else None

        def log_message(self, *args) -> None:  # keep pytest output clean
            pass

    return Handler


# ---------------------------------------------------------------------------------------------
# A stage configuration for the jobs to be made from


LISTENER = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/alb-ks/50dc6c495c0c9188/f2f7dc8efc52{:04x}"


def write_config(path, stages=("production", "staging"), jenkins=None, overrides=None) -> str:
    """kie-deploy.yaml with the given stages (each its own listener, plus overrides[stage]);
    returns its path."""
    overrides = overrides or {}
    document = {
        "app": "orders",
        "container": {"group-id": "com.myspace", "artifact-id": "app"},
        "defaults": {"region": "eu-west-1"},
        "stages": {name: {"listener-arn": LISTENER.format(index), **overrides.get(name, {})}
                   for index, name in enumerate(stages)},
    }
    if jenkins is not None:
        document["jenkins"] = jenkins
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return str(path)
