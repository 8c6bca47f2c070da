"""The IAM policy under moto's IAM enforcement: enough for every flow, and nothing to spare.

moto compares resources against `*` only and denies statements whose conditions it cannot
evaluate, so the deployer gets the policy's actions on `*` (iam_policy.actions_only); the
resource and condition scoping is tested on the document (test_iam_policy.py).

The story uses every feature that costs a permission: kie.verify (instance addresses), a
user-data template (launch template versions), scale-to-zero standby and a rollback that brings
it back (tags removed), the preflight checks (quotas, subnets, launch template), a test
notification to an SNS topic (sns:Publish; a deployment's own notifications never change its exit
code, `notify --test` exits 4 when one is refused), and a single group rolled in place by an
instance refresh, then rolled back by itself when its alarm fires during the next refresh. It
runs on moto behaving like AWS (the AWS model), on one fake clock.
"""

from __future__ import annotations

import os

import pytest
import yaml
from fake_kie import FakeKieServer, version_from_launch_tags
from helpers import alarm, forget, routing_generations
from moto.core import enable_iam_authentication
from security_fixtures import EnforcedWorld, run_cli

from kie_bluegreen import analysis, iam_policy
from kie_bluegreen.aws.api import AwsApi, iam_action
from kie_bluegreen.clock import FakeClock
from kie_bluegreen.sandbox import scenario
from kie_bluegreen.sandbox.aws_model import AwsModel

G1, G2 = {"default": 1, "blue": 1, "green": None}, {"default": 2, "blue": 2, "green": None}
PAIR = {"topology": "fixed-pair"}  # from this step on, the stage is a fixed pair
NOTIFY = {**PAIR, "notify": "the story's topic"}  # Story.write puts the topic created in the world
SINGLE = {"topology": "single-group", "routing": {"strategy": "all-at-once"}}
ALARM_DURING_REFRESH = {**SINGLE, "alarm fires": True}  # Story.run sets the alarm to ALARM mid-refresh
G6 = {"default": 6, "blue": 6, "green": None}
STORY = (
    (("init", "--version", "1.0.0"), G1),
    (("deploy", "--version", "2.0.0"), {"default": 1, "blue": 1, "green": 2}),
    (("promote",), G2),  # with a bake watching an alarm and the 5xx share
    (("deploy", "--version", "3.0.0"), {"default": 2, "blue": 2, "green": 3}),
    (("rollback",), G2),  # before promote: the candidate is dropped
    (("rollback", "--generation", "1"), G1),  # after promote: the standby generation comes back from zero servers
    (("cleanup",), G1),
    (("status",), G1),
    (("init", "--version", "1.0.0"), G1, PAIR),  # creates the second group of the pair
    (("deploy", "--version", "4.0.0", "--strategy", "all-at-once"), {"default": 4, "blue": 4, "green": None}, PAIR),
    (("deploy", "--version", "5.0.0", "--strategy", "all-at-once"), {"default": 5, "blue": 5, "green": None}, PAIR),
    (("notify", "--test"), {"default": 5, "blue": 5, "green": None}, NOTIFY),
    (("deploy", "--version", "6.0.0"), G6, SINGLE),  # the blue group of the pair is rolled in place
    (("deploy", "--version", "7.0.0"), G6, ALARM_DURING_REFRESH),  # rolled back by itself: exit 1
)
EXIT_CODES = {("deploy", "--version", "7.0.0"): 1}


def expected_exit(argv) -> int:
    return EXIT_CODES.get(tuple(argv), 0)


POLICY = iam_policy.build(iam_policy.Scope.generic())
ENFORCEABLE = sorted(set(iam_policy.actions(POLICY)) - set(iam_policy.DEPENDENT_ACTIONS))


class Story:
    """An enforced world with the story's configuration; runs its steps as the deployer."""

    def __init__(self, monkeypatch, directory):
        self.clock = FakeClock()
        self.model = AwsModel(clock=self.clock.now).install()
        self.monkeypatch = monkeypatch
        self.env = EnforcedWorld.create(monkeypatch, iam_policy.actions_only(POLICY))
        admin, world = self.env.admin, self.env.world
        # user data needs a pinned launch template version (provision refuses $Latest)
        admin.autoscaling.update_auto_scaling_group(
            AutoScalingGroupName=world.asg_name,
            LaunchTemplate={"LaunchTemplateId": world.launch_template_id, "Version": "1"},
        )
        # settings a new generation copies (or, for the schedule, moves when it becomes blue)
        live = world.asg_name
        admin.autoscaling.put_scaling_policy(
            AutoScalingGroupName=live,
            PolicyName="cpu",
            PolicyType="TargetTrackingScaling",
            TargetTrackingConfiguration={
                "TargetValue": 50.0,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ASGAverageCPUUtilization"},
            },
        )
        admin.autoscaling.put_lifecycle_hook(
            AutoScalingGroupName=live,
            LifecycleHookName="boot",
            HeartbeatTimeout=60,
            LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING",
            DefaultResult="CONTINUE",
        )
        admin.autoscaling.put_notification_configuration(
            AutoScalingGroupName=live,
            TopicARN=f"arn:aws:sns:eu-west-1:{self.env.account}:scaling",
            NotificationTypes=["autoscaling:EC2_INSTANCE_LAUNCH"],
        )
        admin.autoscaling.enable_metrics_collection(
            AutoScalingGroupName=live, Granularity="1Minute", Metrics=["GroupInServiceInstances"]
        )
        admin.autoscaling.put_warm_pool(AutoScalingGroupName=live, MinSize=0, PoolState="Stopped")
        admin.autoscaling.suspend_processes(AutoScalingGroupName=live, ScalingProcesses=["AZRebalance"])
        admin.autoscaling.put_scheduled_update_group_action(
            AutoScalingGroupName=live, ScheduledActionName="night", Recurrence="0 22 * * *", DesiredCapacity=2
        )
        self.kie = FakeKieServer(version_from_launch_tags(admin.ec2))
        with open(os.path.join(directory, "user-data.sh"), "w", encoding="utf-8") as handle:
            handle.write("#!/bin/bash\necho {{release}}\n")
        alarm(admin, "orders-5xx")
        self.document = scenario.config_document(
            world,
            **{
                "kie": {"verify": True, "url": self.kie.url_template, "timeout": "2s"},
                "launch-template": {"user-data": "user-data.sh"},
                "retire": {"previous": "scale-to-zero", "keep": 1, "candidate": "terminate"},
                "analysis": {"alarms": ["orders-5xx"], "max-5xx-percent": 5, "bake": "1m"},
            },
        )
        self.topic = admin.sns.create_topic(Name="kie-releases")["TopicArn"]
        self.config = os.path.join(directory, "kie-deploy.yaml")
        self.write({})

    def write(self, overrides: dict) -> None:
        if "notify" in overrides:
            overrides = {**overrides, "notify": [{"sns": self.topic}]}
        stage = self.document["stages"]["production"]
        with open(self.config, "w", encoding="utf-8") as handle:
            yaml.safe_dump({**self.document, "stages": {"production": {**stage, **overrides}}}, handle, sort_keys=False)

    def run(self, argv, overrides: dict | None = None):
        overrides = dict(overrides or {})
        with pytest.MonkeyPatch.context() as patch:
            if overrides.pop("alarm fires", False):
                self._alarm_fires_during_the_refresh(patch)
            self.write(overrides)
            return run_cli("--config", self.config, *argv, clock=self.clock)

    def _alarm_fires_during_the_refresh(self, patch) -> None:
        """The alarm goes to ALARM after the runner's first look of the refresh (the one
        before StartInstanceRefresh)."""
        original, looks = analysis.Watcher.look, []

        def look(watcher):
            looks.append(watcher)
            if len(looks) == 2:
                self.env.admin.cloudwatch.set_alarm_state(
                    AlarmName="orders-5xx", StateValue="ALARM", StateReason="5xx above 10"
                )
            return original(watcher)

        patch.setattr(analysis.Watcher, "look", look)

    def routing(self) -> dict:
        return routing_generations(self.env.admin, self.env.world.listener_arn)

    def close(self):
        self.kie.close()
        self.model.__exit__(None, None, None)
        forget(self.env.account)


@pytest.fixture
def story(moto_module, monkeypatch, tmp_path):
    story = Story(monkeypatch, str(tmp_path))
    with enable_iam_authentication():
        yield story
    story.close()


def record_actions(monkeypatch) -> list:
    """Every IAM action the runner uses from now on, in call order."""
    used = []
    original_call, original_pages = AwsApi.call, AwsApi.pages

    def call(self, service, operation, **kwargs):
        used.append(iam_action(service, operation, self.client(service)))
        return original_call(self, service, operation, **kwargs)

    def pages(self, service, operation, key, **kwargs):
        used.append(iam_action(service, operation, self.client(service)))
        return original_pages(self, service, operation, key, **kwargs)

    monkeypatch.setattr(AwsApi, "call", call)
    monkeypatch.setattr(AwsApi, "pages", pages)
    return used


@pytest.fixture(scope="module")
def first_use(moto_module, tmp_path_factory):
    """Run the story once with the whole policy: {action: index of the step that first uses it},
    and each step's outcome and routing."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        story = Story(monkeypatch, str(tmp_path_factory.mktemp("story")))
        used = record_actions(monkeypatch)
        first, outcomes = {}, []
        with enable_iam_authentication():
            for index, (argv, _, *overrides) in enumerate(STORY):
                used.clear()
                outcome = story.run(argv, *overrides)
                outcomes.append((outcome, story.routing()))
                for action in used:
                    first.setdefault(action, index)
        story.close()
    return first, outcomes


def test_the_policy_is_enough_for_the_whole_story(first_use):
    _, outcomes = first_use
    for (argv, expected, *_), (outcome, routing) in zip(STORY, outcomes, strict=True):
        assert outcome.code == expected_exit(argv), f"{' '.join(argv)}: {outcome.err}"
        assert routing == expected, " ".join(argv)


def test_the_story_uses_every_action_of_the_policy(first_use):
    """No spare permission: each action the runner is granted is called by some step (the
    dependent ones are authorized by AWS inside CreateAutoScalingGroup, moto does not check them)."""
    first, _ = first_use
    assert sorted(first) == ENFORCEABLE


@pytest.mark.parametrize("action", ENFORCEABLE)
def test_without_any_one_action_a_flow_fails_naming_it(action, first_use, story):
    first, _ = first_use
    step = first[action]
    for argv, _expected, *overrides in STORY[:step]:  # reach the step with the whole policy
        assert story.run(argv, *overrides).code == expected_exit(argv), " ".join(argv)
    story.env.grant(iam_policy.actions_only({"Statement": [{"Action": [a for a in ENFORCEABLE if a != action]}]}))
    argv, _, *overrides = STORY[step]
    outcome = story.run(argv, *overrides)
    assert outcome.code == 4, f"{' '.join(argv)} without {action}: exit {outcome.code} {outcome.err}"
    message = outcome.err.strip().splitlines()[-1]
    assert action in message and "kie-bluegreen iam-policy" in message, message
    assert "Traceback" not in outcome.err


def test_wrong_credentials_are_named_as_such_by_preflight(story):
    assert story.run(STORY[0][0]).code == 0
    os.environ["AWS_SECRET_ACCESS_KEY"] = "not-the-secret-of-this-key"  # restored by monkeypatch
    outcome = story.run(("deploy", "--version", "2.0.0"))
    assert outcome.code == 4
    assert "AWS credentials do not work (SignatureDoesNotMatch)" in outcome.err
    assert story.routing() == G1
