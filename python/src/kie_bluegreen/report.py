"""What a command prints: one JSON object for pipelines, or human text. Logs go to stderr.

CommandResult is the one result type from a command to the output. Fleet commands build it
with `fleet_result` from the state AWS shows afterwards, the journal of what they did and, for
`plan`, the plan; other commands (preflight, probe, jenkins, ...) give their own data and text.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import KieBlueGreenError


@dataclass
class CommandResult:
    data: dict  # the JSON object printed with --output json
    text: str = ""  # the human rendering printed by default
    exit_code: int = 0
    error: str | None = None  # one-line message for stderr
    state: object = None  # fleet commands: the FleetState after the command
    journal: object = None  # fleet commands: the Journal of what was done
    plan: object = None  # plan (and phase commands): the Plan

    @property
    def result(self) -> str:
        return self.data.get("result", "")

    @property
    def changes(self) -> list[str]:
        return list(self.data.get("changes") or [])

    @property
    def planned(self) -> list[str] | None:
        return self.data.get("planned")

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
            "message": str(exc),
            "blue": None,
            "green": None,
            "standby": [],
            "retired": [],
            "routing": None,
            "changes": [],
            "steps": [],
            "listener_arn": None,
        }
        text = details.pop("text", "")
        data.update(details)
        return cls(data=data, text=text, exit_code=exc.exit_code, error=str(exc))


def fleet_data(command: str, config, state, journal=None, message: str | None = None) -> dict:
    """The JSON object every fleet command prints, also on failure (with what was changed)."""
    names = state.names() if state is not None else {}
    data = {
        "command": command,
        "app": config.app,
        "stage": config.stage,
        "result": "ok" if journal is not None and journal.changes else "unchanged",
        "exit_code": 0,
        "error": None,
        "message": message,
        "blue": None, "green": None, "standby": [], "retired": [], "routing": None,
        "changes": list(journal.changes) if journal is not None else [],
        "steps": [step.as_dict(names) for step in journal.steps] if journal is not None else [],
        "listener_arn": config.listener_arn,
    }
    if state is not None:
        green = state.green
        data.update({
            "blue": state.blue.summary() if state.blue else None,
            "green": green.summary() if green else None,
            "standby": [group.summary() for group in state.standby],
            "retired": [group.summary() for group in state.retired],
            "routing": state.routing.as_dict(),
        })
    return data


def fleet_result(command: str, config, state, journal=None, message: str | None = None, plan=None,
                 pending=None) -> CommandResult:
    """JSON object and text of a fleet command. `plan`: the plan command's plan (nothing done);
    `pending`: what the next command would finish (status)."""
    data = fleet_data(command, config, state, journal, message)
    names = state.names()
    if command == "status":
        data["result"] = "ok"
    if plan is not None:
        data["result"] = "ok" if plan.steps else "unchanged"  # a pipeline skips its deploy on "unchanged"
        data["planned"] = [step.describe(names) for step in plan.steps]
        data["steps"] = [step.as_dict(names) for step in plan.steps]
    if pending is not None:
        data["pending"] = [step.as_dict(names) for step in pending.steps]
    text = render_text(command, config, state, data, plan, pending)
    return CommandResult(data=data, text=text, state=state, journal=journal, plan=plan)


def render_text(command: str, config, state, data: dict, plan=None, pending=None) -> str:
    lines = [f"{config.app}/{config.stage} {command}: {data['message'] or data['result']}"]
    names = state.names()
    if plan is not None:
        lines.append("plan (nothing was changed):" if plan.steps else "plan: nothing to do")
        lines += [f"  {number}. {step.describe(names)}" for number, step in enumerate(plan.steps, 1)]
    if data["changes"]:
        lines.append("changes:")
        lines += [f"  - {change}" for change in data["changes"]]
    if pending is not None and pending.steps:
        lines.append("unfinished (the next command finishes it; `kie-bluegreen phase retire` does only that):")
        lines += [f"  - {step.describe(names)}" for step in pending.steps]
    lines.append(routing_table(state, config))
    return "\n".join(lines)


def routing_table(state, config) -> str:
    """The design note's pictures as text: each route, what it reaches, and every group."""
    header = config.routing.header
    routing = state.routing
    rows = [
        ("default", routing.default),
        (f"{header}: {config.routing.blue_value}", routing.blue),
        (f"{header}: {config.routing.green_value}", routing.green),
    ]
    width = max(len(name) for name, _ in rows)
    lines = ["routing:"]
    for name, target in rows:
        text = _target_text(state, target)
        if name == "default" and routing.split:
            text = ", ".join(f"{routing.share(arn)}% {_target_text(state, arn)}" for arn in routing.split)
        lines.append(f"  {name.ljust(width)} -> {text}")
    for arn in routing.warming:
        lines.append(f"  {'(weight 0)'.ljust(width)} -> {_target_text(state, arn)} (health-checked, no traffic)")
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
