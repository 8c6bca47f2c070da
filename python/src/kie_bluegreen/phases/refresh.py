"""Single group: the instance refresh that replaces the servers in place, its rollback, and the
wait until every server runs the release (and is ready in the routed target group)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import analysis, log, retry
from ..aws import refresh as aws_refresh
from ..errors import DeploymentFailed
from ..steps import RollbackRefresh, StartRefresh, WaitRefresh
from . import provision, wait_healthy

if TYPE_CHECKING:
    from ..executor import Run

_log = log.get("refresh")
HEARTBEAT = 60.0


def start_refresh(run: Run, step: StartRefresh) -> list[str]:
    """The group pinned to a launch template version number first (AWS rolls back only a
    refresh whose group and desired configuration name numbers), the user data template rendered
    into a new version (the refresh brings it: the group keeps its own until the refresh
    succeeds), a look at the alarms, then start."""
    ctx = run.ctx
    latest = ctx.refresh.latest(step.group)
    if latest is not None and latest.active:
        return []  # a run that stopped started it already
    changes: list[str] = []
    view = _pin_group(ctx, ctx.asg.find(step.group), changes)
    desired = dict(view.launch_template)
    user_data = provision.user_data_for(ctx, view, step.generation, step.release)
    version = provision.launch_template_version(ctx, changes, view, step.generation, step.release, user_data)
    if version is not None:
        desired["Version"] = version
    _watcher(run, step.group).look()  # no refresh into an alarm already firing
    preferences, how = aws_refresh.preferences(view.capacity)
    retry.aws_step(ctx.clock, lambda: ctx.refresh.start(step.group, _template_key(desired), preferences))
    return changes + [f"{step.describe(run.names)}: {how}"]


def rollback_refresh(run: Run, step: RollbackRefresh) -> list[str]:
    ctx = run.ctx
    latest = ctx.refresh.latest(step.group)
    if latest is None or latest.status in ("RollbackInProgress", "RollbackSuccessful") or not latest.active:
        return []
    retry.aws_step(ctx.clock, lambda: ctx.refresh.roll_back(step.group))
    return [step.describe(run.names)]


def wait_refresh(run: Run, step: WaitRefresh) -> list[str]:
    """Until the refresh (or its rollback) ended and every server runs the release, with
    progress lines. While a deploy's refresh runs, its alarms and 5xx share are watched: one that
    fires stops the release (rolled back like a weighted step, exit 1). A refresh that failed,
    was cancelled or was rolled back by someone else fails the command (exit 1)."""
    ctx = run.ctx
    progress = log.Progress(_log, ctx.clock, HEARTBEAT)
    watcher = None if step.rollback else _watcher(run, step.group)
    expected = "RollbackSuccessful" if step.rollback else "Successful"

    def look():
        latest = ctx.refresh.latest(step.group)
        if watcher is not None and latest is not None and latest.active:
            watcher.look()
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
        if latest is not None and latest.active:
            return False
        return latest is None or latest.status != expected or (view is not None and on_release >= view.capacity.desired)

    latest, view, on_release = retry.poll(ctx.clock, look, finished, step.timeout, ctx.config.wait.poll_interval)
    if latest is not None and latest.active:
        raise DeploymentFailed(
            f"the instance refresh of {step.group} is still {latest.status} after {step.timeout:g}s ({latest.line()});"
            " run the same command again to keep waiting, or `kie-bluegreen rollback` while it runs"
        )
    if latest is not None and not latest.active and latest.status != expected:
        if latest.status.startswith("Rollback") and not step.rollback:
            raise DeploymentFailed(
                f"the instance refresh of {step.group} was rolled back outside kie-bluegreen ({latest.status}:"
                f" {latest.reason or 'no reason given'}); run `kie-bluegreen rollback` to bring the routes and"
                " tags back to the previous release"
            )
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
    return watcher.notes() if watcher else []


def _watcher(run: Run, group: str) -> analysis.Watcher:
    """The alarms and the 5xx share of the routed target group, for the refresh of `group`."""
    listener = run.reread_listener()
    return analysis.Watcher(
        run.ctx, listener.load_balancer_arn, listener.routing.default or "", f"the instance refresh of {group}"
    )


def _pin_group(ctx, view, changes: list[str]):
    """The group on the version number its $Latest or $Default stands for now: the same
    servers, and a version AWS can roll a refresh back to."""
    template = dict(view.launch_template or {})
    version = str(template.get("Version") or "$Default")
    if version.isdigit():
        return view
    number = str(ctx.ec2.template_version(template, version)["VersionNumber"])
    retry.aws_step(ctx.clock, lambda: ctx.asg.use_template_version(view.name, template, number))
    changes.append(
        f"pinned {view.name} to launch template version {number} (it used {version}; AWS rolls an instance"
        " refresh back only to a version number)"
    )
    return ctx.asg.find(view.name)


def _template_key(template: dict) -> dict:
    key = (
        {"LaunchTemplateId": template["LaunchTemplateId"]}
        if "LaunchTemplateId" in template
        else {"LaunchTemplateName": template["LaunchTemplateName"]}
    )
    return {**key, "Version": str(template["Version"])}
