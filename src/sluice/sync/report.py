"""Report: a run's counts, final state and warnings (BRIEF §4 rules 5 and 9).

Warnings are plain dicts stored on the run (``{"kind", "message", …}``) so the UI, alerts and the
API show the same sentence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sluice.sync.runs import RunState

DEFAULT_REJECT_RATE_WARNING = 0.05
DEFAULT_AUDIENCE_SWING_WARNING = 0.5
THROTTLE_WARNING_SECONDS = 30.0


@dataclass
class RunCounts:
    """Row counts of one run, as shown in run history."""

    audience: int = 0
    invalid: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    planned: int = 0
    delivered: int = 0
    rejected: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class WarningThresholds:
    """When a run raises a warning; overridable per activation (``settings.warnings``)."""

    reject_rate: float = DEFAULT_REJECT_RATE_WARNING
    audience_swing: float = DEFAULT_AUDIENCE_SWING_WARNING
    throttled_seconds: float = THROTTLE_WARNING_SECONDS

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> WarningThresholds:
        custom = settings.get("warnings") or {}
        return cls(**{k: float(v) for k, v in custom.items() if k in cls.__dataclass_fields__})


@dataclass
class RunReport:
    """Everything the runner learnt, turned into a final state and warnings."""

    counts: RunCounts = field(default_factory=RunCounts)
    previous_audience: int | None = None
    throttled_seconds: float = 0.0
    invalid_reasons: dict[str, int] = field(default_factory=dict)

    def final_state(self) -> RunState:
        """``partial`` when some rows were not delivered, ``succeeded`` otherwise."""
        if self.counts.rejected or self.counts.failed:
            return RunState.PARTIAL
        return RunState.SUCCEEDED

    def warnings(self, thresholds: WarningThresholds) -> list[dict[str, Any]]:
        """The warnings this run raises."""
        found: list[dict[str, Any]] = []
        counts = self.counts
        if counts.invalid:
            reasons = ", ".join(f"{n:,} {reason}" for reason, n in sorted(self.invalid_reasons.items()))
            found.append(
                {
                    "kind": "invalid_rows",
                    "message": f"{counts.invalid:,} rows were not sent because they are invalid ({reasons})",
                    "count": counts.invalid,
                }
            )
        attempted = counts.delivered + counts.rejected + counts.failed
        if attempted and counts.rejected / attempted > thresholds.reject_rate:
            found.append(
                {
                    "kind": "reject_rate",
                    "message": f"the destination rejected {counts.rejected:,} of {attempted:,} rows "
                    f"({counts.rejected / attempted:.0%}, above {thresholds.reject_rate:.0%})",
                    "rate": counts.rejected / attempted,
                }
            )
        if self.previous_audience:
            swing = (counts.audience - self.previous_audience) / self.previous_audience
            if abs(swing) > thresholds.audience_swing:
                found.append(
                    {
                        "kind": "audience_swing",
                        "message": f"the audience went from {self.previous_audience:,} to {counts.audience:,} rows "
                        f"({swing:+.0%}, beyond ±{thresholds.audience_swing:.0%})",
                        "change": swing,
                    }
                )
        if self.throttled_seconds > thresholds.throttled_seconds:
            found.append(
                {
                    "kind": "throttling",
                    "message": f"the destination's rate limits stretched this run by {self.throttled_seconds:.0f}s",
                    "seconds": self.throttled_seconds,
                }
            )
        return found
