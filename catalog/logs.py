"""Open the event log the settings name: SQLite in the data dir, or PostgreSQL for replicas."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from catalog.eventlog import EventLog

__all__ = ["open_event_log", "copy_events"]


def open_event_log(data_dir: str | Path, database_url: str | None = None) -> EventLog:
    """``EventLog(<data_dir>/events.db)``, or the PostgreSQL log at ``database_url`` (same contract)."""
    if database_url:
        from catalog.pg_eventlog import PgEventLog  # psycopg only when a server is used

        return PgEventLog(database_url)  # type: ignore[return-value]
    return EventLog(Path(data_dir) / "events.db")


def copy_events(src: EventLog, dst: EventLog, *, batch_size: int = 5_000,
                on_batch: Callable[[int], None] | None = None) -> tuple[int, int]:
    """Copy every event of ``src`` into ``dst`` in timestamp order; ``(accepted, duplicates)``.

    Idempotent: events already in ``dst`` with the same content count as duplicates, so an
    interrupted copy can simply be run again; an id stored in ``dst`` with other content
    stops the copy with a :class:`~catalog.errors.DataValidationError` naming it.
    """
    accepted = duplicates = 0
    for batch in src.iter_batches(batch_size):
        res = dst.append(batch, source="copy")
        accepted, duplicates = accepted + res.accepted, duplicates + res.duplicates
        if on_batch is not None:
            on_batch(len(batch))
    return accepted, duplicates
