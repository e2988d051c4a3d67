"""Read tabular input files without guessing types, keeping each row's line number.

:func:`read_table` picks the reader by suffix (``.csv``, ``.parquet``, ``.jsonl`` /
``.ndjson``) and returns an object-dtype DataFrame whose index is the line a user would
look at, so validation errors can point at it:

- CSV: the header is line 1, the first data row line 2 (quoted cells spanning several
  lines and blank lines are counted, because the index is the physical line where the
  record starts);
- JSON Lines: the 1-based line of the record (blank lines are skipped but counted);
- Parquet: the 1-based row number (Parquet has no lines).

CSV cells stay strings (``"007"`` keeps its zeros; an empty cell is ``""``); JSON and
Parquet cells keep their Python value (str, int, float, bool, list, ``None``), never
coerced column-wide (pandas would turn an int column with a gap into floats).

The small cell parsers here complement those in :mod:`catalog.schema`: each raises
``ValueError`` with a short reason that the loaders attach to a line and column.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from catalog.errors import ConfigError, DataValidationError, RowError

__all__ = [
    "TABLE_SUFFIXES",
    "DELIMITERS",
    "sniff_delimiter",
    "read_table",
    "csv_table",
    "jsonl_table",
    "is_missing",
    "parse_int",
    "parse_float",
    "parse_bool",
]

TABLE_SUFFIXES: tuple[str, ...] = (".csv", ".parquet", ".jsonl", ".ndjson")

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def read_table(path: str | Path) -> pd.DataFrame:
    """Read ``path`` (CSV, Parquet or JSON Lines) as strings/objects, indexed by line number.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ConfigError
        The suffix is not one of :data:`TABLE_SUFFIXES`.
    DataValidationError
        Rows that cannot be read at all (a CSV row with more cells than the header, a
        JSON line that is not an object), every one of them.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise ConfigError(f"{path}: unsupported file type {suffix or '(none)'!r}; use one of "
                          + ", ".join(TABLE_SUFFIXES))
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    with unreadable_as_config_error(path):
        if suffix == ".csv":
            return _read_csv(path)
        if suffix == ".parquet":
            return _read_parquet(path)
        return _read_jsonl(path)


@contextmanager
def unreadable_as_config_error(path: Path):
    """Turn "this file cannot be decoded at all" into a ConfigError naming the file."""
    import pyarrow as pa

    try:
        yield
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text (byte {e.start}); save it as UTF-8 CSV") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, pa.ArrowInvalid, OSError) as e:
        if isinstance(e, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise
        raise ConfigError(f"{path}: cannot be read: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None


def _frame(columns: list[str], rows: list[list[object]], lines: list[int]) -> pd.DataFrame:
    cols = list(zip(*rows)) if rows else [()] * len(columns)
    data = {c: pd.Series(list(cols[i]), dtype=object) for i, c in enumerate(columns)}
    df = pd.DataFrame(data, columns=columns)
    df.index = pd.Index(lines, dtype="int64", name="line")
    return df


def _read_csv(path: Path) -> pd.DataFrame:
    # utf-8-sig drops the byte-order mark spreadsheet programs like to add.
    return csv_table(path.read_text(encoding="utf-8-sig"), source=path.name, origin=str(path))


DELIMITERS = (",", ";", "\t")


def sniff_delimiter(text: str) -> str:
    """The CSV delimiter of ``text``: whichever of comma, semicolon and tab its header line holds most
    (spreadsheets in many locales save with ``;``); comma when none.

    Only the header is read: cells below may hold ``;`` lists (``python:2;sql:1``), headers do not.
    """
    header = next((ln for ln in text.splitlines() if ln.strip()), "")
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties keep the earlier one: comma first
    return best if counts[best] > 0 else ","


def csv_table(text: str, *, source: str = "", origin: str = "") -> pd.DataFrame:
    """CSV text (an upload, a file's contents) as :func:`read_table` returns it: strings, indexed by line.

    ``source`` names the input in each :class:`RowError`, ``origin`` in the error message.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text))
    header: list[str] | None = None
    rows: list[list[object]] = []
    lines: list[int] = []
    errors: list[RowError] = []
    start = reader.line_num + 1
    for rec in reader:
        if not rec or all(c.strip() == "" for c in rec):
            start = reader.line_num + 1
            continue
        if header is None:
            header = [c.strip() for c in rec]
        elif len(rec) > len(header):
            errors.append(RowError(start, "*", f"{len(rec)} cells but the header has {len(header)} columns",
                                   source))
        else:
            rows.append([*rec, *[""] * (len(header) - len(rec))])
            lines.append(start)
        start = reader.line_num + 1
    if errors:
        raise DataValidationError(errors, source=origin or source)
    return _frame(header or [], rows, lines)


def _read_jsonl(path: Path) -> pd.DataFrame:
    with path.open(encoding="utf-8-sig") as f:
        return jsonl_table(f, source=path.name, origin=str(path))


def jsonl_table(lines_in: Iterable[str], *, source: str = "", origin: str = "") -> pd.DataFrame:
    """JSON Lines (``text.splitlines()`` or an open file) as :func:`read_table` returns them, indexed by line."""
    columns: dict[str, None] = {}  # insertion-ordered set
    records: list[dict[str, object]] = []
    lines: list[int] = []
    errors: list[RowError] = []
    for n, raw in enumerate(lines_in, start=1):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw)
        except json.JSONDecodeError as e:
            errors.append(RowError(n, "*", f"not valid JSON ({e.msg} at column {e.colno})", source))
            continue
        if not isinstance(rec, dict):
            errors.append(RowError(n, "*", f"expected a JSON object, got {type(rec).__name__}", source))
            continue
        columns.update(dict.fromkeys(str(k) for k in rec))
        records.append({str(k): v for k, v in rec.items()})
        lines.append(n)
    if errors:
        raise DataValidationError(errors, source=origin or source)
    cols = list(columns)
    return _frame(cols, [[r.get(c) for c in cols] for r in records], lines)


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    cols = [str(c) for c in table.column_names]
    data = {c: pd.Series(table.column(i).to_pylist(), dtype=object) for i, c in enumerate(cols)}
    df = pd.DataFrame(data, columns=cols)
    df.index = pd.RangeIndex(1, table.num_rows + 1, name="line")
    return df


# ---------------------------------------------------------------- cell parsers


def is_missing(value: object) -> bool:
    """None, NaN, pandas NA or a blank string."""
    if isinstance(value, str):  # the common case (every CSV cell) first: this runs per cell
        return value == "" or value.isspace()
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def parse_int(value: object, what: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer (``"3"``, ``3``, ``3.0``), optionally within ``[minimum, maximum]``."""
    if isinstance(value, bool):
        raise ValueError(f"{what} {value!r} is not an integer")
    try:
        f = float(str(value).strip()) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{what} {value!r} is not an integer") from None
    if not math.isfinite(f) or not f.is_integer():
        raise ValueError(f"{what} {value!r} is not an integer")
    n = int(f)
    if minimum is not None and maximum is not None and not minimum <= n <= maximum:
        raise ValueError(f"{what} {value!r} out of range {minimum}-{maximum}")
    if minimum is not None and n < minimum:
        raise ValueError(f"{what} {value!r} must be at least {minimum}")
    if maximum is not None and n > maximum:
        raise ValueError(f"{what} {value!r} must be at most {maximum}")
    return n


def parse_float(value: object, what: str, *, positive: bool = False, non_negative: bool = False) -> float:
    """A finite float; ``positive`` requires > 0, ``non_negative`` >= 0."""
    if isinstance(value, bool):
        raise ValueError(f"{what} {value!r} is not a number")
    try:
        f = float(str(value).strip()) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{what} {value!r} is not a number") from None
    if not math.isfinite(f):
        raise ValueError(f"{what} {value!r} must be a finite number")
    if positive and f <= 0:
        raise ValueError(f"{what} {value!r} must be positive")
    if non_negative and f < 0:
        raise ValueError(f"{what} {value!r} must not be negative")
    return f


def parse_bool(value: object, what: str) -> bool:
    """``true/false``, ``yes/no``, ``t/f``, ``y/n``, ``1/0`` (any case) or a real bool."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    s = str(value).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValueError(f"{what} {value!r} is not a boolean (use true or false)")
