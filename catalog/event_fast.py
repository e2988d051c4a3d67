"""The canonical rows of a few plainly valid events, without pandas.

Invariant: :func:`plain_rows` returns exactly the rows :func:`catalog.events.validate_events_with_lines`
followed by :func:`catalog.event_rows.to_rows` would for the same records, or None whenever
anything is unusual (a bad or missing cell, a type to normalise, a timestamp not in the plain
ISO form, a repeated event id, an unknown item or user), and then the whole-column validation
decides and words every error. Reason: a single-event ``POST /events`` spent ~3 ms of CPU,
holding the GIL, building and validating a one-row frame; the request path's events are
almost always plainly valid, and these few dict lookups cost a tenth of that.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta, timezone

import pandas as pd

from catalog.event_columns import MAX_US, MIN_US
from catalog.event_rows import to_rows
from catalog.events import ASSESS_RANGE, LIKE_RANGE, validate_events_with_lines
from catalog.schema import EVENT_TYPES, ID_PATTERN

__all__ = ["FEW", "plain_rows", "validated_rows"]

#: Batches up to this size try the plain path (larger ones are where whole-column work pays).
FEW = 16
_FIELDS = frozenset({"event_id", "user_id", "item_id", "event_type", "timestamp", "value", "source"})
_TYPES = frozenset(EVENT_TYPES)
_PLAIN_TS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})?")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)


def _us(ts: object) -> int | None:
    if isinstance(ts, str):
        if not _PLAIN_TS.fullmatch(ts):
            return None
        ts = datetime.fromisoformat(ts)
    if type(ts) is not datetime:  # pandas Timestamps, dates, numbers: the column path
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    us = (ts - _EPOCH) // _US
    return us if MIN_US <= us < MAX_US else None


def _value(event_type: str, v: object) -> float | None | bool:
    """The stored value, or False when the column path should judge it."""
    if v is None or (type(v) is float and math.isnan(v)):
        return None if event_type != "assess" else False
    if type(v) not in (int, float):
        return False
    v = float(v)
    if event_type == "assess":
        return v if ASSESS_RANGE[0] <= v <= ASSESS_RANGE[1] else False
    if event_type == "like":
        return v if LIKE_RANGE[0] <= v <= LIKE_RANGE[1] else False
    return False  # other types carry no value


def plain_rows(events: Sequence[Mapping[str, object]], *, known_items: Collection[str] | None = None,
               known_users: Collection[str] | None = None) -> list[tuple] | None:
    """Rows ``(event_id, user_id, item_id, event_type, value, timestamp_us, source)`` of up to :data:`FEW`
    plainly valid events, or None (see the module docstring)."""
    if not 0 < len(events) <= FEW:
        return None
    rows: list[tuple] = []
    for e in events:
        if not isinstance(e, Mapping) or not _FIELDS.issuperset(e):
            return None
        ids = []
        for k in ("event_id", "user_id", "item_id"):
            s = e.get(k)
            if type(s) is not str or not ID_PATTERN.match(s := s.strip()):
                return None
            ids.append(s)
        et = e.get("event_type")
        if type(et) is not str or et not in _TYPES:
            return None
        value = _value(et, e.get("value"))
        ts = _us(e.get("timestamp"))
        source = e.get("source", "")
        if value is False or ts is None or type(source) is not str:
            return None
        if (known_items is not None and ids[2] not in known_items) or \
                (known_users is not None and ids[1] not in known_users):
            return None
        rows.append((ids[0], ids[1], ids[2], et, value, ts, source.strip()))
    if len({r[0] for r in rows}) != len(rows):
        return None  # repeats collapse or conflict: the column path says which
    return rows


def validated_rows(events: pd.DataFrame | Sequence[Mapping[str, object]], *,
                   known_items: Collection[str] | None = None, known_users: Collection[str] | None = None,
                   line_offset: int = 1, source: str = "") -> tuple[list[tuple], Sequence[int]]:
    """Both event logs' validation: the rows to store and each one's input line (:func:`plain_rows` for a
    few plain records, else the whole-column path, which raises DataValidationError listing every bad event)."""
    if not isinstance(events, pd.DataFrame):
        events = list(events)
        rows = plain_rows(events, known_items=known_items, known_users=known_users)
        if rows is not None:
            return rows, range(line_offset, line_offset + len(rows))
        events = pd.DataFrame.from_records(events)
    if events.empty:
        return [], []
    canon, lines = validate_events_with_lines(events, known_items=known_items, known_users=known_users,
                                              line_offset=line_offset, source=source)
    return to_rows(canon), lines
