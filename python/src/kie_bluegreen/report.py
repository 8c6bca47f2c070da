"""What a command prints: one JSON object for pipelines, or human text. Logs go to stderr."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import KieBlueGreenError


@dataclass
class CommandResult:
    data: dict  # the JSON object printed with --output json
    text: str = ""  # the human rendering printed by default
    exit_code: int = 0
    error: str | None = None  # one-line message for stderr

    @classmethod
    def failure(cls, command: str, exc: KieBlueGreenError) -> "CommandResult":
        details = dict(getattr(exc, "details", None) or {})
        data = {
            "command": command,
            "app": details.pop("app", None),
            "stage": details.pop("stage", None),
            "result": exc.result,
            "exit_code": exc.exit_code,
            "error": str(exc),
            "blue": None,
            "green": None,
            "standby": [],
            "routing": None,
            "changes": [],
        }
        data.update(details)
        return cls(data=data, text=details.get("text", ""), exit_code=exc.exit_code, error=str(exc))


def fleet_result(flow, config) -> CommandResult:
    """JSON object (DESIGN 4.2) and text of a fleet command's FlowResult."""
    state, outcome = flow.state, flow.outcome
    green = state.green
    data = {
        "command": flow.command,
        "app": config.app,
        "stage": config.stage,
        # plan changes nothing by design: "ok" when it planned work, "unchanged" when none is needed
        "result": outcome.result if flow.planned is None else ("ok" if flow.planned else "unchanged"),
        "exit_code": 0,
        "error": None,
        "message": outcome.message,
        "blue": state.blue.summary() if state.blue else None,
        "green": green.summary() if green else None,
        "standby": [group.summary() for group in state.standby],
        "retired": [group.summary() for group in state.retired],
        "routing": state.routing.as_dict(),
        "changes": list(outcome.changes),
        "listener_arn": config.listener_arn,
    }
    if flow.planned is not None:
        data["planned"] = list(flow.planned)
    return CommandResult(data=data, text=render_text(flow, config))


def render_text(flow, config) -> str:
    state, outcome = flow.state, flow.outcome
    lines = [f"{config.app}/{config.stage} {flow.command}: {outcome.message or outcome.result}"]
    if flow.planned is not None:
        lines.append("plan (nothing was changed):" if flow.planned else "plan: nothing to do")
        lines += [f"  - {step}" for step in flow.planned]
    if outcome.changes:
        lines.append("changes:")
        lines += [f"  - {change}" for change in outcome.changes]
    lines.append(routing_table(state, config))
    return "\n".join(lines)


def routing_table(state, config) -> str:
    """The seed's pictures as text: each route, what it reaches, and every group."""
    header = config.routing.header
    rows = [
        ("default", state.routing.default),
        (f"{header}: {config.routing.blue_value}", state.routing.blue),
        (f"{header}: {config.routing.green_value}", state.routing.green),
    ]
    width = max(len(name) for name, _ in rows)
    lines = ["routing:"]
    for name, target in rows:
        lines.append(f"  {name.ljust(width)} -> {_target_text(state, target)}")
    lines.append("groups:")
    if not state.groups:
        lines.append("  (none managed yet: run init)")
    for group in sorted(state.groups, key=lambda g: -g.generation):
        healthy = "?" if group.healthy is None else group.healthy
        lines.append(f"  g{group.generation:<3} {group.role.value:<8} {group.version:<16} {group.asg_name:<28}"
                     f" {group.capacity.desired} desired, {healthy} healthy")
    return "\n".join(lines)


def _target_text(state, target) -> str:
    if target is None:
        return "(no rule)"
    if target.startswith("fixed-response:"):
        return f"fixed response {target.split(':', 1)[1]}"
    group = state.group_of(target)
    if group is None:
        return f"{target} (not managed by kie-bluegreen)"
    return f"{group.asg_name} g{group.generation} {group.version}"
