"""Stage configuration: defaults merge, durations, and every mistake named by its key path."""

from __future__ import annotations

import copy
import json
import os

import jsonschema
import pytest
import yaml

from kie_bluegreen import config
from kie_bluegreen.errors import ConfigError

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCHEMA = os.path.join(ROOT, "resources", "kie-bluegreen", "kie-deploy.schema.json")
TEMPLATE = os.path.join(ROOT, "resources", "kie-bluegreen", "kie-deploy.yaml")
LISTENER = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/alb-ks/50dc6c495c0c9188/f2f7dc8efc522ab2"

BASE = {
    "app": "orders",
    "container": {"id": "app", "group-id": "com.myspace", "artifact-id": "app"},
    "defaults": {"wait": {"timeout": "15m"}, "retire": {"previous": "standby"}},
    "stages": {"production": {"listener-arn": LISTENER, "wait": {"poll-interval": "5s"}}},
}


def with_change(path: str, value, document=None):
    """A copy of BASE with the value at a dotted path replaced (or deleted when value is DELETE)."""
    document = copy.deepcopy(document or BASE)
    *parents, last = path.split(".")
    node = document
    for key in parents:
        node = node.setdefault(key, {})
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return document


DELETE = object()


def test_defaults_are_merged_under_the_stage():
    stage = config.parse(BASE, None)
    assert stage.stage == "production"
    assert (stage.wait.timeout, stage.wait.poll_interval) == (900, 5)
    assert stage.retire.previous == "standby" and stage.retire.keep == 1
    assert stage.region == "eu-west-1"  # from the listener ARN
    assert stage.capacity is None  # copy
    assert stage.group_name(3) == "orders-production-g3"


@pytest.mark.parametrize("text,seconds", [(90, 90), ("90", 90), ("90s", 90), ("15m", 900), ("1h", 3600)])
def test_durations(text, seconds):
    assert config.parse_duration(text) == seconds


MISTAKES = [
    (
        "stages.production.wait.timeout",
        "soon",
        "stages.production.wait.timeout: expected a duration like 15m, got 'soon'",
    ),
    ("defaults.wait.tmeout", "1m", "defaults.wait.tmeout: unknown key; allowed here: poll-interval, timeout"),
    ("stages.production.routng", {}, "stages.production.routng: unknown key"),
    (
        "stages.production.routing.strategy",
        "blue-green",
        "stages.production.routing.strategy: expected one of canary, all-at-once, weighted, got 'blue-green'",
    ),
    (
        "defaults.retire.previous",
        "delete",
        "defaults.retire.previous: expected one of standby, scale-to-zero, terminate",
    ),
    ("defaults.retire.keep", -1, "defaults.retire.keep: expected a whole number from 0 to 10, got -1"),
    ("defaults.kie.verify", "yes", "defaults.kie.verify: expected true or false, got 'yes'"),
    ("defaults.kie.url", "http://{ip}:8080/", "defaults.kie.url: unknown placeholder 'ip'"),
    ("defaults.capacity", {"min": 3, "max": 2}, "defaults.capacity: expected min <= desired <= max"),
    ("defaults.capacity", "half", "defaults.capacity: expected 'copy' or a mapping"),
    (
        "stages.production.listener-arn",
        "arn:aws:elasticloadbalancing:eu-west-1:123:loadbalancer/app/x",
        "stages.production.listener-arn: expected an ALB listener ARN",
    ),
    ("stages.production.region", "us-east-1", "the listener is in region eu-west-1, but region is us-east-1"),
    ("stages.production.routing.green-priority", 100, "green-priority: must differ from blue-priority"),
    ("stages.production.routing.green-value", "BLUE", "green-value: must differ from blue-value"),
    ("stages.production.routing.header", "x client", "stages.production.routing.header: expected an HTTP header name"),
    ("stages.production.subnets", ["subnet-1;rm"], "stages.production.subnets: expected a list of subnet ids"),
    ("stages.production.launch-template.user-data", "missing.sh", "user-data: file 'missing.sh' not found"),
    ("app", "Orders", "app: expected lowercase letters, digits and '-'"),
    ("app", "a-very-long-application-name", "at most 24 fit in a target group name"),
    ("container.group-id", DELETE, "container.group-id: missing"),
    ("container.version", "1.0", "container.version: unknown key"),
    ("stages", {}, "stages: empty"),
    ("stages.production.listener-arn", DELETE, "stages.production.listener-arn: missing"),
    ("jenkinz", {}, "jenkinz: unknown key"),
]


@pytest.mark.parametrize("path,value,message", MISTAKES, ids=[m[0] + "=" + repr(m[1])[:20] for m in MISTAKES])
def test_every_mistake_names_its_key(path, value, message):
    with pytest.raises(ConfigError) as error:
        config.parse(with_change(path, value), None, base_dir=ROOT)
    assert message in str(error.value)


def test_stage_selection():
    two = with_change("stages.staging", {"listener-arn": LISTENER})
    with pytest.raises(ConfigError, match="--stage: required, the file has several stages: production, staging"):
        config.parse(two, None)
    with pytest.raises(ConfigError, match="--stage: unknown stage 'prod'; the file has: production, staging"):
        config.parse(two, "prod")
    assert config.parse(two, "staging").stage == "staging"


def test_file_problems(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="configuration file not found"):
        config.load(str(missing))
    duplicate = tmp_path / "dup.yaml"
    duplicate.write_text("app: a\napp: b\n")
    with pytest.raises(ConfigError, match="line 2: duplicate key 'app'"):
        config.load(str(duplicate))
    broken = tmp_path / "broken.yaml"
    broken.write_text("app: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        config.load(str(broken))
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just text\n")
    with pytest.raises(ConfigError, match=r"\(top level\): expected a mapping"):
        config.load(str(scalar))


def test_version_argument():
    assert config.version_argument("2.0.0-SNAPSHOT") == "2.0.0-SNAPSHOT"
    for bad in ("1.0'; touch /tmp/x; echo '", "../../etc", "", "1.0 beta", "$(id)"):
        with pytest.raises(ConfigError, match="--version: version must look like 2.0.0"):
            config.version_argument(bad)


# -- the JSON Schema shipped for editors stays in step with the parser --------------------------


def _schema():
    with open(SCHEMA, encoding="utf-8") as handle:
        return json.load(handle)


def _example_documents(tmp_path):
    from kie_bluegreen.sandbox import scenario

    world = scenario.World("eu-west-1", "vpc-1", ("subnet-1",), "lt-1", "lb", LISTENER, "asg", "tg", "tg2", "rule")
    with open(TEMPLATE, encoding="utf-8") as handle:
        template = yaml.safe_load(handle)
    return {"template": template, "base": BASE, "scenario": scenario.config_document(world)}


def test_every_example_config_is_valid_for_parser_and_schema(tmp_path):
    schema = _schema()
    for document in _example_documents(tmp_path).values():
        jsonschema.validate(document, schema)
        for stage in document["stages"]:
            config.parse(document, stage)


def test_schema_rejects_what_the_parser_rejects():
    schema = _schema()
    for path, value, _ in MISTAKES:
        if (
            path.endswith(("listener-arn", "region", "green-priority", "green-value", "user-data", "kie.url"))
            or path == "app"
            and value == "a-very-long-application-name"
            or path == "defaults.capacity"
            and isinstance(value, dict)
        ):
            continue  # cross-field rules and file checks: the parser's job, beyond a schema
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(with_change(path, value), schema)


def test_schema_knows_exactly_the_parser_keys():
    schema = _schema()
    stage = schema["$defs"]["stage"]["properties"]
    assert set(stage) == config.STAGE_KEYS
    sections = {
        "routing": config.RoutingSettings,
        "wait": config.WaitSettings,
        "retire": config.RetireSettings,
        "kie": config.KieSettings,
        "target-group": config.TargetGroupSettings,
        "launch-template": config.LaunchTemplateSettings,
        "analysis": config.AnalysisSettings,
    }
    for key, settings in sections.items():
        fields = {name.replace("_", "-") for name in settings.__dataclass_fields__}
        assert set(stage[key]["properties"]) == fields, key
        for name, prop in stage[key]["properties"].items():
            if "default" in prop:
                assert getattr(settings(), name.replace("-", "_")) == _typed_default(prop), f"{key}.{name}"
    assert config.StageConfig.__dataclass_fields__["topology"].default == stage["topology"]["default"]
    assert set(stage["topology"]["enum"]) == set(config.TOPOLOGIES)
    assert set(stage["routing"]["properties"]["strategy"]["enum"]) == set(config.STRATEGIES)
    notify = stage["notify"]["items"]["properties"]
    assert set(notify) == set(config.NOTIFY_KINDS) | {"events"}
    assert notify["events"]["items"]["enum"] == list(config.NOTIFY_EVENTS)


def _typed_default(prop: dict):
    """A schema default as the parser types it: durations in seconds, lists as tuples."""
    if prop.get("$ref") == "#/$defs/duration":
        return config.parse_duration(prop["default"])
    return tuple(prop["default"]) if isinstance(prop["default"], list) else prop["default"]
