"""A Diagram drawn as inline SVG: no script, no font or image to fetch, so a page that embeds it
shows it without any network access.

Layout: the listener's rules stacked on the left in evaluation order, the destinations on the
right, one curved arrow per route (its share written on it while the default route is split,
dashed for a weight-0 reference). Colours follow the roles: blue, green, grey for standby and
for other teams' rules, red for retired. Every element carries data-* attributes (route,
target, generation, role, percent) so tests can read the picture back from the page.
"""

from __future__ import annotations

from html import escape

from .diagram import Arrow, Box, Diagram, Rule

RULE_X, RULE_WIDTH, RULE_HEIGHT, RULE_GAP = 24, 244, 40, 14
BOX_X, BOX_WIDTH, LINE_HEIGHT, BOX_PADDING, BOX_GAP = 372, 250, 17, 10, 16
TOP = 56
WIDTH = BOX_X + BOX_WIDTH + 24

# stroke, fill, text
ROUTE_COLOURS = {"default": "#24292f", "blue": "#0550ae", "green": "#1a7f37", "other": "#8c959f"}
ROLE_COLOURS = {
    "blue": ("#0550ae", "#ddeaff", "#0a3069"),
    "green": ("#1a7f37", "#dcf5e3", "#0f3d1f"),
    "standby": ("#6e7781", "#f0f1f3", "#32383f"),
    "retired": ("#cf222e", "#ffecec", "#82071e"),
}
FIXED_COLOURS = ("#9a6700", "#fff5d6", "#4d2d00")
FOREIGN_COLOURS = ("#afb8c1", "#f4f5f6", "#8c959f")
# Lighter than the groups' fills: a rule and the group it reaches are told apart at a glance.
RULE_FILL = {"default": "#ffffff", "blue": "#f1f6ff", "green": "#f0fbf3", "other": "#fafbfc"}


def render(diagram: Diagram, ident: str) -> str:
    """The SVG element; `ident` keeps marker ids apart when a page holds several diagrams."""
    rule_y = {rule.key: TOP + index * (RULE_HEIGHT + RULE_GAP) for index, rule in enumerate(diagram.rules)}
    box_y, y = {}, TOP
    for box in diagram.boxes:
        box_y[box.key] = y
        y += _box_height(box) + BOX_GAP
    rules_bottom = TOP + len(diagram.rules) * (RULE_HEIGHT + RULE_GAP)
    height = max(rules_bottom, y) + 24
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="listener-diagram" id="{ident}" width="{WIDTH}" height="{height}"'
        f' viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(diagram.title)}"'
        ' font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" font-size="13">',
        _markers(ident),
        f'<text x="{RULE_X}" y="22" font-size="15" font-weight="bold">{escape(diagram.title)}</text>',
        f'<rect class="listener" x="{RULE_X - 12}" y="{TOP - 22}" width="{RULE_WIDTH + 24}" height="{rules_bottom - TOP + 22}"'
        ' rx="8" fill="none" stroke="#d0d7de" stroke-dasharray="4 3"/>',
        f'<text x="{RULE_X - 4}" y="{TOP - 8}" fill="#57606a">listener rules, in the order they are evaluated</text>',
    ]
    parts += [_rule(rule, rule_y[rule.key]) for rule in diagram.rules]
    parts += [_box(box, box_y[box.key]) for box in diagram.boxes]
    incoming: dict[str, int] = {}
    for arrow in diagram.arrows:
        count = sum(1 for other in diagram.arrows if other.target == arrow.target)
        index = incoming.get(arrow.target, 0)
        incoming[arrow.target] = index + 1
        parts.append(_arrow(arrow, diagram, rule_y, box_y, index, count, ident))
    parts.append("</svg>")
    return "\n".join(parts)


def _markers(ident: str) -> str:
    markers = "".join(
        f'<marker id="{ident}-head-{route}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7"'
        f' orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="{colour}"/></marker>'
        for route, colour in ROUTE_COLOURS.items()
    )
    return f"<defs>{markers}</defs>"


def _rule(rule: Rule, y: int) -> str:
    colour = ROUTE_COLOURS[rule.route]
    text_colour = "#8c959f" if rule.route == "other" else "#24292f"
    priority = "last" if rule.priority is None else str(rule.priority)
    return (
        f'<g class="rule" data-route="{rule.route}" data-rule="{escape(rule.key)}" data-priority="{priority}">'
        f'<rect x="{RULE_X}" y="{y}" width="{RULE_WIDTH}" height="{RULE_HEIGHT}" rx="6" fill="{RULE_FILL[rule.route]}"'
        f' stroke="{colour}" stroke-width="{1 if rule.route == "other" else 2}"/>'
        f'<text x="{RULE_X + 10}" y="{y + 25}" fill="{text_colour}"><tspan font-weight="bold">{escape(priority)}</tspan>'
        f'<tspan dx="10">{escape(_fit(rule.label, 27))}</tspan></text>'
        f"<title>{escape(rule.label)}</title></g>"
    )


def _box_colours(box: Box) -> tuple[str, str, str]:
    if box.kind == "group":
        return ROLE_COLOURS.get(box.role or "", ROLE_COLOURS["standby"])
    return FIXED_COLOURS if box.kind == "fixed" else FOREIGN_COLOURS


def _box_height(box: Box) -> int:
    return BOX_PADDING * 2 + LINE_HEIGHT * (1 + len(box.lines))


def _box(box: Box, y: int) -> str:
    stroke, fill, text = _box_colours(box)
    dashed = ' stroke-dasharray="6 4"' if box.role == "retired" or box.kind == "foreign" else ""
    attributes = f'class="box {box.kind}" data-box="{escape(box.key)}" data-kind="{box.kind}"'
    if box.kind == "group":
        attributes += (
            f' data-generation="{box.generation}" data-role="{escape(box.role or "")}"'
            f' data-version="{escape(box.version or "")}"'
        )
    if box.target:
        attributes += f' data-target="{escape(box.target)}"'
    lines = [
        f'<text x="{BOX_X + 12}" y="{y + BOX_PADDING + 13}" font-weight="bold" fill="{text}">{escape(_fit(box.title, 30))}</text>'
    ]
    lines += [
        f'<text x="{BOX_X + 12}" y="{y + BOX_PADDING + 13 + LINE_HEIGHT * (number + 1)}" fill="{text}">'
        f"{escape(_fit(line, 32))}</text>"
        for number, line in enumerate(box.lines)
    ]
    return (
        f'<g {attributes}><rect x="{BOX_X}" y="{y}" width="{BOX_WIDTH}" height="{_box_height(box)}" rx="8"'
        f' fill="{fill}" stroke="{stroke}" stroke-width="2"{dashed}/>'
        + "".join(lines)
        + f"<title>{escape(' / '.join((box.title,) + box.lines))}</title></g>"
    )


def _arrow(arrow: Arrow, diagram: Diagram, rule_y: dict, box_y: dict, index: int, count: int, ident: str) -> str:
    box = diagram.box(arrow.target)
    x1, y1 = RULE_X + RULE_WIDTH, rule_y[arrow.source] + RULE_HEIGHT // 2
    height = _box_height(box)
    x2, y2 = BOX_X - 2, box_y[arrow.target] + height * (index + 1) // (count + 1)
    colour = ROUTE_COLOURS[arrow.route]
    dash = ' stroke-dasharray="5 4"' if arrow.warming or arrow.route == "other" else ""
    width = 1.5 if arrow.warming or arrow.route == "other" else 2.5
    attributes = (
        f'class="arrow" data-route="{arrow.route}" data-from="{escape(arrow.source)}" data-to="{escape(arrow.target)}"'
    )
    if arrow.percent is not None:
        attributes += f' data-percent="{arrow.percent}"'
    if arrow.warming:
        attributes += ' data-warming="true"'
    path = (
        f'<path d="M {x1} {y1} C {x1 + 80} {y1}, {x2 - 80} {y2}, {x2} {y2}" fill="none" stroke="{colour}"'
        f' stroke-width="{width}"{dash} marker-end="url(#{ident}-head-{arrow.route})"/>'
    )
    label = ""
    if arrow.label:
        mid_x, mid_y = (x1 + x2) // 2, (y1 + y2) // 2 - 5
        label = (
            f'<text x="{mid_x}" y="{mid_y}" text-anchor="middle" fill="{colour}" font-weight="bold" stroke="#ffffff"'
            f' stroke-width="4" paint-order="stroke">{escape(arrow.label)}</text>'
        )
    return f"<g {attributes}>{path}{label}</g>"


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
