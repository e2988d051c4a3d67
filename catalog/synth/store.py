"""Write a generated world into a data dir: CSVs, the hidden truth, the events and the sessions.

The events go into the durable event log (``events.db``, :mod:`catalog.eventlog`) in
batches; the mentoring sessions into ``sessions.jsonl`` (one :meth:`Session.to_dict` a
line), their hidden truth into ``truth/pairs.parquet`` and ``truth/sessions.parquet``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from catalog.datadir import DataDir
from catalog.errors import ConfigError
from catalog.eventlog import EventLog
from catalog.writers import atomic_write_jsonl, atomic_write_parquet, save_world

__all__ = ["EVENT_BATCH", "SaveReport", "existing_outputs", "save_synth", "truth_path", "outcomes_path",
           "events_parquet_path", "sessions_path", "pairs_truth_path", "session_truth_path"]

EVENT_BATCH = 5_000


def truth_path(dd: DataDir) -> Path:
    return dd.truth / "mastery.parquet"


def outcomes_path(dd: DataDir) -> Path:
    return dd.truth / "outcomes.parquet"


def events_parquet_path(dd: DataDir) -> Path:
    return dd.root / "events.parquet"


def sessions_path(dd: DataDir) -> Path:
    return dd.root / "sessions.jsonl"


def pairs_truth_path(dd: DataDir) -> Path:
    """Each pair's hidden quality (``catalog.synth.sessions.PAIR_TRUTH_COLUMNS``): for evaluation only."""
    return dd.truth / "pairs.parquet"


def session_truth_path(dd: DataDir) -> Path:
    """Each session's intended action-item skills: for evaluation only."""
    return dd.truth / "sessions.parquet"


def _event_log_files(dd: DataDir) -> list[Path]:
    db = dd.events_db
    return [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]


@dataclass(frozen=True)
class SaveReport:
    """Where the events went and what the event log said about them."""

    events_path: Path
    accepted: int
    duplicates: int


def existing_outputs(dd: DataDir) -> list[Path]:
    """Files a new world would replace (world CSVs, event log, an imported events Parquet, truth, sessions)."""
    candidates = [dd.skills, dd.resources, dd.mentees, dd.mentors, *_event_log_files(dd),
                  events_parquet_path(dd), truth_path(dd), outcomes_path(dd), sessions_path(dd),
                  pairs_truth_path(dd), session_truth_path(dd)]
    return [p for p in candidates if p.exists()]


def save_synth(sw, dd: DataDir, *, replace: bool = False, batch_size: int = EVENT_BATCH,
               on_batch: Callable[[int, int], None] | None = None) -> SaveReport:
    """Write ``sw`` (a :class:`catalog.synth.SynthWorld`) into ``dd``.

    Refuses (``ConfigError``) when ``dd`` already holds any of these outputs unless
    ``replace``; replacing deletes the old event log first so it never mixes two worlds.
    ``on_batch(done, total)`` reports event rows written.
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    old = existing_outputs(dd)
    if old and not replace:
        raise ConfigError(f"{dd.root} already holds a world ({old[0].name}); replace it explicitly (--force)")
    dd.ensure()
    for p in old:
        if p in _event_log_files(dd) or p in (events_parquet_path(dd), sessions_path(dd), pairs_truth_path(dd),
                                               session_truth_path(dd)):
            p.unlink()  # a world without sessions must not keep an older world's
    save_world(sw.world, dd)
    atomic_write_parquet(sw.truth, truth_path(dd))
    if sw.outcomes is not None:
        atomic_write_parquet(sw.outcomes, outcomes_path(dd))
    if getattr(sw, "sessions", None) is not None:
        atomic_write_jsonl((s.to_dict() for s in sw.sessions.sessions), sessions_path(dd))
        atomic_write_parquet(sw.sessions.pairs, pairs_truth_path(dd))
        atomic_write_parquet(sw.sessions.session_truth, session_truth_path(dd))
    events = sw.events
    total = len(events)
    accepted = duplicates = 0
    with EventLog(dd.events_db) as log:
        for a in range(0, total, batch_size):
            res = log.append(events.iloc[a:a + batch_size])
            accepted += int(res.accepted)
            duplicates += int(res.duplicates)
            if on_batch:
                on_batch(min(a + batch_size, total), total)
    return SaveReport(dd.events_db, accepted, duplicates)
