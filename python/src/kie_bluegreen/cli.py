"""Command line: parse arguments, call one command, print its result, map errors to exit codes.

Each command group lives in its own module and registers itself with `register(subparsers)`,
setting `handler` (args -> CommandResult). This module is only the frame around them and the
single error boundary: a user sees a message (one line per problem) and a documented exit code,
never a traceback (unless --verbose).

Habits kept here for every command:
- the global options (--config, --stage, --output, --verbose) work before or after the command
  and its subcommand;
- `--version` only ever names a release, and only after a command that takes one; the program's
  own version is `-V` / `--program-version` or the `version` command, and neither runs a command.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import traceback

from . import __version__, log, secrets
from .clock import Clock
from .commands import result_of
from .errors import EXIT_CODES, ConfigError
from .report import CommandResult


def _command_modules():
    # Imported here so `--help` of one command does not pay for importing every other one.
    # One way: the runner's own commands in commands.py, each package's in its command.py.
    from . import commands
    from .jenkins import command as jenkins
    from .notify import command as notify
    from .pictures import command as report
    from .probe import command as probe
    from .sandbox import command as sandbox

    return [commands, jenkins, notify, probe, report, sandbox]


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


GLOBAL_OPTIONS_TITLE = "global options (before or after the command)"
OUTPUTS = ("text", "json", "html", "mermaid")
PICTURE_OUTPUTS = ("html", "mermaid")  # drawn from a fleet command's result (commands marked pictures=True)
PROGRAM_VERSION_OPTIONS = ("-V", "--program-version")
MISPLACED_VERSION = (
    "--version names the release and goes after the command, e.g. kie-bluegreen deploy --version 2.0.0;"
    " the program's own version is kie-bluegreen -V (or: kie-bluegreen version)"
)


def _global_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """--config, --stage, --output, --verbose on `parser`. The program's parser holds the
    defaults; on every command parser they default to SUPPRESS, so that an option given before
    the command is not overwritten by the command parser's default, and one given after it wins."""

    def default(value):
        return value if defaults else argparse.SUPPRESS

    group = parser.add_argument_group(GLOBAL_OPTIONS_TITLE)
    known = parser._option_string_actions  # options a command defines itself (e.g. jenkins --stage) stay its own
    if "--config" not in known:
        group.add_argument(
            "--config", default=default("kie-deploy.yaml"), help="stage configuration file (default: kie-deploy.yaml)"
        )
    if "--stage" not in known:
        group.add_argument(
            "--stage", default=default(None), help="stage of the configuration; optional when the file has only one"
        )
    if "--output" not in known:
        group.add_argument(
            "--output",
            choices=OUTPUTS,
            default=default("text"),
            help="result format on stdout (default: text); html (a self-contained page with a picture of"
            " the routing) and mermaid (the picture as Mermaid text) for the fleet commands",
        )
    if "--verbose" not in known:
        group.add_argument("--verbose", action="store_true", default=default(False), help="debug logs on stderr")


def _command_parsers(parser: argparse.ArgumentParser):
    """Every parser below `parser`: commands, their subcommands (phase wait, jenkins trigger, ...)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):  # aliases map to the same parser
                yield child
                yield from _command_parsers(child)


class _MisplacedVersion(argparse.Action):
    """`--version` before the command: refused, so that `kie-bluegreen --version 2.0.0 deploy`
    can never look like a deploy that succeeded."""

    def __call__(self, parser, namespace, values, option_string=None):
        parser.error(MISPLACED_VERSION)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="kie-bluegreen",
        description="Blue/green and canary releases of a KIE Server fleet behind an AWS Application Load Balancer.",
        epilog="exit codes: "
        + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items())
        + ". AWS credentials, region overrides and endpoint come from the standard boto3 chain"
        " (AWS_PROFILE, AWS_ENDPOINT_URL, ...).",
    )
    _global_options(parser, defaults=True)
    parser.add_argument(
        *PROGRAM_VERSION_OPTIONS,
        dest="program_version",
        action="store_true",
        help="print the program's version and exit (alone: it runs no command)",
    )
    parser.add_argument("--version", nargs="?", action=_MisplacedVersion, help=argparse.SUPPRESS)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Not required here: `-V` runs alone; main() asks for a command otherwise.
    for module in _command_modules():
        module.register(subparsers)
    _register_version(subparsers)
    for command_parser in _command_parsers(parser):
        _global_options(command_parser, defaults=False)
    return parser


def _register_version(subparsers) -> None:
    parser = subparsers.add_parser(
        "version",
        help="print the program's version (also: -V)",
        description="Print the version of the runner (and of Python).",
    )
    parser.set_defaults(handler=_version_command, command_name="version")


def _version_command(args) -> CommandResult:
    data = {
        "command": "version",
        "result": "ok",
        "exit_code": 0,
        "error": None,
        "version": __version__,
        "python": platform.python_version(),
    }
    return CommandResult(data=data, text=f"kie-bluegreen {__version__}")


def main(argv: list[str] | None = None, clock: Clock | None = None) -> int:
    """Run one command line: parse it, run the command, print its result; the exit code. Every
    wait and retry of the command sleeps on `clock` (tests pass a FakeClock)."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    try:
        command = _program_version_with_command(parser, argv)
        if command:  # checked before parsing: the command's own errors would hide this one
            parser.error(
                f"{'/'.join(PROGRAM_VERSION_OPTIONS)} prints the program's version and runs no command;"
                f" run it alone, or the command alone, not both (got {command})"
            )
        args = parser.parse_args(argv)
        if args.program_version:
            print(f"kie-bluegreen {__version__}")
            return 0
        if args.command is None:
            parser.error("the following arguments are required: COMMAND")
        if args.output in PICTURE_OUTPUTS and not getattr(args, "pictures", False):
            parser.error(
                f"--output {args.output}: only the fleet commands (status, init, plan, deploy, promote,"
                " rollback, cleanup, phase ...) draw the routing; `kie-bluegreen report RESULT.json` turns"
                " saved results into the page"
            )
    except _UsageError as exc:
        return _usage_error(exc, argv)
    args.clock = clock or Clock()
    log.setup(args.verbose)
    # Every line printed from here on is masked for secrets (KIE password, AWS secret key).
    redact = secrets.Redactor.from_environment()
    secrets.install(logging.getLogger(log.LOGGER_NAME), redact)
    try:
        result = result_of(args)
    except KeyboardInterrupt:
        print("kie-bluegreen: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so in one line, the traceback only when asked for
        if args.verbose:
            print(redact(traceback.format_exc()), file=sys.stderr, end="")
        print(
            redact(
                f"kie-bluegreen: internal error: {type(exc).__name__}: {exc}"
                + ("" if args.verbose else " (run with --verbose for details)")
            ),
            file=sys.stderr,
        )
        return 1
    _print(result, args.output, redact)
    return result.exit_code


def _program_version_with_command(parser: argparse.ArgumentParser, argv: list[str]) -> str | None:
    """The command named next to -V / --program-version, if any."""
    if not set(argv) & set(PROGRAM_VERSION_OPTIONS):
        return None
    commands = next(action.choices for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    return next((token for token in argv if token in commands), None)


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
    pairs = zip(argv, argv[1:], strict=False)
    return "--output=json" in argv or any(option == "--output" and value == "json" for option, value in pairs)


def _print(result: CommandResult, output: str, redact: secrets.Redactor) -> None:
    if result.error:  # one line per problem (a configuration can have several), each prefixed
        for line in str(result.error).splitlines() or [""]:
            print(redact(f"kie-bluegreen: {line}"), file=sys.stderr)
    if output in PICTURE_OUTPUTS:
        from .pictures.command import rendered

        print(redact(rendered(redact.data(result.data), output)), end="")
    elif output == "json":
        print(json.dumps(redact.data(result.data), indent=2, sort_keys=False, default=lambda value: redact(str(value))))
    elif result.text:
        print(redact(result.text))


if __name__ == "__main__":
    sys.exit(main())
