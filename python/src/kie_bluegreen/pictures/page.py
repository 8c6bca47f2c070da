"""The report page: one self-contained HTML file (inline CSS and SVG, no script, nothing to
fetch; its Content-Security-Policy forbids fetching anything) that pictures what one command
did, or a whole build (a timeline of runner results and notes such as who approved).

Input: the JSON objects fleet commands print (`--output json`), alone, in a list, or in a
timeline document `{"title", "build_url", "entries": [{"phase", "at", "result" | "note"}]}`
(what the Jenkins steps write). Each result shows the routing after it and, when it changed
something, before it; the page opens with the picture of where the traffic goes now.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from . import diagram as pictures
from . import svg

# Nothing may be fetched: styles are inline, images are the inline SVG.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = """
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #24292f; margin: 24px; max-width: 1600px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; } h3 { font-size: 15px; margin: 0 0 6px; }
.summary { color: #57606a; margin: 0 0 16px; }
.result-ok, .result-unchanged { color: #1a7f37; } .result-failed, .result-error, .result-refused { color: #cf222e; }
.pictures { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
figure { margin: 0; } figcaption { color: #57606a; font-size: 13px; margin-bottom: 4px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
ol.timeline { padding-left: 20px; } ol.timeline > li { margin-bottom: 28px; border-left: 3px solid #d0d7de; padding-left: 12px; }
li.note { border-left-color: #9a6700; }
.warning { color: #9a6700; } .error { color: #cf222e; }
.muted { color: #8c959f; }
"""


@dataclass(frozen=True)
class Entry:
    phase: str | None = None  # "Provision (production)", "Approval (production)", or None
    at: str | None = None  # when it happened (as the writer gave it)
    result: dict | None = None  # a fleet command's JSON object
    note: str | None = None  # e.g. "Promote, approved by alice"


@dataclass(frozen=True)
class Report:
    entries: tuple[Entry, ...]
    title: str | None = None
    build_url: str | None = None

    @property
    def results(self) -> list[dict]:
        return [entry.result for entry in self.entries if entry.result]

    @property
    def last(self) -> dict | None:
        pictured = [result for result in self.results if result.get("routing")]
        return pictured[-1] if pictured else None


def read(document, where: str) -> Report:
    """A Report from one JSON document; ValueError naming `where` when it is none of the forms."""
    if isinstance(document, dict) and "entries" in document:
        if not isinstance(document["entries"], list):
            raise ValueError(f"{where}: 'entries' must be a list")
        entries = tuple(_entry(item, f"{where}: entries[{index}]") for index, item in enumerate(document["entries"]))
        return Report(entries, _text(document.get("title")), _text(document.get("build_url")))
    if isinstance(document, list):
        return Report(tuple(Entry(result=_result(item, f"{where}[{index}]")) for index, item in enumerate(document)))
    return Report((Entry(result=_result(document, where)),))


def combine(reports: list[Report]) -> Report:
    entries = tuple(entry for report in reports for entry in report.entries)
    title = next((report.title for report in reports if report.title), None)
    build_url = next((report.build_url for report in reports if report.build_url), None)
    return Report(entries, title, build_url)


def _entry(item, where: str) -> Entry:
    if not isinstance(item, dict) or ("result" not in item and "note" not in item):
        raise ValueError(f"{where}: expected an object with 'result' (a runner result) or 'note'")
    result = _result(item["result"], f"{where}.result") if item.get("result") is not None else None
    return Entry(_text(item.get("phase")), _text(item.get("at")), result, _text(item.get("note")))


def _result(item, where: str) -> dict:
    if not isinstance(item, dict) or "command" not in item:
        raise ValueError(
            f"{where}: expected the JSON object of a kie-bluegreen command (with 'command'), got {type(item).__name__}"
        )
    _shape(item, where)
    if isinstance(item.get("before"), dict):
        _shape(item["before"], f"{where}.before")
    return item


def _shape(item: dict, where: str) -> None:
    """The fields a page draws from have the types the runner writes (a hand-edited file may not)."""
    for key in ("routing", "blue", "green", "listener", "before"):
        if item.get(key) is not None and not isinstance(item[key], dict):
            raise ValueError(f"{where}.{key}: expected an object or null, got {type(item[key]).__name__}")
    for key in ("standby", "retired", "changes", "warnings", "notifications", "planned", "steps"):
        if item.get(key) is not None and not isinstance(item[key], list):
            raise ValueError(f"{where}.{key}: expected a list, got {type(item[key]).__name__}")
    for key in ("blue", "green", "standby", "retired"):
        value = item.get(key)
        groups: list = value if isinstance(value, list) else [value]
        for group in groups:
            if group is not None and not (isinstance(group, dict) and isinstance(group.get("generation"), int)):
                raise ValueError(f"{where}.{key}: expected groups with a whole-number 'generation'")


def _text(value) -> str | None:
    return None if value is None else str(value)


# -- rendering -------------------------------------------------------------------------------


def render(report: Report) -> str:
    last = report.last
    title = report.title or f"kie-bluegreen {_app_stage(report)}"
    body = [f"<h1>{escape(title)}</h1>", _summary(report)]
    single = len(report.entries) == 1 and report.entries[0].result is not None and not report.build_url
    if last is None:
        body.append('<p class="error">No result in this report shows the routing (AWS could not be read).</p>')
    elif single and last.get("before"):
        body += ["<h2>Before and after</h2>", _pictures(last, "r1")]
    else:
        body += ["<h2>Where the traffic goes now</h2>", _figure(last, f"after {_command(last)}", "now")]
    if last is not None:
        body += [_routing_table(last), _groups_table(last)]
    first = report.entries[0].result
    if single and first is not None:
        body.append(_details(first, "r1", with_pictures=False))
    else:
        body.append("<h2>Timeline</h2>")
        body.append(
            '<ol class="timeline">'
            + "".join(_timeline_entry(entry, index) for index, entry in enumerate(report.entries, 1))
            + "</ol>"
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _app_stage(report: Report) -> str:
    first = next(iter(report.results), {})
    return f"{first.get('app') or '?'}/{first.get('stage') or '?'}"


def _command(result: dict) -> str:
    return str(result.get("command") or "?")


def _summary(report: Report) -> str:
    parts = []
    if report.build_url:
        parts.append(f'build <a href="{escape(report.build_url)}">{escape(report.build_url)}</a>')
    results = report.results
    if len(results) == 1:
        result = results[0]
        parts.append(f"<code>kie-bluegreen {escape(_command(result))}</code>: {_result_word(result)}")
        if result.get("message") or result.get("error"):
            parts.append(escape(str(result.get("error") or result.get("message"))))
    elif results:
        parts.append(f"{len(results)} runner results, {sum(1 for e in report.entries if e.note)} notes")
    return f'<p class="summary">{" · ".join(parts)}</p>'


def _result_word(result: dict) -> str:
    word = str(result.get("result") or "?")
    return f'<span class="result-{escape(word)}">{escape(word)}</span>'


def _figure(picture: dict, caption: str, ident: str) -> str:
    app_stage = f"{picture.get('app') or ''}/{picture.get('stage') or ''}".strip("/")
    drawn = pictures.build(picture, f"{app_stage} {caption}".strip())
    return f'<figure class="picture" data-picture="{escape(ident)}">{svg.render(drawn, "d-" + ident)}</figure>'


def _pictures(result: dict, ident: str) -> str:
    """Before (when the command changed something) and after, side by side."""
    figures = []
    if result.get("before"):
        figures.append(
            _figure(
                {**result["before"], "app": result.get("app"), "stage": result.get("stage")},
                f"before {_command(result)}",
                f"{ident}-before",
            )
        )
    if result.get("routing"):
        figures.append(_figure(result, f"after {_command(result)}", f"{ident}-after"))
    return '<div class="pictures">' + "".join(figures) + "</div>" if figures else ""


def _timeline_entry(entry: Entry, index: int) -> str:
    heading = " · ".join(escape(part) for part in (entry.phase, entry.at) if part)
    if entry.note is not None:
        return f'<li class="note" data-entry="{index}"><h3>{heading or "note"}</h3><p>{escape(entry.note)}</p></li>'
    result = entry.result or {}
    title = f"{heading + ' · ' if heading else ''}<code>kie-bluegreen {escape(_command(result))}</code>: {_result_word(result)}"
    return (
        f'<li class="result" data-entry="{index}" data-command="{escape(_command(result))}">'
        f"<h3>{title}</h3>{_details(result, f'r{index}', with_pictures=True)}</li>"
    )


def _details(result: dict, ident: str, with_pictures: bool) -> str:
    parts = []
    message = result.get("error") or result.get("message")
    if message:
        parts.append(f'<p class="{"error" if result.get("error") else "message"}">{escape(str(message))}</p>')
    if with_pictures:
        parts.append(_pictures(result, ident))
    if result.get("changes"):
        parts.append(
            "<h3>Changes</h3><ul>" + "".join(f"<li>{escape(str(c))}</li>" for c in result["changes"]) + "</ul>"
        )
    elif result.get("planned"):
        parts.append(
            "<h3>Planned (nothing was changed)</h3><ol>"
            + "".join(f"<li>{escape(str(step))}</li>" for step in result["planned"])
            + "</ol>"
        )
    for warning in result.get("warnings") or []:
        parts.append(f'<p class="warning">warning: {escape(str(warning))}</p>')
    delivered = [n for n in result.get("notifications") or [] if isinstance(n, dict) and n.get("delivered")]
    if delivered:
        parts.append(
            '<p class="muted">notified: '
            + ", ".join(escape(f"{n.get('event')} → {n.get('target')}") for n in delivered)
            + "</p>"
        )
    return "".join(parts)


def _routing_table(result: dict) -> str:
    drawn = pictures.build(result, "")
    rows = []
    for rule in drawn.rules:
        targets = [arrow for arrow in drawn.arrows if arrow.source == rule.key]
        reached = "; ".join(_reached(drawn, arrow) for arrow in targets) or "(nothing)"
        css = ' class="muted"' if rule.route == "other" else ""
        priority = "last" if rule.priority is None else rule.priority
        rows.append(
            f'<tr{css} data-route="{rule.route}"><td>{priority}</td><td>{escape(rule.label)}</td>'
            f"<td>{escape(reached)}</td></tr>"
        )
    return '<table class="routing"><tr><th>priority</th><th>rule</th><th>reaches</th></tr>' + "".join(rows) + "</table>"


def _reached(drawn, arrow) -> str:
    box = drawn.box(arrow.target)
    name = f"{box.title} ({box.role})" if box.kind == "group" else box.title
    if arrow.warming:
        return f"{name}: weight 0, health checks only"
    return f"{arrow.label} {name}".strip() if arrow.percent is not None else name


def _groups_table(result: dict) -> str:
    groups = pictures.groups_of(result)
    if not groups:
        return '<p class="muted">No group is managed yet: run init.</p>'
    rows = "".join(
        f'<tr data-generation="{group["generation"]}"><td>g{group["generation"]}</td><td>{escape(str(group.get("role")))}</td>'
        f"<td>{escape(str(group.get('release')))}</td><td>{escape(str(group.get('container_id') or ''))}</td>"
        f"<td>{escape(str(group.get('asg')))}</td>"
        f"<td>{'?' if group.get('healthy') is None else group['healthy']}/{group.get('desired')}</td></tr>"
        for group in groups
    )
    return (
        '<table class="groups"><tr><th>generation</th><th>role</th><th>release</th><th>container</th>'
        f"<th>Auto Scaling group</th><th>servers healthy</th></tr>{rows}</table>"
    )
