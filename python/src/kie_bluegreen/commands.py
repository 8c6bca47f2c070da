"""The runner's own commands: the fleet commands (init, plan, deploy, promote, rollback, status,
cleanup, phase ...) and the checks before them (preflight, iam-policy)."""

from __future__ import annotations

import argparse
import json

from . import config as configuration
from . import flows, iam_policy, log, planner, preflight
from .clock import Clock
from .context import Context
from .errors import ConfigError, KieBlueGreenError
from .report import CommandResult

STRATEGIES = ("canary", "all-at-once", "weighted")

_log = log.get("security")


def register(subparsers) -> None:
    _register_fleet(subparsers)
    _register_checks(subparsers)


def _register_fleet(subparsers) -> None:
    def command(name: str, help_text: str, run, *, parent=subparsers, full_name: str | None = None):
        parser = parent.add_parser(name, help=help_text, description=help_text)
        parser.set_defaults(
            handler=lambda args: _run(args, full_name or name, run), command_name=full_name or name, pictures=True
        )  # --output html|mermaid draw their result
        return parser

    parser = command(
        "init",
        "adopt the listener's current default group as generation 1 and create the"
        " blue/green header rules (green answers a fixed 404)",
        lambda ctx, a: flows.init(ctx, a.version, a.asg),
    )
    _version(parser, "release the live group runs now")
    parser.add_argument("--asg", help="the live Auto Scaling Group, when the default target group has several")

    parser = command(
        "plan", "show what deploy would change; changes nothing", lambda ctx, a: flows.plan(ctx, a.version, a.strategy)
    )
    _version(parser, "release to deploy")
    _strategy(parser)

    parser = command(
        "deploy",
        "provision a new generation, wait until every server is ready, route it"
        " (canary: green header only; all-at-once: everyone) and retire the old one where the"
        " strategy retires",
        lambda ctx, a: flows.deploy(ctx, a.version, a.strategy, a.keep_failed),
    )
    _version(parser, "release to deploy")
    _strategy(parser)
    _keep_failed(parser)

    command(
        "promote",
        "green becomes blue: default and blue header to green, green header to 404,"
        " previous blue retired (retire.previous)",
        lambda ctx, a: flows.promote(ctx),
    )

    parser = command(
        "rollback",
        "back to the previous blue: before promote drops the green candidate;"
        " after promote brings the standby generation back",
        lambda ctx, a: flows.rollback(ctx, a.generation),
    )
    parser.add_argument("--generation", type=int, help="roll back to this standby (or kept) generation")

    command("status", "routing, groups, versions and health", lambda ctx, a: flows.status(ctx))
    command(
        "cleanup", "delete retired groups and standby generations beyond retire.keep", lambda ctx, a: flows.cleanup(ctx)
    )

    phase = subparsers.add_parser(
        "phase",
        help="run one phase alone (deploy composes them), resuming from AWS",
        description="Run one phase of a deploy alone, so a pipeline can show each as its own stage.",
    )
    phases = phase.add_subparsers(dest="phase", metavar="PHASE")
    phases.required = True
    parser = command(
        "provision",
        "create the new generation's target group and Auto Scaling Group",
        lambda ctx, a: flows.phase_provision(ctx, a.version),
        parent=phases,
        full_name="phase provision",
    )
    _version(parser, "release to provision")
    parser = command(
        "wait",
        "wait until every server of the green candidate is ready; on timeout remove it",
        lambda ctx, a: flows.phase_wait(ctx, a.keep_failed),
        parent=phases,
        full_name="phase wait",
    )
    _keep_failed(parser)
    parser = command(
        "route",
        "rewrite the listener for the green candidate (canary or all-at-once)",
        lambda ctx, a: flows.phase_route(ctx, a.strategy),
        parent=phases,
        full_name="phase route",
    )
    _strategy(parser)
    command(
        "retire",
        "finish what a stopped run left half-done and apply the retire policy to unrouted groups",
        lambda ctx, a: flows.phase_retire(ctx),
        parent=phases,
        full_name="phase retire",
    )
    parser = command(
        "shift",
        "one weighted step: send N percent of the default route to the green candidate"
        " (100 promotes it, 0 puts everyone back on blue)",
        lambda ctx, a: flows.shift(ctx, a.weight),
        parent=phases,
        full_name="phase shift",
    )
    parser.add_argument("--weight", type=int, required=True, help="percent of the default route, 0 to 100")


def _version(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--version", required=True, help=f"{help_text}, e.g. 2.0.0 or 2.0.0-SNAPSHOT")


def _strategy(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--strategy", choices=STRATEGIES, help="default: routing.strategy of the configuration")


def _keep_failed(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--keep-failed",
        action="store_true",
        help="keep a candidate that never became ready (role retired) instead of deleting it",
    )


def _run(args, command: str, run) -> CommandResult:
    if getattr(args, "version", None) is not None:
        configuration.version_argument(args.version)
    stage_config = configuration.load(args.config, args.stage)
    ctx = Context.for_config(stage_config, args.clock)
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


def run(argv: list[str], clock: Clock | None = None) -> CommandResult:
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
    args.clock = clock or Clock()
    return result_of(args)


def _register_checks(subparsers) -> None:
    parser = subparsers.add_parser(
        "preflight",
        help="the checks deploy, promote and rollback run before they change anything",
        description="Check credentials, listener, load balancer, rule priorities, names, launch template,"
        " subnets and quotas for a command, without changing anything.",
    )
    parser.add_argument(
        "for_command",
        nargs="?",
        choices=preflight.COMMANDS,
        default="deploy",
        metavar="COMMAND",
        help=f"the command to check for: {', '.join(preflight.COMMANDS)} (default: deploy)",
    )
    parser.add_argument("--version", help="the release deploy would create (checks its tag and whether it is live)")
    parser.add_argument("--generation", type=int, help="rollback --generation N")
    parser.set_defaults(handler=_preflight, command_name="preflight")

    parser = subparsers.add_parser(
        "iam-policy",
        help="print the least-privilege IAM policy (JSON) for this configuration and stage",
        description="Print the IAM policy the runner needs for the stage: every action it calls, scoped to the"
        " listener, the stage's groups and their kie-bluegreen tags. See docs/iam-policy.md.",
    )
    parser.add_argument(
        "--managed",
        action="store_true",
        help="split into documents that each fit an IAM managed policy (6,144 characters); by default"
        " one document, for an inline role policy (10,240)",
    )
    parser.add_argument(
        "--generic", action="store_true", help="the placeholder version shipped in resources/ (needs no configuration)"
    )
    roles = parser.add_mutually_exclusive_group()
    roles.add_argument(
        "--instance-role",
        metavar="ROLE",
        help="name or ARN of the role in the launch template's instance profile (for iam:PassRole)",
    )
    roles.add_argument(
        "--no-instance-role",
        action="store_true",
        help="the launch template has no instance profile: grant no iam:PassRole",
    )
    parser.add_argument(
        "--launch-template",
        metavar="ID",
        help="allow launching only from this launch template (lt-...); default: any in the region",
    )
    parser.add_argument(
        "--autoscaling-role",
        metavar="ROLE",
        action="append",
        default=[],
        help="a role passed to Auto Scaling: the live group's service-linked role when it is not the"
        " default one, a lifecycle hook's role (repeatable; preflight names them)",
    )
    parser.add_argument(
        "--ssm-parameter",
        metavar="NAME",
        action="append",
        default=[],
        help="the SSM parameter of a launch template whose AMI is resolve:ssm:NAME (repeatable)",
    )
    parser.set_defaults(handler=_iam_policy, command_name="iam-policy")


def _preflight(args) -> CommandResult:
    if args.version is not None:
        configuration.version_argument(args.version)
    cfg = configuration.load(args.config, args.stage)
    ctx = Context.for_config(cfg, args.clock)
    request = planner.Request(
        args.for_command,
        version=args.version or (preflight.ASSUMED_VERSION if args.for_command == "deploy" else None),
        generation=args.generation,
    )
    passed: list[preflight.Passed] = []
    base = {"command": "preflight", "app": cfg.app, "stage": cfg.stage, "for": args.for_command}
    try:
        preflight.run(ctx, args.for_command, request, on_pass=passed.append)
    except KieBlueGreenError as exc:
        checks = [_check(p) for p in passed]
        failed = preflight.Preflight(ctx, args.for_command).checks()[len(passed)][0]
        checks.append({"check": failed, "ok": False, "detail": str(exc)})
        exc.details = {**base, "checks": checks, "text": _render(checks)}
        raise
    checks = [_check(p) for p in passed]
    data = {**base, "result": "ok", "exit_code": 0, "error": None, "checks": checks}
    return CommandResult(data=data, text=_render(checks) + f"\npreflight for {args.for_command}: all checks passed")


def _check(passed: preflight.Passed) -> dict:
    return {"check": passed.check, "ok": True, "detail": passed.detail}


def _render(checks: list[dict]) -> str:
    return "\n".join(f"{'ok ' if c['ok'] else 'FAIL'} {c['check']}: {c['detail']}" for c in checks)


def _iam_policy(args) -> CommandResult:
    if args.generic:
        scope = iam_policy.Scope.generic()
        app = stage = None
    else:
        cfg = configuration.load(args.config, args.stage)
        role = None if args.no_instance_role else (args.instance_role or iam_policy.PLACEHOLDER_ROLE)
        scope = iam_policy.Scope.of(
            cfg, role, args.launch_template, tuple(args.autoscaling_role), tuple(args.ssm_parameter)
        )
        if role == iam_policy.PLACEHOLDER_ROLE:
            _log.warning(
                "no --instance-role: iam:PassRole names the placeholder role %s; pass --instance-role ROLE"
                " (or --no-instance-role when the launch template has no instance profile)",
                role,
            )
        app, stage = cfg.app, cfg.stage
    policy = iam_policy.build(scope)
    data = {
        "command": "iam-policy",
        "app": app,
        "stage": stage,
        "result": "ok",
        "exit_code": 0,
        "error": None,
        "policy": policy,
    }
    if args.managed:
        data["managed"] = iam_policy.managed(policy)
        return CommandResult(data=data, text=json.dumps(data["managed"], indent=2))
    return CommandResult(data=data, text=json.dumps(policy, indent=2))
