"""EC2 where moto differs from AWS (each rule's source is in docs/aws-behaviour.md):

- CreateLaunchTemplateVersion with SourceVersion: the new version inherits the source
  version's launch parameters and the request overwrites the ones it gives; the new UserData is
  kept decoded as CreateLaunchTemplate keeps it (moto ignores SourceVersion, and keeps UserData
  in a form that makes an Auto Scaling group launching from the version fail).
"""

from __future__ import annotations

from moto.core.responses import ActionResult
from moto.ec2.responses.launch_templates import LaunchTemplates
from moto.ec2.utils import parse_user_data

from .patching import Patch


def create_launch_template_version(self):
    # "CreateLaunchTemplateVersion" (SourceVersion), https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateLaunchTemplateVersion.html
    template = self.ec2_backend.get_launch_template(self._get_param("LaunchTemplateId")) \
        if self._get_param("LaunchTemplateId") else \
        self.ec2_backend.get_launch_template_by_name(self._get_param("LaunchTemplateName"))
    given = self._get_param("LaunchTemplateData", {})
    source = self._get_param("SourceVersion")
    data = dict(template.get_version(source).data) if source else {}
    data.update({key: value for key, value in given.items() if key != "UserData"})
    if "UserData" in given:
        data["UserData"] = parse_user_data(self._get_param("LaunchTemplateData.UserData"))
    self.error_on_dryrun()
    version = template.create_version(data, self._get_param("VersionDescription"))
    return ActionResult({"LaunchTemplateVersion": {
        "CreateTime": version.create_time, "LaunchTemplateId": template.id, "LaunchTemplateName": template.name,
        "VersionNumber": version.number, "VersionDescription": version.description,
        "DefaultVersion": template.is_default(version), "LaunchTemplateData": version.data}})


def patches() -> list[Patch]:
    return [Patch(LaunchTemplates, "create_launch_template_version", create_launch_template_version)]
