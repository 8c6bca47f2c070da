"""The stage keys of topologies, weighted routing, analysis and notifications, and the
versioned container id: parsed into typed, frozen values; every mistake named by its key path;
webhook URLs never shown. Also: every problem of a file is reported at once."""

from __future__ import annotations

import copy
import dataclasses
import json
import os

import jsonschema
import pytest
import yaml

from kie_bluegreen import config
from kie_bluegreen.errors import ConfigError

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCHEMA = os.path.join(ROOT, "resources", "kie-bluegreen", "kie-deploy.schema.json")
LISTENER = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/alb-ks/50dc6c495c0c9188/f2f7dc8efc522ab2"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:kie-releases"
SECRET = "T000SECRETTOKEN"  # stands for the token part of a webhook URL

BASE = {
    "app": "orders",
    "container": {"id": "app", "group-id": "com.myspace", "artifact-id": "app"},
    "defaults": {},
    "stages": {"production": {"listener-arn": LISTENER}},
}


def document(defaults=None, stage=None, container=None) -> dict:
    result = copy.deepcopy(BASE)
    result["defaults"].update(defaults or {})
    result["stages"]["production"].update(stage or {})
    result["container"].update(container or {})
    return result


def problems(doc) -> list[str]:
    with pytest.raises(ConfigError) as error:
        config.parse(doc, None)
    return str(error.value).splitlines()


def schema_validate(doc) -> None:
    with open(SCHEMA, encoding="utf-8") as handle:
        jsonschema.validate(doc, json.load(handle))


def test_defaults_of_the_new_keys():
    cfg = config.parse(document(), None)
    assert (cfg.topology, cfg.pair, cfg.notify) == ("per-release", None, ())
    assert cfg.routing.steps == (10, 50, 100) and cfg.routing.step_pause == 300
    assert cfg.analysis == config.AnalysisSettings(alarms=(), max_5xx_percent=None, bake=0)
    assert cfg.container_id("2.0.0") == "app" and not cfg.container.versioned


FULL = document(
    defaults={
        "topology": "fixed-pair",
        "pair": ["kie-orders-1", "kie-orders-2"],
        "routing": {"strategy": "weighted", "steps": [5, 25, 100], "step-pause": "2m"},
        "analysis": {"alarms": ["orders-5xx", "orders latency p99"], "max-5xx-percent": 1, "bake": "10m"},
        "notify": [
            {"sns": TOPIC},
            {"webhook": f"https://hooks.example.com/services/{SECRET}", "events": ["failed", "routed"]},
            {"webhook-env": "RELEASES_HOOK_URL", "events": ["promoted"]},
        ],
    },
    container={"id": "app-{version}"},
)


def test_every_new_key_is_typed_and_frozen():
    cfg = config.parse(FULL, None)
    assert cfg.topology == "fixed-pair" and cfg.pair == ("kie-orders-1", "kie-orders-2")
    assert (cfg.routing.strategy, cfg.routing.steps, cfg.routing.step_pause) == ("weighted", (5, 25, 100), 120)
    assert cfg.analysis == config.AnalysisSettings(("orders-5xx", "orders latency p99"), 1.0, 600)
    sns, webhook, from_env = cfg.notify
    assert (sns.kind, sns.sns, sns.events) == ("sns", TOPIC, config.NOTIFY_EVENTS)
    assert (webhook.kind, webhook.events) == ("webhook", ("routed", "failed"))  # in the events' own order
    assert webhook.wants("failed") and not webhook.wants("promoted")
    assert (from_env.kind, from_env.webhook_env, from_env.events) == ("webhook-env", "RELEASES_HOOK_URL", ("promoted",))
    assert SECRET not in repr(cfg)  # the webhook URL stays out of reprs (logs, tracebacks with --verbose)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.notify[0].sns = "x"  # type: ignore[misc]
    schema_validate(FULL)


def test_versioned_container_id():
    cfg = config.parse(FULL, None)
    assert cfg.container.versioned
    assert cfg.container_id("2.0.0-SNAPSHOT") == "app-2.0.0-SNAPSHOT"
    with pytest.raises(
        ConfigError,
        match=r"container.id: 'app-\{version\}' with version '2.0.0\+build.7' gives"
        r" 'app-2.0.0\+build.7', not a valid container id",
    ):
        cfg.container_id("2.0.0+build.7")  # '+' is allowed in versions, not in container ids
    with pytest.raises(ConfigError, match="--version: version must look like"):
        cfg.container_id("../x")
    assert config.parse(document(container={"id": "{version}"}), None).container_id("1.0") == "1.0"


MISTAKES = [
    ({"topology": "pair"}, "defaults.topology: expected one of per-release, fixed-pair, single-group, got 'pair'"),
    ({"topology": "fixed-pair", "pair": ["a"]}, "defaults.pair: expected two Auto Scaling group names"),
    ({"topology": "fixed-pair", "pair": ["a", "b", "c"]}, "defaults.pair: expected two Auto Scaling group names"),
    (
        {"topology": "fixed-pair", "pair": ["a", "a"]},
        "defaults.pair: the two Auto Scaling groups must differ, got 'a' twice",
    ),
    ({"topology": "fixed-pair", "pair": ["a:b", "c"]}, "defaults.pair: expected two Auto Scaling group names"),
    ({"topology": "fixed-pair", "pair": "a,b"}, "defaults.pair: expected two Auto Scaling group names"),
    ({"routing": {"strategy": "weighted", "steps": []}}, "defaults.routing.steps: expected a list of percentages"),
    ({"routing": {"steps": [0, 100]}}, "defaults.routing.steps: step 1: expected a whole number from 1 to 100"),
    ({"routing": {"steps": [50, 101]}}, "defaults.routing.steps: step 2: expected a whole number from 1 to 100"),
    ({"routing": {"steps": [10, True, 100]}}, "defaults.routing.steps: step 2: expected a whole number"),
    ({"routing": {"steps": [10, 10, 100]}}, "defaults.routing.steps: expected strictly increasing percentages"),
    (
        {"routing": {"steps": [10, 50]}},
        "defaults.routing.steps: the last step must be 100 (everyone on the new release), got 50",
    ),
    ({"routing": {"step-pause": "soon"}}, "defaults.routing.step-pause: expected a duration like 15m, got 'soon'"),
    (
        {"routing": {"header": "Host"}},
        "defaults.routing.header: an ALB http-header condition cannot match the Host header",
    ),
    (
        {"routing": {"header": "HOST"}},
        "defaults.routing.header: an ALB http-header condition cannot match the Host header",
    ),
    (
        {"routing": {"header": "host"}},
        "defaults.routing.header: an ALB http-header condition cannot match the Host header",
    ),
    ({"analysis": {"alarms": "orders-5xx"}}, "defaults.analysis.alarms: expected a list of CloudWatch alarm names"),
    ({"analysis": {"alarms": [""]}}, "defaults.analysis.alarms: expected CloudWatch alarm names (1-255"),
    ({"analysis": {"alarms": ["a" * 256]}}, "defaults.analysis.alarms: expected CloudWatch alarm names (1-255"),
    ({"analysis": {"alarms": ["a\nb"]}}, "defaults.analysis.alarms: expected CloudWatch alarm names (1-255"),
    ({"analysis": {"alarms": ["x", "x"]}}, "defaults.analysis.alarms: 'x' listed more than once"),
    ({"analysis": {"alarms": [f"a{n}" for n in range(101)]}}, "defaults.analysis.alarms: at most 100 alarms, got 101"),
    (
        {"analysis": {"max-5xx-percent": 101}},
        "defaults.analysis.max-5xx-percent: expected a number from 0 to 100, got 101",
    ),
    ({"analysis": {"max-5xx-percent": "1%"}}, "defaults.analysis.max-5xx-percent: expected a number from 0 to 100"),
    ({"analysis": {"bake": -1}}, "defaults.analysis.bake: expected a duration like 15m, got -1"),
    (
        {"analysis": {"alarm": ["x"]}},
        "defaults.analysis.alarm: unknown key; allowed here: alarms, bake, max-5xx-percent; did you mean 'alarms'?",
    ),
    ({"notify": {"sns": TOPIC}}, "defaults.notify: expected a list of entries"),
    ({"notify": ["x"]}, "defaults.notify[0]: expected a mapping with one of sns | webhook | webhook-env"),
    ({"notify": [{}]}, "defaults.notify[0]: expected exactly one of sns | webhook | webhook-env, got none"),
    (
        {"notify": [{"sns": TOPIC, "webhook-env": "X"}]},
        "defaults.notify[0]: expected exactly one of sns | webhook | webhook-env, got sns, webhook-env",
    ),
    (
        {"notify": [{"snss": TOPIC}]},
        "defaults.notify[0].snss: unknown key; allowed here: events, sns, webhook, webhook-env; did you mean 'sns'?",
    ),
    (
        {"notify": [{"sns": "arn:aws:sqs:eu-west-1:123456789012:q"}]},
        "defaults.notify[0].sns: expected an SNS topic ARN",
    ),
    (
        {"notify": [{"sns": TOPIC.replace("eu-west-1", "us-east-1")}]},
        "defaults.notify[0].sns: the topic is in region us-east-1; it must be in the stage's region eu-west-1",
    ),
    (
        {"notify": [{"webhook-env": "RELEASES-URL"}]},
        "defaults.notify[0].webhook-env: expected an environment variable name",
    ),
    ({"notify": [{"sns": TOPIC, "events": []}]}, "defaults.notify[0].events: expected a list of events"),
    (
        {"notify": [{"sns": TOPIC, "events": ["rolledback"]}]},
        "defaults.notify[0].events: unknown event 'rolledback'; allowed: deploy-started, candidate-ready, routed, promoted,"
        " rolled-back, failed; did you mean 'rolled-back'?",
    ),
    (
        {"notify": [{"sns": TOPIC, "events": ["routed", "routed"]}]},
        "defaults.notify[0].events: an event is listed more than once",
    ),
]


@pytest.mark.parametrize(
    "defaults, message", MISTAKES, ids=[m[1].split(":")[0] + f"-{i}" for i, m in enumerate(MISTAKES)]
)
def test_every_mistake_names_its_key(defaults, message):
    found = problems(document(defaults=defaults))
    assert any(message in line for line in found), found


@pytest.mark.parametrize(
    "defaults, message", MISTAKES, ids=[m[1].split(":")[0] + f"-{i}" for i, m in enumerate(MISTAKES)]
)
def test_schema_refuses_what_the_parser_refuses(defaults, message):
    if "stage's region" in message:
        pytest.skip("the topic's region against the stage's: a rule across keys, the parser's job")
    with pytest.raises(jsonschema.ValidationError):
        schema_validate(document(defaults=defaults))


@pytest.mark.parametrize(
    "template, message",
    [
        ("app-{ver}", "container.id: only the placeholder {version} is allowed"),
        ("app-{version:>99}", "container.id: only the placeholder {version} is allowed"),
        ("app-{version!r}", "container.id: only the placeholder {version} is allowed"),
        ("{version}-{version}", "container.id: {version} may appear once"),
        ("app {version}", "container.id: expected a container id"),
        ("app-{version", "container.id: expected a container id"),
        ("{}", "container.id: only the placeholder {version} is allowed"),
    ],
)
def test_container_id_templates(template, message):
    assert any(message in line for line in problems(document(container={"id": template})))


# -- rules across keys ---------------------------------------------------------------------------


def test_canary_and_weighted_need_two_fleets():
    found = problems(document(defaults={"routing": {"strategy": "canary"}}, stage={"topology": "single-group"}))
    assert found == [
        "defaults.routing.strategy: canary cannot be used with topology: single-group"
        " (stages.production.topology): it sends part of the traffic to the new release while the rest"
        " stays on the old one, which needs two fleets; use all-at-once, or the topology per-release or"
        " fixed-pair"
    ]
    assert problems(document(stage={"topology": "single-group", "routing": {"strategy": "weighted"}}))[0].startswith(
        "stages.production.routing.strategy: weighted cannot be used with topology: single-group"
    )
    # canary is the default strategy: single-group alone is refused too
    assert problems(document(stage={"topology": "single-group"}))[0].startswith(
        "stages.production.routing.strategy: canary"
    )
    cfg = config.parse(document(stage={"topology": "single-group", "routing": {"strategy": "all-at-once"}}), None)
    assert (cfg.topology, cfg.routing.strategy) == ("single-group", "all-at-once")


def test_pair_only_with_fixed_pair():
    assert problems(document(defaults={"pair": ["a", "b"]})) == [
        "defaults.pair: only used with topology: fixed-pair (topology is per-release)"
    ]
    cfg = config.parse(document(defaults={"pair": ["a", "b"]}, stage={"topology": "fixed-pair"}), None)
    assert cfg.pair == ("a", "b")
    assert config.parse(document(stage={"topology": "fixed-pair"}), None).pair is None  # optional


def test_weighted_settings_may_stay_while_another_strategy_is_chosen():
    """Shared defaults can carry the weighted steps while one stage (or --strategy) picks canary."""
    cfg = config.parse(
        document(
            defaults={"routing": {"strategy": "weighted", "steps": [20, 100]}},
            stage={"routing": {"strategy": "canary"}},
        ),
        None,
    )
    assert (cfg.routing.strategy, cfg.routing.steps) == ("canary", (20, 100))


def test_a_stage_notify_list_replaces_the_defaults_list():
    cfg = config.parse(
        document(defaults={"notify": [{"sns": TOPIC}]}, stage={"notify": [{"webhook-env": "HOOK"}]}), None
    )
    assert [entry.kind for entry in cfg.notify] == ["webhook-env"]


# -- webhook URLs are secrets -------------------------------------------------------------------

BAD_WEBHOOKS = [
    f"http://hooks.example.com/services/{SECRET}",  # plain http off this machine
    f"hooks.example.com/services/{SECRET}",  # no scheme
    f"ftp://hooks.example.com/{SECRET}",
    f"https:///{SECRET}",  # no host
    f"https://hooks.example.com/{SECRET} x",  # a space
    f"https://hooks.example.com/{SECRET}/" + "a" * 2100,  # too long
    f"https://[{SECRET}/",  # not parseable
    f"http://localhost.{SECRET}.example.com/",  # not localhost
]


@pytest.mark.parametrize("url", BAD_WEBHOOKS)
def test_a_bad_webhook_url_is_refused_without_being_shown(url):
    found = problems(document(defaults={"notify": [{"webhook": url}]}))
    assert found[0].startswith("defaults.notify[0].webhook: ")
    assert SECRET not in "\n".join(found)


def test_webhook_urls_that_are_accepted():
    for url in (
        "https://hooks.example.com/services/x",
        "http://localhost:8080/hook",
        "http://127.0.0.1/hook",
        "https://user:token@hooks.example.com/x",
    ):
        cfg = config.parse(document(defaults={"notify": [{"webhook": url}]}), None)
        assert cfg.notify[0].webhook == url
        schema_validate(document(defaults={"notify": [{"webhook": url}]}))


def test_a_webhook_in_a_list_or_number_is_not_shown_either():
    for value in ([f"https://hooks.example.com/{SECRET}"], {"url": SECRET}):
        assert SECRET not in "\n".join(problems(document(defaults={"notify": [{"webhook": value}]})))
    assert SECRET not in "\n".join(problems(document(defaults={"notify": f"https://hooks.example.com/{SECRET}"})))
    assert SECRET not in "\n".join(problems(document(defaults={"notify": [f"https://hooks.example.com/{SECRET}"]})))


def test_a_yaml_syntax_error_does_not_quote_the_line(tmp_path):
    path = tmp_path / "kie-deploy.yaml"
    path.write_text(yaml.safe_dump(BASE) + f"notify:\n  - webhook: https://hooks.example.com/{SECRET}: [\n")
    with pytest.raises(ConfigError) as error:
        config.load(str(path))
    assert "not valid YAML" in str(error.value) and "(line " in str(error.value)
    assert SECRET not in str(error.value)


# -- every problem at once -------------------------------------------------------------------------


def test_every_problem_of_the_file_is_reported_at_once():
    doc = document(
        defaults={"wait": {"tmeout": "5m", "poll-interval": "soon"}, "routing": {"strategy": "canry"}},
        stage={"retire": {"previus": "standby"}, "subnets": "subnet-1"},
    )
    doc["contaner"] = {}
    doc["app"] = "Orders"
    found = problems(doc)
    assert found == [
        "contaner: unknown key; allowed here: app, container, defaults, jenkins, stages; did you mean 'container'?",
        "app: expected lowercase letters, digits and '-' (used in AWS names), got 'Orders'",
        "defaults.routing.strategy: expected one of canary, all-at-once, weighted, got 'canry'; did you mean 'canary'?",
        "defaults.wait.tmeout: unknown key; allowed here: poll-interval, timeout; did you mean 'timeout'?",
        "defaults.wait.poll-interval: expected a duration like 15m, got 'soon'",
        "stages.production.retire.previus: unknown key; allowed here: candidate, keep, previous; did you mean 'previous'?",
        "stages.production.subnets: expected a list of subnet ids like [subnet-0123abcd], got 'subnet-1'",
    ]


def test_unknown_keys_of_both_sides_are_all_reported():
    found = problems(document(defaults={"routng": {}, "colour": 1}, stage={"wiat": {}}))
    assert [line.split(":")[0] for line in found] == ["defaults.routng", "defaults.colour", "stages.production.wiat"]
    assert "did you mean 'routing'?" in found[0] and "did you mean 'wait'?" in found[2]


def test_a_misspelt_key_far_from_any_other_gets_no_guess():
    assert problems(document(defaults={"zzz": 1})) == [
        "defaults.zzz: unknown key; allowed here: analysis, capacity, kie, launch-template, listener-arn, notify, pair,"
        " region, retire, routing, subnets, target-group, topology, wait"
    ]
