"""Single group: the instance refresh that replaces the servers in place, its rollback, and the
wait until every server runs the release (and is ready in the routed target group)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import log, retry
from ..aws import refresh as aws_refresh
from ..errors import DeploymentFailed
from ..steps import RollbackRefresh, StartRefresh, WaitRefresh
from . import wait_healthy

if TYPE_CHECKING:
    from ..executor import Run

_log = log.get("refresh")
HEARTBEAT = 60.0


def start_refresh(run: Run, step: StartRefresh) -> list[str]:
    ctx = run.ctx
    latest = ctx.refresh.latest(step.group)
    if latest is not None and latest.active:
        return []  # a run that stopped started it already
    view = ctx.asg.find(step.group)
    template = _pinned(ctx, view)
    preferences, how = aws_refresh.preferences(view.capacity, tuple(ctx.config.analysis.alarms))
    retry.aws_step(ctx.clock, lambda: ctx.refresh.start(step.group, template, preferences))
    return [f"{step.describe(run.names)}: {how}"]


def rollback_refresh(run: Run, step: RollbackRefresh) -> list[str]:
    ctx = run.ctx
    latest = ctx.refresh.latest(step.group)
    if latest is None or latest.status in ("RollbackInProgress", "RollbackSuccessful") or not latest.active:
        return []
    retry.aws_step(ctx.clock, lambda: ctx.refresh.roll_back(step.group))
    return [step.describe(run.names)]


def wait_refresh(run: Run, step: WaitRefresh) -> list[str]:
    """Until the refresh (or its rollback) ended and every server runs the release; progress
    lines meanwhile. A refresh that failed or was cancelled fails the deploy (exit 1)."""
    ctx = run.ctx
    progress = log.Progress(_log, ctx.clock, HEARTBEAT)

    def look():
        latest = ctx.refresh.latest(step.group)
        view = ctx.asg.find(step.group)
        ids = [instance.id for instance in view.instances if instance.in_service] if view else []
        releases = ctx.ec2.release_tags(ids)
        on_release = sum(1 for instance in ids if releases.get(instance) == str(step.release))
        line = (
            f"{latest.line() if latest else 'no instance refresh'}; {on_release}/{view.capacity.desired if view else 0}"
            f" servers run {step.release.version}"
        )
        progress.show(step.group, line)
        return latest, view, on_release

    def finished(seen) -> bool:
        latest, view, on_release = seen
        ended = latest is None or not latest.active
        return ended and (
            latest is None
            or latest.status not in ("Successful", "RollbackSuccessful")
            or (view is not None and on_release >= view.capacity.desired)
        )

    latest, view, on_release = retry.poll(ctx.clock, look, finished, step.timeout, ctx.config.wait.poll_interval)
    if latest is not None and latest.status in aws_refresh.ENDED_BADLY:
        raise DeploymentFailed(
            f"the instance refresh of {step.group} ended {latest.status}: {latest.reason or 'no reason given'};"
            " the routes already use its target group: run `kie-bluegreen rollback` while AWS can"
            " still roll it back, or deploy the previous version again"
        )
    if view is None or on_release < view.capacity.desired:
        raise DeploymentFailed(
            f"{step.group}: {on_release}/{view.capacity.desired if view else 0} servers run"
            f" {step.release.version} after {step.timeout:g}s ({latest.line() if latest else 'no refresh'})"
        )
    # The servers run the release: are they ready in the routed target group (and KIE verified)?
    routed = run.reread_listener().routing.default or ""
    readiness = wait_healthy.check(ctx, step.group, routed, step.release.version, run.verified)
    if not readiness.done:
        raise DeploymentFailed(
            f"{step.group} runs {step.release.version} but not every server is ready: {readiness.line()};"
            f" not ready: {readiness.detail()}"
        )
    return []


def _pinned(ctx, view) -> dict:
    """The group's launch template at a version number: AWS rolls back only a refresh whose
    desired configuration names one ($Latest and $Default cannot be rolled back)."""
    template = dict(view.launch_template or {})
    version = str(template.get("Version") or "$Default")
    if not version.isdigit():
        version = str(ctx.ec2.template_version(template, version)["VersionNumber"])
    key = (
        {"LaunchTemplateId": template["LaunchTemplateId"]}
        if "LaunchTemplateId" in template
        else {"LaunchTemplateName": template["LaunchTemplateName"]}
    )
    return {**key, "Version": version}
