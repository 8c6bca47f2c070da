"""`kie-bluegreen report RESULT.json...`, and `--output html|mermaid` of the fleet commands.

`report` turns saved JSON results (of any fleet command, a list of them, or the timeline
document the Jenkins steps write) into the self-contained HTML page, printed or written to
`--page FILE`. `--output html` prints the same page for the command just run; `--output
mermaid` prints its diagram as Mermaid text.
"""

from __future__ import annotations

import json
import os

from .. import secrets
from ..config import MAX_CONFIG_BYTES
from ..errors import ConfigError
from ..report import CommandResult
from . import diagram, mermaid, page

PICTURE_OUTPUTS = ("html", "mermaid")
MAX_RESULT_BYTES = 20 * MAX_CONFIG_BYTES  # a build's timeline of results


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "report",
        help="turn saved JSON results into a self-contained HTML page with pictures of the routing",
        description="Turn saved JSON results (--output json of any fleet command, a list of them, or the timeline"
        " document the Jenkins steps write) into one self-contained HTML page, viewable without network"
        " access: the listener's routing now, and before and after each command, with what it changed.",
    )
    parser.add_argument(
        "results",
        nargs="+",
        metavar="RESULT.json",
        help="a command's --output json, a list of them, or a timeline document; several are shown in order",
    )
    parser.add_argument("--page", metavar="FILE", help="write the page to FILE instead of printing it")
    parser.add_argument("--title", help="the page's title (default: kie-bluegreen <app>/<stage>)")
    parser.set_defaults(handler=_handle, command_name="report")


def _handle(args) -> CommandResult:
    reports = [page.read(_load(path), path) for path in args.results]
    report = page.combine(reports)
    if args.title:
        report = page.Report(report.entries, args.title, report.build_url)
    try:
        html = page.render(report)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a hand-edited file the checks let through
        raise ConfigError(
            f"report: the results do not have the shape kie-bluegreen writes ({type(exc).__name__}: {exc})"
        ) from None
    data = {
        "command": "report",
        "result": "ok",
        "exit_code": 0,
        "error": None,
        "entries": len(report.entries),
        "page": None,
    }
    if args.page:
        _write(args.page, secrets.Redactor.from_environment()(html))
        data["page"] = args.page
        return CommandResult(data=data, text=f"wrote {args.page} ({len(report.entries)} entries)")
    return CommandResult(data=data, text=html)


def _load(path: str):
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_RESULT_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_RESULT_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_RESULT_BYTES} bytes, too large for runner results")
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ConfigError(
            f"{path}: not a JSON document ({exc}); expected what kie-bluegreen --output json prints"
        ) from None
    try:
        page.read(document, path)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return document


def _write(path: str, text: str) -> None:
    try:
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise ConfigError(f"--page: cannot write {path}: {exc.strerror or exc}") from None


def rendered(data: dict, output: str) -> str:
    """A fleet result as `--output html` (the page) or `--output mermaid` (the diagram)."""
    if output == "mermaid":
        where = f"{data.get('app') or '?'}/{data.get('stage') or '?'}"
        if not data.get("routing"):
            return f"%% {where} {data.get('command')}: no routing to draw ({data.get('error') or 'AWS was not read'})\n"
        return mermaid.render(diagram.build(data, f"{where} after {data.get('command')}"))
    return page.render(page.Report((page.Entry(result=data),)))
