"""The `preflight` and `iam-policy` commands."""

from __future__ import annotations

import json

from . import config as configuration
from . import iam_policy, log, planner, preflight
from .context import Context
from .errors import KieBlueGreenError
from .report import CommandResult

_log = log.get("security")


def register(subparsers) -> None:
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
    ctx = Context.for_config(cfg)
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
