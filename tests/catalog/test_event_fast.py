"""The plain path for a few events (catalog/event_fast.py) equals the whole-column validation row for row,
and hands everything unusual to it, so errors are worded by one place."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from catalog.errors import DataValidationError
from catalog.event_fast import FEW, plain_rows, validated_rows
from catalog.event_rows import to_rows
from catalog.eventlog import EventLog
from catalog.events import validate_events_with_lines

UTC = timezone.utc


def _columns(records: list[dict]) -> list[tuple]:
    canon, _ = validate_events_with_lines(pd.DataFrame.from_records(records), line_offset=1)
    return to_rows(canon)


PLAIN = [
    {"event_id": "e1", "user_id": "u1", "item_id": "r1", "event_type": "view",
     "timestamp": datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)},
    {"event_id": " e2 ", "user_id": "u1", "item_id": "r2", "event_type": "assess", "value": 87,
     "timestamp": datetime(2026, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))), "source": " lms "},
    {"event_id": "e3", "user_id": "u:2@x", "item_id": "r.3", "event_type": "like", "value": 4.5,
     "timestamp": "2026-05-02T08:00:00Z", "source": ""},
    {"event_id": "e4", "user_id": "u2", "item_id": "r1", "event_type": "like", "value": None,
     "timestamp": "2026-05-02T08:00:00.5+02:00"},
    {"event_id": "e5", "user_id": "u2", "item_id": "r1", "event_type": "complete",
     "timestamp": datetime(2026, 5, 3, 9, 0)},  # naive: UTC
    {"event_id": "e6", "user_id": "u2", "item_id": "r1", "event_type": "start", "value": float("nan"),
     "timestamp": "1970-01-01T00:00:00Z"},
]


@pytest.mark.parametrize("n", [1, 2, len(PLAIN)])
def test_plain_rows_equal_the_column_path(n):
    records = PLAIN[:n]
    assert plain_rows(records) == _columns(records)


@pytest.mark.parametrize("change", [
    {"event_type": "View"}, {"event_type": " view"}, {"event_type": "nope"}, {"user_id": "bad id"},
    {"item_id": ""}, {"item_id": 7}, {"timestamp": "2026-05-01"}, {"timestamp": "2026-05-01 12:00:00"},
    {"timestamp": "1969-12-31T23:59:59Z"}, {"timestamp": "2201-01-01T00:00:00Z"}, {"timestamp": None},
    {"timestamp": pd.Timestamp("2026-05-01T00:00:00Z")}, {"event_type": "assess"},
    {"event_type": "assess", "value": 101}, {"event_type": "like", "value": 6}, {"value": 1},
    {"event_type": "like", "value": True}, {"event_type": "like", "value": "4"}, {"source": None},
    {"extra": 1},
])
def test_anything_unusual_goes_to_the_column_path(change):
    event = {**PLAIN[0], **change}
    assert plain_rows([event]) is None


def test_repeats_unknown_references_and_large_batches_go_to_the_column_path():
    assert plain_rows([PLAIN[0], PLAIN[0]]) is None
    assert plain_rows(PLAIN[:1], known_items={"r2"}) is None and plain_rows(PLAIN[:1], known_users={"u9"}) is None
    assert plain_rows(PLAIN[:1], known_items={"r1"}, known_users={"u1"}) == _columns(PLAIN[:1])
    many = [{**PLAIN[0], "event_id": f"e{i}"} for i in range(FEW + 1)]
    assert plain_rows(many) is None and plain_rows([]) is None
    rows, lines = validated_rows(many, line_offset=3)
    assert rows == _columns(many) and list(lines) == list(range(3, 3 + FEW + 1))


def test_the_log_stores_the_same_and_words_errors_as_before(tmp_path):
    with EventLog(tmp_path / "a.db") as fast, EventLog(tmp_path / "b.db") as columns:
        assert fast.append(PLAIN).accepted == len(PLAIN)
        columns.append(pd.DataFrame.from_records(PLAIN))
        assert fast.read().equals(columns.read())
        bad = [{**PLAIN[0], "event_id": "x1", "event_type": "assess"}]
        with pytest.raises(DataValidationError, match="assess needs a score") as a:
            fast.append(bad)
        with pytest.raises(DataValidationError) as b:
            columns.append(pd.DataFrame.from_records(bad))
        assert str(a.value) == str(b.value)
        assert fast.append(PLAIN[:1]).duplicates == 1  # a replay acknowledged again, not stored twice


def test_a_naive_timestamp_is_utc_beside_offsets():
    """Naive means UTC (docs/events.md) even beside strings with an offset (the column path: the test below)."""
    rows = plain_rows([{**PLAIN[3], "event_id": "a"}, {**PLAIN[3], "event_id": "b", "timestamp": "2026-05-03T00:00:00"}])
    assert rows[1][5] == int(datetime(2026, 5, 3, tzinfo=UTC).timestamp()) * 1_000_000


def test_the_column_path_keeps_naive_timestamps_utc_beside_offsets():
    """Regression: pandas 2.x parsing one batch applies an earlier string's offset to the naive strings
    after it (2026-05-03T00:00:00 became 22:00 the day before); the column path parses them apart."""
    recs = [{**PLAIN[3], "event_id": "a"}, {**PLAIN[3], "event_id": "b", "timestamp": "2026-05-03T00:00:00"},
            {**PLAIN[4], "event_id": "c"}, {**PLAIN[2], "event_id": "d", "timestamp": "2026-05-03T00:00:00-05:00"}]
    rows = _columns(recs)
    by_id = {r[0]: r[5] for r in rows}
    us = lambda d: int(d.timestamp()) * 1_000_000  # noqa: E731
    assert by_id["b"] == us(datetime(2026, 5, 3, tzinfo=UTC))
    assert by_id["a"] == us(datetime(2026, 5, 2, 6, 0, tzinfo=UTC)) + 500_000
    assert by_id["c"] == us(datetime(2026, 5, 3, 9, 0, tzinfo=UTC))
    assert by_id["d"] == us(datetime(2026, 5, 3, 5, 0, tzinfo=UTC))
    assert plain_rows(recs[:2])[1][5] == by_id["b"]  # and the plain path agrees
