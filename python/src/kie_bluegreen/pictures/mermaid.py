"""A Diagram as Mermaid flowchart text (`--output mermaid`): paste it into a Markdown file on
GitHub or GitLab, a wiki, or mermaid.live, and it draws the same picture as the HTML page.
"""

from __future__ import annotations

from .diagram import Diagram

CLASSES = {
    "blue": "fill:#ddeaff,stroke:#0550ae,color:#0a3069",
    "green": "fill:#dcf5e3,stroke:#1a7f37,color:#0f3d1f",
    "standby": "fill:#f0f1f3,stroke:#6e7781,color:#32383f",
    "retired": "fill:#ffecec,stroke:#cf222e,color:#82071e,stroke-dasharray:6 4",
    "fixed": "fill:#fff5d6,stroke:#9a6700,color:#4d2d00",
    "foreign": "fill:#f4f5f6,stroke:#afb8c1,color:#8c959f,stroke-dasharray:6 4",
    "other": "fill:#f4f5f6,stroke:#afb8c1,color:#8c959f",
}


def render(diagram: Diagram) -> str:
    lines = [
        "flowchart LR",
        f"  %% {_plain(diagram.title)}",
        '  subgraph listener["listener rules, in the order they are evaluated"]',
        "    direction TB",
    ]
    for rule in diagram.rules:
        priority = "default" if rule.priority is None else str(rule.priority)
        label = rule.label if rule.priority is None else f"{priority}: {rule.label}"
        lines.append(f'    {_node(rule.key)}["{_plain(label)}"]' + (":::other" if rule.route == "other" else ""))
    lines.append("  end")
    for box in diagram.boxes:
        text = "<br/>".join(_plain(part) for part in (box.title,) + box.lines if part)
        css = box.role if box.kind == "group" else box.kind
        lines.append(f'  {_node(box.key)}["{text}"]:::{css}')
    for arrow in diagram.arrows:
        link = "-.->" if arrow.warming or arrow.route == "other" else "-->"
        label = arrow.label
        if label:
            link = f'-. "{_plain(label)}" .->' if link == "-.->" else f'-- "{_plain(label)}" -->'
        lines.append(f"  {_node(arrow.source)} {link} {_node(arrow.target)}")
    lines += [f"  classDef {name} {style}" for name, style in CLASSES.items()]
    return "\n".join(lines) + "\n"


def _node(key: str) -> str:
    """Mermaid ids: letters, digits and '_' (a key like 'rule-5' or 'fixed-404' is rewritten)."""
    return "n_" + "".join(character if character.isalnum() else "_" for character in key)


def _plain(text: str) -> str:
    """Text inside a quoted Mermaid label: no quotes, no markup."""
    return (
        text.replace('"', "'")
        .replace("<", "‹")
        .replace(">", "›")
        .replace("\n", " ")
        .replace("`", "'")
        .replace("#", "＃")
        .replace(";", ",")
    )
