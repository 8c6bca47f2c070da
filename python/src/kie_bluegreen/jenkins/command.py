"""`kie-bluegreen jenkins sync-jobs` and `kie-bluegreen jenkins trigger`: arguments in, one
CommandResult out. The work is in sync.py and trigger.py."""

from __future__ import annotations

import argparse
import sys

from .. import config, log
from ..clock import Clock
from ..config import parse_duration
from ..errors import ConfigError
from ..report import CommandResult
from . import jobs, settings, sync, trigger
from .client import JenkinsClient

LOG = log.get("jenkins")

DEFAULT_TIMEOUT = "1h"

TRIGGER_EPILOG = (
    "exit codes: 0 the build succeeded; 1 it ended FAILURE, UNSTABLE, ABORTED or NOT_BUILT, or was"
    " cancelled in the queue; 2 usage or configuration error; 3 refused (the job is not a pipeline job,"
    " is disabled, or lacks the parameters: run sync-jobs); 4 Jenkins refused (credentials, permission,"
    " missing job) or was unreachable, or the build still ran at --timeout (it goes on in Jenkins);"
    " 130 interrupted (the build goes on in Jenkins)."
)


def register(subparsers) -> None:
    group = subparsers.add_parser(
        "jenkins",
        help="create the promotion and rollback jobs in Jenkins, or start one",
        description="Jenkins jobs that promote or roll back a stage. Jenkins address and user come from"
        f" --jenkins-url/--jenkins-user or {settings.ENV_URL}/{settings.ENV_USER}; the API token from"
        f" {settings.ENV_TOKEN} or --jenkins-token-file (never from the command line).",
    )
    commands = group.add_subparsers(dest="jenkins_command", metavar="COMMAND")
    commands.required = True

    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument("--jenkins-url", help=f"Jenkins address (default: ${settings.ENV_URL})")
    connection.add_argument("--jenkins-user", help=f"Jenkins user (default: ${settings.ENV_USER})")
    connection.add_argument(
        "--jenkins-token-file",
        metavar="FILE",
        help=f"file holding the user's API token (default: ${settings.ENV_TOKEN})",
    )
    # Also accepted after the command; SUPPRESS keeps the global --stage when it is not given here.
    connection.add_argument("--stage", default=argparse.SUPPRESS, help="stage of the configuration")

    sync_parser = commands.add_parser(
        "sync-jobs",
        parents=[connection],
        help="create or update <app>-<stage>-promote and -rollback for every stage",
        description="Create or update the promotion and rollback pipeline jobs of every stage (or of"
        " --stage). Only jobs that differ are reconfigured; nothing changed means no write call.",
    )
    sync_parser.add_argument(
        "--dry-run", action="store_true", help="show what would be created or changed; change nothing"
    )
    sync_parser.add_argument(
        "--adopt",
        action="store_true",
        help="take over pipeline jobs of the same names that kie-bluegreen did not create",
    )
    sync_parser.set_defaults(handler=sync_jobs, command_name="jenkins sync-jobs")

    trigger_parser = commands.add_parser(
        "trigger",
        parents=[connection],
        epilog=TRIGGER_EPILOG,
        help="start the promotion or rollback job of a stage and follow it to its end",
        description="Start <app>-<stage>-promote or -rollback with CONFIRM ticked and your REASON, follow"
        " it from the queue to the end of the build, show its console on stderr, and exit with its result.",
    )
    trigger_parser.add_argument("action", choices=jobs.ACTIONS)
    trigger_parser.add_argument("--reason", required=True, help="why, on one line (recorded in the build)")
    trigger_parser.add_argument("--generation", help="rollback only: the standby generation to go back to")
    trigger_parser.add_argument(
        "--timeout",
        default=DEFAULT_TIMEOUT,
        help=f"stop following after this long, e.g. 90s, 30m, 2h (default: {DEFAULT_TIMEOUT})",
    )
    trigger_parser.set_defaults(handler=trigger_job, command_name="jenkins trigger")


# ---------------------------------------------------------------------------------------------


def sync_jobs(args) -> CommandResult:
    job_settings = settings.job_settings(args.config)
    desired = jobs.desired_jobs(args.config, job_settings, args.stage)
    client = _client(args, args.clock)
    steps = sync.plan(client, job_settings.folder, desired, adopt=args.adopt)
    changes = [step.describe() for step in steps if step.operation != sync.UNCHANGED]
    if not args.dry_run:
        sync.apply(client, steps)
    data = {
        "command": "jenkins sync-jobs",
        "app": desired[0].app,
        "stage": args.stage,
        "result": "ok" if changes else "unchanged",
        "dry_run": args.dry_run,
        "jenkins": client.url,
        "jobs": [
            {
                "name": step.name,
                "kind": step.kind,
                "stage": step.stage,
                "action": step.action,
                "operation": step.operation,
                "fields": step.fields,
            }
            for step in steps
        ],
        "changes": changes,
    }
    return CommandResult(data=data, text=_sync_text(steps, changes, args.dry_run))


def _sync_text(steps, changes, dry_run: bool) -> str:
    lines = [
        f"{step.operation:<9} {step.kind:<6} {step.name}" + (f": {', '.join(step.fields)}" if step.fields else "")
        for step in steps
    ]
    if not changes:
        lines.append("nothing to change")
    elif dry_run:
        lines.append(f"dry run: {len(changes)} change(s) shown, nothing was changed")
    else:
        lines.append(f"{len(changes)} change(s) made")
    return "\n".join(lines)


def trigger_job(args) -> CommandResult:
    stage_config = config.load(args.config, args.stage)
    job_settings = settings.job_settings(args.config)
    name = jobs.job_name(job_settings, stage_config.app, stage_config.stage, args.action)
    parameters = trigger.build_parameters(args.action, args.reason, args.generation)
    timeout = parse_duration(args.timeout)
    if not timeout:
        raise ConfigError(f"--timeout: expected a duration like 30m, got {args.timeout!r}")
    clock = args.clock
    client = _client(args, clock)
    trigger.check_job(client, name, parameters)
    data = {
        "command": "jenkins trigger",
        "app": stage_config.app,
        "stage": stage_config.stage,
        "action": args.action,
        "job": name,
    }
    try:
        outcome = trigger.run(client, name, parameters, clock, _console, timeout)
    except KeyboardInterrupt:
        message = f"stopped following {name}; the build goes on in Jenkins (do not start it again)"
        return CommandResult(data={**data, "result": "interrupted", "changes": []}, exit_code=130, error=message)
    build = outcome.build
    data.update(
        {
            "result": "ok" if outcome.succeeded else "failed",
            "queue_id": outcome.queue_id,
            "build": {"number": build.number, "url": build.url, "result": build.result} if build else None,
            "build_result": outcome.result,
            "changes": [f"{args.action} build of {name} ended {outcome.result}"],
        }
    )
    where = f"{name} #{build.number} ({build.url})" if build else f"{name} (queue item {outcome.queue_id})"
    text = f"{where}: {outcome.result}"
    if outcome.succeeded:
        return CommandResult(data=data, text=text)
    return CommandResult(
        data=data, text=text, exit_code=1, error=f"the {args.action} build {where} ended {outcome.result}"
    )


def _client(args, clock: Clock) -> JenkinsClient:
    connection = settings.connection(args.jenkins_url, args.jenkins_user, args.jenkins_token_file)
    client = JenkinsClient(connection, clock)
    version = client.check_access()
    LOG.info("Jenkins %s at %s, user %s", version, client.url, connection.user)
    return client


def _console(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()
