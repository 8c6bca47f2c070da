"""Command line: parse arguments, call one command, print its result, map errors to exit codes.

Each command group lives in its own module and registers itself with `register(subparsers)`,
setting `handler` (args -> CommandResult). This module is only the frame around them and the
single error boundary: a user sees a one-line message and a documented exit code, never a
traceback (unless --verbose).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import traceback

from . import __version__, log, secrets
from .errors import EXIT_CODES, KieBlueGreenError
from .report import CommandResult


def _command_modules():
    # Imported here so `--help` of one command does not pay for importing every other one.
    from . import commands, demo, security_commands
    from .jenkins import cli as jenkins_cli
    from .probe import command as probe
    from .sandbox import command as sandbox

    return [commands, demo, jenkins_cli, probe, sandbox, security_commands]


class _Parser(argparse.ArgumentParser):
    """argparse echoes what it refuses (`unrecognized arguments: --password s3cret`): mask
    secrets there too. Subcommand parsers are of the same class."""

    def error(self, message):
        super().error(secrets.Redactor.from_environment()(message))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="kie-bluegreen",
        description="Blue/green and canary releases of a KIE Server fleet behind an AWS Application Load Balancer.",
        epilog="exit codes: " + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items())
        + ". AWS credentials, region overrides and endpoint come from the standard boto3 chain"
        " (AWS_PROFILE, AWS_ENDPOINT_URL, ...).",
    )
    parser.add_argument("--config", default="kie-deploy.yaml", help="stage configuration file (default: kie-deploy.yaml)")
    parser.add_argument("--stage", help="stage of the configuration; optional when the file has only one")
    parser.add_argument("--output", choices=("text", "json"), default="text", help="result format on stdout (default: text)")
    parser.add_argument("--verbose", action="store_true", help="debug logs on stderr")
    parser.add_argument("--version", action="version", version=f"kie-bluegreen {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module in _command_modules():
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # argparse itself exits 2 on usage errors
    log.setup(args.verbose)
    # Every line printed from here on is masked for secrets (KIE password, AWS secret key).
    redact = secrets.Redactor.from_environment()
    secrets.install(logging.getLogger(log.LOGGER_NAME), redact)
    command = getattr(args, "command_name", args.command)
    try:
        result = args.handler(args)
    except KieBlueGreenError as exc:
        result = CommandResult.failure(command, exc)
    except KeyboardInterrupt:
        print("kie-bluegreen: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so in one line, the traceback only when asked for
        if args.verbose:
            print(redact(traceback.format_exc()), file=sys.stderr, end="")
        print(redact(f"kie-bluegreen: internal error: {type(exc).__name__}: {exc}"
                     + ("" if args.verbose else " (run with --verbose for details)")), file=sys.stderr)
        return 1
    _print(result, args.output, redact)
    return result.exit_code


def _print(result: CommandResult, output: str, redact: secrets.Redactor) -> None:
    if result.error:
        print(redact(f"kie-bluegreen: {result.error}"), file=sys.stderr)
    if output == "json":
        print(json.dumps(redact.data(result.data), indent=2, sort_keys=False, default=lambda value: redact(str(value))))
    elif result.text:
        print(redact(result.text))


if __name__ == "__main__":
    sys.exit(main())
