"""The event log's rows: what an append returns, a batch waiting for a group commit, and the
conversions both backends share (canonical frame <-> row tuples, filters, conflict messages).

Kept apart from :mod:`catalog.eventlog` (SQLite) so :mod:`catalog.pg_eventlog` shares them
without reaching into another backend's private names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from catalog.errors import IntegrityError, RowError
from catalog.event_columns import to_datetime_us
from catalog.schema import EVENT_COLUMNS, empty_events, parse_timestamp

__all__ = ["AppendResult", "PendingBatch", "to_rows", "conflicting_rows", "describe", "filters", "us", "dt", "frame"]


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What :meth:`EventLog.append` stored: new events, replays, and every id acknowledged."""

    accepted: int
    duplicates: int
    event_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class PendingBatch:
    """One caller's validated rows waiting for (or done with) a group commit."""

    rows: list[tuple]
    lines: Sequence[int]
    source: str
    ingested: int
    done: bool = False
    result: AppendResult | None = None
    error: BaseException | None = None

    def outcome(self) -> AppendResult:
        if self.error is not None:
            raise self.error
        if self.result is None:  # the writer died before reaching this batch
            raise IntegrityError("the event batch was not written; retry it")
        return self.result


def to_rows(canon: pd.DataFrame) -> list[tuple]:
    """Canonical frame -> tuples in ``_COLS`` order (value None for NaN, ts in µs)."""
    value = canon["value"].to_numpy(dtype="float64")
    values = [None if v != v else v for v in value.tolist()]
    ts = canon["timestamp"].array.asi8.tolist() if len(canon) else []
    return list(zip(canon["event_id"].tolist(), canon["user_id"].tolist(), canon["item_id"].tolist(),
                    canon["event_type"].tolist(), values, ts, canon["source"].tolist()))


def conflicting_rows(rows: list[tuple], stored: Mapping[str, tuple], lines: Sequence[int],
               source: str) -> list[RowError]:
    # Compare the content columns (user, item, type, value, ts: tuple positions 1-5), not
    # source: the same event replayed via another client is still the same event.
    idx = (1, 2, 3, 4, 5)
    out = []
    for pos, r in enumerate(rows):
        old = stored.get(r[0])
        if old is not None and any(r[i] != old[i] for i in idx):
            out.append(RowError(int(lines[pos]), "event_id",
                                f"event_id {r[0]!r} is already stored with different content "
                                f"({describe(old)}); use a new event_id for a new event", source))
    return out


def describe(row: tuple) -> str:
    value = "" if row[4] is None else f" value={row[4]:g}"
    return f"{row[1]} {row[3]} {row[2]} at {dt(row[5]).isoformat()}{value}"


def filters(since, until, user_ids, event_types) -> tuple[str, list]:
    clauses, params = [], []
    if since is not None:
        clauses.append("ts_us >= ?")
        params.append(us(since))
    if until is not None:
        clauses.append("ts_us < ?")
        params.append(us(until))
    for col, vals in (("user_id", user_ids), ("event_type", event_types)):
        if vals is not None:
            vals = list(vals)
            clauses.append(f"{col} IN ({','.join('?' * len(vals))})" if vals else "0")
            params.extend(vals)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def us(t: datetime | str) -> int:
    ts = pd.Timestamp(parse_timestamp(t))
    return int(ts.value // 1000)


def dt(us: int) -> datetime:
    return pd.Timestamp(us, unit="us", tz="UTC").to_pydatetime()


def frame(rows: list[tuple]) -> pd.DataFrame:
    if not rows:
        return empty_events()
    df = pd.DataFrame.from_records(rows, columns=["event_id", "user_id", "item_id", "event_type", "value",
                                                  "ts_us", "source"])
    df["value"] = df["value"].astype("float64")
    df["timestamp"] = to_datetime_us(df.pop("ts_us").to_numpy(dtype=np.int64))
    return df[list(EVENT_COLUMNS)]
