"""PURE: the picture of a listener as a few values (rules, destinations, arrows), read from the
JSON object a fleet command prints. The SVG (svg.py) and Mermaid (mermaid.py) renderings draw
these values; neither looks at the JSON itself.

The picture is the design note's Canary-0..3: the listener's rules in the order the load
balancer evaluates them (other teams' rules too, greyed: we never touch them), our two header
rules and the default route last; each one's arrow to a group of servers (with its generation,
release, role, servers healthy/desired and container id), to the fixed 404 answer, or to
something that is not ours. While the default route splits traffic, one arrow per share; a
group referenced with weight 0 (health-checked, no traffic) gets a dashed arrow.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("blue", "green", "standby", "retired")
FIXED_PREFIX = "fixed-response:"
DEFAULT_HEADER = "x-client-mode"


@dataclass(frozen=True)
class Rule:
    """One row of the listener, in evaluation order."""

    key: str  # "blue", "green", "default", or "rule-<priority>" for another team's rule
    route: str  # blue, green, default, or other
    priority: int | None  # None: the default action (evaluated last)
    label: str


@dataclass(frozen=True)
class Box:
    """Where a route can lead: one of our groups, a fixed answer, or a target that is not ours."""

    key: str  # "g<generation>", "fixed-<code>", "foreign-<n>"
    kind: str  # group, fixed, foreign
    title: str
    lines: tuple[str, ...] = ()
    role: str | None = None  # groups: blue, green, standby, retired
    generation: int | None = None
    version: str | None = None
    target: str | None = None  # the target group ARN or fixed-response:<code>


@dataclass(frozen=True)
class Arrow:
    source: str  # Rule.key
    target: str  # Box.key
    route: str  # the rule's route
    label: str = ""  # "90%", "weight 0: health checks only"
    percent: int | None = None  # share of the default route while it is split
    warming: bool = False  # weight 0: health-checked, no traffic


@dataclass(frozen=True)
class Diagram:
    title: str
    rules: tuple[Rule, ...]
    boxes: tuple[Box, ...]
    arrows: tuple[Arrow, ...]

    def arrows_of(self, route: str) -> list[Arrow]:
        return [arrow for arrow in self.arrows if arrow.route == route]

    def box(self, key: str) -> Box:
        return next(box for box in self.boxes if box.key == key)


def groups_of(picture: dict) -> list[dict]:
    """Every group of a picture (blue, green, standby, retired), newest generation first."""
    found = (
        [picture.get("blue"), picture.get("green")]
        + list(picture.get("standby") or [])
        + list(picture.get("retired") or [])
    )
    unique = {group["generation"]: group for group in found if group}
    return [unique[generation] for generation in sorted(unique, reverse=True)]


def build(picture: dict, title: str) -> Diagram:
    """The diagram of one picture: the fields `picture` in report.py writes (blue, green,
    standby, retired, routing, listener)."""
    routing = picture.get("routing") or {}
    listener = picture.get("listener") or {}
    groups = groups_of(picture)
    by_arn = {group["target_group_arn"]: group for group in groups if group.get("target_group_arn")}
    boxes: dict[str, Box] = {}
    arrows: list[Arrow] = []

    def destination(target: str) -> str:
        if target in by_arn:
            group = by_arn[target]
            key = f"g{group['generation']}"
            boxes.setdefault(key, _group_box(key, group))
            return key
        if target.startswith(FIXED_PREFIX):
            code = target[len(FIXED_PREFIX) :]
            key = f"fixed-{code}"
            boxes.setdefault(
                key, Box(key, "fixed", f"fixed response {code}", ("answers by itself, no server",), target=target)
            )
            return key
        existing = next((box.key for box in boxes.values() if box.kind == "foreign" and box.target == target), None)
        if existing:
            return existing
        key = f"foreign-{sum(1 for box in boxes.values() if box.kind == 'foreign') + 1}"
        boxes[key] = Box(key, "foreign", _foreign_name(target), ("not managed by kie-bluegreen",), target=target)
        return key

    rules = _rules(routing, listener)
    for rule in rules:
        if rule.route == "other":
            other = next(r for r in listener.get("other_rules", []) if f"rule-{r['priority']}" == rule.key)
            for target in _targets(other.get("target")):
                arrows.append(Arrow(rule.key, destination(target), "other"))
        elif rule.route == "default":
            weights = routing.get("weights") or {}
            if weights:
                for arn, percent in weights.items():
                    arrows.append(Arrow(rule.key, destination(arn), "default", f"{percent}%", percent))
            elif routing.get("default"):
                arrows.append(Arrow(rule.key, destination(routing["default"]), "default"))
            for arn in routing.get("warming") or []:
                arrows.append(
                    Arrow(rule.key, destination(arn), "default", "weight 0: health checks only", 0, warming=True)
                )
        else:
            routed = routing.get(rule.route)
            if routed:
                arrows.append(Arrow(rule.key, destination(routed), rule.route))
    for group in groups:  # groups no route reaches: standby, retired
        key = f"g{group['generation']}"
        boxes.setdefault(key, _group_box(key, group))
    ordered = _in_order(boxes, arrows)
    return Diagram(title, tuple(rules), tuple(ordered), tuple(arrow for arrow in arrows if arrow.target))


def _rules(routing: dict, listener: dict) -> list[Rule]:
    header = listener.get("header") or DEFAULT_HEADER
    values = listener.get("values") or {"blue": "blue", "green": "green"}
    priorities = listener.get("priorities") or {"blue": 100, "green": 101}
    rows = [
        (
            int(rule["priority"]),
            Rule(
                f"rule-{rule['priority']}",
                "other",
                int(rule["priority"]),
                " and ".join(rule.get("conditions") or []) or "(no condition)",
            ),
        )
        for rule in listener.get("other_rules") or []
    ]
    for route in ("blue", "green"):
        if routing.get(route) is not None:
            priority = int(priorities.get(route, 0))
            rows.append((priority, Rule(route, route, priority, f"{header}: {values.get(route, route)}")))
    rows.sort(key=lambda row: row[0])
    return [rule for _, rule in rows] + [Rule("default", "default", None, "default (no rule matched)")]


def _targets(target: str | None) -> list[str]:
    """What another team's rule leads to: one target, or each member of a weighted forward."""
    if not target:
        return []
    if target.startswith("weighted:"):
        return target[len("weighted:") :].split(",")
    return [target]


def _group_box(key: str, group: dict) -> Box:
    if group.get("healthy") is None:  # health is read by status and after a command, not before it
        servers = f"{group.get('desired', '?')} servers wanted"
    else:
        servers = f"{group['healthy']}/{group.get('desired', '?')} servers healthy"
    lines = [group.get("role", ""), group.get("asg", ""), servers]
    if group.get("container_id"):
        lines.append(f"container {group['container_id']}")
    return Box(
        key,
        "group",
        f"g{group['generation']} · {group.get('version', '?')}",
        tuple(lines),
        role=group.get("role"),
        generation=group["generation"],
        version=group.get("version"),
        target=group.get("target_group_arn"),
    )


def _foreign_name(target: str) -> str:
    """'billing-api' for arn:...:targetgroup/billing-api/0123, the target itself otherwise."""
    if ":targetgroup/" in target:
        return target.split(":targetgroup/", 1)[1].split("/")[0]
    return target


def _in_order(boxes: dict[str, Box], arrows: list[Arrow]) -> list[Box]:
    """Destinations in the order the rules first reach them (fewer crossing arrows), then the
    groups no route reaches, newest first."""
    order: list[str] = []
    for arrow in arrows:
        if arrow.target and arrow.target not in order:
            order.append(arrow.target)
    rest = sorted((key for key in boxes if key not in order), key=lambda key: -(boxes[key].generation or 0))
    return [boxes[key] for key in order + rest]
