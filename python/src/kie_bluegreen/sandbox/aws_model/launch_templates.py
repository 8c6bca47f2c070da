"""Which launch template version an Auto Scaling instance comes from.

moto reads every instance's LaunchTemplate back as its group's template at the template's
default version, whatever the instance was launched from. The model records, at each launch, the
version the instance really came from (`LaunchSpec`), reads it back, and compares it: an
instance refresh replaces the instances that are not on its desired configuration.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

from moto.autoscaling.models import InstanceState

from .patching import Patch, original

_moto_launch_template = original(InstanceState, "launch_template")


@dataclass(frozen=True)
class LaunchSpec:
    """A launch template at one numbered version."""
    template_id: str
    template_name: str
    version: int

    def read_back(self) -> dict:
        return {"LaunchTemplateId": self.template_id, "LaunchTemplateName": self.template_name,
                "Version": str(self.version)}


def resolve(template, version: str | None) -> LaunchSpec:
    """`version` as a group or a request names it: a number, "$Latest", "$Default" or None
    (the default version). Raises moto's InvalidLaunchTemplateVersionNotFound."""
    number = template.get_version(version or "$Default").number
    return LaunchSpec(template.id, template.name, int(number))


def of_group(group) -> LaunchSpec | None:
    """What the group launches from now (None: a launch configuration)."""
    if group.ec2_launch_template is None:
        return None
    return resolve(group.ec2_launch_template, group.launch_template_version)


def of_instance(state) -> LaunchSpec | None:
    """What the instance was launched from: recorded at launch, else moto's guess."""
    recorded = getattr(state, "launch_spec", None)
    if recorded is not None:
        return recorded
    guess = _moto_launch_template.fget(state)
    if not guess:
        return None
    return LaunchSpec(guess["LaunchTemplateId"], guess["LaunchTemplateName"], int(guess["Version"]))


@contextmanager
def launching_from(group, spec: LaunchSpec | None):
    """The group launches from `spec` meanwhile (None: from its own configuration)."""
    if spec is None:
        yield
        return
    saved = group.ec2_launch_template, group.launch_template_version
    group.ec2_launch_template = group.ec2_backend.get_launch_template(spec.template_id)
    group.launch_template_version = str(spec.version)
    try:
        yield
    finally:
        group.ec2_launch_template, group.launch_template_version = saved


def _instance_launch_template(state) -> dict | None:
    spec = of_instance(state)
    return spec.read_back() if spec else None


def patches() -> list[Patch]:
    return [Patch(InstanceState, "launch_template", property(_instance_launch_template))]
