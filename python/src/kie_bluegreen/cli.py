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
from .errors import EXIT_CODES, ConfigError, KieBlueGreenError
from .report import CommandResult


def _command_modules():
    # Imported here so `--help` of one command does not pay for importing every other one.
    from . import commands, demo, security_commands
    from .jenkins import cli as jenkins_cli
    from .probe import command as probe
    from .sandbox import command as sandbox

    return [commands, demo, jenkins_cli, probe, sandbox, security_commands]


class _UsageError(Exception):
    def __init__(self, parser: argparse.ArgumentParser, message: str):
        super().__init__(message)
        self.parser = parser


class _Parser(argparse.ArgumentParser):
    """Usage errors are raised to main() instead of exiting here, so that they too can answer
    with a JSON object when --output json was asked for. argparse echoes what it refuses
    (`unrecognized arguments: --password s3cret`): secrets are masked there too. Subcommand
    parsers are of the same class."""

    def error(self, message):
        raise _UsageError(self, secrets.Redactor.from_environment()(message))


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
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        return _usage_error(exc, argv)
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


def _usage_error(exc: _UsageError, argv: list[str]) -> int:
    """argparse's own message on stderr (exit 2), and the JSON object when it was asked for."""
    exc.parser.print_usage(sys.stderr)
    print(f"{exc.parser.prog}: error: {exc}", file=sys.stderr)
    if _wants_json(argv):
        command = exc.parser.prog.split(" ", 1)[1] if " " in exc.parser.prog else None
        failure = CommandResult.failure(command, ConfigError(f"usage: {exc}"))
        print(json.dumps(failure.data, indent=2))
    return ConfigError.exit_code


def _wants_json(argv: list[str]) -> bool:
    pairs = zip(argv, argv[1:])
    return "--output=json" in argv or any(option == "--output" and value == "json" for option, value in pairs)


def _print(result: CommandResult, output: str, redact: secrets.Redactor) -> None:
    if result.error:
        print(redact(f"kie-bluegreen: {result.error}"), file=sys.stderr)
    if output == "json":
        print(json.dumps(redact.data(result.data), indent=2, sort_keys=False, default=lambda value: redact(str(value))))
    elif result.text:
        print(redact(result.text))


if __name__ == "__main__":
    sys.exit(main())
