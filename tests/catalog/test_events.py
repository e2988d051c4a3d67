from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from catalog.errors import ConfigError, DataValidationError
from catalog.events import make_event_ids, read_events_file, read_events_file_with_lines, validate_events
from catalog.schema import EVENT_COLUMNS

UTC = timezone.utc


def _ev(**over) -> dict:
    row = {"event_id": "e1", "user_id": "u1", "item_id": "py-101", "event_type": "view",
           "value": None, "timestamp": "2025-03-01T12:00:00Z"}
    row.update(over)
    return row


def _errors(rows: list[dict], **kw) -> list[tuple[int, str, str]]:
    with pytest.raises(DataValidationError) as ei:
        validate_events(pd.DataFrame(rows), **kw)
    return [(e.line, e.column, e.reason) for e in ei.value.errors]


def test_canonical_frame_dtypes_and_normalisation():
    df = pd.DataFrame([
        _ev(event_id=" e1 ", event_type=" VIEW", timestamp="2025-03-01T14:00:00+02:00"),
        _ev(event_id="e2", event_type="assess", value="80", timestamp="2025-03-01"),
        _ev(event_id="e3", event_type="like", value=4, timestamp="2025-03-01T12:00:00.123456"),
    ])
    out = validate_events(df)
    assert list(out.columns) == list(EVENT_COLUMNS)
    assert str(out["timestamp"].dtype) == "datetime64[us, UTC]"
    assert out["value"].dtype == np.float64
    assert out["event_id"].tolist() == ["e1", "e2", "e3"]
    assert out["event_type"].tolist() == ["view", "assess", "like"]
    assert out["timestamp"].iloc[0] == pd.Timestamp("2025-03-01T12:00:00Z")  # offset converted
    assert out["timestamp"].iloc[1] == pd.Timestamp("2025-03-01T00:00:00Z")  # naive = UTC
    assert out["timestamp"].iloc[2].microsecond == 123456
    assert np.isnan(out["value"].iloc[0]) and out["value"].iloc[1] == 80.0
    assert out["source"].tolist() == ["", "", ""]


def test_datetime_columns_naive_and_aware():
    naive = pd.DataFrame([_ev(timestamp=datetime(2025, 1, 1, 8))])
    naive["timestamp"] = pd.to_datetime(naive["timestamp"])
    assert validate_events(naive)["timestamp"].iloc[0] == pd.Timestamp("2025-01-01T08:00Z")
    aware = naive.assign(timestamp=naive["timestamp"].dt.tz_localize("Europe/Paris"))
    assert validate_events(aware)["timestamp"].iloc[0] == pd.Timestamp("2025-01-01T07:00Z")


@pytest.mark.parametrize(
    ("override", "column", "fragment"),
    [
        ({"event_id": None}, "event_id", "missing event_id"),
        ({"event_id": "has space"}, "event_id", "must be 1-128 characters"),
        ({"event_id": "x" * 129}, "event_id", "must be 1-128 characters"),
        ({"user_id": ""}, "user_id", "missing user_id"),
        ({"user_id": "u/1"}, "user_id", "must be 1-128"),
        ({"item_id": "a;b"}, "item_id", "must be 1-128"),
        ({"event_type": "click"}, "event_type", "not one of"),
        ({"event_type": None}, "event_type", "missing event_type"),
        ({"timestamp": "yesterday"}, "timestamp", "bad date 'yesterday'"),
        ({"timestamp": None}, "timestamp", "missing timestamp"),
        ({"timestamp": "2025-03"}, "timestamp", "bad date"),
        ({"timestamp": "1969-12-31"}, "timestamp", "out of range"),
        ({"timestamp": "2201-01-01"}, "timestamp", "out of range"),
        ({"event_type": "assess"}, "value", "assess needs a score"),
        ({"event_type": "assess", "value": -1}, "value", "assess needs a score in [0, 100], got -1"),
        ({"event_type": "assess", "value": 100.5}, "value", "got 100.5"),
        ({"event_type": "like", "value": 0}, "value", "like rating 0 is outside 1-5"),
        ({"event_type": "like", "value": 6}, "value", "like rating 6"),
        ({"event_type": "view", "value": 1}, "value", "view events carry no value"),
        ({"event_type": "complete", "value": "x"}, "value", "value 'x' is not a number"),
        ({"event_type": "assess", "value": float("inf")}, "value", "not finite"),
    ],
)
def test_each_rule_names_line_column_and_reason(override, column, fragment):
    errs = _errors([_ev(event_id="ok", timestamp="2025-01-01"), _ev(**override)])
    assert len(errs) == 1, errs
    line, col, reason = errs[0]
    assert (line, col) == (3, column)  # header is line 1, the good row line 2
    assert fragment in reason


def test_valid_values_at_the_bounds():
    rows = [_ev(event_id="a", event_type="assess", value=0), _ev(event_id="b", event_type="assess", value=100),
            _ev(event_id="c", event_type="like", value=1), _ev(event_id="d", event_type="like", value=5),
            _ev(event_id="e", event_type="like", value=None)]
    assert validate_events(pd.DataFrame(rows))["value"].tolist()[:4] == [0.0, 100.0, 1.0, 5.0]


def test_every_bad_event_is_listed_not_just_the_first():
    rows = [_ev(event_id=f"e{i}", event_type="bogus") for i in range(30)] + [_ev(event_id="fine")]
    with pytest.raises(DataValidationError) as ei:
        validate_events(pd.DataFrame(rows), line_offset=1)
    assert [e.line for e in ei.value.errors] == list(range(1, 31))
    assert "30 error(s) in 30 row(s)" in str(ei.value)


def test_unknown_items_and_users_when_known_sets_given():
    rows = [_ev(event_id="a"), _ev(event_id="b", item_id="nope"), _ev(event_id="c", user_id="ghost")]
    errs = _errors(rows, known_items={"py-101"}, known_users=["u1"])
    assert [(line, col) for line, col, _ in errs] == [(3, "item_id"), (4, "user_id")]
    assert "unknown item 'nope'" in errs[0][2] and "unknown user 'ghost'" in errs[1][2]
    assert len(validate_events(pd.DataFrame(rows))) == 3  # no sets: no check


def test_identical_duplicates_collapse_and_conflicting_ones_fail():
    same = [_ev(event_id="a"), _ev(event_id="b"), _ev(event_id="a", source="retry")]
    out = validate_events(pd.DataFrame(same))
    assert out["event_id"].tolist() == ["a", "b"]  # source is provenance, not content

    conflicting = [_ev(event_id="a"), _ev(event_id="a", item_id="other"), _ev(event_id="a")]
    errs = _errors(conflicting)
    assert errs == [(3, "event_id", errs[0][2])]
    assert "reused with different content (line 2)" in errs[0][2]


def test_missing_required_column_is_reported_on_the_header():
    with pytest.raises(DataValidationError) as ei:
        validate_events(pd.DataFrame([{"event_id": "e", "user_id": "u"}]))
    assert {(e.line, e.column) for e in ei.value.errors} == {(1, "item_id"), (1, "event_type"), (1, "timestamp")}


def test_numeric_ids_read_from_parquet_become_strings():
    df = pd.DataFrame({"event_id": [1, 2], "user_id": [7.0, 8.0], "item_id": ["i", "i"],
                       "event_type": ["view", "view"], "timestamp": ["2025-01-01", "2025-01-02"]})
    out = validate_events(df)
    assert out["event_id"].tolist() == ["1", "2"] and out["user_id"].tolist() == ["7", "8"]


def test_read_csv_line_numbers_survive_blank_lines(tmp_path):
    p = tmp_path / "ev.csv"
    p.write_text("event_id,user_id,item_id,event_type,value,timestamp\n"
                 "e1,u1,i1,view,,2025-01-01\n\n"
                 "e2,u1,i1,assess,,2025-01-02\n")
    with pytest.raises(DataValidationError) as ei:
        read_events_file(p)
    assert [(e.line, e.column) for e in ei.value.errors] == [(4, "value")]
    assert str(p) in str(ei.value)


def test_read_jsonl_and_parquet(tmp_path):
    rows = [_ev(event_id="a", event_type="assess", value=70), _ev(event_id="b")]
    jl = tmp_path / "ev.jsonl"
    jl.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    pq = tmp_path / "ev.parquet"
    pd.DataFrame(rows).to_parquet(pq)
    a, b = read_events_file(jl), read_events_file(pq)
    pd.testing.assert_frame_equal(a, b)
    assert a["value"].iloc[0] == 70.0
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(rows[0]) + "\n{not json\n" + json.dumps(_ev(event_id="c", event_type="x")) + "\n")
    with pytest.raises(DataValidationError) as ei:
        read_events_file(bad)
    assert ei.value.errors[0].line == 2 and "not valid JSON" in ei.value.errors[0].reason
    with pytest.raises(ConfigError, match="unsupported"):
        read_events_file(tmp_path / "ev.txt")


def test_files_without_event_id_get_deterministic_content_ids(tmp_path):
    p = tmp_path / "ev.csv"
    p.write_text("user_id,item_id,event_type,value,timestamp\n"
                 "u1,i1,assess,80,2025-01-01\n"
                 "u1,i1,assess,80.0,2025-01-01T00:00:00Z\n"  # same event, spelled differently
                 "u1,i1,assess,81,2025-01-01\n")
    out, lines = read_events_file_with_lines(p)
    assert len(out) == 2 and lines.tolist() == [2, 4]
    assert out["event_id"].tolist() == read_events_file(p)["event_id"].tolist()  # stable across reads
    assert all(len(i) == 40 for i in out["event_id"])


def test_make_event_ids_depends_on_each_content_field():
    base = _ev(event_type="assess", value=50)
    variants = [base, {**base, "user_id": "u2"}, {**base, "item_id": "x"}, {**base, "event_type": "like", "value": 5},
                {**base, "timestamp": "2025-03-01T12:00:01Z"}, {**base, "value": 51}]
    ids = make_event_ids(pd.DataFrame(variants))
    assert ids.nunique() == len(variants)
    assert make_event_ids(pd.DataFrame([{**base, "event_id": "ignored", "source": "s"}])).iloc[0] == ids.iloc[0]


def test_batch_wide_id_check_cannot_be_fooled_by_newlines():
    # The fast path joins ids with "\n" and matches once; an id holding "\n" must not pass.
    errs = _errors([_ev(event_id="a"), _ev(event_id="b\nc")])
    assert errs == [(3, "event_id", errs[0][2])] and "must be 1-128" in errs[0][2]


def test_blank_cells_count_as_missing():
    rows = [_ev(event_id="a", timestamp="   "), _ev(event_id="b", event_type="assess", value="  "),
            _ev(event_id="c", user_id="  ")]
    errs = _errors(rows, known_users={"u1"})
    assert errs == [(2, "timestamp", "missing timestamp"),
                    (3, "value", "assess needs a score in [0, 100], got nothing"),
                    (4, "user_id", "missing user_id")]  # missing, not also "unknown"


def test_mixed_cell_types_take_the_slow_path_and_agree():
    df = pd.DataFrame({"event_id": ["a", 2, " c "], "user_id": ["u", "u", "u"], "item_id": ["i", "i", "i"],
                       "event_type": ["view", " Like ", "assess"], "value": [None, 5, "99.5"],
                       "timestamp": ["2025-01-01", datetime(2025, 1, 2, tzinfo=UTC), pd.Timestamp("2025-01-03")]})
    out = validate_events(df)
    assert out["event_id"].tolist() == ["a", "2", "c"]
    assert out["event_type"].tolist() == ["view", "like", "assess"]
    assert out["value"].tolist()[1:] == [5.0, 99.5]
    assert out["timestamp"].dt.day.tolist() == [1, 2, 3]


def test_empty_batch_is_an_empty_canonical_frame():
    out = validate_events(pd.DataFrame(columns=["event_id", "user_id", "item_id", "event_type", "timestamp"]))
    assert len(out) == 0 and list(out.columns) == list(EVENT_COLUMNS)
    assert str(out["timestamp"].dtype) == "datetime64[us, UTC]"
