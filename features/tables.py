"""The feature tables, as plain data: names, keys, columns, dtypes and lifetimes.

One source of truth, shared by the feature computations (``training/features.py``),
the Feast definitions (``features/definitions.py``) and the online adapter. It imports
no Feast (only the monitor's feature names, for ``mentee_status``); ``.feastignore``
keeps it out of ``feast apply``.

To add a feature (as ``mastery`` was added to ``mentee_skill_state``): add the column
here, compute it in ``training/features.py``, rebuild, ``skillpath features apply``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from analysis.monitoring.status import FEATURE_NAMES

__all__ = [
    "PROJECT",
    "TIMESTAMP",
    "TableSpec",
    "MENTEE_ENGAGEMENT",
    "MENTEE_SKILL_STATE",
    "RESOURCE_STATS",
    "MENTEE_STATUS",
    "TABLES",
    "ENGAGEMENT_PUSH_SOURCE",
    "table_path",
]

PROJECT = "skillpath"  # Feast project names cannot contain hyphens
TIMESTAMP = "event_timestamp"  # datetime64[us, UTC] in every table (duckdb needs microseconds)
ENGAGEMENT_PUSH_SOURCE = "mentee_engagement_push"


@dataclass(frozen=True)
class TableSpec:
    """One feature table: ``keys`` are entity join keys, ``features`` are (name, dtype).

    ``dtype`` is ``"int64"`` or ``"float64"``. ``ttl_days`` bounds how old a row may be
    and still be joined to a training row (0 = forever, for step functions that are
    written only when they change).
    """

    name: str
    keys: tuple[str, ...]
    features: tuple[tuple[str, str], ...]
    ttl_days: float
    description: str = ""

    @property
    def feature_names(self) -> list[str]:
        return [n for n, _ in self.features]

    @property
    def columns(self) -> list[str]:
        return [*self.keys, *self.feature_names, TIMESTAMP]

    @property
    def dtypes(self) -> dict[str, str]:
        return dict(self.features)

    def refs(self) -> list[str]:
        """Feature references as Feast wants them: ``view:feature``."""
        return [f"{self.name}:{n}" for n in self.feature_names]


# Rows are daily snapshots: the row stamped T describes events strictly before T.
MENTEE_ENGAGEMENT = TableSpec(
    name="mentee_engagement",
    keys=("user_id",),
    features=(
        ("events_7d", "int64"),
        ("events_30d", "int64"),
        ("completions_7d", "int64"),
        ("completions_30d", "int64"),
        ("active_days_30d", "int64"),
        ("days_since_last_activity", "float64"),
        ("current_streak_days", "int64"),
        ("dismiss_rate_30d", "float64"),
        ("minutes_completed_30d", "float64"),
    ),
    ttl_days=2.0,
    description="How much and how regularly a mentee learns (daily snapshots, pushed on new events).",
)

# Written only when a value changes (a step function), hence no TTL.
MENTEE_SKILL_STATE = TableSpec(
    name="mentee_skill_state",
    keys=("user_id", "skill_id"),
    features=(
        ("mastery", "float64"),
        ("completed_resources", "int64"),
        ("assessment_avg", "float64"),
        ("assessment_count", "int64"),
    ),
    ttl_days=0.0,
    description="Progress of a mentee on each goal skill: BKT mastery, completions, assessments.",
)

RESOURCE_STATS = TableSpec(
    name="resource_stats",
    keys=("item_id",),
    features=(
        ("popularity_7d", "int64"),
        ("popularity_30d", "int64"),
        ("completion_rate", "float64"),
        ("dismiss_rate", "float64"),
        ("avg_rating", "float64"),
        ("rating_count", "int64"),
        ("age_days", "float64"),
        ("freshness", "float64"),
    ),
    ttl_days=2.0,
    description="How a resource is used and how fresh it is (daily snapshots).",
)

# The monitor's status (analysis.monitoring: engagement, assessments, goals, stall signals, mentor
# contact) at T - 1 µs, for mentees active in the 60 days before T (features/status.py).
MENTEE_STATUS = TableSpec(
    name="mentee_status",
    keys=("user_id",),
    features=tuple((n, "float64") for n in FEATURE_NAMES),
    ttl_days=2.0,
    description="The monitor's mentee status features (daily snapshots; docs/monitoring.md, Signals).",
)

TABLES: dict[str, TableSpec] = {t.name: t for t in (MENTEE_ENGAGEMENT, MENTEE_SKILL_STATE, RESOURCE_STATS,
                                                    MENTEE_STATUS)}


def table_path(data_dir: str | Path, table: TableSpec | str) -> Path:
    """Absolute path of a table's Parquet file inside ``<data_dir>/features/``.

    Absolute because Feast resolves relative FileSource paths against the current
    directory, not the repo.
    """
    name = table if isinstance(table, str) else table.name
    return Path(data_dir).expanduser().resolve() / "features" / f"{name}.parquet"
