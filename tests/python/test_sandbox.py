"""The sandbox running for real: moto server, KIE emulators, health checks and the ALB data plane.

These tests act like an operator with boto3 (not through the runner), so they check the
sandbox's own promises: health follows the servers, DescribeTargetHealth reports it, the data
plane serves the listener's rules after the propagation delay and never sends new requests to
a draining target.
"""

import json
import time
import urllib.error
import urllib.request

import pytest

from kie_bluegreen.probe import Traffic, summarize, target_url
from kie_bluegreen.sandbox.alb_rules import Forward
from kie_bluegreen.sandbox.kie_server import BootSettings
from kie_bluegreen.sandbox.runtime import Sandbox, SandboxSettings
from kie_bluegreen.sandbox.scenario import ARTIFACT_ID, GROUP_ID

FAST = SandboxSettings(boot=BootSettings(boot_delay=0.6, never_ready=frozenset({"6.6.6"}), failing={"4.0.0": 0.25}),
                       health_interval=0.1, propagation_delay=0.3, deregistration_delay=1, metrics_interval=0.2)


@pytest.fixture
def sandbox(tmp_path):
    with Sandbox(FAST, str(tmp_path)) as running:
        yield running


def launch_generation(sandbox, name, version, servers=2):
    """What a deploy's provision phase does: a target group, referenced by the listener's default
    forward with weight 0 (an ALB health-checks only referenced groups), and an ASG whose
    instances carry the release."""
    aws, world = sandbox.aws, sandbox.world
    group_arn = aws.elbv2.create_target_group(
        Name=name, Protocol="HTTP", Port=8080, VpcId=world.vpc_id, TargetType="instance",
        HealthCheckPath="/kie-server/services/rest/server/readycheck", HealthyThresholdCount=2,
        UnhealthyThresholdCount=2)["TargetGroups"][0]["TargetGroupArn"]
    aws.elbv2.modify_listener(ListenerArn=world.listener_arn, DefaultActions=[{"Type": "forward", "ForwardConfig": {
        "TargetGroups": [{"TargetGroupArn": world.target_group_arn, "Weight": 1},
                         {"TargetGroupArn": group_arn, "Weight": 0}]}}])
    aws.elbv2.modify_target_group_attributes(
        TargetGroupArn=group_arn, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "1"}])
    aws.autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name, LaunchTemplate={"LaunchTemplateId": world.launch_template_id, "Version": "$Latest"},
        MinSize=servers, MaxSize=servers, DesiredCapacity=servers, VPCZoneIdentifier=",".join(world.subnet_ids),
        TargetGroupARNs=[group_arn],
        Tags=[{"Key": "kie-bluegreen:release", "Value": f"{GROUP_ID}:{ARTIFACT_ID}:{version}", "PropagateAtLaunch": True}])
    return group_arn


def states(sandbox, group_arn):
    answer = sandbox.aws.elbv2.describe_target_health(TargetGroupArn=group_arn)["TargetHealthDescriptions"]
    return sorted(description["TargetHealth"]["State"] for description in answer)


def wait_for(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"not reached in {timeout}s")


def get(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def version_of(body):
    return json.loads(body)["result"]["kie-container"]["resolved-release-id"]["version"]


def test_new_servers_are_not_healthy_before_they_booted(sandbox):
    group_arn = launch_generation(sandbox, "orders-production-g2", "2.0.0")
    assert states(sandbox, group_arn) == ["initial", "initial"]  # moto alone would say healthy
    seen = []
    wait_for(lambda: seen.append(states(sandbox, group_arn)) or seen[-1] == ["healthy", "healthy"])
    assert seen[0] != ["healthy", "healthy"]


def test_a_release_that_never_gets_ready_never_turns_healthy(sandbox):
    group_arn = launch_generation(sandbox, "orders-production-g2", "6.6.6", servers=1)
    wait_for(lambda: states(sandbox, group_arn) == ["unhealthy"])
    time.sleep(1.0)  # well past the boot delay
    assert states(sandbox, group_arn) == ["unhealthy"]
    instance = sandbox.aws.autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=["orders-production-g2"])["AutoScalingGroups"][0]["Instances"][0]["InstanceId"]
    base = sandbox.kie.kie_url_template().format(instance_id=instance)
    assert get(base + "/readycheck")[0] == 503
    status, body = get(base + "/containers/app")
    assert status == 200 and json.loads(body)["result"]["kie-container"]["status"] == "FAILED"


def test_kie_emulator_serves_the_release_of_its_instance(sandbox):
    group_arn = launch_generation(sandbox, "orders-production-g2", "2.0.0", servers=1)
    wait_for(lambda: states(sandbox, group_arn) == ["healthy"])
    instance = next(iter(sandbox.target_states(group_arn)))
    base = sandbox.kie.kie_url_template().format(instance_id=instance)
    assert get(base + "/readycheck")[0] == 200
    assert version_of(get(base + "/containers/app")[1]) == "2.0.0"
    assert get(base + "/containers/other")[0] == 404
    request = urllib.request.Request(base + "/containers/app/ksession", data=b"{}", method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        results = json.loads(response.read())["result"]["execution-results"]["results"]
    assert {"key": "release", "value": f"{GROUP_ID}:{ARTIFACT_ID}:2.0.0"} in results


def test_data_plane_follows_header_rules_after_the_propagation_delay(sandbox):
    group_arn = launch_generation(sandbox, "orders-production-g2", "2.0.0")
    wait_for(lambda: states(sandbox, group_arn) == ["healthy", "healthy"])
    url = target_url(sandbox.alb_url, "app")
    sandbox.aws.elbv2.create_rule(
        ListenerArn=sandbox.world.listener_arn, Priority=101,
        Conditions=[{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "x-client-mode", "Values": ["green"]}}],
        Actions=[{"Type": "forward", "TargetGroupArn": group_arn}])
    written = time.monotonic()
    assert version_of(get(url, {"X-Client-Mode": "GREEN"})[1]) == "1.0.0"  # not propagated yet
    wait_for(lambda: version_of(get(url, {"X-Client-Mode": "GREEN"})[1]) == "2.0.0")
    assert time.monotonic() - written >= FAST.propagation_delay
    assert version_of(get(url)[1]) == "1.0.0"  # the default rule is untouched
    assert get(sandbox.alb_url + "/billing/invoices")[0] == 503  # another team's rule, no targets


def test_switch_under_traffic_with_standby_drains_without_a_failed_request(sandbox):
    """Canary-2 by hand: default -> g2, old servers to Standby (they drain), under steady traffic."""
    group_arn = launch_generation(sandbox, "orders-production-g2", "2.0.0")
    wait_for(lambda: states(sandbox, group_arn) == ["healthy", "healthy"])
    traffic = Traffic(target_url(sandbox.alb_url, "app"), rate=100).start()
    time.sleep(0.3)
    sandbox.aws.elbv2.modify_listener(ListenerArn=sandbox.world.listener_arn,
                                      DefaultActions=[{"Type": "forward", "TargetGroupArn": group_arn}])
    time.sleep(FAST.propagation_delay + 0.2)  # the runner must let the change reach the ALB nodes first
    old = sandbox.aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[sandbox.world.asg_name])
    instances = [instance["InstanceId"] for instance in old["AutoScalingGroups"][0]["Instances"]]
    sandbox.aws.autoscaling.enter_standby(AutoScalingGroupName=sandbox.world.asg_name, InstanceIds=instances,
                                          ShouldDecrementDesiredCapacity=True)
    wait_for(lambda: states(sandbox, sandbox.world.target_group_arn) == ["draining", "draining"], timeout=2)
    wait_for(lambda: states(sandbox, sandbox.world.target_group_arn) == [], timeout=3)
    samples = traffic.stop()
    summary = summarize(samples)
    assert summary.failed == 0, summary
    assert set(summary.versions) == {"1.0.0", "2.0.0"}
    assert summarize(samples, since=samples[-1].started - 0.5).versions.keys() == {"2.0.0"}


def test_routing_to_a_group_that_is_not_ready_fails_requests(sandbox):
    """What the runner's wait phase prevents: switching before the servers are ready."""
    group_arn = launch_generation(sandbox, "orders-production-g2", "6.6.6", servers=1)
    sandbox.aws.elbv2.modify_listener(ListenerArn=sandbox.world.listener_arn,
                                      DefaultActions=[{"Type": "forward", "TargetGroupArn": group_arn}])
    time.sleep(FAST.propagation_delay + 0.1)
    samples = Traffic(target_url(sandbox.alb_url, "app"), rate=50, duration=0.4).run()
    assert summarize(samples).failed == len(samples) > 0


def test_sandbox_up_announces_endpoint_config_and_alb(tmp_path, capsys):
    import threading

    from kie_bluegreen import cli
    from kie_bluegreen.sandbox import command

    args = cli.build_parser().parse_args(
        ["--output", "json", "sandbox", "up", "--dir", str(tmp_path), "--boot-delay", "1s", "--health-interval", "0.1"])
    stop = threading.Event()
    result = {}
    thread = threading.Thread(target=lambda: result.update(done=command.run(args, stop)))
    thread.start()
    announced = json.loads(wait_for(lambda: capsys.readouterr().out or None, timeout=20).splitlines()[0])
    try:
        assert announced["environment"]["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
        assert announced["config"] == str(tmp_path / "kie-deploy.yaml") and (tmp_path / "kie-deploy.yaml").exists()
        assert version_of(get(target_url(announced["alb_url"], "app"))[1]) == "1.0.0"
    finally:
        stop.set()
        thread.join(timeout=10)
    assert result["done"].data["result"] == "stopped"


def test_sandbox_up_refuses_bad_options(capsys):
    from kie_bluegreen import cli

    assert cli.main(["sandbox", "up", "--boot-delay", "soon"]) == 2
    assert "--boot-delay" in capsys.readouterr().err
    for bad in ("3.0.0", "3.0.0=1.5", "=0.2", "3.0.0=much"):
        assert cli.main(["sandbox", "up", "--failing", bad]) == 2
        assert f"--failing: expected VERSION=SHARE with a share above 0 and at most 1, e.g. 3.0.0=0.2; got {bad!r}" \
            in capsys.readouterr().err


def test_a_request_in_flight_to_a_target_that_starts_draining_completes(tmp_path):
    import threading
    from dataclasses import replace

    slow = replace(FAST, boot=replace(FAST.boot, request_latency=0.6))
    with Sandbox(slow, str(tmp_path)) as sandbox:
        url, answers = target_url(sandbox.alb_url, "app"), []
        thread = threading.Thread(target=lambda: answers.append(get(url)))
        thread.start()
        target = wait_for(lambda: next((t for t in sandbox.target_states(sandbox.world.target_group_arn)
                                        if sandbox.alb.in_flight(t) == 1), None), timeout=2)
        sandbox.aws.elbv2.deregister_targets(TargetGroupArn=sandbox.world.target_group_arn, Targets=[{"Id": target}])
        wait_for(lambda: sandbox.target_states(sandbox.world.target_group_arn).get(target) == "draining", timeout=1)
        assert sandbox.alb.in_flight(target) == 1  # still in flight while draining
        thread.join(timeout=5)
        assert answers[0][0] == 200 and version_of(answers[0][1]) == "1.0.0"
        forward = Forward(((sandbox.world.target_group_arn, 1),), "default")
        assert {sandbox.alb.picker.pick(forward)[1] for _ in range(4)} == set(sandbox.target_states(
            sandbox.world.target_group_arn)) - {target}  # no new request goes to the draining one


def test_an_unreferenced_group_is_unused_until_a_listener_action_references_it(sandbox):
    """ALB guide: health checks run for targets of a group a listener rule specifies; the others
    are unused (Target.NotInUse), however ready their servers are."""
    aws, world = sandbox.aws, sandbox.world
    group_arn = aws.elbv2.create_target_group(
        Name="orders-production-g2", Protocol="HTTP", Port=8080, VpcId=world.vpc_id,
        HealthCheckPath="/kie-server/services/rest/server/readycheck")["TargetGroups"][0]["TargetGroupArn"]
    aws.autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="orders-production-g2", MinSize=1, MaxSize=1, DesiredCapacity=1,
        LaunchTemplate={"LaunchTemplateId": world.launch_template_id, "Version": "$Latest"},
        VPCZoneIdentifier=",".join(world.subnet_ids), TargetGroupARNs=[group_arn],
        Tags=[{"Key": "kie-bluegreen:release", "Value": f"{GROUP_ID}:{ARTIFACT_ID}:2.0.0", "PropagateAtLaunch": True}])
    time.sleep(FAST.boot.boot_delay + 5 * FAST.health_interval)  # booted and long checkable
    assert states(sandbox, group_arn) == ["unused"]
    aws.elbv2.modify_listener(ListenerArn=world.listener_arn, DefaultActions=[{"Type": "forward", "ForwardConfig": {
        "TargetGroups": [{"TargetGroupArn": world.target_group_arn, "Weight": 1},
                         {"TargetGroupArn": group_arn, "Weight": 0}]}}])
    assert states(sandbox, group_arn) == ["initial"]
    wait_for(lambda: states(sandbox, group_arn) == ["healthy"])


def test_scale_in_drains_before_the_servers_stop_without_a_failed_request(sandbox):
    aws, world = sandbox.aws, sandbox.world
    traffic = Traffic(target_url(sandbox.alb_url, "app"), rate=100).start()
    time.sleep(0.3)
    aws.autoscaling.update_auto_scaling_group(AutoScalingGroupName=world.asg_name, MinSize=1, DesiredCapacity=1)
    lifecycle = {item["InstanceId"]: item["LifecycleState"] for item in aws.autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=[world.asg_name])["AutoScalingGroups"][0]["Instances"]}
    leaving = next(instance for instance, state in lifecycle.items() if state == "Terminating")
    assert sandbox.target_states(world.target_group_arn)[leaving] == "draining"
    assert sandbox.fleet.get(leaving) is not None  # its server still runs while it drains
    wait_for(lambda: sandbox.fleet.get(leaving) is None, timeout=FAST.deregistration_delay + 2)
    samples = traffic.stop()
    assert summarize(samples).failed == 0, summarize(samples)


@pytest.fixture
def https_sandbox(tmp_path):
    from dataclasses import replace

    from kie_bluegreen import cli
    from kie_bluegreen.sandbox import command

    assert command.settings_from(cli.build_parser().parse_args(["sandbox", "up", "--https"])).https
    with Sandbox(replace(FAST, https=True), str(tmp_path)) as running:
        listener = running.aws.elbv2.describe_listeners(ListenerArns=[running.world.listener_arn])["Listeners"][0]
        assert (listener["Protocol"], listener["Port"]) == ("HTTPS", 443)
        yield running


def test_the_data_plane_asks_for_a_login_and_shows_a_rule_that_skips_it(https_sandbox):
    """An authenticate action answers a request without a session (302 to the identity provider,
    or 401 with deny) and passes one with the session cookie; a rule that forwards without the
    authenticate action lets the same request through: a bypass, visible."""
    aws, world = https_sandbox.aws, https_sandbox.world
    oidc = {"Issuer": "https://idp.example.com", "AuthorizationEndpoint": "https://idp.example.com/authorize",
            "TokenEndpoint": "https://idp.example.com/token", "UserInfoEndpoint": "https://idp.example.com/userinfo",
            "ClientId": "kie", "ClientSecret": "s3cret"}
    forward = {"Type": "forward", "Order": 2, "TargetGroupArn": world.target_group_arn}
    aws.elbv2.modify_listener(ListenerArn=world.listener_arn, DefaultActions=[
        {"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": oidc}, forward])
    aws.elbv2.create_rule(ListenerArn=world.listener_arn, Priority=100, Conditions=[
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "x-client-mode", "Values": ["blue"]}}],
        Actions=[{"Type": "forward", "TargetGroupArn": world.target_group_arn}])
    aws.elbv2.create_rule(ListenerArn=world.listener_arn, Priority=101, Conditions=[
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "x-client-mode", "Values": ["api"]}}],
        Actions=[{"Type": "authenticate-oidc", "Order": 1,
                  "AuthenticateOidcConfig": {**oidc, "OnUnauthenticatedRequest": "deny"}}, forward])
    time.sleep(FAST.propagation_delay + 0.2)
    url = target_url(https_sandbox.alb_url, "app")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        urllib.request.build_opener(NoRedirect).open(url, timeout=5)
        raise AssertionError("no redirect")
    except urllib.error.HTTPError as error:
        assert (error.code, error.headers["Location"]) == (302, "https://idp.example.com/authorize")
    assert get(url, {"X-Client-Mode": "api"})[0] == 401
    assert get(url, {"Cookie": "AWSELBAuthSessionCookie-0=opaque"})[0] == 200
    assert get(url, {"X-Client-Mode": "api", "Cookie": "AWSELBAuthSessionCookie-0=a; AWSELBAuthSessionCookie-1=b"})[0] == 200
    status, body = get(url, {"X-Client-Mode": "blue"})  # no session, yet served: the blue rule skips the login
    assert status == 200 and version_of(body) == "1.0.0"


def test_a_failing_release_passes_its_health_checks_and_fails_its_share_of_calls(sandbox):
    group_arn = launch_generation(sandbox, "orders-production-g2", "4.0.0", servers=1)
    wait_for(lambda: states(sandbox, group_arn) == ["healthy"])  # health checks cannot see it
    instance = next(iter(sandbox.target_states(group_arn)))
    base = sandbox.kie.kie_url_template().format(instance_id=instance)
    statuses = [get(base + "/containers/app")[0] for _ in range(8)]
    assert statuses == [200, 200, 200, 500, 200, 200, 200, 500]
    assert get(base + "/readycheck")[0] == 200


def test_the_alb_publishes_its_metrics_per_target_group_and_the_runner_reads_them(sandbox):
    """What analysis.max-5xx-percent reads on AWS: RequestCount and HTTPCode_Target_5XX_Count of
    AWS/ApplicationELB per (LoadBalancer, TargetGroup), reported only while requests flow."""
    from kie_bluegreen.aws.api import AwsApi
    from kie_bluegreen.aws.cloudwatch import CloudWatch

    since = time.time()
    group_arn = launch_generation(sandbox, "orders-production-g2", "4.0.0", servers=1)
    wait_for(lambda: states(sandbox, group_arn) == ["healthy"])
    sandbox.aws.elbv2.create_rule(
        ListenerArn=sandbox.world.listener_arn, Priority=101,
        Conditions=[{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "x-client-mode", "Values": ["green"]}}],
        Actions=[{"Type": "forward", "TargetGroupArn": group_arn}])
    time.sleep(FAST.propagation_delay + 0.1)
    url = target_url(sandbox.alb_url, "app")
    answers = [get(url, {"x-client-mode": "green"})[0] for _ in range(20)] + [get(url)[0] for _ in range(10)]
    assert answers.count(500) == 5
    time.sleep(2 * FAST.metrics_interval + 0.1)
    published = len(sandbox.metrics.published)
    cloudwatch = CloudWatch(AwsApi(sandbox.aws))
    balancer = sandbox.world.load_balancer_arn
    assert cloudwatch.error_share(balancer, group_arn, since, time.time()) == (5, 20)
    assert cloudwatch.error_share(balancer, sandbox.world.target_group_arn, since, time.time()) == (0, 10)
    # Nothing flows any more: nothing more is reported.
    time.sleep(2 * FAST.metrics_interval)
    assert len(sandbox.metrics.published) == published
    # The runner's reads are counted with their operation names.
    assert "GetMetricData" in {call.action for call in sandbox.moto.calls.calls()}
