"""Hostile and broken input: exit 2 with a one-line message naming what to fix, no traceback,
and not a single AWS write. First the cases we thought of, then generated ones (hypothesis)."""

from __future__ import annotations

import os

import pytest
import yaml
from helpers import snapshot
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kie_bluegreen.aws.api import AwsApi
from kie_bluegreen.kie import ContainerCheck, KieClient
from kie_bluegreen.sandbox import scenario

BOMB = "\n".join(
    ["x-bomb-0: &a0 [x, x, x, x, x, x, x, x, x]"]
    + [f"x-bomb-{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 9)]
)


@pytest.fixture
def writes(monkeypatch):
    """Every AWS call that is not a read, from now on."""
    seen = []
    original = AwsApi.call

    def call(self, service, operation, **kwargs):
        if not operation.startswith(("describe_", "get_", "list_")):
            seen.append(f"{service}:{operation}")
        return original(self, service, operation, **kwargs)

    monkeypatch.setattr(AwsApi, "call", call)
    return seen


@pytest.fixture
def base_text(world):
    return yaml.safe_dump(scenario.config_document(world), sort_keys=False)


@pytest.fixture
def refused(run, aws, world, writes, tmp_path):
    """refused(text_or_path, *argv) -> the one-line message of an exit 2 that changed nothing."""

    def check(config, *argv):
        path = config
        if not (isinstance(config, str) and os.path.exists(config)):
            path = str(tmp_path / "kie-deploy.yaml")
            with open(path, "w" if isinstance(config, str) else "wb") as handle:
                handle.write(config)
        before = snapshot(aws, world.listener_arn)
        result = run(path, *(argv or ("deploy", "--version", "2.0.0")))
        assert result.code == 2, result.err
        assert "Traceback" not in result.err and not writes
        assert snapshot(aws, world.listener_arn) == before
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("kie-bluegreen: "), result.err
        return lines[0]

    return check


@pytest.mark.parametrize(
    "text, expected",
    [
        ("- a\n- b\n", "(top level): expected a mapping, got list"),
        ("just words", "(top level): expected a mapping, got str"),
        ("", "(top level): expected a mapping, got NoneType"),
        ("a: [\n", "not valid YAML"),
        ("!!python/object/apply:os.system ['id']", "not valid YAML"),
        ("? [a, b]\n: c\n", "keys must be plain words"),
        ("a: &x [*x]\n", "an alias refers to the value that contains it"),
        (BOMB + "\n", "anchors and aliases expanded"),
        ("[" * 20000, "nested too deeply"),
        ("a: " + "9" * 5000 + "\n", "a value cannot be read"),
        ("# padding\n" * 110_000, "too large for a stage configuration"),
    ],
)
def test_broken_files(refused, text, expected):
    assert expected in refused(text)


def test_binary_garbage_and_special_files(refused, tmp_path):
    assert "cannot read" in refused(b"\xff\xfe\x00garbage")
    assert "cannot read" in refused(str(tmp_path))  # a directory
    if os.path.exists("/dev/zero"):
        assert "too large" in refused("/dev/zero")  # endless: read only up to the limit


def test_duplicate_keys(refused, base_text):
    assert "duplicate key 'app'" in refused(base_text + "app: billing\n")


@pytest.mark.parametrize(
    "path, value, expected",
    [
        (("app",), 123, "app: expected lowercase letters"),
        (("app",), "orders\n", "app: expected lowercase letters"),  # a block scalar's newline
        (("stages",), ["production"], "stages: expected a mapping"),
        (("defaults", "routing"), False, "defaults.routing: expected a mapping, got bool"),
        (("defaults", "wait", "timeout"), "soon", "defaults.wait.timeout: expected a duration"),
        (("defaults", "retire", "keep"), -1, "defaults.retire.keep: expected a whole number from 0 to 10"),
        (("defaults", "capacity"), {"min": "two", "max": 4}, "defaults.capacity.min: expected a whole number"),
        (("defaults", "kie"), {"verify": "yes"}, "defaults.kie.verify: expected true or false"),
        (
            ("defaults", "kie"),
            {"url": "http://{private_ip:>999999999}/"},
            "placeholder {private_ip:>999999999} is not allowed",
        ),
        (("stages", "production", "subnets"), "subnet-1", "stages.production.subnets: expected a list of subnet ids"),
        (
            ("stages", "production", "region"),
            "us-east-1",
            "the listener is in region eu-west-1, but region is us-east-1",
        ),
        (("stages", "production", "colour"), "blue", "stages.production.colour: unknown key"),
        (
            ("stages", "production", "launch-template"),
            {"user-data": "../../etc/passwd"},
            "is outside the configuration file's directory",
        ),
    ],
)
def test_wrong_values_name_their_key(refused, world, path, value, expected):
    document = scenario.config_document(world)
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert expected in refused(yaml.safe_dump(document, sort_keys=False))


def test_too_much_user_data(refused, world, tmp_path):
    (tmp_path / "user-data.sh").write_text("#" * 20_000)
    document = scenario.config_document(world, **{"launch-template": {"user-data": "user-data.sh"}})
    assert "larger than 16384 bytes" in refused(yaml.safe_dump(document))


def test_unknown_stage(refused, base_text):
    assert "--stage: unknown stage 'staging'; the file has: production" in refused(
        base_text, "--stage", "staging", "status"
    )


@pytest.mark.parametrize(
    "version",
    [
        "1.0;rm -rf /",
        "../../etc/passwd",
        "$(id)",
        "`id`",
        "1.0.0\n",
        "1.0.0 ",
        "",
        "a" * 65,
        "2.0.0/..",
        "2.0.0\x00",
    ],
)
def test_versions_with_shell_or_path_characters(refused, base_text, version):
    assert refused(base_text, "deploy", "--version", version).startswith(
        "kie-bluegreen: --version: version must look like"
    )


# -- generated input ---------------------------------------------------------------------------

ODD_STRINGS = [
    "../../etc/passwd",
    "$(id)",
    "`id`",
    "a;b",
    "1.0.0\n",
    "x" * 300,
    "\u00e9\U0001f600",
    "\x00",
    "canary",
    "all-at-once",
    "15m",
    "0s",
    "copy",
    "standby",
    "terminate",
    "subnet-0123abcd",
    "http://{private_ip}:8080/kie-server/services/rest/server",
    "{private_ip.__class__}",
    "*",
    "-1",
]
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 12),
    st.integers(),
    st.floats(),
    st.sampled_from(ODD_STRINGS),
    st.text(max_size=30),
    st.lists(st.sampled_from(ODD_STRINGS), max_size=3),
    st.dictionaries(st.sampled_from(["min", "max", "desired", "verify", "url", "x"]), st.integers(-1, 3), max_size=3),
)
# Values that are valid for some keys, so that many generated files get past the checks and the
# flows really run (on moto) with odd but legal settings.
VALID = {
    "strategy": ["canary", "all-at-once"],
    "timeout": ["1s", "5m", 90],
    "poll-interval": ["1s", 3],
    "keep": [0, 1, 3],
    "previous": ["standby", "scale-to-zero", "terminate"],
    "candidate": ["terminate", "keep"],
    "verify": [True, False],
    "deregistration-delay": ["0s", "2s"],
    "health-check-path": ["/", "/x?y=1"],
    "header": ["x-client-mode", "X-Canary"],
    "blue-value": ["b*", "BLUE"],
    "green-value": ["g?", "green"],
    "blue-priority": [1, 50000],
    "green-priority": [2, 49999],
    "capacity": ["copy", {"min": 1, "max": 2, "desired": 1}],
}
COMMANDS = ("status", "plan", "deploy", "promote", "rollback", "cleanup", "preflight", "iam-policy", "init")
GOOD_VERSIONS = st.sampled_from(["1.0.0", "2.0.0", "3.0.0-SNAPSHOT", "7.74.1.Final"])
VERSIONS = st.integers(0, 3).flatmap(
    lambda kind: GOOD_VERSIONS if kind else st.one_of(st.sampled_from(ODD_STRINGS), st.text(max_size=20))
)


def _paths(node, prefix=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield prefix + (key,)
            yield from _paths(value, prefix + (key,))


@st.composite
def documents(draw, base):
    """The world's configuration with one to three keys changed, removed or added."""
    document = yaml.safe_load(yaml.safe_dump(base))
    paths = list(_paths(document))
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(paths))
        parent = document
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(parent, dict):
            continue
        action = draw(st.sampled_from(["set", "delete", "add"]))
        if action == "set":
            valid = VALID.get(path[-1])
            parent[path[-1]] = draw(st.sampled_from(valid) if valid and draw(st.booleans()) else VALUES)
        elif action == "delete":
            parent.pop(path[-1], None)
        else:
            parent[draw(st.sampled_from(["x", "password", "strategy", "url", "user-data"]))] = draw(VALUES)
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


@st.composite
def command_lines(draw):
    command = draw(st.sampled_from(COMMANDS))
    argv = [command]
    if command in ("plan", "deploy", "init") or (command == "preflight" and draw(st.booleans())):
        argv += ["--version", draw(VERSIONS)]
    if command in ("plan", "deploy") and draw(st.booleans()):
        argv += ["--strategy", draw(st.sampled_from(["canary", "all-at-once", "big-bang"]))]
    if command == "rollback" and draw(st.booleans()):
        argv += ["--generation", str(draw(st.integers(-2, 5)))]
    head = []
    if draw(st.integers(0, 3)) == 0:
        head += ["--stage", draw(st.sampled_from(["production", "staging", "../x", ""]))]
    if draw(st.booleans()):
        head += ["--output", "json"]
    if draw(st.booleans()):
        head += ["--verbose"]
    return head + argv


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_generated_configurations_and_arguments(data, run, aws, world, writes, tmp_path, monkeypatch):
    """Whatever the input: a documented exit code, no traceback, and exit 2 changes nothing."""
    monkeypatch.setattr(
        KieClient, "check_container", lambda self, url, container, version: ContainerCheck(True, "fake")
    )
    base = scenario.config_document(world)
    kind = data.draw(st.integers(0, 9), label="kind")  # mostly the world's file, changed a little
    text = data.draw(
        st.text(max_size=80) if kind == 0 else st.just(BOMB) if kind == 1 else documents(base), label="config"
    )
    argv = data.draw(command_lines(), label="argv")
    path = tmp_path / "kie-deploy.yaml"
    path.write_text(text, encoding="utf-8")
    before = snapshot(aws, world.listener_arn)
    writes.clear()
    result = run(str(path), *argv)
    event(f"{next(a for a in argv if a in COMMANDS)}: exit {result.code}")
    assert result.code in (0, 2, 3, 4), result.err
    assert "Traceback" not in result.err
    if result.code == 2:
        assert not writes, f"exit 2 after writing {writes}: {result.err}"
        assert snapshot(aws, world.listener_arn) == before
