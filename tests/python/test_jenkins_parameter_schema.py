"""One parameter schema: the Jenkins steps and the runner accept and refuse the same versions and
stage names, because both read resources/kie-bluegreen/parameters.json.

The steps run on Groovy 2.4 in the test harness (tests/groovy/e2e/StepVerdicts.groovy); the
runner's own checks run here over the same list of values."""

from __future__ import annotations

import json
import os
import random
import shutil
import string
import subprocess

import pytest
import yaml
from helpers import GROOVY_TESTS, ROOT, java_home

from kie_bluegreen import config, errors, model, parameters
from kie_bluegreen.errors import ConfigError

VERSIONS = [
    "2.0.0",
    "2.0.0-SNAPSHOT",
    "7.74.1.Final",
    "2.0.0+build.1",
    "v2",
    "1",
    "2.0.0_rc1",
    "a" * 64,
    "",
    " 2.0.0",
    "2.0.0 ",
    "2.0.0\n",
    "-1",
    ".2",
    "+2",
    "2.0.0/../x",
    "2.0.0;reboot",
    "$(id)",
    "2.0.0'",
    "a" * 65,
    "2.0.0:1",
    "é2",
]
STAGES = [
    "production",
    "staging",
    "prod-2",
    "eu-west-1-prod",
    "a",
    "a" * 23,
    "my_stage",
    "prod-",
    "-prod",
    "Production",
    "prod stage",
    "prod.1",
    "a" * 24,
    "",
    "prod;id",
    "ü",
]


def random_values(alphabet: str, count: int, seed: int) -> list[str]:
    generator = random.Random(seed)
    return ["".join(generator.choice(alphabet) for _ in range(generator.randint(1, 8))) for _ in range(count)]


CASES = [
    {"kind": "version", "value": v}
    for v in VERSIONS + random_values(string.ascii_letters + string.digits + "._+-/ ;", 40, 1)
] + [
    {"kind": "stage", "value": s} for s in STAGES + random_values(string.ascii_lowercase + string.digits + "-_.", 40, 2)
]


def runner_accepts_version(value: str) -> bool:
    try:
        model.check_version(value)
        return True
    except ValueError:
        return False


def runner_accepts_stage(value: str, tmp_path) -> bool:
    """The runner's configuration check of a stage name (app 'a': only the stage's own length counts)."""
    path = tmp_path / "kie-deploy.yaml"
    document = {
        "app": "a",
        "container": {"id": "app", "group-id": "com.myspace", "artifact-id": "app"},
        "stages": {
            value: {
                "listener-arn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/alb-ks/"
                "0123456789abcdef/0123456789abcdef"
            }
        },
    }
    path.write_text(yaml.safe_dump(document))
    try:
        config.load(str(path), value)
        return True
    except ConfigError:
        return False


@pytest.fixture(scope="module")
def step_verdicts(tmp_path_factory):
    if shutil.which("groovy") is None:
        pytest.skip("groovy is installed by `make test` (tests/groovy/run.sh)")
    values = tmp_path_factory.mktemp("values") / "values.json"
    values.write_text(json.dumps(CASES))
    done = subprocess.run(
        [
            "groovy",
            "-cp",
            f"{GROOVY_TESTS}:{GROOVY_TESTS}/stubs:{ROOT}/src",
            f"-Dkie.root={ROOT}",
            os.path.join(GROOVY_TESTS, "e2e", "StepVerdicts.groovy"),
            str(values),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, JAVA_HOME=java_home()),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_steps_and_runner_agree_on_every_version(step_verdicts):
    versions = [v for v in step_verdicts if v["kind"] == "version"]
    disagreements = [
        (v["value"], v["accepted"]) for v in versions if v["accepted"] != runner_accepts_version(v["value"])
    ]
    assert disagreements == []
    assert {v["value"]: v["accepted"] for v in versions if v["value"] in ("2.0.0+build.1", "v2")} == {
        "2.0.0+build.1": True,
        "v2": True,
    }


def test_steps_and_runner_agree_on_every_stage_name(step_verdicts, tmp_path):
    stages = [v for v in step_verdicts if v["kind"] == "stage"]
    disagreements = [
        (v["value"], v["accepted"]) for v in stages if v["accepted"] != runner_accepts_stage(v["value"], tmp_path)
    ]
    assert disagreements == []
    assert {v["value"]: v["accepted"] for v in stages if v["value"] in ("my_stage", "prod-")} == {
        "my_stage": False,
        "prod-": False,
    }


def test_what_the_steps_refuse_they_refuse_before_the_lock(step_verdicts):
    refused = [v for v in step_verdicts if not v["accepted"]]
    assert len(refused) > 20
    assert [v["value"] for v in refused if v["lockTaken"]] == []
    assert all(v["message"] for v in refused)


def test_the_runner_reads_its_patterns_and_exit_codes_from_the_shared_file():
    assert model.VERSION_PATTERN.pattern == parameters.schema()["values"]["version"]["pattern"]
    assert config.NAME_PATTERN.pattern == parameters.schema()["values"]["name"]["pattern"]
    assert config.NAME_BUDGET == parameters.name_budget() == 32 - len("--g99999")
    assert errors.EXIT_CODES == parameters.exit_codes()
    codes = {cls.exit_code for cls in (errors.DeploymentFailed, errors.ConfigError, errors.Refused, errors.AwsError)}
    assert codes | {0} == set(errors.EXIT_CODES)


def test_the_stage_rule_of_the_steps_is_the_runner_name_rule_within_the_budget():
    values = parameters.schema()["values"]
    assert values["stage"]["pattern"] == values["name"]["pattern"]
    assert values["stage"]["maxLength"] == parameters.name_budget() - 1  # the shortest app has one character


def test_the_strategies_of_the_steps_are_the_runner_strategies():
    from kie_bluegreen import commands

    assert set(parameters.pattern("strategy").pattern.split("|")) == set(commands.STRATEGIES)


def test_every_weight_the_steps_pass_is_a_weight_the_runner_takes():
    """The steps' weighted steps reach `phase shift --weight "$KIE_BG_WEIGHT"`: each value the
    shared pattern accepts is one the runner's argument and range check accept."""
    from kie_bluegreen import cli

    accepted = [str(w) for w in range(-5, 120) if parameters.pattern("weight").fullmatch(str(w))]
    assert accepted == [str(w) for w in range(1, 101)]
    for refused in ("0", "01", "+5", " 5", "5.0", "1000", "", "5%"):
        assert not parameters.pattern("weight").fullmatch(refused), refused
    parser = cli.build_parser()
    for weight in accepted:
        args = parser.parse_args(["phase", "shift", "--weight", weight])
        assert 0 <= args.weight <= 100 and str(args.weight) == weight
