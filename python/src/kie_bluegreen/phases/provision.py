"""Provision: the new generation's target group and Auto Scaling Group, copied from the blue one;
adopting the live group; bringing a standby back from zero.

Idempotent: names are deterministic (`<app>-<stage>-g<N>`), so a re-run after a crash finds
what the first run created and finishes it instead of creating twice.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .. import log, retry
from ..aws import asg_settings
from ..aws.asg import AsgView
from ..context import Context
from ..errors import ConfigError
from ..model import (
    TAG_APP,
    TAG_CAPACITY,
    TAG_CONTAINER,
    TAG_COPIED_FROM,
    TAG_GENERATION,
    TAG_LAST_GENERATION,
    TAG_LEAVING,
    TAG_PREVIOUS_RELEASE,
    TAG_RELEASE,
    TAG_ROLE,
    TAG_STAGE,
    TAG_UNROUTED_AT,
    Capacity,
    Release,
    Role,
)
from ..steps import (
    Adopt,
    AdoptSpare,
    CopySettings,
    CreateGroup,
    CreatePairGroup,
    CreateTargetGroup,
    DetachTargetGroup,
    EmptyGroup,
    MarkGeneration,
    Repoint,
    ScaleUp,
    new_target_group,
)
from . import retire
from .wait_healthy import Readiness, WaitTimeout

if TYPE_CHECKING:
    from ..executor import Run

_log = log.get("provision")
# Tags the instances inherit, so a server (and its user data) knows its release and the KIE
# container id to deploy it under.
PROPAGATED_TAGS = {TAG_APP, TAG_STAGE, TAG_GENERATION, TAG_RELEASE, TAG_CONTAINER}
USER_DATA_TOKEN = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


def adopt(run: Run, step: Adopt) -> list[str]:
    """Tag the live group and its target group as generation 1 (blue)."""
    ctx = run.ctx
    tags = ctx.tags(step.generation, step.release, Role.BLUE)
    retry.aws_step(ctx.clock, lambda: ctx.alb.tag(step.target_group, tags))
    retry.aws_step(ctx.clock, lambda: ctx.asg.tag(step.asg, tags, PROPAGATED_TAGS))  # the group's tag last: it commits
    return [f"adopted {step.asg} as generation {step.generation} (blue, {step.release})"]


def create_target_group(run: Run, step: CreateTargetGroup) -> list[str]:
    """The candidate's target group, with the health check, protocol and attributes of `like`."""
    ctx, cfg = run.ctx, run.ctx.config
    generation = int(step.name.rsplit("-g", 1)[1])
    tags = {TAG_APP: cfg.app, TAG_STAGE: cfg.stage, TAG_GENERATION: str(generation), TAG_ROLE: Role.GREEN.value}
    changes = []
    existing = ctx.alb.find_target_group(step.name)
    if existing:  # created by a run that stopped before creating the group: finish it
        arn = existing["TargetGroupArn"]
    else:
        arn = retry.aws_step(
            ctx.clock,
            lambda: ctx.alb.create_target_group_like(step.name, step.like, tags, cfg.target_group.health_check_path),
        )
        changes.append(f"created target group {step.name} (settings copied from {_tg_name(step.like)})")
    retry.aws_step(
        ctx.clock,
        lambda: ctx.alb.copy_attributes(step.like, arn, cfg.target_group.deregistration_delay),
        also=retry.not_yet_visible,
    )
    run.created[new_target_group(step.name)] = arn
    run.names[arn] = step.name
    return changes


def create_group(run: Run, step: CreateGroup) -> list[str]:
    """The candidate's Auto Scaling group, copied from the live one, registering into its
    target group; the release reaches the servers through the propagated release tag (or a
    launch template version rendered from the configured user data)."""
    ctx, cfg = run.ctx, run.ctx.config
    target_group = run.resolve(step.target_group)
    run.names[target_group] = run.names[step.target_group] = f"{step.name} g{step.generation} ({step.release.version})"
    run.versions[step.name] = step.release.version
    run.owners[target_group] = step.name
    if ctx.asg.find(step.name) is not None:
        return []  # created by a run that stopped right after
    live = run.state.asgs[step.like]
    tags = ctx.tags(step.generation, step.release, Role.GREEN)
    # The target group says what it serves too (a target group left by a stopped run gets them now).
    retry.aws_step(ctx.clock, lambda: ctx.alb.tag(target_group, tags), also=retry.not_yet_visible)
    user_data = user_data_for(ctx, live, step.generation, step.release)
    changes: list[str] = []
    template_version = _launch_template_version(ctx, changes, live, step.generation, step.release, user_data)
    _log.info("provisioning %s for %s (%d servers)", step.name, step.release, step.capacity.desired)
    # At zero servers: they launch once its settings (lifecycle hooks, warm pool) are copied.
    empty = Capacity(0, step.capacity.max, 0)
    retry.aws_step(
        ctx.clock,
        lambda: ctx.asg.create_like(
            step.name, live, empty, target_group, tags, PROPAGATED_TAGS, template_version, cfg.subnets
        ),
        also=retry.not_yet_visible,
    )
    changes.append(
        f"created auto scaling group {step.name} for {step.release} (max {step.capacity.max}; servers"
        " launch once its settings are copied)"
    )
    return changes


def copy_settings(run: Run, step: CopySettings) -> list[str]:
    """What lives beside the live group, onto the new one; scheduled actions move later, when
    the new group becomes blue."""
    ctx = run.ctx
    source = ctx.asg.find(step.like)
    if source is None:
        return []
    settings = asg_settings.read(ctx.api, source.raw)
    new_target_group = run.resolve(step.target_group)
    labels = {asg_settings.label_of(step.like_target_group): asg_settings.label_of(new_target_group)}
    copied = retry.aws_step(ctx.clock, lambda: asg_settings.copy(ctx.api, step.group, settings, labels))
    retry.aws_step(ctx.clock, lambda: ctx.asg.tag(step.group, {TAG_COPIED_FROM: step.like}))
    line = f"copied onto {step.group} from {step.like}: {', '.join(copied) or 'no settings to copy'}"
    left = ["scheduled actions (they move to the group when it becomes blue)"] + settings.unreadable
    if any(policy.get("PolicyType") in ("StepScaling", "SimpleScaling") for policy in settings.policies):
        left.append("the CloudWatch alarms of step and simple scaling policies (point them at the new policies)")
    return [f"{line}; not copied: {'; '.join(left)}"]


def create_pair_group(run: Run, step: CreatePairGroup) -> list[str]:
    """Fixed pair: the second group, a copy of the live one (settings included) at zero servers."""
    ctx, cfg = run.ctx, run.ctx.config
    if ctx.asg.find(step.name) is not None:
        return []
    live = run.state.asgs.get(step.like) or ctx.asg.find(step.like)
    tags = {TAG_APP: cfg.app, TAG_STAGE: cfg.stage}
    retry.aws_step(
        ctx.clock,
        lambda: ctx.asg.create_like(
            step.name, live, Capacity(0, live.capacity.max, 0), None, tags, set(), None, cfg.subnets
        ),
    )
    settings = asg_settings.read(ctx.api, live.raw)
    copied = retry.aws_step(ctx.clock, lambda: asg_settings.copy(ctx.api, step.name, settings, {}))
    return [
        f"created {step.name}, the second group of the pair, at zero servers (copied: {', '.join(copied) or 'no settings'})"
    ]


def adopt_spare(run: Run, step: AdoptSpare) -> list[str]:
    ctx, cfg = run.ctx, run.ctx.config
    view = ctx.asg.find(step.name)
    if view is None:
        raise ConfigError(f"pair: no Auto Scaling group named {step.name!r} in {cfg.region}")
    owner = (view.tags.get(TAG_APP), view.tags.get(TAG_STAGE))
    if owner == (cfg.app, cfg.stage):
        return []
    if owner[0]:
        raise ConfigError(f"pair: {step.name} already belongs to kie-bluegreen {owner[0]}/{owner[1]}")
    retry.aws_step(ctx.clock, lambda: ctx.asg.tag(step.name, {TAG_APP: cfg.app, TAG_STAGE: cfg.stage}))
    return [f"took {step.name} as the second group of the pair"]


def empty_group(run: Run, step: EmptyGroup) -> list[str]:
    """Scale the idle group of a pair to zero and wait until AWS has drained and terminated its
    servers, so the new release starts on new servers only."""
    ctx = run.ctx
    view = ctx.asg.find(step.group)
    changes = []
    if view.capacity.desired > 0:
        retire.wait_propagated(run, step.group)
        retry.aws_step(ctx.clock, lambda: ctx.asg.set_capacity(step.group, Capacity(0, view.capacity.max, 0)))
        changes.append(f"scaled {step.group} to zero to reuse it")
    started = ctx.clock.now()
    left = retry.poll(
        ctx.clock,
        lambda: ctx.asg.find(step.group),
        lambda found: not found.instances,
        step.timeout,
        ctx.config.wait.poll_interval,
    )
    if left.instances:
        raise WaitTimeout(
            step.group,
            "(previous release)",
            Readiness(desired=0),
            ctx.clock.now() - started,
            f"{len(left.instances)} servers are still draining or terminating; run the command again later",
        )
    return changes


def repoint(run: Run, step: Repoint) -> list[str]:
    """The idle group of a pair runs the new generation: launch template version (with a user
    data template), the new target group in, the old ones out (target tracking policies follow),
    and its tags last: they commit the change for the next run to see."""
    ctx = run.ctx
    target_group = run.resolve(step.target_group)
    view = ctx.asg.find(step.group)
    run.owners[target_group] = step.group
    run.versions[step.group] = step.release.version
    run.names[target_group] = run.names[step.target_group] = f"{step.group} g{step.generation} ({step.release.version})"
    if view.tags.get(TAG_GENERATION) == str(step.generation) and target_group in view.target_group_arns:
        return []  # its tags, written last, say it is done
    changes: list[str] = []
    if step.template:
        user_data = user_data_for(ctx, view, step.generation, step.release)
        version = _launch_template_version(ctx, changes, view, step.generation, step.release, user_data)
        if version is not None:
            retry.aws_step(ctx.clock, lambda: ctx.asg.use_template_version(step.group, view.launch_template, version))
    if target_group not in view.target_group_arns:
        retry.aws_step(ctx.clock, lambda: ctx.asg.attach(step.group, target_group), also=retry.not_yet_visible)
    labels = {asg_settings.label_of(arn): asg_settings.label_of(target_group) for arn in view.target_group_arns}
    retry.aws_step(ctx.clock, lambda: asg_settings.relabel_policies(ctx.api, step.group, labels))
    tags = ctx.tags(step.generation, step.release, step.role)
    retry.aws_step(ctx.clock, lambda: ctx.alb.tag(target_group, tags), also=retry.not_yet_visible)
    retry.aws_step(ctx.clock, lambda: ctx.asg.untag(step.group, [TAG_UNROUTED_AT]))
    group_tags = {**tags, TAG_PREVIOUS_RELEASE: step.previous} if step.previous else tags
    retry.aws_step(ctx.clock, lambda: ctx.asg.tag(step.group, group_tags, PROPAGATED_TAGS))
    return changes + [step.describe(run.names)]


def detach_target_group(run: Run, step: DetachTargetGroup) -> list[str]:
    ctx = run.ctx
    view = ctx.asg.find(step.group)
    if view is None or step.arn not in view.target_group_arns:
        return []
    retry.aws_step(ctx.clock, lambda: ctx.asg.tag(step.group, {TAG_LEAVING: step.arn}))  # noted first: see TAG_LEAVING
    retry.aws_step(ctx.clock, lambda: ctx.asg.detach(step.group, [step.arn]))
    return [step.describe(run.names)]


def mark_generation(run: Run, step: MarkGeneration) -> list[str]:
    """Remember the number on our rules: the group may be deleted later, the number must not
    come back."""
    ctx = run.ctx
    rules = [rule.arn for rule in run.listener.ours.values()]
    if not rules or run.listener.last_generation >= step.generation:
        return []
    retry.aws_step(ctx.clock, lambda: ctx.alb.tag(rules, {TAG_LAST_GENERATION: str(step.generation)}))
    return []  # bookkeeping, not a change worth reporting


def scale_up(run: Run, step: ScaleUp) -> list[str]:
    """Bring a scaled-to-zero standby back to its remembered capacity (before a rollback)."""
    ctx = run.ctx
    view = ctx.asg.find(step.group)
    changes = []
    if view is None or view.capacity.desired < step.capacity.desired:
        retry.aws_step(ctx.clock, lambda: ctx.asg.set_capacity(step.group, step.capacity))
        changes.append(f"scaled {step.group} back to {step.capacity.desired} servers")
    if view is None or TAG_CAPACITY in view.tags:  # the remembered capacity is used up
        retry.aws_step(ctx.clock, lambda: ctx.asg.untag(step.group, [TAG_CAPACITY]))
    return changes


def _tg_name(arn: str) -> str:
    return arn.split(":targetgroup/")[-1].split("/")[0]


def render_user_data(template: str, values: dict[str, str], path: str) -> str:
    """Replace {{name}} tokens; an unknown token is a configuration error, not a silent blank."""

    def substitute(match: re.Match) -> str:
        if match[1] not in values:
            raise ConfigError(
                f"launch-template.user-data: {path}: unknown token {{{{{match[1]}}}}};"
                f" known: {', '.join('{{' + key + '}}' for key in values)}"
            )
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
            " change what the live group launches"
        )
    return template


def user_data_for(ctx: Context, live, generation: int, release: Release) -> str | None:
    """With launch-template.user-data configured: the template rendered for this release."""
    path = ctx.config.launch_template.user_data
    if not path:
        return None  # the release reaches the servers through the propagated release tag
    pinned_template(live)
    with open(path, encoding="utf-8") as handle:
        return render_user_data(
            handle.read(),
            {
                "app": ctx.config.app,
                "stage": ctx.config.stage,
                "generation": str(generation),
                "release": str(release),
                "group_id": release.group_id,
                "artifact_id": release.artifact_id,
                "version": release.version,
                "container_id": ctx.config.container_id(release.version),
            },
            path,
        )


def _launch_template_version(
    ctx: Context, changes: list, live, generation: int, release: Release, user_data: str | None
) -> str | None:
    """A new launch template version carrying the rendered user data (None: keep the live one)."""
    if user_data is None:
        return None
    template = live.launch_template
    description = f"kie-bluegreen {ctx.config.app}/{ctx.config.stage} g{generation} {release}"
    latest = ctx.ec2.template_version(template, "$Latest")
    if latest.get("VersionDescription") == description:  # created by a run that stopped
        return str(latest["VersionNumber"])
    version = retry.aws_step(
        ctx.clock, lambda: ctx.ec2.new_template_version(template, template["Version"], user_data, description)
    )
    changes.append(f"created launch template version {version} with the user data of {release}")
    return version
