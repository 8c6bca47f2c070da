"""`kie.verify`: the wait phase asks each new server's KIE REST API, over real HTTP."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpers import routing_generations
from kie_bluegreen import flows
from kie_bluegreen.errors import DeploymentFailed
from kie_bluegreen.kie import KieClient


class FakeKieFleet:
    """One HTTP server playing every KIE Server: /kie/<instance-id>/... . By default a server
    runs the release of its instance's kie-bluegreen:release tag; `answers` overrides that."""

    def __init__(self, release_of):
        self.release_of = release_of
        self.answers: dict = {}  # instance id -> (http status of readycheck, container status, version)
        self.authorizations: list = []
        fleet = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fleet.authorizations.append(self.headers.get("Authorization"))
                _, _, instance, *rest = self.path.split("/")
                ready, status, version = fleet.answers.get(instance) or (200, "STARTED", fleet.release_of(instance))
                if rest == ["readycheck"]:
                    self._send(ready, {"type": "SUCCESS" if ready == 200 else "FAILURE"})
                elif rest == ["containers", "app"]:
                    self._send(200, {"type": "SUCCESS", "result": {"kie-container": {
                        "container-id": "app", "status": status,
                        "release-id": {"group-id": "com.myspace", "artifact-id": "app", "version": version},
                        "resolved-release-id": {"group-id": "com.myspace", "artifact-id": "app", "version": version}}}})
                else:
                    self._send(404, {"type": "FAILURE"})

            def _send(self, code, body):
                payload = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/kie/{{instance_id}}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def kie_fleet(aws):
    def release_of(instance):
        reservation = aws.ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]
        tags = {t["Key"]: t["Value"] for t in reservation["Instances"][0].get("Tags", [])}
        return tags.get("kie-bluegreen:release", "::").split(":")[2]

    fleet = FakeKieFleet(release_of)
    yield fleet
    fleet.close()


@pytest.fixture
def verify_ctx(make_config, make_ctx, kie_fleet):
    return make_ctx(make_config(kie={"verify": True, "url": kie_fleet.url}, wait={"timeout": "20s", "poll-interval": "2s"}))


def new_instances(aws, name="orders-production-g2"):
    return [i["InstanceId"] for i in aws.autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=[name])["AutoScalingGroups"][0]["Instances"]]


def test_deploy_waits_for_every_container_started_at_the_new_version(verify_ctx, aws, world, kie_fleet):
    flows.init(verify_ctx, "1.0.0")
    flows.deploy(verify_ctx, "2.0.0", "canary")
    assert routing_generations(aws, world.listener_arn)["green"] == 2
    assert len(kie_fleet.authorizations) >= 4  # readycheck + container, on both new servers


def test_a_server_on_the_wrong_version_fails_the_wait(verify_ctx, aws, world, kie_fleet):
    flows.init(verify_ctx, "1.0.0")
    flows.phase_provision(verify_ctx, "2.0.0")
    first, second = new_instances(aws)
    kie_fleet.answers[first] = (200, "STARTED", "1.0.0")
    kie_fleet.answers[second] = (503, "CREATING", "2.0.0")
    with pytest.raises(DeploymentFailed) as failure:
        flows.phase_wait(verify_ctx)
    message = str(failure.value)
    assert f"{first} KIE: container app runs 1.0.0, not 2.0.0" in message
    assert f"{second} KIE: readycheck answered 503" in message
    assert routing_generations(aws, world.listener_arn)["green"] is None


def test_a_failed_container_is_named(verify_ctx, aws, kie_fleet):
    flows.init(verify_ctx, "1.0.0")
    flows.phase_provision(verify_ctx, "2.0.0")
    for instance in new_instances(aws):
        kie_fleet.answers[instance] = (200, "FAILED", "2.0.0")
    with pytest.raises(DeploymentFailed, match="KIE: container app is FAILED"):
        flows.phase_wait(verify_ctx)


def test_credentials_from_the_environment_are_sent(monkeypatch, kie_fleet):
    monkeypatch.setenv("KIE_SERVER_USER", "deployer")
    monkeypatch.setenv("KIE_SERVER_PASSWORD", "s3cret")
    client = KieClient.from_environment()
    kie_fleet.answers["i-1"] = (200, "STARTED", "2.0.0")
    check = client.check_container(kie_fleet.url.format(instance_id="i-1"), "app", "2.0.0")
    assert check.ok and check.detail == "STARTED 2.0.0"
    assert kie_fleet.authorizations[-1] == "Basic ZGVwbG95ZXI6czNjcmV0"


def test_unreachable_server_is_reported_not_raised():
    check = KieClient(timeout=1).check_container("http://127.0.0.1:9/kie", "app", "2.0.0")
    assert not check.ok and check.detail.startswith("unreachable")
