"""The jobs a configuration calls for: one promotion and one rollback job per stage, each with
its name, description, parameters and pipeline definition (a JobSpec).

Inline jobs carry the stage's configuration (kie-deploy.yaml reduced to that stage) in their
script, so the job needs no checkout, and a change to one stage reconfigures only its jobs.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import yaml

from .. import config
from ..errors import ConfigError
from . import scripts
from .job_xml import InlineScript, JobSpec, Parameter, ScmScript
from .settings import JobSettings

ACTIONS = ("promote", "rollback")
# In every description: tells people the job is generated, and tells sync-jobs the job is ours.
MANAGED_MARK = "Managed by kie-bluegreen"

CONFIRM = "CONFIRM"
REASON = "REASON"
GENERATION = "GENERATION"

_WHAT = {
    "promote": (
        "Promotes the canary of {app} in stage {stage}: the green generation becomes the live"
        " version (default route and blue header), the green header answers 404 again, and the"
        " previous generation is retired as retire.previous says."
    ),
    "rollback": (
        "Rolls {app} in stage {stage} back: the previous version serves again (before or after a"
        " promotion), or the standby generation given in GENERATION."
    ),
}


@dataclass(frozen=True)
class DesiredJob:
    full_name: str  # with the folder path, e.g. kie/orders-production-promote
    app: str
    stage: str
    action: str
    spec: JobSpec


def job_name(settings: JobSettings, app: str, stage: str, action: str) -> str:
    short = f"{app}-{stage}-{action}"
    return f"{settings.folder}/{short}" if settings.folder else short


def desired_jobs(config_path: str, settings: JobSettings, only_stage: str | None = None) -> list[DesiredJob]:
    """Every job of every stage (or of one stage), in a stable order."""
    document = config.read_yaml(config_path)
    stages = config.stage_names(config_path)  # validates every stage first
    if only_stage is not None and only_stage not in stages:
        raise ConfigError(f"--stage: unknown stage {only_stage!r}; the file has: {', '.join(stages)}")
    jobs = []
    for stage in [only_stage] if only_stage else stages:
        stage_config = config.load(config_path, stage)
        if settings.scm is None and stage_config.launch_template.user_data:
            raise ConfigError(
                f"stages.{stage}: launch-template.user-data refers to a file, and the inline job scripts"
                " carry kie-deploy.yaml alone; take the job scripts from your repository (jenkins.scm)"
            )
        for action in ACTIONS:
            jobs.append(DesiredJob(
                full_name=job_name(settings, stage_config.app, stage, action),
                app=stage_config.app,
                stage=stage,
                action=action,
                spec=JobSpec(
                    description=_description(stage_config.app, stage, action),
                    parameters=parameters(stage_config.app, stage, action),
                    concurrent_builds=False,
                    definition=_definition(document, settings, stage_config.app, stage, action),
                ),
            ))
    return jobs


def parameters(app: str, stage: str, action: str) -> tuple[Parameter, ...]:
    verb = "promoted" if action == "promote" else "rolled back"
    listed = [
        Parameter("boolean", CONFIRM, f"Tick to confirm: this switches the live traffic of {app} in {stage}."
                  f" Unticked, the build stops and nothing is {verb}.", default="false"),
        Parameter("string", REASON, "Required: why (ticket, incident, who approved), on one line."
                  " Recorded in the build description.", trim=True),
    ]
    if action == "rollback":
        listed.append(Parameter("string", GENERATION, "Optional: the standby generation to go back to (a"
                                " number, see kie-bluegreen status). Empty: the previous version.", trim=True))
    return tuple(listed)


def _description(app: str, stage: str, action: str) -> str:
    return (
        _WHAT[action].format(app=app, stage=stage)
        + f"\nTick {CONFIRM} and give a {REASON}; one build at a time."
        + f"\n{MANAGED_MARK} (kie-bluegreen jenkins sync-jobs): changes made here are overwritten."
    )


def _definition(document: dict, settings: JobSettings, app: str, stage: str, action: str):
    if settings.scm is not None:
        return ScmScript(
            url=settings.scm.url,
            branch=settings.scm.branch,
            script_path=settings.scm.script_path.format(app=app, stage=stage, action=action),
            credentials_id=settings.scm.credentials_id,
        )
    return InlineScript(scripts.render(action, {
        "LIBRARY": settings.library,
        "STAGE": stage,
        "AGENT": settings.agent,
        "CONFIG_BASE64": base64.b64encode(stage_document(document, stage).encode("utf-8")).decode("ascii"),
    }))


def stage_document(document: dict, stage: str) -> str:
    """kie-deploy.yaml reduced to one stage (and without the jenkins section), as YAML."""
    reduced = {key: value for key, value in document.items() if key not in ("stages", "jenkins")}
    reduced["stages"] = {stage: document["stages"][stage]}
    return yaml.safe_dump(reduced, sort_keys=False, default_flow_style=False, allow_unicode=True)
