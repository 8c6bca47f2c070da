"""The design note's starting point (Canary-0), built through the AWS API: a VPC with two subnets, a
launch template, the ALB `alb-ks` whose listener forwards by default to generation 1 (release
1.0.0, two servers) and also carries another team's path rule, which we must never touch.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

import yaml

from ..aws.session import Clients

REGION = "eu-west-1"
APP = "orders"
STAGE = "production"
GROUP_ID, ARTIFACT_ID, CONTAINER_ID = "com.myspace", "app", "app"
FIRST_VERSION = "1.0.0"
READYCHECK = "/kie-server/services/rest/server/readycheck"
USER_DATA = """#!/bin/bash
# Demo user data: the real example is resources/kie-bluegreen/user-data.sh
echo starting KIE Server
"""


@dataclass(frozen=True)
class World:
    region: str
    vpc_id: str
    subnet_ids: tuple[str, ...]
    launch_template_id: str
    load_balancer_arn: str
    listener_arn: str
    asg_name: str  # generation 1, not yet adopted by `init`
    target_group_arn: str
    other_target_group_arn: str
    other_rule_arn: str  # another team's rule on the same listener


def build(aws: Clients, servers: int = 2, asg_name: str = "orders-kie-1", deregistration_delay: int = 30,
          certificate_arn: str | None = None, instance_warmup: int | None = None) -> World:
    """With `certificate_arn` the listener is HTTPS on port 443 (authenticate actions need
    HTTPS), else HTTP on port 80. `instance_warmup`: the group's DefaultInstanceWarmup (an
    instance refresh waits that long after a new server is InService; without it, the health
    check grace period of 120 s)."""
    ec2, elbv2, autoscaling = aws.ec2, aws.elbv2, aws.autoscaling
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet_ids = tuple(
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.0.{index}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"]["SubnetId"]
        for index, zone in ((1, "a"), (2, "b"))
    )
    template_id = ec2.create_launch_template(
        LaunchTemplateName="kie-server",
        LaunchTemplateData={
            "ImageId": "ami-12c6146b",
            "InstanceType": "t3.large",
            "UserData": base64.b64encode(USER_DATA.encode()).decode(),
        },
    )["LaunchTemplate"]["LaunchTemplateId"]

    load_balancer_arn = elbv2.create_load_balancer(Name="alb-ks", Subnets=list(subnet_ids), Type="application")[
        "LoadBalancers"][0]["LoadBalancerArn"]
    target_group_arn = _target_group(elbv2, "orders-kie-1", vpc_id, READYCHECK, deregistration_delay)
    other_target_group_arn = _target_group(elbv2, "billing-api", vpc_id, "/health", deregistration_delay)
    protocol = {"Protocol": "HTTPS", "Port": 443, "Certificates": [{"CertificateArn": certificate_arn}]} \
        if certificate_arn else {"Protocol": "HTTP", "Port": 80}
    listener_arn = elbv2.create_listener(
        LoadBalancerArn=load_balancer_arn, **protocol,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group_arn}],
    )["Listeners"][0]["ListenerArn"]
    other_rule_arn = elbv2.create_rule(
        ListenerArn=listener_arn, Priority=5,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/billing/*"]}}],
        Actions=[{"Type": "forward", "TargetGroupArn": other_target_group_arn}],
    )["Rules"][0]["RuleArn"]

    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=asg_name,
        LaunchTemplate={"LaunchTemplateId": template_id, "Version": "$Latest"},
        MinSize=servers, MaxSize=servers * 2, DesiredCapacity=servers,
        VPCZoneIdentifier=",".join(subnet_ids),
        TargetGroupARNs=[target_group_arn],
        HealthCheckType="ELB", HealthCheckGracePeriod=120,
        **({"DefaultInstanceWarmup": instance_warmup} if instance_warmup is not None else {}),
        Tags=[
            {"Key": "Name", "Value": "kie-server", "PropagateAtLaunch": True},
            {"Key": "team", "Value": "orders", "PropagateAtLaunch": True},
            {"Key": "kie-bluegreen:release", "Value": f"{GROUP_ID}:{ARTIFACT_ID}:{FIRST_VERSION}", "PropagateAtLaunch": True},
        ],
    )
    return World(REGION, vpc_id, subnet_ids, template_id, load_balancer_arn, listener_arn, asg_name,
                 target_group_arn, other_target_group_arn, other_rule_arn)


def _target_group(elbv2, name: str, vpc_id: str, path: str, deregistration_delay: int) -> str:
    arn = elbv2.create_target_group(
        Name=name, Protocol="HTTP", Port=8080, VpcId=vpc_id, TargetType="instance",
        HealthCheckPath=path, HealthCheckIntervalSeconds=10, HealthyThresholdCount=2,
        UnhealthyThresholdCount=2, Matcher={"HttpCode": "200"},
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.modify_target_group_attributes(
        TargetGroupArn=arn, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": str(deregistration_delay)}])
    return arn


def config_document(world: World, **stage_overrides) -> dict:
    """The kie-deploy.yaml of this world with optional stage-level overrides."""
    stage = {"listener-arn": world.listener_arn, **stage_overrides}
    return {
        "app": APP,
        "container": {"id": CONTAINER_ID, "group-id": GROUP_ID, "artifact-id": ARTIFACT_ID},
        "defaults": {
            "region": world.region,
            "routing": {"strategy": "canary", "header": "x-client-mode", "blue-value": "blue", "green-value": "green"},
            "capacity": "copy",
            "wait": {"timeout": "5m", "poll-interval": "2s"},
            "retire": {"previous": "standby", "keep": 1, "candidate": "terminate"},
        },
        "stages": {STAGE: stage},
    }


def write_config(world: World, directory: str, **stage_overrides) -> str:
    path = os.path.join(directory, "kie-deploy.yaml")
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(config_document(world, **stage_overrides), handle, sort_keys=False)
    return path
