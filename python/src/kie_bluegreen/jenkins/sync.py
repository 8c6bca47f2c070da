"""Bring the promotion and rollback jobs in step with the configuration.

First a plan, made only of reads: for each folder and job, create, update (with the fields
that differ) or unchanged. Any clash (an item of that name that is not a pipeline job, or a
pipeline job someone else made) refuses the whole sync before anything is written. Then the
plan is applied, unless it is a dry run. Nothing changed means no write call at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import log
from ..errors import Refused
from .client import JenkinsClient
from .job_xml import FOLDER_CLASS, WORKFLOW_JOB_CLASS, JobXmlError, differences, parse, render, render_folder
from .jobs import MANAGED_MARK, DesiredJob

LOG = log.get("jenkins.sync")

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"
FOLDER_DESCRIPTION = f"Promotion and rollback jobs of kie-bluegreen. {MANAGED_MARK} (kie-bluegreen jenkins sync-jobs)."


@dataclass
class Step:
    name: str
    kind: str  # "folder" or "job"
    operation: str  # create, update or unchanged
    fields: list[str] = field(default_factory=list)  # what differs, for an update
    stage: str | None = None
    action: str | None = None  # promote or rollback, for a job
    config_xml: str = ""

    def describe(self) -> str:
        what = f"{self.operation} {self.kind} {self.name}"
        return what + (f" ({', '.join(self.fields)})" if self.fields else "")


def plan(client: JenkinsClient, folder: str, desired: list[DesiredJob], adopt: bool = False) -> list[Step]:
    steps = _folder_steps(client, folder)
    folder_missing = any(step.operation == CREATE for step in steps)
    clashes = []
    for job in desired:
        step, clash = _job_step(client, job, adopt, folder_missing)
        steps.append(step)
        if clash:
            clashes.append(clash)
    if clashes:
        raise Refused("; ".join(clashes) + ". Nothing was changed.")
    return steps


def apply(client: JenkinsClient, steps: list[Step]) -> None:
    for step in steps:
        if step.operation == CREATE:
            LOG.info("creating %s %s", step.kind, step.name)
            client.create_item(step.name, step.config_xml)
        elif step.operation == UPDATE:
            LOG.info("updating job %s: %s", step.name, ", ".join(step.fields))
            client.update_job(step.name, step.config_xml)


def _folder_steps(client: JenkinsClient, folder: str) -> list[Step]:
    """Each level of the folder path, parents first; levels after a missing one are missing too."""
    steps, missing = [], False
    parts = folder.split("/") if folder else []
    for depth in range(1, len(parts) + 1):
        name = "/".join(parts[:depth])
        item = None if missing else client.item(name)
        if item is None:
            missing = True
            steps.append(Step(name, "folder", CREATE, config_xml=render_folder(FOLDER_DESCRIPTION)))
        elif item.kind != FOLDER_CLASS:
            raise Refused(f"{name} exists in Jenkins but is not a folder ({item.kind}); choose another jenkins.folder."
                          " Nothing was changed.")
        else:
            steps.append(Step(name, "folder", UNCHANGED))
    return steps


def _job_step(client: JenkinsClient, job: DesiredJob, adopt: bool, folder_missing: bool) -> tuple[Step, str | None]:
    step = Step(job.full_name, "job", CREATE, stage=job.stage, action=job.action, config_xml=render(job.spec))
    item = None if folder_missing else client.item(job.full_name)
    if item is None:
        return step, None
    if item.kind != WORKFLOW_JOB_CLASS:
        return step, f"{job.full_name} exists but is not a pipeline job ({item.kind or 'unknown type'}); rename or delete it"
    try:
        current = parse(client.job_config(job.full_name))
    except JobXmlError as exc:
        return step, f"{job.full_name}: cannot read its configuration ({exc})"
    if MANAGED_MARK not in current.description and not adopt:
        return step, (f"{job.full_name} is a pipeline job that kie-bluegreen did not create; rename it, or take it"
                      " over with --adopt")
    step.fields = differences(current, job.spec)
    step.operation = UPDATE if step.fields else UNCHANGED
    return step, None
