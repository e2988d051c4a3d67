from __future__ import annotations

import json

import pandas as pd
import pytest

from catalog.errors import ConfigError
from catalog.tables import parse_bool, parse_float, parse_int, read_table


def test_csv_keeps_strings_and_line_index(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes("\ufeffid,zip,n\n007,01234,1\n\n008,,2.0\n".encode())  # BOM, blank line
    df = read_table(p)
    assert list(df.columns) == ["id", "zip", "n"]  # the BOM is not part of the first name
    assert df["id"].tolist() == ["007", "008"] and df["zip"].tolist() == ["01234", ""]
    assert df["n"].tolist() == ["1", "2.0"]
    assert df.index.tolist() == [2, 4] and df.index.name == "line"


def test_csv_short_rows_are_padded(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("a,b,c\n1\n")
    assert read_table(p).iloc[0].tolist() == ["1", "", ""]


def test_jsonl_keeps_python_values(tmp_path):
    p = tmp_path / "t.jsonl"
    p.write_text(json.dumps({"a": 1, "b": "007"}) + "\n" + json.dumps({"a": None, "c": [1, 2]}) + "\n")
    df = read_table(p)
    assert list(df.columns) == ["a", "b", "c"]
    # an int column with a gap stays ints (pandas would make it 1.0 / NaN)
    assert df["a"].tolist() == [1, None] and type(df["a"].iloc[0]) is int
    assert df["b"].tolist() == ["007", None] and df["c"].iloc[1] == [1, 2]
    assert df.index.tolist() == [1, 2]


def test_parquet_keeps_ints_with_nulls(tmp_path):
    p = tmp_path / "t.parquet"
    pd.DataFrame({"a": pd.array([1, None], dtype="Int64"), "s": ["x", "y"]}).to_parquet(p)
    df = read_table(p)
    assert df["a"].tolist() == [1, None] and df.index.tolist() == [1, 2]


def test_unsupported_suffix_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"\.xlsx"):
        read_table(tmp_path / "t.xlsx")
    with pytest.raises(FileNotFoundError):
        read_table(tmp_path / "nope.csv")


def test_cell_parsers():
    assert parse_int("3", "x") == 3 and parse_int(4.0, "x") == 4 and parse_int(" 5 ", "x", maximum=5) == 5
    for bad in ("3.5", "abc", True, float("nan"), "inf"):
        with pytest.raises(ValueError, match="not an integer"):
            parse_int(bad, "x")
    with pytest.raises(ValueError, match="out of range 1-5"):
        parse_int(0, "x", minimum=1, maximum=5)
    assert parse_float("1.5", "x", positive=True) == 1.5
    with pytest.raises(ValueError, match="must be positive"):
        parse_float("0", "x", positive=True)
    with pytest.raises(ValueError, match="finite"):
        parse_float("inf", "x")
    assert parse_bool("Yes", "x") is True and parse_bool(0, "x") is False and parse_bool(False, "x") is False
    with pytest.raises(ValueError, match="not a boolean"):
        parse_bool("2", "x")
