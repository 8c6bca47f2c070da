"""EC2: instance addresses (for the KIE check) and launch template versions (for user data)."""

from __future__ import annotations

import base64

from ..model import TAG_RELEASE
from .api import AwsApi


class Ec2:
    def __init__(self, api: AwsApi):
        self.api = api

    def addresses(self, instance_ids: list[str]) -> dict[str, dict[str, str]]:
        """instance id -> {instance_id, private_ip, public_ip, private_dns}; one call for all."""
        if not instance_ids:
            return {}
        reservations = self.api.pages("ec2", "describe_instances", "Reservations", InstanceIds=list(instance_ids))
        found = {}
        for reservation in reservations:
            for instance in reservation["Instances"]:
                found[instance["InstanceId"]] = {
                    "instance_id": instance["InstanceId"],
                    "private_ip": instance.get("PrivateIpAddress", ""),
                    "public_ip": instance.get("PublicIpAddress", ""),
                    "private_dns": instance.get("PrivateDnsName", ""),
                }
        return found

    def release_tags(self, instance_ids: list[str]) -> dict[str, str]:
        """Instance id -> its kie-bluegreen:release tag (what the server runs); one call for all."""
        if not instance_ids:
            return {}
        reservations = self.api.pages("ec2", "describe_instances", "Reservations", InstanceIds=list(instance_ids))
        return {
            instance["InstanceId"]: next(
                (tag["Value"] for tag in instance.get("Tags", []) if tag["Key"] == TAG_RELEASE), ""
            )
            for reservation in reservations
            for instance in reservation["Instances"]
        }

    def template_version(self, template: dict, version: str) -> dict:
        """One version of a launch template ('$Latest', '$Default' or a number)."""
        key = _template_key(template)
        return self.api.call("ec2", "describe_launch_template_versions", **key, Versions=[version])[
            "LaunchTemplateVersions"
        ][0]

    def new_template_version(self, template: dict, source_version: str, user_data: str, description: str) -> str:
        """A new version of the template that differs from `source_version` only in its user data."""
        key = _template_key(template)
        created = self.api.call(
            "ec2",
            "create_launch_template_version",
            **key,
            SourceVersion=source_version,
            VersionDescription=description,
            LaunchTemplateData={"UserData": base64.b64encode(user_data.encode()).decode()},
        )
        return str(created["LaunchTemplateVersion"]["VersionNumber"])


def _template_key(template: dict) -> dict:
    if "LaunchTemplateId" in template:
        return {"LaunchTemplateId": template["LaunchTemplateId"]}
    return {"LaunchTemplateName": template["LaunchTemplateName"]}
