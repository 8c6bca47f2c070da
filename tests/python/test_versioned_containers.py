"""A versioned container id (`container.id: app-{version}`): it reaches the servers through a
propagated tag, `kie.verify` checks it, the notifications carry it, the shipped user data
deploys under it, and the sandbox's KIE Servers serve it."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request

import pytest
import yaml
from fake_kie import FakeKieServer, container_from_launch_tags, version_from_launch_tags
from helpers import routing_generations
from webhook_receiver import WebhookReceiver

from kie_bluegreen import cli, flows
from kie_bluegreen.errors import DeploymentFailed
from kie_bluegreen.model import Release
from kie_bluegreen.sandbox import kie_server, scenario

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
USER_DATA = os.path.join(REPOSITORY, "resources", "kie-bluegreen", "user-data.sh")
VERSIONED = {"id": "app-{version}", "group-id": scenario.GROUP_ID, "artifact-id": scenario.ARTIFACT_ID}


def versioned_config(world, directory, **stage) -> str:
    document = scenario.config_document(world, **stage)
    document["container"] = dict(VERSIONED)
    path = os.path.join(directory, "kie-deploy.yaml")
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(document, handle, sort_keys=False)
    return path


def group_tags(aws, name: str) -> dict:
    (group,) = aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
    return {tag["Key"]: (tag["Value"], tag["PropagateAtLaunch"]) for tag in group["Tags"]}


@pytest.fixture
def kie_fleet(aws):
    fleet = FakeKieServer(version_from_launch_tags(aws.ec2), container_of=container_from_launch_tags(aws.ec2))
    yield fleet
    fleet.close()


@pytest.fixture
def verify_ctx(world, tmp_path, make_ctx, kie_fleet):
    return make_ctx(
        versioned_config(
            world,
            str(tmp_path),
            kie={"verify": True, "url": kie_fleet.url_template},
            wait={"timeout": "20s", "poll-interval": "2s"},
        )
    )


def test_the_container_id_of_each_release_reaches_its_servers(verify_ctx, aws, world, kie_fleet):
    flows.init(verify_ctx, "1.0.0")
    assert group_tags(aws, world.asg_name)["kie-bluegreen:container"] == ("app-1.0.0", True)
    flows.deploy(verify_ctx, "2.0.0", "canary")
    assert group_tags(aws, "orders-production-g2")["kie-bluegreen:container"] == ("app-2.0.0", True)
    instance = aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["orders-production-g2"])[
        "AutoScalingGroups"
    ][0]["Instances"][0]["InstanceId"]
    assert container_from_launch_tags(aws.ec2)(instance) == "app-2.0.0"
    asked = {path.split("/containers/")[1] for path, _ in kie_fleet.seen if "/containers/" in path}
    assert asked == {"app-2.0.0"}  # kie.verify asked for the versioned id, and it answered
    assert routing_generations(aws, world.listener_arn)["green"] == 2


def test_kie_verify_fails_when_servers_deploy_under_another_id(verify_ctx, aws, world, kie_fleet):
    flows.init(verify_ctx, "1.0.0")
    kie_fleet.container_of = lambda instance: "app"  # e.g. a user data that ignores the container tag
    with pytest.raises(DeploymentFailed, match="KIE: container app-2.0.0 answered 404"):
        flows.deploy(verify_ctx, "2.0.0", "canary")
    assert routing_generations(aws, world.listener_arn) == {"default": 1, "blue": 1, "green": None}


def test_user_data_templates_get_the_versioned_id(world, tmp_path, make_ctx, aws):
    import base64

    (tmp_path / "user-data.sh").write_text('KIE_SERVER_CONTAINER_DEPLOYMENT="{{container_id}}={{release}}"\n')
    aws.autoscaling.update_auto_scaling_group(
        AutoScalingGroupName=world.asg_name,
        LaunchTemplate={"LaunchTemplateId": world.launch_template_id, "Version": "1"},
    )
    ctx = make_ctx(versioned_config(world, str(tmp_path), **{"launch-template": {"user-data": "user-data.sh"}}))
    flows.init(ctx, "1.0.0")
    flows.deploy(ctx, "2.0.0", "canary")
    (version,) = aws.ec2.describe_launch_template_versions(LaunchTemplateId=world.launch_template_id, Versions=["2"])[
        "LaunchTemplateVersions"
    ]
    user_data = base64.b64decode(version["LaunchTemplateData"]["UserData"]).decode()
    assert 'KIE_SERVER_CONTAINER_DEPLOYMENT="app-2.0.0=com.myspace:app:2.0.0"' in user_data


def test_routed_promoted_and_rolled_back_name_the_id_and_path_clients_switch_to(run, world, tmp_path, monkeypatch):
    receiver = WebhookReceiver()
    try:
        monkeypatch.setenv("HOOK", receiver.url)
        path = versioned_config(world, str(tmp_path), notify=[{"webhook-env": "HOOK"}])
        for argv in (
            ("init", "--version", "1.0.0"),
            ("deploy", "--version", "2.0.0"),
            ("promote",),
            ("deploy", "--version", "3.0.0"),
            ("rollback",),
        ):
            assert run(path, *argv).code == 0, argv
        addressed = [
            (p["event"], p["container_id"], p.get("rest_base_path"))
            for p in receiver.payloads
            if p["event"] in ("routed", "promoted", "rolled-back")
        ]
        rest = "/kie-server/services/rest/server/containers/"
        assert addressed == [
            ("routed", "app-2.0.0", rest + "app-2.0.0"),
            ("promoted", "app-2.0.0", rest + "app-2.0.0"),
            ("routed", "app-3.0.0", rest + "app-3.0.0"),
            ("rolled-back", "app-2.0.0", rest + "app-2.0.0"),
        ]  # back to the id of 2.0.0
        status = run(path, "--output", "json", "status").json
        assert status["blue"]["container_id"] == "app-2.0.0"
    finally:
        receiver.close()


# -- the shipped user data ---------------------------------------------------------------------


FAKE_CURL = """#!/bin/sh
# curl as user-data.sh calls it: answers the URL among its arguments from $FAKE_IMDS/<path>
for arg; do case "$arg" in http://*) url=$arg;; esac; done
case "$url" in
  */api/token) echo token; exit 0;;
esac
file="$FAKE_IMDS/${url#http://169.254.169.254/latest/}"
if [ -f "$file" ]; then cat "$file"; else exit 22; fi
"""
FAKE_DOCKER = """#!/bin/sh
printf '%s\\n' "$@" > "$FAKE_IMDS/docker-args"
"""


def run_user_data(tmp_path, tags: dict) -> tuple[int, str, list]:
    """The shipped user-data.sh with curl answering from fake instance metadata and docker recorded."""
    imds = tmp_path / "imds"
    (imds / "meta-data" / "tags" / "instance").mkdir(parents=True)
    (imds / "meta-data" / "instance-id").write_text("i-0123456789abcdef0")
    for key, value in tags.items():
        (imds / "meta-data" / "tags" / "instance" / key).write_text(value)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("curl", FAKE_CURL), ("docker", FAKE_DOCKER)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_IMDS": str(imds)}
    done = subprocess.run(["bash", USER_DATA], env=env, capture_output=True, text=True, timeout=30)
    args = (imds / "docker-args").read_text().splitlines() if (imds / "docker-args").exists() else []
    return done.returncode, done.stderr + done.stdout, args


def test_the_shipped_user_data_deploys_under_the_container_tag(tmp_path):
    code, output, args = run_user_data(
        tmp_path, {"kie-bluegreen:release": "com.myspace:app:2.0.0", "kie-bluegreen:container": "app-2.0.0"}
    )
    assert code == 0, output
    assert "KIE_SERVER_CONTAINER_DEPLOYMENT=app-2.0.0=com.myspace:app:2.0.0" in args


def test_the_shipped_user_data_falls_back_to_the_fixed_id(tmp_path):
    code, output, args = run_user_data(tmp_path, {"kie-bluegreen:release": "com.myspace:app:2.0.0"})
    assert code == 0, output
    assert "KIE_SERVER_CONTAINER_DEPLOYMENT=app=com.myspace:app:2.0.0" in args


def test_the_shipped_user_data_refuses_a_malformed_container_tag(tmp_path):
    code, output, args = run_user_data(
        tmp_path, {"kie-bluegreen:release": "com.myspace:app:2.0.0", "kie-bluegreen:container": "app;reboot"}
    )
    assert code == 1 and "kie-bluegreen:container tag malformed" in output and args == []


# -- the sandbox's KIE Servers -------------------------------------------------------------------


def test_the_sandbox_kie_server_answers_for_its_versioned_container_only():
    server = kie_server.KieServer(
        "i-0abc",
        Release("com.myspace", "app", "2.0.0"),
        launched_at=-100.0,
        settings=kie_server.BootSettings(boot_delay=0.0),
        container_id="app-2.0.0",
    )
    status, body = kie_server.respond(server, "GET", "/containers/app-2.0.0", "", b"")
    assert status == 200 and body["result"]["kie-container"]["container-id"] == "app-2.0.0"
    assert kie_server.respond(server, "GET", "/containers/app", "", b"")[0] == 404
    status, body = kie_server.respond(server, "POST", "/containers/app-2.0.0/ksession", "", b"{}")
    assert (
        status == 200
        and {"key": "release", "value": "com.myspace:app:2.0.0"} in body["result"]["execution-results"]["results"]
    )
    untagged = kie_server.KieServer(
        "i-0def",
        Release("com.myspace", "app", "1.0.0"),
        launched_at=-100.0,
        settings=kie_server.BootSettings(boot_delay=0.0),
    )
    assert kie_server.respond(untagged, "GET", "/containers/app", "", b"")[0] == 200  # launched without the tag


def test_a_versioned_release_through_the_sandbox(tmp_path):
    """The runner against the sandbox with kie.verify: the new servers deploy app-2.0.0, which
    green testers reach through the ALB, while everyone else keeps the id of 1.0.0."""
    from kie_bluegreen.sandbox.runtime import Sandbox, SandboxSettings

    settings = SandboxSettings(
        boot=kie_server.BootSettings(boot_delay=0.5), health_interval=0.1, propagation_delay=0.3, deregistration_delay=1
    )
    with Sandbox(settings, str(tmp_path)) as sandbox, sandbox.pointed():
        with open(sandbox.config_path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
        document["container"]["id"] = "app-{version}"
        with open(sandbox.config_path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(document, handle, sort_keys=False)
        for argv in (("init", "--version", "1.0.0"), ("deploy", "--version", "2.0.0")):
            assert cli.main(["--config", sandbox.config_path, *argv]) == 0, argv
        base = sandbox.alb_url + "/kie-server/services/rest/server/containers/"

        def get(container, mode):
            request = urllib.request.Request(base + container, headers={"x-client-mode": mode})
            try:
                with urllib.request.urlopen(request, timeout=5) as answer:
                    return answer.status, json.loads(answer.read())
            except urllib.error.HTTPError as error:
                return error.code, None

        import time

        deadline = time.monotonic() + 5
        while get("app-2.0.0", "green")[0] != 200 and time.monotonic() < deadline:  # the rule change propagates
            time.sleep(0.05)
        status, body = get("app-2.0.0", "green")
        assert status == 200 and body["result"]["kie-container"]["resolved-release-id"]["version"] == "2.0.0"
        assert get("app", "green")[0] == 404  # the new servers do not run the old id
        status, body = get("app", "blue")  # generation 1 was launched before the tag: the fixed id
        assert status == 200 and body["result"]["kie-container"]["resolved-release-id"]["version"] == "1.0.0"
