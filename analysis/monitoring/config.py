"""Thresholds of the mentee monitor, in one validated place.

Every number a rule or a signal window uses lives here, so an operator tunes them in
configuration rather than in code, and ``docs/monitoring.md`` can explain each one
next to its default.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from catalog.errors import ConfigError

__all__ = ["MonitorThresholds", "DEMOGRAPHIC_COLUMNS", "DAY_US", "WEEK_US"]

DAY_US = 86_400_000_000
WEEK_US = 7 * DAY_US

# Attributes that must never reach an at-risk model's feature matrix, whatever their
# spelling (OULAD's studentInfo columns and their usual synonyms).
DEMOGRAPHIC_COLUMNS: frozenset[str] = frozenset({
    "gender", "sex", "region", "country", "highest_education", "education", "imd_band", "imd",
    "age", "age_band", "disability", "ethnicity", "race", "religion", "nationality", "postcode",
})


@dataclass(frozen=True, kw_only=True)
class MonitorThresholds:
    """Signal windows and alert thresholds (see ``docs/monitoring.md`` for each).

    Windows are whole days so statuses at the same day agree wherever they are computed.
    """

    # Engagement: active days are counted over a recent window and compared with the one before.
    engagement_window_days: int = 28
    engagement_drop_ratio: float = 0.5       # alert when the recent rate falls below half the previous one
    engagement_min_previous: float = 1.0     # ... and the previous rate was at least one active day a week
    # Silence: at least silence_days, and at least silence_ratio times the mentee's own usual gap.
    silence_days: float = 14.0
    silence_ratio: float = 2.0
    # Assessments: k failures among the last n on one skill.
    pass_score: float = 50.0
    fail_window: int = 3
    fail_count: int = 2
    assessments_kept: int = 16               # per skill; enough to find where a struggle began
    # Dismissals: a run of dismissals with no start, completion, like, bookmark or assessment between.
    dismiss_run: int = 5
    dismiss_run_cap: int = 64
    # Progress toward goals.
    progress_window_days: int = 28
    late_weeks: float = 2.0                  # alert when the projection misses the deadline by this much
    level_threshold: float = 0.95            # level L is held at mastery L/5 * level_threshold
    min_gain_per_week: float = 1e-4          # below this, the projection says "never"
    # Path steps and mentor contact.
    step_untouched_weeks: float = 3.0
    mentor_silence_days: float = 30.0
    session_window_days: int = 60            # sessions counted for "sessions with the mentor lately"
    pair_rating_floor: float = 2.5           # alert when the mentee's mean rating of the last 3 is this or lower
    # Model-based alert.
    risk_threshold: float = 0.5

    def __post_init__(self) -> None:
        ints = ("engagement_window_days", "fail_window", "fail_count", "assessments_kept", "dismiss_run",
                "dismiss_run_cap", "progress_window_days", "session_window_days")
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"MonitorThresholds.{f.name} must be a number, got {value!r}")
            if f.name in ints and (int(value) != value or value < 1):
                raise ConfigError(f"MonitorThresholds.{f.name} must be an integer >= 1, got {value!r}")
            if value < 0:
                raise ConfigError(f"MonitorThresholds.{f.name} must be >= 0, got {value!r}")
        if self.fail_count > self.fail_window:
            raise ConfigError(f"MonitorThresholds.fail_count ({self.fail_count}) cannot exceed "
                              f"fail_window ({self.fail_window})")
        if self.assessments_kept < self.fail_window:
            raise ConfigError("MonitorThresholds.assessments_kept must be >= fail_window")
        if self.dismiss_run > self.dismiss_run_cap:
            raise ConfigError("MonitorThresholds.dismiss_run must be <= dismiss_run_cap")
        if not 0 < self.level_threshold <= 1 or not 0 <= self.risk_threshold <= 1:
            raise ConfigError("MonitorThresholds.level_threshold must be in (0, 1] and risk_threshold in [0, 1]")

    def target_mastery(self, level: int) -> float:
        """The mastery at which ``level`` counts as held."""
        return level / 5.0 * self.level_threshold
