"""What a command prints: one JSON object for pipelines, or human text. Logs go to stderr.

CommandResult is the one result type from a command to the output. Fleet commands build it
with `fleet_result` from the state AWS shows afterwards, the journal of what they did and, for
`plan`, the plan; other commands (preflight, probe, jenkins, ...) give their own data and text.
"""

from __future__ import annotations

from dataclasses import dataclass

from .aws.alb import action_target
from .errors import ConfigError, KieBlueGreenError


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
            "notifications": [],
            "warnings": [],
        }
        text = details.pop("text", "")
        data.update(details)
        return cls(data=data, text=text, exit_code=exc.exit_code, error=str(exc))


def fleet_data(command: str, config, state, journal=None, message: str | None = None) -> dict:
    """The JSON object every fleet command prints, also on failure (with what was changed).
    Besides the groups and the routing it carries what a picture of the listener needs (the
    header rules and other teams' rules), the picture before the command when it changed
    something (`before`), and the notifications it sent."""
    names = state.names() if state is not None else {}
    notifications = list(journal.notifications) if journal is not None else []
    data = {
        "command": command,
        "app": config.app,
        "stage": config.stage,
        "result": "ok" if journal is not None and journal.changes else "unchanged",
        "exit_code": 0,
        "error": None,
        "message": message,
        "blue": None,
        "green": None,
        "standby": [],
        "retired": [],
        "routing": None,
        "changes": list(journal.changes) if journal is not None else [],
        "steps": [step.as_dict(names) for step in journal.steps] if journal is not None else [],
        "listener_arn": config.listener_arn,
        "listener": None,
        "notifications": [outcome.as_dict() for outcome in notifications],
        "warnings": [outcome.warning for outcome in notifications if not outcome.delivered],
    }
    if state is not None:
        data.update(picture(state, config))
    before = getattr(journal, "before", None)
    if before is not None and journal.changes:
        data["before"] = picture(before, config)
    return data


def picture(state, config) -> dict:
    """Where the traffic goes and what each group is: the fields a diagram of the listener is
    drawn from (`kie-bluegreen report`, `--output html|mermaid`)."""
    green = state.green
    return {
        "blue": _summary(state.blue, config),
        "green": _summary(green, config),
        "standby": [_summary(group, config) for group in state.standby],
        "retired": [_summary(group, config) for group in state.retired],
        "routing": state.routing.as_dict(),
        "listener": _listener(state, config),
    }


def _summary(group, config) -> dict | None:
    if group is None:
        return None
    summary = group.summary()
    try:
        summary["container_id"] = config.container_id(group.version)
    except ConfigError:  # a version the template cannot carry (only for a group adopted by hand)
        summary["container_id"] = None
    return summary


def _listener(state, config) -> dict:
    """Our header rules (header, values, priorities) and every other rule on the listener, in
    the order the load balancer evaluates them."""
    routing = config.routing
    ours = state.listener.ours
    arns = {rule.arn for rule in ours.values()}
    return {
        "header": routing.header,
        "values": {"blue": routing.blue_value, "green": routing.green_value},
        "priorities": {
            route: ours[route].priority if route in ours else getattr(routing, f"{route}_priority")
            for route in ("blue", "green")
        },
        "other_rules": [
            {
                "priority": int(rule["Priority"]),
                "conditions": [_condition(c) for c in rule.get("Conditions", [])],
                "target": action_target(rule.get("Actions", [])),
            }
            for rule in sorted(state.listener.rules, key=lambda r: int(r["Priority"]))
            if rule["RuleArn"] not in arns
        ],
    }


def _condition(condition: dict) -> str:
    """'path-pattern /billing/*', 'http-header x-team=a,b': one rule condition in words."""
    field = condition.get("Field", "?")
    configs = {
        "http-header": "HttpHeaderConfig",
        "path-pattern": "PathPatternConfig",
        "host-header": "HostHeaderConfig",
        "http-request-method": "HttpRequestMethodConfig",
        "source-ip": "SourceIpConfig",
        "query-string": "QueryStringConfig",
    }
    detail = condition.get(configs.get(field, ""), {}) or {}
    if field == "query-string":
        values = [f"{pair.get('Key') or ''}={pair.get('Value')}" for pair in detail.get("Values", [])]
    else:
        values = detail.get("Values") or condition.get("Values") or []
    if field == "http-header":
        return f"{field} {detail.get('HttpHeaderName', '?')}={','.join(values)}"
    return f"{field} {','.join(values)}"


def fleet_result(
    command: str, config, state, journal=None, message: str | None = None, plan=None, pending=None
) -> CommandResult:
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
    if data.get("warnings"):
        lines.append("warnings:")
        lines += [f"  - {warning}" for warning in data["warnings"]]
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
        lines.append(
            f"  g{group.generation:<3} {group.role.value:<8} {group.version:<16} {group.asg_name:<28}"
            f" {group.capacity.desired} desired, {healthy} healthy"
        )
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
