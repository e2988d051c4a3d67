"""Where things live inside a SkillPath data dir (default ``./skillpath-data``).

One object names every path so no module invents its own layout::

    skillpath-data/
      skills.csv resources.csv mentees.csv mentors.csv   the world (CSV; see catalog.loaders)
      events.db                                          the durable event log and the session store (SQLite, WAL)
      assistant.db                                       the virtual mentor's conversation state (SQLite, WAL)
      truth/                                             synthetic hidden truth (never for training)
      exports/                                           Parquet exports of the event log
      features/                                          Feast offline Parquet + online SQLite
      mlflow/mlflow.db, mlflow/artifacts/                embedded MLflow tracking store
      models/                                            local model artifacts (.npz + JSON)
      reports/                                           evaluation tables and plots
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["DataDir"]


@dataclass(frozen=True)
class DataDir:
    root: Path

    def __init__(self, root: str | Path) -> None:
        object.__setattr__(self, "root", Path(root).expanduser().resolve())

    skills = property(lambda self: self.root / "skills.csv")
    resources = property(lambda self: self.root / "resources.csv")
    mentees = property(lambda self: self.root / "mentees.csv")
    mentors = property(lambda self: self.root / "mentors.csv")
    events_db = property(lambda self: self.root / "events.db")
    assistant_db = property(lambda self: self.root / "assistant.db")
    truth = property(lambda self: self.root / "truth")
    exports = property(lambda self: self.root / "exports")
    features = property(lambda self: self.root / "features")
    mlflow = property(lambda self: self.root / "mlflow")
    models = property(lambda self: self.root / "models")
    reports = property(lambda self: self.root / "reports")

    def ensure(self) -> "DataDir":
        self.root.mkdir(parents=True, exist_ok=True)
        return self

    def has_world(self) -> bool:
        return self.skills.exists() and self.resources.exists()
