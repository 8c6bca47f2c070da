"""Analysis while a weighted step or the bake holds: the configured CloudWatch alarms and the new
target group's 5xx share. Any alarm in ALARM, or a 5xx share over `analysis.max-5xx-percent`,
stops the release (AnalysisFailed); the flow then puts everyone back on the previous group."""

from __future__ import annotations

from .context import Context
from .errors import DeploymentFailed

INSUFFICIENT = "INSUFFICIENT_DATA"


class AnalysisFailed(DeploymentFailed):
    """An alarm fired or the 5xx share went over its limit: the release is rolled back (exit 1)."""


class Watcher:
    """Looks at the alarms and metrics of one held step, and remembers what it saw."""

    def __init__(self, ctx: Context, load_balancer_arn: str, target_group_arn: str, why: str, looking_back: float = 0):
        self.ctx, self.why = ctx, why
        self.load_balancer_arn, self.target_group_arn = load_balancer_arn, target_group_arn
        self.settings = ctx.config.analysis
        self.since = ctx.clock.wall() - looking_back
        self.never_reported = set(self.settings.alarms)  # alarms with no data for the whole step so far
        self.errors, self.requests = 0.0, 0.0

    def look(self) -> None:
        """One look; AnalysisFailed when something fired."""
        if self.settings.alarms:
            states = self.ctx.cloudwatch.alarms(tuple(self.settings.alarms))
            for name in self.settings.alarms:
                alarm = states.get(name)
                if alarm is None:
                    raise AnalysisFailed(f"alarm {name} (analysis.alarms) no longer exists; stopped during {self.why}")
                if alarm.state != INSUFFICIENT:
                    self.never_reported.discard(name)
                if alarm.state == "ALARM":
                    raise AnalysisFailed(f"alarm {name} is in ALARM during {self.why}: {alarm.reason}")
        limit = self.settings.max_5xx_percent
        if limit is not None:
            self.errors, self.requests = self.ctx.cloudwatch.error_share(
                self.load_balancer_arn, self.target_group_arn, self.since, self.ctx.clock.wall()
            )
            if self.requests and 100 * self.errors / self.requests > limit:
                raise AnalysisFailed(
                    f"the new target group answered {100 * self.errors / self.requests:.1f}% 5xx"
                    f" ({self.errors:.0f} of {self.requests:.0f} requests) during {self.why}, over"
                    f" analysis.max-5xx-percent {limit:g}%"
                )

    def summary(self) -> str:
        parts = []
        if self.settings.alarms:
            parts.append(f"{len(self.settings.alarms)} alarms OK")
        if self.settings.max_5xx_percent is not None:
            share = 100 * self.errors / self.requests if self.requests else 0.0
            parts.append(f"5xx {share:.1f}% of {self.requests:.0f} requests")
        return ", ".join(parts) or "no alarms configured"

    def notes(self) -> list[str]:
        """What the journal keeps of a step that held: alarms that never had data."""
        if not self.never_reported:
            return []
        return [
            f"warning: alarms {', '.join(sorted(self.never_reported))} had no data ({INSUFFICIENT})"
            f" for the whole of {self.why}: they did not watch this step"
        ]
