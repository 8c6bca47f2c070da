"""Provision: the new generation's target group and Auto Scaling Group, copied from the blue one.

Idempotent: names are deterministic (`<app>-<stage>-g<N>`), so a re-run after a crash finds
what the first run created and finishes it instead of creating twice.
"""

from __future__ import annotations

import re

from .. import log, retry
from ..aws.asg import AsgView
from ..context import Context
from ..errors import ConfigError, Refused
from ..model import (TAG_APP, TAG_GENERATION, TAG_LAST_GENERATION, TAG_RELEASE, TAG_STAGE, Capacity, Group,
                     Outcome, Release, Role)
from ..state import FleetState
from .common import require_blue

_log = log.get("provision")
# Tags the instances inherit, so a server (and its user data) knows its release.
PROPAGATED_TAGS = {TAG_APP, TAG_STAGE, TAG_GENERATION, TAG_RELEASE}
USER_DATA_TOKEN = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


def check_candidate(state: FleetState, release: Release) -> Group | None:
    """The green group to resume, None to create one; Refused if another candidate is in the way."""
    green = state.green
    if green and green.release != release:
        raise Refused(
            f"green candidate {green.asg_name} {green.label} is still deployed; promote it or roll it back"
            f" before deploying {release.version}")
    return green


def provision(ctx: Context, outcome: Outcome, state: FleetState, release: Release) -> Group:
    """Create (or finish creating) the green generation for `release`; return it."""
    cfg = ctx.config
    blue = require_blue(state)
    green = check_candidate(state, release)
    if green:
        _log.info("green %s %s already provisioned", green.asg_name, green.label)
        return green

    generation = state.next_generation
    name = cfg.group_name(generation)
    tags = ctx.tags(generation, release, Role.GREEN)
    live = state.asgs[blue.asg_name]
    # Everything that can refuse the configuration comes before the first write.
    capacity = new_capacity(cfg, blue)
    user_data = _user_data(ctx, live, generation, release)
    _log.info("provisioning %s for %s (%d servers)", name, release, capacity.desired)

    existing = ctx.alb.find_target_group(name)
    if existing:  # left by a run that stopped before creating the group: finish it
        target_group_arn = existing["TargetGroupArn"]
        retry.aws_step(ctx.clock, lambda: ctx.alb.tag(target_group_arn, tags))
    else:
        target_group_arn = retry.aws_step(ctx.clock, lambda: ctx.alb.create_target_group_like(
            name, blue.target_group_arn, tags, cfg.target_group.health_check_path))
        outcome.add(f"created target group {name} (settings copied from {_tg_name(blue.target_group_arn)})")
    retry.aws_step(ctx.clock, lambda: ctx.alb.copy_attributes(
        blue.target_group_arn, target_group_arn, cfg.target_group.deregistration_delay), also=retry.not_yet_visible)

    template_version = _launch_template_version(ctx, outcome, live, generation, release, user_data)
    retry.aws_step(ctx.clock, lambda: ctx.asg.create_like(
        name, live, capacity, target_group_arn, tags, PROPAGATED_TAGS, template_version, cfg.subnets),
        also=retry.not_yet_visible)
    outcome.add(f"created auto scaling group {name} for {release} (min {capacity.min}, max {capacity.max},"
                f" desired {capacity.desired})")
    # Remember the number on our rules: the group may be deleted later, the number must not
    # come back. (Written last: until the group exists, a re-run resumes the same number.)
    rules = [rule.arn for rule in state.listener.ours.values()]
    if rules:
        retry.aws_step(ctx.clock, lambda: ctx.alb.tag(rules, {TAG_LAST_GENERATION: str(generation)}))
    return Group(generation, Role.GREEN, release, name, target_group_arn, capacity)


def new_capacity(cfg, blue: Group) -> Capacity:
    """The configured capacity, or the live group's ('copy')."""
    if cfg.capacity:
        return cfg.capacity
    capacity = blue.saved_capacity or blue.capacity
    if capacity.desired == 0:
        raise ConfigError("capacity: 'copy' found the live group at 0 servers; set capacity: {min, max, desired}")
    return capacity


def _tg_name(arn: str) -> str:
    return arn.split(":targetgroup/")[-1].split("/")[0]


def render_user_data(template: str, values: dict[str, str], path: str) -> str:
    """Replace {{name}} tokens; an unknown token is a configuration error, not a silent blank."""
    def substitute(match: re.Match) -> str:
        if match[1] not in values:
            raise ConfigError(f"launch-template.user-data: {path}: unknown token {{{{{match[1]}}}}};"
                              f" known: {', '.join('{{' + key + '}}' for key in values)}")
        return values[match[1]]
    return USER_DATA_TOKEN.sub(substitute, template)


def pinned_template(live: AsgView) -> dict:
    """The live group's launch template, which a rendered user data is based on. It must be a
    fixed version: a new version would otherwise change what the live group launches too."""
    template = live.launch_template
    if template is None:
        raise ConfigError(f"launch-template.user-data: the live group {live.name} uses no launch template to copy")
    if not str(template.get("Version", "")).isdigit():
        raise ConfigError(
            f"launch-template.user-data: the live group {live.name} uses launch template version"
            f" {template.get('Version')!r}; pin it to a version number first, or a new version would also"
            " change what the live group launches")
    return template


def _user_data(ctx: Context, live, generation: int, release: Release) -> str | None:
    """With launch-template.user-data configured: the template rendered for this release."""
    path = ctx.config.launch_template.user_data
    if not path:
        return None  # the release reaches the servers through the propagated release tag
    pinned_template(live)
    with open(path, encoding="utf-8") as handle:
        return render_user_data(handle.read(), {
            "app": ctx.config.app, "stage": ctx.config.stage, "generation": str(generation),
            "release": str(release), "group_id": release.group_id, "artifact_id": release.artifact_id,
            "version": release.version, "container_id": ctx.config.container.id,
        }, path)


def _launch_template_version(ctx: Context, outcome: Outcome, live, generation: int, release: Release,
                             user_data: str | None) -> str | None:
    """A new launch template version carrying the rendered user data (None: keep the live one)."""
    if user_data is None:
        return None
    template = live.launch_template
    description = f"kie-bluegreen {ctx.config.app}/{ctx.config.stage} g{generation} {release}"
    latest = ctx.ec2.template_version(template, "$Latest")
    if latest.get("VersionDescription") == description:  # created by a run that stopped
        return str(latest["VersionNumber"])
    version = retry.aws_step(ctx.clock, lambda: ctx.ec2.new_template_version(template, template["Version"], user_data, description))
    outcome.add(f"created launch template version {version} with the user data of {release}")
    return version
