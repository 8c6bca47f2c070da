"""Notifications over a whole story, through the real CLI: a webhook receiver on localhost (real
HTTP) and an SNS topic that an SQS queue subscribes to (moto). The events, their order and their
payloads; delivery that fails never changes an exit code; webhook URLs never reach the output.
"""

from __future__ import annotations

import json

import boto3
import pytest
from helpers import alarm, during_the_first_hold, routing_generations
from webhook_receiver import WebhookReceiver, unreachable_url

from kie_bluegreen.sandbox import scenario

BUILD_URL = "https://jenkins.example.com/job/orders/42/"
REST = "/kie-server/services/rest/server/containers/"
STORY = (
    (("init", "--version", "1.0.0"), []),
    (("deploy", "--version", "2.0.0"), ["deploy-started", "candidate-ready", "routed"]),
    (("promote",), ["promoted"]),
    (("deploy", "--version", "3.0.0"), ["deploy-started", "candidate-ready", "routed"]),
    (("rollback",), ["rolled-back"]),
)
ADDRESSING = ["routed", "promoted", "rolled-back", "failed"]


@pytest.fixture
def receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def filtered():
    receiver = WebhookReceiver("/hooks/filtered-t0ken")
    yield receiver
    receiver.close()


class Topic:
    """An SNS topic with an SQS queue subscribed to it: what subscribers of the topic receive."""

    def __init__(self, aws):
        self.sqs = boto3.client("sqs", region_name=scenario.REGION)
        self.arn = aws.sns.create_topic(Name="kie-releases")["TopicArn"]
        self.queue = self.sqs.create_queue(QueueName="kie-releases-subscriber")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        aws.sns.subscribe(TopicArn=self.arn, Protocol="sqs", Endpoint=queue_arn)

    def received(self) -> list[dict]:
        """Every SNS envelope waiting in the queue (Type, Subject, Message, ...), drained."""
        envelopes = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return envelopes
            for message in batch:
                envelopes.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def topic(aws):
    return Topic(aws)


@pytest.fixture
def story_config(make_config, topic, receiver, filtered, monkeypatch):
    monkeypatch.setenv("RELEASES_HOOK_URL", receiver.url)
    monkeypatch.setenv("BUILD_URL", BUILD_URL)
    return make_config(
        notify=[
            {"sns": topic.arn},
            {"webhook-env": "RELEASES_HOOK_URL"},
            {"webhook": filtered.url, "events": ADDRESSING},
        ]
    )


def test_a_whole_story_notifies_every_event_in_order_with_its_payload(
    run, story_config, receiver, filtered, topic, aws_like, aws, world
):
    seen = 0
    for argv, expected in STORY:
        result = run(story_config, "--output", "json", *argv)
        assert result.code == 0, result.err
        assert receiver.events[seen:] == expected, argv
        assert [(n["event"], n["delivered"]) for n in result.json["notifications"]] == [
            (event, True) for event in expected for target in (0, 1, 2) if target < 2 or event in ADDRESSING
        ]
        assert result.json["warnings"] == []
        seen = len(receiver.events)

    never_ready(aws, aws_like)  # 4.0.0 never gets ready
    failed = run(story_config, "--output", "json", "deploy", "--version", "4.0.0")
    assert failed.code == 1
    assert receiver.events[seen:] == ["deploy-started", "failed"]
    assert [n["event"] for n in failed.json["notifications"]] == [
        "deploy-started",
        "deploy-started",
        "failed",
        "failed",
        "failed",
    ]

    assert receiver.events == [event for _, events in STORY for event in events] + ["deploy-started", "failed"]
    assert filtered.events == ["routed", "promoted", "routed", "rolled-back", "failed"]
    assert filtered.payloads == [p for p in receiver.payloads if p["event"] in ADDRESSING]  # the same objects
    assert all(request["content_type"] == "application/json" for request in receiver.received)

    by_event = {}
    for payload in receiver.payloads:
        by_event.setdefault(payload["event"], []).append(payload)
    common = {"app": "orders", "stage": "production", "build_url": BUILD_URL}
    for payload in receiver.payloads:
        assert {key: payload[key] for key in common} == common
        assert payload["at"].endswith("Z") and payload["text"].startswith("orders/production: ")
        assert payload["text"].endswith(f"({BUILD_URL})")

    started, _ = by_event["deploy-started"][:2]
    assert (started["version"], started["previous_version"], started["container_id"]) == ("2.0.0", "1.0.0", "app")
    assert "rest_base_path" not in started
    canary = by_event["routed"][0]
    assert (canary["version"], canary["previous_version"]) == ("2.0.0", "1.0.0")
    assert canary["container_id"] == "app" and canary["rest_base_path"] == REST + "app"
    assert canary["header"] == "x-client-mode: green"
    assert _versions(canary["routing"]) == {"default": "1.0.0", "blue": "1.0.0", "green": "2.0.0"}
    assert canary["routing"]["green"]["group"] == "orders-production-g2"
    promoted = by_event["promoted"][0]
    assert (promoted["version"], promoted["previous_version"]) == ("2.0.0", "1.0.0")
    assert _versions(promoted["routing"]) == {"default": "2.0.0", "blue": "2.0.0", "green": None}
    assert promoted["routing"]["green"]["target"] == "fixed-response:404"
    rolled_back = by_event["rolled-back"][0]
    assert (rolled_back["version"], rolled_back["previous_version"], rolled_back["container_id"]) == (
        "3.0.0",
        "2.0.0",
        "app",
    )
    assert _versions(rolled_back["routing"]) == {"default": "2.0.0", "blue": "2.0.0", "green": None}
    failure = by_event["failed"][0]
    assert (failure["version"], failure["previous_version"]) == ("4.0.0", "2.0.0")
    assert "servers ready" in failure["error"] and "routing unchanged" in failure["error"]
    assert _versions(failure["routing"]) == {"default": "2.0.0", "blue": "2.0.0", "green": None}

    envelopes = topic.received()  # SNS: the same JSON object as the message, a short subject
    assert sorted((json.loads(e["Message"]) for e in envelopes), key=json.dumps) == sorted(
        receiver.payloads, key=json.dumps
    )
    assert {e["Subject"] for e in envelopes} >= {
        "kie-bluegreen orders/production: promoted 2.0.0",
        "kie-bluegreen orders/production: rolled-back 3.0.0",
    }
    assert routing_generations(aws, world.listener_arn) == {"default": 2, "blue": 2, "green": None}


def _versions(routing: dict) -> dict:
    return {route: (routing[route] or {}).get("version") for route in ("default", "blue", "green")}


def test_a_weighted_deploy_notifies_each_step_then_the_promotion(run, make_config, receiver, monkeypatch):
    monkeypatch.setenv("HOOK", receiver.url)
    path = make_config(
        routing={"strategy": "weighted", "steps": [10, 50, 100], "step-pause": "1m"}, notify=[{"webhook-env": "HOOK"}]
    )
    assert run(path, "init", "--version", "1.0.0").code == 0
    assert run(path, "deploy", "--version", "2.0.0").code == 0
    assert receiver.events == ["deploy-started", "candidate-ready", "routed", "routed", "routed", "promoted"]
    green, ten, fifty = receiver.payloads[2:5]
    assert "percent" not in green and green["header"] == "x-client-mode: green"
    assert (ten["percent"], fifty["percent"]) == (10, 50)
    weights = {item["version"]: item["percent"] for item in ten["routing"]["weights"]}
    assert weights == {"1.0.0": 90, "2.0.0": 10}
    assert "10% of the default route" in ten["text"]
    assert _versions(receiver.payloads[-1]["routing"])["default"] == "2.0.0"


def test_an_automatic_rollback_notifies_rolled_back_then_failed(
    run, make_config, receiver, aws, fake_clock, monkeypatch
):
    alarm(aws, "orders-5xx")
    monkeypatch.setenv("HOOK", receiver.url)
    path = make_config(
        routing={"strategy": "weighted", "steps": [10, 100], "step-pause": "2m"},
        analysis={"alarms": ["orders-5xx"]},
        notify=[{"webhook-env": "HOOK"}],
    )
    assert run(path, "init", "--version", "1.0.0").code == 0
    during_the_first_hold(
        monkeypatch,
        lambda: aws.cloudwatch.set_alarm_state(
            AlarmName="orders-5xx", StateValue="ALARM", StateReason="Threshold Crossed"
        ),
    )
    result = run(path, "deploy", "--version", "2.0.0")
    assert result.code == 1
    assert receiver.events == ["deploy-started", "candidate-ready", "routed", "routed", "rolled-back", "failed"]
    rolled_back, failed = receiver.payloads[-2:]
    assert (rolled_back["version"], rolled_back["previous_version"]) == ("2.0.0", "1.0.0")
    assert "alarm orders-5xx is in ALARM" in failed["error"] and failed["version"] == "2.0.0"


def test_an_all_at_once_deploy_is_a_promotion(run, make_config, receiver, monkeypatch):
    monkeypatch.setenv("HOOK", receiver.url)
    path = make_config(notify=[{"webhook-env": "HOOK"}])
    assert run(path, "init", "--version", "1.0.0").code == 0
    assert run(path, "deploy", "--version", "2.0.0", "--strategy", "all-at-once").code == 0
    assert receiver.events == ["deploy-started", "candidate-ready", "promoted"]


def test_the_phases_of_a_jenkins_deploy_each_notify_their_own_event(run, make_config, receiver, monkeypatch):
    monkeypatch.setenv("HOOK", receiver.url)
    path = make_config(notify=[{"webhook-env": "HOOK"}])
    assert run(path, "init", "--version", "1.0.0").code == 0
    expected = {
        "plan": [],
        "phase provision": ["deploy-started"],
        "phase wait": ["candidate-ready"],
        "phase route": ["routed"],
        "status": [],
        "promote": ["promoted"],
    }
    for command, events in expected.items():
        before = len(receiver.events)
        words = command.split() + (["--version", "2.0.0"] if command in ("plan", "phase provision") else [])
        assert run(path, *words).code == 0
        assert receiver.events[before:] == events, command


def never_ready(aws, aws_like) -> None:
    """Servers launched from now on fail their health checks; the running ones stay healthy."""
    aws_like.fail("*", "Target.FailedHealthChecks")
    for group in aws.autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]:
        for instance in group["Instances"]:
            aws_like.recover(instance["InstanceId"])


# -- delivery that fails ----------------------------------------------------------------------


def test_an_unreachable_webhook_changes_no_exit_code(run, make_config, aws, world, aws_like, capsys):
    hook = unreachable_url()
    path = make_config(notify=[{"webhook": hook}])
    assert run(path, "init", "--version", "1.0.0").code == 0
    result = run(path, "--output", "json", "deploy", "--version", "2.0.0")
    assert result.code == 0
    assert routing_generations(aws, world.listener_arn) == {"default": 1, "blue": 1, "green": 2}
    assert [n["delivered"] for n in result.json["notifications"]] == [False, False, False]
    assert result.json["warnings"][0].startswith(
        "notification deploy-started to webhook http://127.0.0.1/**** not delivered: unreachable"
    )
    assert "after 3 attempts" in result.json["warnings"][0]
    assert "warning: notification routed" in result.err

    text = run(path, "promote")
    assert text.code == 0 and "warnings:\n  - notification promoted to webhook http://127.0.0.1/****" in text.out

    never_ready(aws, aws_like)
    failed = run(path, "--output", "json", "deploy", "--version", "3.0.0")
    assert failed.code == 1  # the deployment's own failure, whatever became of its notifications
    assert [n["event"] for n in failed.json["notifications"]] == ["deploy-started", "failed"]
    for output in (result, text, failed):
        assert "unreachable-s3cr3t" not in output.out + output.err


def test_a_webhook_answering_errors_is_retried_then_reported(run, make_config, receiver, fake_clock, monkeypatch):
    monkeypatch.setenv("HOOK", receiver.url)
    path = make_config(notify=[{"webhook-env": "HOOK", "events": ["routed"]}])
    assert run(path, "init", "--version", "1.0.0").code == 0
    receiver.answers = [503, 500]  # then 200
    result = run(path, "--output", "json", "deploy", "--version", "2.0.0")
    assert result.code == 0 and result.json["notifications"][0]["delivered"] is True
    assert len(receiver.received) == 3 and fake_clock.slept[-2:] == [1, 2]  # two retries, backing off

    receiver.received.clear()
    receiver.answers = [500, 500, 500]
    result = run(path, "--output", "json", "rollback")  # rolled-back is not wanted: nothing sent
    assert receiver.received == [] and result.json["notifications"] == []
    result = run(path, "--output", "json", "deploy", "--version", "3.0.0")
    assert result.code == 0 and len(receiver.received) == 3
    assert result.json["warnings"] == [
        "notification routed to webhook-env HOOK not delivered: HTTP 500 (after 3 attempts)"
    ]

    receiver.received.clear()
    receiver.answers = [404]
    run(path, "rollback")
    result = run(path, "--output", "json", "deploy", "--version", "4.0.0")
    assert len(receiver.received) == 1  # a 404 is not going to change: not retried
    assert result.json["warnings"] == ["notification routed to webhook-env HOOK not delivered: HTTP 404"]


def test_a_missing_webhook_variable_is_a_warning(run, make_config, monkeypatch):
    monkeypatch.delenv("RELEASES_HOOK_URL", raising=False)
    path = make_config(notify=[{"webhook-env": "RELEASES_HOOK_URL"}])
    assert run(path, "init", "--version", "1.0.0").code == 0
    result = run(path, "--output", "json", "deploy", "--version", "2.0.0")
    assert result.code == 0
    assert result.json["warnings"][0] == (
        "notification deploy-started to webhook-env RELEASES_HOOK_URL not delivered:"
        " RELEASES_HOOK_URL: not set (nor RELEASES_HOOK_URL_FILE): no webhook URL to send to"
    )


def test_a_webhook_url_from_the_environment_must_be_https(run, make_config, monkeypatch):
    monkeypatch.setenv("HOOK", "http://hooks.example.com/services/T0/B0/pl41n-t3xt")
    path = make_config(notify=[{"webhook-env": "HOOK"}])
    assert run(path, "init", "--version", "1.0.0").code == 0
    result = run(path, "--output", "json", "deploy", "--version", "2.0.0")
    assert result.code == 0
    assert "plain http is allowed only for localhost and 127.0.0.1" in result.json["warnings"][0]
    assert "pl41n-t3xt" not in result.out + result.err


# -- secrets -----------------------------------------------------------------------------------


def test_webhook_urls_never_reach_the_output(run, make_config, receiver, filtered, tmp_path, monkeypatch):
    secret_file = tmp_path / "hook-url"
    secret_file.write_text(receiver.url + "\n")
    monkeypatch.setenv("HOOK_FILE", str(secret_file))  # a Jenkins `file` credentials binding
    path = make_config(notify=[{"webhook-env": "HOOK"}, {"webhook": filtered.url}])
    outputs = [
        run(path, "--verbose", "init", "--version", "1.0.0"),
        run(path, "--verbose", "--output", "json", "deploy", "--version", "2.0.0"),
        run(path, "--output", "html", "status"),
        run(path, "--verbose", "notify", "--test"),
    ]
    assert all(output.code == 0 for output in outputs), [o.err for o in outputs]
    assert receiver.events == ["deploy-started", "candidate-ready", "routed", "test"]  # the URL from the file
    for output in outputs:
        for secret in ("s3cr3t-t0ken-XYZ", "filtered-t0ken"):
            assert secret not in output.out and secret not in output.err
    assert "webhook http://127.0.0.1/****: delivered" in outputs[-1].out


# -- notify --test ------------------------------------------------------------------------------


def test_notify_test_reaches_every_target_whatever_its_events(run, make_config, topic, receiver, filtered, monkeypatch):
    monkeypatch.setenv("HOOK", receiver.url)
    path = make_config(
        notify=[
            {"sns": topic.arn, "events": ["failed"]},
            {"webhook-env": "HOOK", "events": ["promoted"]},
            {"webhook": filtered.url},
        ]
    )
    result = run(path, "--output", "json", "notify", "--test")
    assert result.code == 0, result.err
    assert [n["delivered"] for n in result.json["notifications"]] == [True, True, True]
    assert receiver.events == filtered.events == ["test"]
    (envelope,) = topic.received()
    assert json.loads(envelope["Message"])["event"] == "test"
    assert "nothing was deployed" in receiver.payloads[0]["text"]


def test_notify_test_exits_4_when_a_target_cannot_be_reached(run, make_config, receiver, monkeypatch):
    monkeypatch.setenv("HOOK", receiver.url)
    path = make_config(notify=[{"webhook-env": "HOOK"}, {"webhook": unreachable_url()}])
    result = run(path, "notify", "--test")
    assert result.code == 4
    assert receiver.events == ["test"]
    assert "notification test to webhook http://127.0.0.1/**** not delivered: unreachable" in result.err
    assert "1 of 2 delivered" in result.out


def test_notify_test_without_targets_is_a_configuration_error(run, config_path):
    result = run(config_path, "notify", "--test")
    assert result.code == 2 and "has no notify entries" in result.err
    assert run(config_path, "notify").code == 2  # --test is the action to ask for


def test_without_notify_nothing_is_sent_and_nothing_reported(run, config_path):
    assert run(config_path, "init", "--version", "1.0.0").code == 0
    result = run(config_path, "--output", "json", "deploy", "--version", "2.0.0")
    assert result.json["notifications"] == [] and result.json["warnings"] == []
