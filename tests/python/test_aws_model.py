"""The AWS model (sandbox/aws_model): moto patched to answer as AWS documents it.

Each test drives boto3 against in-process moto with the model installed on a fake clock, in a
fresh account, and asserts AWS's documented answer: states, reasons, error codes, shapes. The
sources are listed in docs/aws-behaviour.md.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from kie_bluegreen.sandbox import scenario
from kie_bluegreen.sandbox.aws_model import AwsModel, current

ASG_RELEASE_TAG = {"Key": "kie-bluegreen:release", "Value": "com.myspace:app:2.0.0", "PropagateAtLaunch": True}
INTERVAL, HEALTHY_AFTER = 10, 20  # the scenario's groups: 10 s interval, HealthyThresholdCount 2
DELAY = 30  # the scenario's deregistration delay


# -- helpers -----------------------------------------------------------------------------------


def health(aws, group_arn, *target_ids):
    """{target: (state, reason, description)} as DescribeTargetHealth answers."""
    kwargs = {"Targets": [{"Id": target} for target in target_ids]} if target_ids else {}
    answer = aws.elbv2.describe_target_health(TargetGroupArn=group_arn, **kwargs)["TargetHealthDescriptions"]
    return {
        item["Target"]["Id"]: (
            item["TargetHealth"]["State"],
            item["TargetHealth"].get("Reason"),
            item["TargetHealth"].get("Description"),
        )
        for item in answer
    }


def states(aws, group_arn):
    return {target: value[0] for target, value in health(aws, group_arn).items()}


def new_generation(aws, world, name="orders-kie-2", servers=2, subnets=None, interval=INTERVAL):
    """A target group and an Auto Scaling group registering into it, as a deploy provisions them."""
    group_arn = aws.elbv2.create_target_group(
        Name=name,
        Protocol="HTTP",
        Port=8080,
        VpcId=world.vpc_id,
        HealthCheckIntervalSeconds=interval,
        HealthyThresholdCount=2,
        UnhealthyThresholdCount=3,
    )["TargetGroups"][0]["TargetGroupArn"]
    aws.elbv2.modify_target_group_attributes(
        TargetGroupArn=group_arn, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": str(DELAY)}]
    )
    aws.autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateId": world.launch_template_id, "Version": "$Latest"},
        MinSize=0,
        MaxSize=4,
        DesiredCapacity=servers,
        VPCZoneIdentifier=",".join(subnets or world.subnet_ids),
        TargetGroupARNs=[group_arn],
        Tags=[ASG_RELEASE_TAG],
    )
    return group_arn


def reference_with_weight_zero(aws, world, group_arn):
    """The listener's default forward keeps all traffic on generation 1 and references the new
    group with weight 0."""
    aws.elbv2.modify_listener(
        ListenerArn=world.listener_arn,
        DefaultActions=[
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": world.target_group_arn, "Weight": 1},
                        {"TargetGroupArn": group_arn, "Weight": 0},
                    ]
                },
            }
        ],
    )


def instances_of(aws, name):
    groups = aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
    return {item["InstanceId"]: item["LifecycleState"] for item in groups[0]["Instances"]} if groups else None


def ec2_state(aws, instance_id):
    reservations = aws.ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    return reservations[0]["Instances"][0]["State"]["Name"]


def error_of(call, **kwargs):
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def default_actions(aws, world):
    return aws.elbv2.describe_listeners(ListenerArns=[world.listener_arn])["Listeners"][0]["DefaultActions"]


OIDC = {
    "Issuer": "https://idp.example.com",
    "AuthorizationEndpoint": "https://idp.example.com/authorize",
    "TokenEndpoint": "https://idp.example.com/token",
    "UserInfoEndpoint": "https://idp.example.com/userinfo",
    "ClientId": "kie-console",
}
COGNITO = {
    "UserPoolArn": "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_abc",
    "UserPoolClientId": "client",
    "UserPoolDomain": "orders-login",
}


def oidc_then_forward(target_group_arn, **config):
    return [
        {"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": {**OIDC, **config}},
        {"Type": "forward", "Order": 2, "TargetGroupArn": target_group_arn},
    ]


# -- a. target health --------------------------------------------------------------------------


def test_targets_of_a_group_no_listener_action_references_are_unused(aws, world, aws_like, fake_clock):
    group_arn = new_generation(aws, world)
    fake_clock.sleep(3600)
    answer = health(aws, group_arn)
    assert len(answer) == 2
    assert set(answer.values()) == {
        ("unused", "Target.NotInUse", "Target group is not configured to receive traffic from the load balancer")
    }


def test_a_weight_zero_reference_starts_checks_initial_then_healthy(aws, world, aws_like, fake_clock):
    group_arn = new_generation(aws, world)
    fake_clock.sleep(600)  # unreferenced meanwhile: nothing counts towards healthy
    reference_with_weight_zero(aws, world, group_arn)
    assert set(health(aws, group_arn).values()) == {
        ("initial", "Elb.InitialHealthChecking", "Initial health checks in progress")
    }
    fake_clock.sleep(HEALTHY_AFTER - 0.1)
    assert set(states(aws, group_arn).values()) == {"initial"}
    fake_clock.sleep(0.1)
    assert set(health(aws, group_arn).values()) == {("healthy", None, None)}


def test_a_rule_referencing_the_group_starts_checks_too(aws, world, aws_like, fake_clock):
    group_arn = new_generation(aws, world)
    aws.elbv2.create_rule(
        ListenerArn=world.listener_arn,
        Priority=101,
        Conditions=[
            {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "x-client-mode", "Values": ["green"]}}
        ],
        Actions=[{"Type": "forward", "TargetGroupArn": group_arn}],
    )
    assert set(states(aws, group_arn).values()) == {"initial"}
    fake_clock.sleep(HEALTHY_AFTER)
    assert set(states(aws, group_arn).values()) == {"healthy"}


def test_a_target_registered_into_a_referenced_group_starts_initial(aws, world, aws_like, fake_clock):
    fake_clock.sleep(HEALTHY_AFTER)
    assert set(states(aws, world.target_group_arn).values()) == {"healthy"}
    aws.autoscaling.update_auto_scaling_group(AutoScalingGroupName=world.asg_name, DesiredCapacity=3)
    newcomer = next(target for target, state in states(aws, world.target_group_arn).items() if state == "initial")
    fake_clock.sleep(HEALTHY_AFTER - 1)
    assert states(aws, world.target_group_arn)[newcomer] == "initial"
    fake_clock.sleep(1)
    assert set(states(aws, world.target_group_arn).values()) == {"healthy"}


def test_a_target_in_a_zone_the_load_balancer_does_not_enable_is_unused(aws, world, aws_like, fake_clock):
    zone_c = aws.ec2.create_subnet(VpcId=world.vpc_id, CidrBlock="10.0.3.0/24", AvailabilityZone=f"{scenario.REGION}c")[
        "Subnet"
    ]["SubnetId"]
    group_arn = new_generation(aws, world, servers=1, subnets=[zone_c])
    reference_with_weight_zero(aws, world, group_arn)
    fake_clock.sleep(HEALTHY_AFTER)
    assert set(health(aws, group_arn).values()) == {
        ("unused", "Target.NotInUse", "Target is in an Availability Zone that is not enabled for the load balancer")
    }
    assert set(states(aws, world.target_group_arn).values()) == {"healthy"}  # zone a: checked


def test_a_group_that_loses_its_last_reference_is_unused_again(aws, world, aws_like, fake_clock):
    group_arn = new_generation(aws, world)
    fake_clock.sleep(HEALTHY_AFTER)
    aws.elbv2.modify_listener(
        ListenerArn=world.listener_arn, DefaultActions=[{"Type": "forward", "TargetGroupArn": group_arn}]
    )
    assert set(health(aws, world.target_group_arn).values()) == {
        ("unused", "Target.NotInUse", "Target group is not configured to receive traffic from the load balancer")
    }
    assert set(states(aws, group_arn).values()) == {"initial"}


def test_a_deregistered_target_drains_for_the_deregistration_delay_then_is_gone(aws, world, aws_like, fake_clock):
    fake_clock.sleep(HEALTHY_AFTER)
    leaving, staying = sorted(states(aws, world.target_group_arn))
    aws.elbv2.deregister_targets(TargetGroupArn=world.target_group_arn, Targets=[{"Id": leaving}])
    assert health(aws, world.target_group_arn) == {
        leaving: ("draining", "Target.DeregistrationInProgress", "Target deregistration is in progress"),
        staying: ("healthy", None, None),
    }
    fake_clock.sleep(DELAY - 0.1)
    assert states(aws, world.target_group_arn)[leaving] == "draining"
    fake_clock.sleep(0.1)
    assert states(aws, world.target_group_arn) == {staying: "healthy"}
    assert health(aws, world.target_group_arn, leaving) == {
        leaving: ("unused", "Target.NotRegistered", "Target is not registered to the target group")
    }


def test_failing_checks_turn_a_target_unhealthy_and_recover_turns_it_healthy(aws, world, aws_like, fake_clock):
    fake_clock.sleep(HEALTHY_AFTER)
    sick, well = sorted(states(aws, world.target_group_arn))
    aws_like.fail(sick, reason="Target.ResponseCodeMismatch")
    fake_clock.sleep(INTERVAL)  # one failed check of UnhealthyThresholdCount 2
    assert states(aws, world.target_group_arn)[sick] == "healthy"
    fake_clock.sleep(INTERVAL)
    assert health(aws, world.target_group_arn) == {
        sick: ("unhealthy", "Target.ResponseCodeMismatch", "Health checks failed with these codes: [503]"),
        well: ("healthy", None, None),
    }
    aws_like.recover(sick)
    fake_clock.sleep(HEALTHY_AFTER)
    assert set(states(aws, world.target_group_arn).values()) == {"healthy"}


def test_targets_failing_from_the_start_go_from_initial_to_unhealthy(aws, world, aws_like, fake_clock):
    aws_like.fail("*", reason="Target.Timeout")
    group_arn = new_generation(aws, world)
    reference_with_weight_zero(aws, world, group_arn)
    fake_clock.sleep(2 * INTERVAL)
    assert set(states(aws, group_arn).values()) == {"initial"}  # UnhealthyThresholdCount is 3 here
    fake_clock.sleep(INTERVAL)
    assert set(health(aws, group_arn).values()) == {("unhealthy", "Target.Timeout", "Request timed out")}


def test_the_check_interval_knob_speeds_up_every_group(aws, moto_world, fake_clock):
    world = moto_world
    with AwsModel(clock=fake_clock.now, check_interval=1):
        group_arn = new_generation(aws, world)
        reference_with_weight_zero(aws, world, group_arn)
        fake_clock.sleep(2)  # HealthyThresholdCount 2 x 1 s
        assert set(states(aws, group_arn).values()) == {"healthy"}


# -- b. deleting a referenced target group ---------------------------------------------------


def test_a_target_group_referenced_with_weight_zero_cannot_be_deleted(aws, world, aws_like):
    group_arn = new_generation(aws, world)
    reference_with_weight_zero(aws, world, group_arn)
    code, _ = error_of(aws.elbv2.delete_target_group, TargetGroupArn=group_arn)
    assert code == "ResourceInUse"
    code, _ = error_of(aws.elbv2.delete_target_group, TargetGroupArn=world.target_group_arn)  # the default action's
    assert code == "ResourceInUse"
    aws.elbv2.modify_listener(
        ListenerArn=world.listener_arn, DefaultActions=[{"Type": "forward", "TargetGroupArn": world.target_group_arn}]
    )
    aws.autoscaling.delete_auto_scaling_group(AutoScalingGroupName="orders-kie-2", ForceDelete=True)
    aws.elbv2.delete_target_group(TargetGroupArn=group_arn)
    assert [
        group["TargetGroupArn"]
        for group in aws.elbv2.describe_target_groups()["TargetGroups"]
        if group["TargetGroupName"] == "orders-kie-2"
    ] == []


# -- c. read-back shapes -----------------------------------------------------------------------


def test_a_plain_forward_reads_back_as_target_group_arn_and_forward_config_with_order(aws, world, aws_like):
    expected = {
        "Type": "forward",
        "Order": 1,
        "TargetGroupArn": world.target_group_arn,
        "ForwardConfig": {
            "TargetGroups": [{"TargetGroupArn": world.target_group_arn, "Weight": 1}],
            "TargetGroupStickinessConfig": {"Enabled": False},
        },
    }
    assert default_actions(aws, world) == [expected]
    rules = aws.elbv2.describe_rules(ListenerArn=world.listener_arn)["Rules"]
    assert next(rule for rule in rules if rule["IsDefault"])["Actions"] == [expected]
    other = next(rule for rule in rules if rule["RuleArn"] == world.other_rule_arn)["Actions"][0]
    assert other["ForwardConfig"]["TargetGroups"] == [{"TargetGroupArn": world.other_target_group_arn, "Weight": 1}]
    assert other["Order"] == 1 and other["TargetGroupArn"] == world.other_target_group_arn


def test_a_weighted_forward_reads_back_as_forward_config_without_target_group_arn(aws, world, aws_like):
    group_arn = new_generation(aws, world)
    reference_with_weight_zero(aws, world, group_arn)
    assert default_actions(aws, world) == [
        {
            "Type": "forward",
            "Order": 1,
            "ForwardConfig": {
                "TargetGroups": [
                    {"TargetGroupArn": world.target_group_arn, "Weight": 1},
                    {"TargetGroupArn": group_arn, "Weight": 0},
                ],
                "TargetGroupStickinessConfig": {"Enabled": False},
            },
        }
    ]


def test_forward_limits_five_target_groups_and_weights_up_to_999(aws, world, aws_like):
    arns = [
        aws.elbv2.create_target_group(Name=f"tg-{index}", Protocol="HTTP", Port=8080, VpcId=world.vpc_id)[
            "TargetGroups"
        ][0]["TargetGroupArn"]
        for index in range(6)
    ]
    six = [
        {"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": arn, "Weight": 1} for arn in arns]}}
    ]
    assert (
        error_of(aws.elbv2.modify_listener, ListenerArn=world.listener_arn, DefaultActions=six)[0] == "ValidationError"
    )
    heavy = [{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": arns[0], "Weight": 1000}]}}]
    assert (
        error_of(aws.elbv2.modify_listener, ListenerArn=world.listener_arn, DefaultActions=heavy)[0]
        == "ValidationError"
    )
    five = [
        {
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": [
                    {"TargetGroupArn": arn, "Weight": 999 if index == 0 else 0} for index, arn in enumerate(arns[:5])
                ]
            },
        }
    ]
    aws.elbv2.modify_listener(ListenerArn=world.listener_arn, DefaultActions=five)
    assert len(default_actions(aws, world)[0]["ForwardConfig"]["TargetGroups"]) == 5


def test_a_load_balancer_takes_at_most_100_rules_besides_its_default_rules(aws, world, aws_like):
    for index in range(99):  # the scenario already has another team's rule: 100 in all
        aws.elbv2.create_rule(
            ListenerArn=world.listener_arn,
            Priority=1000 + index,
            Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": [f"/p{index}"]}}],
            Actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
        )
    code, message = error_of(
        aws.elbv2.create_rule,
        ListenerArn=world.listener_arn,
        Priority=2000,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/one-too-many"]}}],
        Actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
    )
    assert (code, message) == ("TooManyRules", "You've reached the limit on the number of rules per load balancer.")


def test_an_http_header_condition_cannot_match_the_host_header(aws, world, aws_like):
    code, _ = error_of(
        aws.elbv2.create_rule,
        ListenerArn=world.listener_arn,
        Priority=100,
        Conditions=[
            {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "HOST", "Values": ["blue.example.com"]}}
        ],
        Actions=[{"Type": "forward", "TargetGroupArn": world.target_group_arn}],
    )
    assert code == "ValidationError"


def test_an_auto_scaling_group_takes_at_most_50_tags(aws, world, aws_like):
    present = len(
        aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[world.asg_name])["AutoScalingGroups"][0][
            "Tags"
        ]
    )

    def tag(index):
        return {
            "ResourceId": world.asg_name,
            "ResourceType": "auto-scaling-group",
            "Key": f"extra-{index}",
            "Value": "x",
            "PropagateAtLaunch": False,
        }

    aws.autoscaling.create_or_update_tags(Tags=[tag(index) for index in range(50 - present)])
    code, _ = error_of(aws.autoscaling.create_or_update_tags, Tags=[tag(99)])
    assert code == "LimitExceeded"
    aws.autoscaling.create_or_update_tags(Tags=[tag(0)])  # overwriting a key adds none


# -- d. authenticate actions -------------------------------------------------------------------


def test_authenticate_actions_need_an_https_listener(aws, world, aws_like):
    code, message = error_of(
        aws.elbv2.modify_listener,
        ListenerArn=world.listener_arn,
        DefaultActions=oidc_then_forward(world.target_group_arn, ClientSecret="s3cret"),
    )
    assert code == "InvalidLoadBalancerAction" and "HTTPS" in message


def test_oidc_before_forward_is_accepted_and_its_secret_never_read_back(aws, https_world):
    world = https_world
    aws.elbv2.modify_listener(
        ListenerArn=world.listener_arn, DefaultActions=oidc_then_forward(world.target_group_arn, ClientSecret="s3cret")
    )
    authenticate, forward = default_actions(aws, world)
    assert authenticate == {
        "Type": "authenticate-oidc",
        "Order": 1,
        "AuthenticateOidcConfig": {
            **OIDC,
            "Scope": "openid",
            "SessionCookieName": "AWSELBAuthSessionCookie",
            "SessionTimeout": 604800,
            "OnUnauthenticatedRequest": "authenticate",
        },
    }
    assert forward["Order"] == 2 and forward["TargetGroupArn"] == world.target_group_arn
    rule = aws.elbv2.create_rule(
        ListenerArn=world.listener_arn,
        Priority=100,
        Conditions=[
            {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "x-client-mode", "Values": ["blue"]}}
        ],
        Actions=oidc_then_forward(world.target_group_arn, ClientSecret="s3cret"),
    )["Rules"][0]
    assert "ClientSecret" not in rule["Actions"][0]["AuthenticateOidcConfig"]
    described = aws.elbv2.describe_rules(RuleArns=[rule["RuleArn"]])["Rules"][0]["Actions"]
    assert "ClientSecret" not in described[0]["AuthenticateOidcConfig"]
    assert [action["Type"] for action in described] == ["authenticate-oidc", "forward"]


def test_modifying_an_oidc_action_needs_its_secret_or_use_existing_client_secret(aws, https_world):
    world = https_world
    aws.elbv2.modify_listener(
        ListenerArn=world.listener_arn, DefaultActions=oidc_then_forward(world.target_group_arn, ClientSecret="s3cret")
    )
    code, _ = error_of(
        aws.elbv2.modify_listener,
        ListenerArn=world.listener_arn,
        DefaultActions=oidc_then_forward(world.target_group_arn),
    )
    assert code == "InvalidLoadBalancerAction"
    code, message = error_of(
        aws.elbv2.modify_listener,
        ListenerArn=world.listener_arn,
        DefaultActions=oidc_then_forward(world.target_group_arn, ClientSecret="x", UseExistingClientSecret=True),
    )
    assert (code, message) == (
        "InvalidLoadBalancerAction",
        "You cannot both specify a client secret and set UseExistingClientSecret to true",
    )
    for _ in range(2):  # the kept secret survives being kept again
        aws.elbv2.modify_listener(
            ListenerArn=world.listener_arn,
            DefaultActions=oidc_then_forward(world.target_group_arn, UseExistingClientSecret=True),
        )
    config = default_actions(aws, world)[0]["AuthenticateOidcConfig"]
    assert "ClientSecret" not in config and "UseExistingClientSecret" not in config


def test_creating_an_oidc_action_needs_a_client_secret(aws, https_world):
    code, _ = error_of(
        aws.elbv2.create_rule,
        ListenerArn=https_world.listener_arn,
        Priority=7,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/x"]}}],
        Actions=oidc_then_forward(https_world.target_group_arn, UseExistingClientSecret=True),
    )
    assert code == "InvalidLoadBalancerAction"


def test_cognito_before_forward_reads_back_with_its_defaults(aws, https_world):
    actions = [
        {"Type": "authenticate-cognito", "Order": 1, "AuthenticateCognitoConfig": COGNITO},
        {"Type": "forward", "Order": 2, "TargetGroupArn": https_world.target_group_arn},
    ]
    aws.elbv2.modify_listener(ListenerArn=https_world.listener_arn, DefaultActions=actions)
    assert default_actions(aws, https_world)[0]["AuthenticateCognitoConfig"] == {
        **COGNITO,
        "Scope": "openid",
        "SessionCookieName": "AWSELBAuthSessionCookie",
        "SessionTimeout": 604800,
        "OnUnauthenticatedRequest": "authenticate",
    }


def test_several_actions_need_orders_and_end_with_the_routing_action(aws, https_world):
    unordered = [
        {"Type": "authenticate-cognito", "AuthenticateCognitoConfig": COGNITO},
        {"Type": "forward", "TargetGroupArn": https_world.target_group_arn},
    ]
    code, _ = error_of(aws.elbv2.modify_listener, ListenerArn=https_world.listener_arn, DefaultActions=unordered)
    assert code == "InvalidLoadBalancerAction"
    forward_first = [
        {"Type": "forward", "Order": 1, "TargetGroupArn": https_world.target_group_arn},
        {"Type": "authenticate-cognito", "Order": 2, "AuthenticateCognitoConfig": COGNITO},
    ]
    code, _ = error_of(aws.elbv2.modify_listener, ListenerArn=https_world.listener_arn, DefaultActions=forward_first)
    assert code == "InvalidLoadBalancerAction"


# -- e. scale-in, standby, deleting a group ----------------------------------------------------


def test_scale_in_deregisters_drains_then_terminates(aws, world, aws_like, fake_clock):
    fake_clock.sleep(HEALTHY_AFTER)
    aws.autoscaling.update_auto_scaling_group(AutoScalingGroupName=world.asg_name, MinSize=1, DesiredCapacity=1)
    lifecycle = instances_of(aws, world.asg_name)
    leaving = next(instance for instance, state in lifecycle.items() if state == "Terminating")
    staying = next(instance for instance, state in lifecycle.items() if state == "InService")
    assert health(aws, world.target_group_arn)[leaving][:2] == ("draining", "Target.DeregistrationInProgress")
    fake_clock.sleep(DELAY - 1)
    assert ec2_state(aws, leaving) == "running" and instances_of(aws, world.asg_name)[leaving] == "Terminating"
    fake_clock.sleep(1)
    assert instances_of(aws, world.asg_name) == {staying: "InService"}
    assert ec2_state(aws, leaving) == "terminated"
    assert states(aws, world.target_group_arn) == {staying: "healthy"}


def test_set_desired_capacity_to_zero_drains_every_instance(aws, world, aws_like, fake_clock):
    aws.autoscaling.set_desired_capacity(AutoScalingGroupName=world.asg_name, DesiredCapacity=0)
    assert set(instances_of(aws, world.asg_name).values()) == {"Terminating"}
    assert set(states(aws, world.target_group_arn).values()) == {"draining"}
    fake_clock.sleep(DELAY)
    assert instances_of(aws, world.asg_name) == {}


def test_standby_deregisters_and_exit_standby_registers_again(aws, world, aws_like, fake_clock):
    fake_clock.sleep(HEALTHY_AFTER)
    resting = sorted(instances_of(aws, world.asg_name))[0]
    aws.autoscaling.enter_standby(
        AutoScalingGroupName=world.asg_name, InstanceIds=[resting], ShouldDecrementDesiredCapacity=True
    )
    assert instances_of(aws, world.asg_name)[resting] == "Standby"
    assert states(aws, world.target_group_arn)[resting] == "draining"
    fake_clock.sleep(DELAY)
    assert resting not in states(aws, world.target_group_arn)
    assert ec2_state(aws, resting) == "running"  # Standby keeps the instance (and its bill)
    aws.autoscaling.exit_standby(AutoScalingGroupName=world.asg_name, InstanceIds=[resting])
    assert states(aws, world.target_group_arn)[resting] == "initial"


def test_deleting_a_group_with_instances_needs_force_delete(aws, world, aws_like, fake_clock):
    code, message = error_of(aws.autoscaling.delete_auto_scaling_group, AutoScalingGroupName=world.asg_name)
    assert (code, message) == (
        "ResourceInUse",
        "You cannot delete an AutoScalingGroup while there are instances or "
        "pending Spot instance request(s) still in the group.",
    )
    aws.autoscaling.update_auto_scaling_group(AutoScalingGroupName=world.asg_name, MinSize=0, DesiredCapacity=0)
    code, _ = error_of(aws.autoscaling.delete_auto_scaling_group, AutoScalingGroupName=world.asg_name)
    assert code == "ScalingActivityInProgress"  # still draining before termination
    fake_clock.sleep(DELAY)
    aws.autoscaling.delete_auto_scaling_group(AutoScalingGroupName=world.asg_name)
    assert instances_of(aws, world.asg_name) is None


def test_force_delete_terminates_the_instances_at_once(aws, world, aws_like, fake_clock):
    instances = sorted(instances_of(aws, world.asg_name))
    aws.autoscaling.delete_auto_scaling_group(AutoScalingGroupName=world.asg_name, ForceDelete=True)
    assert instances_of(aws, world.asg_name) is None
    assert {ec2_state(aws, instance) for instance in instances} == {"terminated"}
    assert set(states(aws, world.target_group_arn).values()) == {"draining"}  # ELB deregisters them
    fake_clock.sleep(DELAY)
    assert states(aws, world.target_group_arn) == {}


# -- f. lifecycle hooks ------------------------------------------------------------------------


def launching_hook(aws, world, timeout=300, default="ABANDON"):
    aws.autoscaling.put_lifecycle_hook(
        LifecycleHookName="warm-up",
        AutoScalingGroupName=world.asg_name,
        LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING",
        HeartbeatTimeout=timeout,
        DefaultResult=default,
    )


def test_a_launching_hook_holds_new_instances_until_complete_lifecycle_action(aws, world, aws_like, fake_clock):
    launching_hook(aws, world)
    aws.autoscaling.set_desired_capacity(AutoScalingGroupName=world.asg_name, DesiredCapacity=3)
    newcomer = next(
        instance for instance, state in instances_of(aws, world.asg_name).items() if state == "Pending:Wait"
    )
    assert newcomer not in states(aws, world.target_group_arn)  # registered only once InService
    aws.autoscaling.complete_lifecycle_action(
        LifecycleHookName="warm-up",
        AutoScalingGroupName=world.asg_name,
        LifecycleActionResult="CONTINUE",
        InstanceId=newcomer,
    )
    assert instances_of(aws, world.asg_name)[newcomer] == "InService"
    assert states(aws, world.target_group_arn)[newcomer] == "initial"


def test_a_launching_hook_that_times_out_takes_its_default_result(aws, world, aws_like, fake_clock):
    launching_hook(aws, world, timeout=60, default="ABANDON")
    aws.autoscaling.set_desired_capacity(AutoScalingGroupName=world.asg_name, DesiredCapacity=3)
    abandoned = next(
        instance for instance, state in instances_of(aws, world.asg_name).items() if state == "Pending:Wait"
    )
    aws.autoscaling.record_lifecycle_action_heartbeat(
        LifecycleHookName="warm-up", AutoScalingGroupName=world.asg_name, InstanceId=abandoned
    )
    fake_clock.sleep(59)
    assert instances_of(aws, world.asg_name)[abandoned] == "Pending:Wait"
    fake_clock.sleep(1)
    lifecycle = instances_of(aws, world.asg_name)
    assert abandoned not in lifecycle and ec2_state(aws, abandoned) == "terminated"
    assert sorted(lifecycle.values()) == ["InService", "InService", "Pending:Wait"]  # a replacement waits in turn


def test_a_hook_whose_default_is_continue_puts_the_instance_in_service(aws, world, aws_like, fake_clock):
    launching_hook(aws, world, timeout=60, default="CONTINUE")
    aws.autoscaling.set_desired_capacity(AutoScalingGroupName=world.asg_name, DesiredCapacity=3)
    fake_clock.sleep(60)
    assert set(instances_of(aws, world.asg_name).values()) == {"InService"}
    assert len(states(aws, world.target_group_arn)) == 3


def test_completing_a_lifecycle_action_nobody_waits_for_is_refused(aws, world, aws_like):
    launching_hook(aws, world)
    instance = sorted(instances_of(aws, world.asg_name))[0]
    code, message = error_of(
        aws.autoscaling.complete_lifecycle_action,
        LifecycleHookName="warm-up",
        AutoScalingGroupName=world.asg_name,
        LifecycleActionResult="CONTINUE",
        InstanceId=instance,
    )
    assert (code, message) == ("ValidationError", f"No active Lifecycle Action found with instance ID {instance}")


# -- installing ----------------------------------------------------------------------------------


def test_uninstall_gives_moto_back_and_one_model_at_a_time(aws, moto_world, fake_clock):
    world = moto_world
    model = AwsModel(clock=fake_clock.now).install()
    try:
        with pytest.raises(RuntimeError, match="already installed"):
            AwsModel(clock=fake_clock.now).install()
        group_arn = new_generation(aws, world, servers=1)
        assert set(states(aws, group_arn).values()) == {"unused"}
    finally:
        model.uninstall()
    assert current() is None
    assert set(states(aws, group_arn).values()) == {"healthy"}  # moto's own answer


def test_the_model_works_for_an_acm_certificate_listener_built_before_install(aws, fake_clock):
    """Installing after a world was built reshapes what exists (read-back) and follows it."""
    certificate = boto3.client("acm", region_name=scenario.REGION).request_certificate(DomainName="example.com")[
        "CertificateArn"
    ]
    world = scenario.build(aws, certificate_arn=certificate)
    with AwsModel(clock=fake_clock.now):
        assert default_actions(aws, world)[0]["ForwardConfig"]["TargetGroups"][0]["Weight"] == 1
        assert set(states(aws, world.target_group_arn).values()) == {"initial"}
