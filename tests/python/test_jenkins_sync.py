"""`kie-bluegreen jenkins sync-jobs` against a real HTTP server speaking Jenkins' REST API,
through python-jenkins: creation, idempotence, partial updates, dry run, clashes and errors."""

import json
import xml.etree.ElementTree as ET

import pytest
from fake_jenkins import (
    FOLDER,
    FREESTYLE,
    ITEM_READ,
    OVERALL_READ,
    USER,
    WORKFLOW_JOB,
    write_config,
)

from kie_bluegreen import cli
from kie_bluegreen.jenkins.job_xml import parse, render
from kie_bluegreen.jenkins.jobs import desired_jobs
from kie_bluegreen.jenkins.settings import job_settings

JOBS = [
    "kie/orders-production-promote",
    "kie/orders-production-rollback",
    "kie/orders-staging-promote",
    "kie/orders-staging-rollback",
]


@pytest.fixture
def config_path(tmp_path):
    return write_config(tmp_path / "kie-deploy.yaml", jenkins={"folder": "kie", "library": "kie-bluegreen@v1"})


def sync(capsys, clock, config_path, *extra):
    code = cli.main(["--config", config_path, "--output", "json", "jenkins", "sync-jobs", *extra], clock=clock)
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def test_first_sync_creates_the_folder_and_four_pipeline_jobs(jenkins_env, fake_jenkins, config_path, capsys):
    code, result, _ = sync(capsys, jenkins_env, config_path)

    assert code == 0
    assert result["command"] == "jenkins sync-jobs" and result["result"] == "ok"
    assert fake_jenkins.items["kie"].kind == FOLDER
    assert sorted(name for name in fake_jenkins.items if name != "kie") == JOBS
    assert all(fake_jenkins.items[name].kind == WORKFLOW_JOB for name in JOBS)
    assert result["changes"] == ["create folder kie"] + [f"create job {name}" for name in JOBS]
    # What Jenkins stored is what the configuration asks for, parameters and script included.
    stored = ET.fromstring(fake_jenkins.items["kie/orders-staging-rollback"].config_xml)
    names = [p.findtext("name") for p in stored.iter() if p.tag.endswith("ParameterDefinition")]
    assert names == ["CONFIRM", "REASON", "GENERATION"]
    assert "kieRollback(config: 'kie-deploy.yaml', stage: 'staging'" in stored.findtext("definition/script")


def test_second_sync_with_nothing_changed_makes_no_write_call(jenkins_env, fake_jenkins, config_path, capsys):
    sync(capsys, jenkins_env, config_path)
    writes_before = len(fake_jenkins.writes())

    code, result, _ = sync(capsys, jenkins_env, config_path)

    assert code == 0 and result["result"] == "unchanged" and result["changes"] == []
    assert len(fake_jenkins.writes()) == writes_before
    assert {job["operation"] for job in result["jobs"]} == {"unchanged"}


def test_a_changed_stage_reconfigures_only_its_jobs(jenkins_env, fake_jenkins, tmp_path, config_path, capsys):
    sync(capsys, jenkins_env, config_path)
    writes_before = len(fake_jenkins.writes())
    changed = write_config(
        tmp_path / "kie-deploy.yaml",
        jenkins={"folder": "kie", "library": "kie-bluegreen@v1"},
        overrides={"staging": {"wait": {"timeout": "30m"}}},
    )

    code, result, _ = sync(capsys, jenkins_env, changed)

    new_writes = fake_jenkins.writes()[writes_before:]
    assert code == 0
    assert [path for _, path in new_writes] == [
        "/job/kie/job/orders-staging-promote/config.xml",
        "/job/kie/job/orders-staging-rollback/config.xml",
    ]
    assert result["changes"] == [
        "update job kie/orders-staging-promote (pipeline script)",
        "update job kie/orders-staging-rollback (pipeline script)",
    ]
    assert "timeout: 30m" in _embedded_yaml(fake_jenkins.items["kie/orders-staging-promote"].config_xml)


def _embedded_yaml(config_xml: str) -> str:
    import base64
    import re

    script = ET.fromstring(config_xml).findtext("definition/script")
    return base64.b64decode(re.search(r"text: '([A-Za-z0-9+/=]+)'", script)[1]).decode()


def test_dry_run_shows_the_changes_and_writes_nothing(jenkins_env, fake_jenkins, config_path, capsys):
    code, result, _ = sync(capsys, jenkins_env, config_path, "--dry-run")

    assert code == 0 and result["dry_run"] is True
    assert len(result["changes"]) == 5
    assert fake_jenkins.writes() == [] and fake_jenkins.items == {}


def test_dry_run_text_lists_each_job(jenkins_env, fake_jenkins, config_path, capsys):
    code = cli.main(["--config", config_path, "jenkins", "sync-jobs", "--dry-run"], clock=jenkins_env)
    out = capsys.readouterr().out

    assert code == 0
    assert "create    job    kie/orders-production-promote" in out
    assert "dry run: 5 change(s) shown, nothing was changed" in out


def test_stage_option_syncs_one_stage(jenkins_env, fake_jenkins, config_path, capsys):
    code, result, _ = sync(capsys, jenkins_env, config_path, "--stage", "production")

    assert code == 0
    assert sorted(n for n in fake_jenkins.items if n != "kie") == JOBS[:2]


def test_a_job_edited_by_hand_is_put_back(jenkins_env, fake_jenkins, config_path, capsys):
    sync(capsys, jenkins_env, config_path)
    item = fake_jenkins.items["kie/orders-production-promote"]
    item.config_xml = item.config_xml.replace("<defaultValue>false</defaultValue>", "<defaultValue>true</defaultValue>")

    code, result, _ = sync(capsys, jenkins_env, config_path)

    assert result["changes"] == ["update job kie/orders-production-promote (parameters)"]
    assert "<defaultValue>false</defaultValue>" in item.config_xml


def test_a_freestyle_job_of_the_same_name_is_refused_and_nothing_is_written(
    jenkins_env, fake_jenkins, config_path, capsys
):
    fake_jenkins.add_folder("kie")
    fake_jenkins.add_item("kie/orders-staging-rollback", "<project><builders/></project>")

    code, result, err = sync(capsys, jenkins_env, config_path)

    assert code == 3 and result["result"] == "refused"
    assert f"kie/orders-staging-rollback exists but is not a pipeline job ({FREESTYLE})" in err
    assert fake_jenkins.writes() == []
    assert fake_jenkins.items["kie/orders-staging-rollback"].kind == FREESTYLE


def test_a_pipeline_job_kie_bluegreen_did_not_make_needs_adopt(jenkins_env, fake_jenkins, config_path, capsys):
    fake_jenkins.add_folder("kie")
    spec = desired_jobs(config_path, job_settings(config_path))[0].spec
    foreign = render(
        spec.__class__(description="Hand-made", parameters=(), concurrent_builds=True, definition=spec.definition)
    )
    fake_jenkins.add_item("kie/orders-production-promote", foreign)

    code, _, err = sync(capsys, jenkins_env, config_path)
    assert code == 3 and "did not create; rename it, or take it over with --adopt" in err
    assert fake_jenkins.writes() == []

    code, result, _ = sync(capsys, jenkins_env, config_path, "--adopt")
    assert code == 0
    assert "update job kie/orders-production-promote (description, parameters, concurrent builds)" in result["changes"]


def test_a_folder_path_that_is_a_job_is_refused(jenkins_env, fake_jenkins, config_path, capsys):
    fake_jenkins.add_item("kie", "<project/>")

    code, _, err = sync(capsys, jenkins_env, config_path)

    assert code == 3 and "kie exists in Jenkins but is not a folder" in err
    assert fake_jenkins.writes() == []


def test_jobs_at_top_level_without_folder(jenkins_env, fake_jenkins, tmp_path, capsys):
    code, _, _ = sync(capsys, jenkins_env, write_config(tmp_path / "k.yaml", stages=("production",)))

    assert code == 0
    assert sorted(fake_jenkins.items) == ["orders-production-promote", "orders-production-rollback"]
    assert parse(fake_jenkins.items["orders-production-promote"].config_xml).concurrent_builds is False


# --- errors ------------------------------------------------------------------------------------


def test_missing_job_create_permission_is_named(jenkins_env, fake_jenkins, config_path, capsys):
    fake_jenkins.permissions[USER] = {OVERALL_READ, ITEM_READ}

    code, result, err = sync(capsys, jenkins_env, config_path)

    assert code == 4 and result["result"] == "error"
    assert "cannot create kie: Jenkins user 'deployer' lacks the Job/Create permission (HTTP 403)" in err


def test_missing_job_configure_permission_is_named_on_update(jenkins_env, fake_jenkins, config_path, capsys):
    sync(capsys, jenkins_env, config_path)
    item = fake_jenkins.items["kie/orders-staging-promote"]
    item.config_xml = item.config_xml.replace("<sandbox>true</sandbox>", "<sandbox>false</sandbox>")
    fake_jenkins.permissions[USER] = {OVERALL_READ, ITEM_READ, "hudson.model.Item.ExtendedRead"}

    code, _, err = sync(capsys, jenkins_env, config_path)

    assert code == 4
    assert (
        "cannot reconfigure kie/orders-staging-promote: Jenkins user 'deployer' lacks the Job/Configure permission"
        in err
    )


def test_reading_a_job_configuration_needs_extended_read(jenkins_env, fake_jenkins, config_path, capsys):
    sync(capsys, jenkins_env, config_path)
    fake_jenkins.permissions[USER] = {OVERALL_READ, ITEM_READ}

    code, _, err = sync(capsys, jenkins_env, config_path)

    assert code == 4 and "lacks the Job/ExtendedRead permission" in err


def test_missing_overall_read_is_named(jenkins_env, fake_jenkins, config_path, capsys):
    fake_jenkins.permissions[USER] = set()

    code, _, err = sync(capsys, jenkins_env, config_path)

    assert code == 4 and "lacks the Overall/Read permission" in err


def test_a_wrong_token_says_so_without_printing_it(jenkins_env, fake_jenkins, config_path, capsys, monkeypatch):
    monkeypatch.setenv("JENKINS_API_TOKEN", "wrong-token-value")

    code, _, err = sync(capsys, jenkins_env, config_path)

    assert code == 4
    assert "rejected the credentials of 'deployer' (HTTP 401); check JENKINS_USER and JENKINS_API_TOKEN" in err
    assert "wrong-token-value" not in err


def test_unreachable_jenkins_after_retries(jenkins_env, config_path, capsys, monkeypatch):
    monkeypatch.setenv("JENKINS_URL", "http://127.0.0.1:9/")  # discard port: nothing listens

    code, _, err = sync(capsys, jenkins_env, config_path)

    assert code == 4
    assert "is unreachable" in err and "http://127.0.0.1:9/" in err
    assert err.count("trying again") == 3  # four attempts, with (fake) waits between them
    assert jenkins_env.slept == [1, 2, 4]


def test_a_server_without_x_jenkins_header_is_not_taken_for_jenkins(jenkins_env, fake_jenkins, config_path, capsys):
    fake_jenkins.version = None

    code, _, err = sync(capsys, jenkins_env, config_path)

    assert code == 4 and "without an X-Jenkins header; is it Jenkins?" in err


def test_crumb_is_sent_on_every_write_and_refetched_when_jenkins_forgot_it(
    jenkins_env, fake_jenkins, config_path, capsys, monkeypatch
):
    # Expire the crumbs right after the first write, as a Jenkins restart would.
    original = fake_jenkins._create

    def create_then_forget(*args):
        response = original(*args)
        fake_jenkins.expire_crumbs()
        return response

    monkeypatch.setattr(fake_jenkins, "_create", create_then_forget)

    code, _, err = sync(capsys, jenkins_env, config_path)

    assert code == 0
    assert len(fake_jenkins.items) == 5
    assert "refused the CSRF crumb; fetching a new one" in err
    crumb_reads = [path for method, path in fake_jenkins.requests if path == "/crumbIssuer/api/json"]
    assert len(crumb_reads) == 5  # the first, and one after each expiry (4 more creates)


def test_missing_credentials_are_a_config_error_before_any_request(
    fake_jenkins, config_path, capsys, monkeypatch, jenkins_env
):
    monkeypatch.delenv("JENKINS_URL", raising=False)
    monkeypatch.delenv("JENKINS_USER", raising=False)
    monkeypatch.delenv("JENKINS_API_TOKEN", raising=False)

    code, _, err = sync(capsys, jenkins_env, config_path, "--jenkins-url", fake_jenkins.url)

    assert code == 2 and "--jenkins-user / JENKINS_USER: missing" in err
    assert fake_jenkins.requests == []


def test_the_permission_jenkins_names_wins_over_the_expected_one(
    jenkins_env, fake_jenkins, config_path, capsys, monkeypatch
):
    # E.g. an authorization plugin that wants more than Job/Create to create an item.
    monkeypatch.setattr(
        fake_jenkins,
        "_create",
        lambda request, user, folder: fake_jenkins._denied(user, "hudson.model.Hudson.Administer"),
    )

    code, _, err = sync(capsys, jenkins_env, config_path)

    assert code == 4 and "cannot create kie: Jenkins user 'deployer' lacks the Overall/Administer permission" in err


def test_a_configuration_jenkins_cannot_read_is_named_as_such_not_unreachable(
    jenkins_env, fake_jenkins, config_path, capsys
):
    fake_jenkins.plugins.discard("workflow-job")  # the Pipeline: Job plugin is not installed

    code, out, _ = sync(capsys, jenkins_env, config_path)

    assert code == 4
    assert "could not read the configuration it was sent (HTTP 500)" in out["error"]
    assert "a plugin it needs is missing: Pipeline (workflow-job, workflow-cps)" in out["error"]
    assert "unreachable" not in out["error"]
    assert [path for method, path in fake_jenkins.requests if method == "POST" and "createItem" in path][
        -1:
    ]  # it did try
