"""What a command prints: one JSON object for pipelines, or human text. Logs go to stderr."""

from __future__ import annotations

from dataclasses import dataclass, field

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
