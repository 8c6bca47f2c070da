"""The fleet commands: init, plan, deploy, promote, rollback, status, cleanup, phase ..."""

from __future__ import annotations

import argparse

from . import config as configuration
from . import flows
from .context import Context
from .errors import ConfigError, KieBlueGreenError
from .report import CommandResult

STRATEGIES = ("canary", "all-at-once", "weighted")


def register(subparsers) -> None:
    def command(name: str, help_text: str, run, *, parent=subparsers, full_name: str | None = None):
        parser = parent.add_parser(name, help=help_text, description=help_text)
        parser.set_defaults(handler=lambda args: _run(args, full_name or name, run), command_name=full_name or name,
                            pictures=True)  # --output html|mermaid draw their result
        return parser

    parser = command("init", "adopt the listener's current default group as generation 1 and create the"
                     " blue/green header rules (green answers a fixed 404)",
                     lambda ctx, a: flows.init(ctx, a.version, a.asg))
    _version(parser, "release the live group runs now")
    parser.add_argument("--asg", help="the live Auto Scaling Group, when the default target group has several")

    parser = command("plan", "show what deploy would change; changes nothing",
                     lambda ctx, a: flows.plan(ctx, a.version, a.strategy))
    _version(parser, "release to deploy")
    _strategy(parser)

    parser = command("deploy", "provision a new generation, wait until every server is ready, route it"
                     " (canary: green header only; all-at-once: everyone) and retire the old one where the"
                     " strategy retires", lambda ctx, a: flows.deploy(ctx, a.version, a.strategy, a.keep_failed))
    _version(parser, "release to deploy")
    _strategy(parser)
    _keep_failed(parser)

    command("promote", "green becomes blue: default and blue header to green, green header to 404,"
            " previous blue retired (retire.previous)", lambda ctx, a: flows.promote(ctx))

    parser = command("rollback", "back to the previous blue: before promote drops the green candidate;"
                     " after promote brings the standby generation back", lambda ctx, a: flows.rollback(ctx, a.generation))
    parser.add_argument("--generation", type=int, help="roll back to this standby (or kept) generation")

    command("status", "routing, groups, versions and health", lambda ctx, a: flows.status(ctx))
    command("cleanup", "delete retired groups and standby generations beyond retire.keep",
            lambda ctx, a: flows.cleanup(ctx))

    phase = subparsers.add_parser("phase", help="run one phase alone (deploy composes them), resuming from AWS",
                                  description="Run one phase of a deploy alone, so a pipeline can show each as its own stage.")
    phases = phase.add_subparsers(dest="phase", metavar="PHASE")
    phases.required = True
    parser = command("provision", "create the new generation's target group and Auto Scaling Group",
                     lambda ctx, a: flows.phase_provision(ctx, a.version), parent=phases, full_name="phase provision")
    _version(parser, "release to provision")
    parser = command("wait", "wait until every server of the green candidate is ready; on timeout remove it",
                     lambda ctx, a: flows.phase_wait(ctx, a.keep_failed), parent=phases, full_name="phase wait")
    _keep_failed(parser)
    parser = command("route", "rewrite the listener for the green candidate (canary or all-at-once)",
                     lambda ctx, a: flows.phase_route(ctx, a.strategy), parent=phases, full_name="phase route")
    _strategy(parser)
    command("retire", "finish what a stopped run left half-done and apply the retire policy to unrouted groups",
            lambda ctx, a: flows.phase_retire(ctx), parent=phases, full_name="phase retire")
    parser = command("shift", "one weighted step: send N percent of the default route to the green candidate"
                     " (100 promotes it, 0 puts everyone back on blue)",
                     lambda ctx, a: flows.shift(ctx, a.weight), parent=phases, full_name="phase shift")
    parser.add_argument("--weight", type=int, required=True, help="percent of the default route, 0 to 100")


def _version(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--version", required=True, help=f"{help_text}, e.g. 2.0.0 or 2.0.0-SNAPSHOT")


def _strategy(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--strategy", choices=STRATEGIES, help="default: routing.strategy of the configuration")


def _keep_failed(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--keep-failed", action="store_true",
                        help="keep a candidate that never became ready (role retired) instead of deleting it")


def _run(args, command: str, run) -> CommandResult:
    if getattr(args, "version", None) is not None:
        configuration.version_argument(args.version)
    stage_config = configuration.load(args.config, args.stage)
    ctx = Context.for_config(stage_config)
    try:
        return run(ctx, args)
    except KieBlueGreenError as exc:
        exc.details = flows.failure_details(ctx, command)
        raise


def result_of(args: argparse.Namespace) -> CommandResult:
    """Run a parsed command: its result, or the result of the error that stopped it (exit 1-4).
    The command line and `run` both call commands through here."""
    try:
        return args.handler(args)
    except KieBlueGreenError as exc:
        return CommandResult.failure(getattr(args, "command_name", args.command), exc)


class _Arguments(argparse.ArgumentParser):
    def error(self, message):
        raise ConfigError(f"usage: {message}")


def run(argv: list[str]) -> CommandResult:
    """One fleet command from its arguments (`--config FILE [--stage S] deploy --version 2.0.0`),
    its result returned and nothing printed: how the demo and the benchmark drive the runner."""
    parser = _Arguments(prog="kie-bluegreen", add_help=False)
    parser.add_argument("--config", default="kie-deploy.yaml")
    parser.add_argument("--stage")
    register(parser.add_subparsers(dest="command", required=True))
    try:
        args = parser.parse_args(argv)
    except ConfigError as exc:
        return CommandResult.failure(None, exc)
    return result_of(args)
