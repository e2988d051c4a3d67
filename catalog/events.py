"""Validate interaction events into the canonical events frame, all rows at once.

Events arrive by the thousand (HTTP batches, CSV imports), so validation is vectorised
pandas: one pass per rule over the whole batch, with per-row Python only to word the
message of a row that is already known to be bad. A batch is either entirely valid or
rejected with a :class:`~catalog.errors.DataValidationError` that lists *every* bad
event, so a client can fix its file in one go.

The rules (see ``docs/events.md``):

- ``event_id``, ``user_id``, ``item_id`` are ids (:data:`catalog.schema.ID_PATTERN`);
- ``event_type`` is one of :data:`catalog.schema.EVENT_TYPES` (case and surrounding
  spaces are forgiven);
- ``timestamp`` is ISO-8601 (or a datetime); naive means UTC; years 1970-2200;
- ``assess`` needs a ``value`` in [0, 100]; ``like`` may carry a rating in [1, 5];
  every other type carries no value;
- an ``event_id`` repeated within a batch with identical content collapses to one
  event; repeated with different content (user, item, type, timestamp, value) is an
  error: the id is an idempotency key and a key may name only one event.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from catalog.errors import ConfigError, DataValidationError, RowError
from catalog.schema import EVENT_COLUMNS, EVENT_TYPES, ID_PATTERN, check_id, parse_timestamp

__all__ = [
    "REQUIRED_EVENT_COLUMNS",
    "CONTENT_COLUMNS",
    "ASSESS_RANGE",
    "LIKE_RANGE",
    "validate_events",
    "validate_events_with_lines",
    "read_events_file",
    "read_events_file_with_lines",
    "make_event_ids",
]

REQUIRED_EVENT_COLUMNS: tuple[str, ...] = ("event_id", "user_id", "item_id", "event_type", "timestamp")
# What an event *is*: two events with the same id must agree on these. ``source`` is
# provenance (which client sent it), not content, so a replay via another path is fine.
CONTENT_COLUMNS: tuple[str, ...] = ("user_id", "item_id", "event_type", "timestamp", "value")
ASSESS_RANGE = (0.0, 100.0)
LIKE_RANGE = (1.0, 5.0)
_VALUED_TYPES = frozenset({"assess", "like"})
_COLUMN_ORDER = {c: i for i, c in enumerate(EVENT_COLUMNS)}
_MIN_YEAR, _MAX_YEAR = 1970, 2200

Mask = NDArray[np.bool_]


def validate_events(
    df: pd.DataFrame,
    *,
    known_items: Collection[str] | None = None,
    known_users: Collection[str] | None = None,
    line_offset: int = 2,
    source: str = "",
) -> pd.DataFrame:
    """Return ``df`` as a canonical events frame, or raise listing every bad event.

    Parameters
    ----------
    df : DataFrame
        Columns :data:`REQUIRED_EVENT_COLUMNS`, optionally ``value`` and ``source``;
        other columns are ignored.
    known_items, known_users : collection of str, optional
        When given, events naming other items/users are errors.
    line_offset : int
        The line number of the first row (2 for a CSV with its header on line 1).
    source : str
        A name for the input (a file path) used in error messages.

    Returns
    -------
    DataFrame with columns :data:`catalog.schema.EVENT_COLUMNS`, ``timestamp`` as
    ``datetime64[us, UTC]``, ``value`` float64 (NaN when absent), ``source`` str (``""``
    when absent), a fresh 0-based index; identical duplicates collapsed to their first row.
    """
    return validate_events_with_lines(df, known_items=known_items, known_users=known_users,
                                      line_offset=line_offset, source=source)[0]


def validate_events_with_lines(
    df: pd.DataFrame,
    *,
    known_items: Collection[str] | None = None,
    known_users: Collection[str] | None = None,
    line_offset: int = 2,
    source: str = "",
) -> tuple[pd.DataFrame, NDArray[np.int64]]:
    """:func:`validate_events`, plus the input line of each returned event.

    Lines differ from ``line_offset + position`` once identical duplicates collapse;
    callers that report later problems (a conflict with the stored log) need them.
    """
    lines = np.arange(len(df), dtype=np.int64) + line_offset
    return _validate(df, lines, known_items=known_items, known_users=known_users, source=source)


def _validate(
    df: pd.DataFrame,
    lines: NDArray[np.int64],
    *,
    known_items: Collection[str] | None,
    known_users: Collection[str] | None,
    source: str,
) -> tuple[pd.DataFrame, NDArray[np.int64]]:
    """Validate; return the canonical frame and the input line of each of its rows."""
    missing_cols = [c for c in REQUIRED_EVENT_COLUMNS if c not in df.columns]
    if missing_cols:
        header = int(lines[0]) - 1 if len(lines) else 1
        raise DataValidationError(
            [RowError(header, c, "required column is missing", source) for c in missing_cols], source=source
        )
    errors: list[RowError] = []
    bad = np.zeros(len(df), dtype=bool)

    def report(mask: Mask, column: str, reason) -> None:  # reason: position -> str
        for pos in np.flatnonzero(mask):
            errors.append(RowError(int(lines[pos]), column, reason(pos), source))
        bad[:] |= mask

    cols: dict[str, pd.Series] = {}
    for col, what in (("event_id", "event_id"), ("user_id", "user_id"), ("item_id", "item_id")):
        s, missing = _clean_strings(df[col])
        ok = s.str.fullmatch(ID_PATTERN.pattern).to_numpy(dtype=bool) & ~missing
        raw = df[col]
        report(~ok, col, lambda p, raw=raw, what=what: _id_reason(raw.iat[p], what))
        cols[col] = s

    et, missing = _clean_strings(df["event_type"])
    et = et.str.lower()
    report(~et.isin(EVENT_TYPES).to_numpy(dtype=bool), "event_type",
           lambda p: "missing event_type" if missing[p] else
           f"event_type {df['event_type'].iat[p]!r} is not one of {', '.join(EVENT_TYPES)}")
    cols["event_type"] = et

    ts, ts_errors = _parse_timestamps(df["timestamp"])
    report(ts_errors != "", "timestamp", lambda p: str(ts_errors[p]))
    cols["timestamp"] = ts

    value, value_errors = _parse_values(df["value"] if "value" in df.columns else None, len(df))
    v = value.to_numpy()
    has_v = ~np.isnan(v)
    et_arr = et.to_numpy(dtype=object)
    is_assess, is_like = et_arr == "assess", et_arr == "like"
    with np.errstate(invalid="ignore"):
        assess_bad = is_assess & (value_errors == "") & (~has_v | (v < ASSESS_RANGE[0]) | (v > ASSESS_RANGE[1]))
        like_bad = is_like & has_v & ((v < LIKE_RANGE[0]) | (v > LIKE_RANGE[1]))
    valued = np.isin(et_arr, list(_VALUED_TYPES))
    other_bad = ~valued & has_v & et.isin(EVENT_TYPES).to_numpy(dtype=bool)
    report(value_errors != "", "value", lambda p: str(value_errors[p]))
    report(assess_bad, "value", lambda p: f"assess needs a score in [0, 100], got {_show(v[p])}")
    report(like_bad, "value", lambda p: f"like rating {_show(v[p])} is outside 1-5")
    report(other_bad, "value", lambda p: f"{et_arr[p]} events carry no value, got {_show(v[p])}")
    cols["value"] = value

    if known_items is not None:
        report(_unknown(cols["item_id"], known_items, bad), "item_id",
               lambda p: f"unknown item {cols['item_id'].iat[p]!r}; add it to the catalog (resources) first")
    if known_users is not None:
        report(_unknown(cols["user_id"], known_users, bad), "user_id",
               lambda p: f"unknown user {cols['user_id'].iat[p]!r}; add the mentee first")

    if "source" in df.columns:
        src, _ = _clean_strings(df["source"])
    else:
        src = pd.Series([""] * len(df), index=df.index, dtype=object)
    cols["source"] = src

    out = pd.DataFrame({c: cols[c].to_numpy() for c in EVENT_COLUMNS})
    out["timestamp"] = out["timestamp"].astype("datetime64[us, UTC]")
    keep = _collapse_duplicates(out, bad, lines, errors, source)
    if errors:
        errors.sort(key=lambda e: (e.line, _COLUMN_ORDER.get(e.column, 99), e.reason))
        raise DataValidationError(errors, source=source)
    if keep is not None:
        out, lines = out.loc[keep].reset_index(drop=True), lines[keep]
    return out, lines


def _collapse_duplicates(out: pd.DataFrame, bad: Mask, lines: NDArray[np.int64],
                         errors: list[RowError], source: str) -> Mask | None:
    """Report ids reused with other content; return rows to keep (None: keep all)."""
    eid = out["event_id"]
    dup = eid.duplicated(keep=False).to_numpy() & ~bad
    if not dup.any():
        return None
    sub = out.loc[dup, ["event_id", *CONTENT_COLUMNS]]
    first_pos = {}
    for pos in np.flatnonzero(dup):  # only the (rare) duplicated rows
        first_pos.setdefault(eid.iat[pos], pos)
    firsts = sub.drop_duplicates("event_id").set_index("event_id")
    aligned = firsts.reindex(sub["event_id"]).reset_index(drop=True)
    mine = sub.reset_index(drop=True)
    same = np.ones(len(sub), dtype=bool)
    for c in CONTENT_COLUMNS:
        a, b = mine[c], aligned[c]
        same &= ((a == b) | (a.isna() & b.isna())).to_numpy(dtype=bool)
    for pos, ok in zip(np.flatnonzero(dup), same):
        if not ok:
            first = first_pos[eid.iat[pos]]
            errors.append(RowError(int(lines[pos]), "event_id",
                                   f"event_id {eid.iat[pos]!r} reused with different content "
                                   f"(line {int(lines[first])}); an event_id may name only one event", source))
    return ~eid.duplicated(keep="first").to_numpy()


def _clean_strings(col: pd.Series) -> tuple[pd.Series, Mask]:
    """Cells as stripped str ("" for missing), and the missing mask."""
    if pd.api.types.is_float_dtype(col.dtype):
        finite = col.dropna()
        if len(finite) and (finite == finite.round()).all():
            col = col.astype("Int64")  # ids read as floats (1.0) mean 1
    missing = col.isna().to_numpy(dtype=bool)
    s = col.astype(str).str.strip().astype(object)
    if missing.any():
        s[missing] = ""
    missing |= (s == "").to_numpy(dtype=bool)
    return s.reset_index(drop=True), missing


def _id_reason(raw: object, what: str) -> str:
    if raw is None or (isinstance(raw, float) and np.isnan(raw)) or str(raw).strip() == "":
        return f"missing {what}"
    try:
        check_id(raw, what)
    except ValueError as e:
        return str(e)
    return f"{what} {raw!r} is not valid"  # pragma: no cover - the regexes agree


def _parse_timestamps(col: pd.Series) -> tuple[pd.Series, NDArray[np.object_]]:
    """Vectorised :func:`catalog.schema.parse_timestamp`; per-row only for rejects."""
    col = col.reset_index(drop=True)
    n = len(col)
    reasons = np.full(n, "", dtype=object)
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        parsed = col.dt.tz_localize("UTC") if col.dt.tz is None else col.dt.tz_convert("UTC")
        retry = np.zeros(n, dtype=bool)
    else:
        try:
            parsed = pd.to_datetime(col, utc=True, format="ISO8601", errors="coerce")
        except (ValueError, TypeError, OverflowError):
            parsed = pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns, UTC]")
        # pandas accepts "2025-03" as a date; parse_timestamp does not: let it decide.
        short = (col.astype(str).str.strip().str.len() < 10).to_numpy(dtype=bool)
        retry = (parsed.isna().to_numpy() | short) & ~col.isna().to_numpy()
    parsed = parsed.astype("datetime64[us, UTC]")
    missing = col.isna().to_numpy(dtype=bool)
    reasons[missing] = "missing timestamp"
    for pos in np.flatnonzero(retry):
        try:
            parsed.iat[pos] = pd.Timestamp(parse_timestamp(col.iat[pos]))
        except (ValueError, TypeError, OverflowError) as e:
            reasons[pos] = str(e) if isinstance(e, ValueError) else f"bad date {col.iat[pos]!r}"
            parsed.iat[pos] = pd.NaT
    year = parsed.dt.year.to_numpy(dtype=float, na_value=np.nan)
    out_of_range = ((year < _MIN_YEAR) | (year > _MAX_YEAR)) & (reasons == "")
    for pos in np.flatnonzero(out_of_range):
        reasons[pos] = f"date {col.iat[pos]!r} is out of range ({_MIN_YEAR}-{_MAX_YEAR})"
    return parsed, reasons


def _parse_values(col: pd.Series | None, n: int) -> tuple[pd.Series, NDArray[np.object_]]:
    reasons = np.full(n, "", dtype=object)
    if col is None:
        return pd.Series(np.full(n, np.nan)), reasons
    col = col.reset_index(drop=True)
    if pd.api.types.is_bool_dtype(col.dtype):  # true/false is not a score or a rating
        v = pd.Series(np.full(n, np.nan))
        not_num = ~col.isna().to_numpy(dtype=bool)
    elif pd.api.types.is_numeric_dtype(col.dtype):
        v = col.astype("float64")
        not_num = np.zeros(n, dtype=bool)
    else:
        v = pd.to_numeric(col, errors="coerce").astype("float64")
        blank = col.isna().to_numpy() | (col.astype(str).str.strip() == "").to_numpy()
        not_num = v.isna().to_numpy() & ~blank
    arr = v.to_numpy()
    inf = np.isinf(arr)
    for pos in np.flatnonzero(not_num):
        reasons[pos] = f"value {col.iat[pos]!r} is not a number"
    for pos in np.flatnonzero(inf):
        reasons[pos] = f"value {col.iat[pos]!r} is not finite"
    bad = not_num | inf
    if bad.any():
        arr = arr.copy()
        arr[bad] = np.nan
    return pd.Series(arr), reasons


def _unknown(ids: pd.Series, known: Collection[str], bad: Mask) -> Mask:
    # Membership against a set is O(batch); pandas' isin would hash the whole known set
    # (O(catalog)) on every call, which costs more than the rest of the validation.
    if not isinstance(known, (set, frozenset, dict)):
        known = frozenset(known)
    arr = ids.to_numpy(dtype=object)
    return np.fromiter((x not in known for x in arr), dtype=bool, count=len(arr)) & ~bad


def _show(x: float) -> str:
    return "nothing" if np.isnan(x) else f"{x:g}"


# ------------------------------------------------------------------ files and ids


def read_events_file(
    path: str | Path,
    *,
    known_items: Collection[str] | None = None,
    known_users: Collection[str] | None = None,
) -> pd.DataFrame:
    """Read and validate an events file (``.csv``, ``.parquet``, ``.jsonl``/``.ndjson``).

    Errors cite the line a user sees: the CSV header is line 1, JSON Lines start at 1,
    Parquet rows at 1. A file without an ``event_id`` column gets deterministic ids from
    :func:`make_event_ids`, so importing the same file twice stores it once.
    """
    return read_events_file_with_lines(path, known_items=known_items, known_users=known_users)[0]


def read_events_file_with_lines(
    path: str | Path,
    *,
    known_items: Collection[str] | None = None,
    known_users: Collection[str] | None = None,
) -> tuple[pd.DataFrame, NDArray[np.int64]]:
    """:func:`read_events_file`, plus the file line of each returned event (for messages)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False)
        lines = np.arange(len(df), dtype=np.int64) + 2
        blank = (df.apply(lambda c: c.str.strip() == "")).all(axis=1).to_numpy() if len(df.columns) else None
        if blank is not None and blank.any():  # keep line numbers true across blank lines
            df, lines = df.loc[~blank].reset_index(drop=True), lines[~blank]
    elif suffix == ".parquet":
        df = pd.read_parquet(path)
        lines = np.arange(len(df), dtype=np.int64) + 1
    elif suffix in (".jsonl", ".ndjson"):
        df, lines = _read_jsonl(path)
    else:
        raise ConfigError(f"{path}: unsupported events file type {suffix!r}; use .csv, .parquet or .jsonl")
    if "event_id" not in df.columns and not df.empty:
        df = df.assign(event_id=make_event_ids(df).to_numpy())
    elif "event_id" not in df.columns:
        df = df.assign(event_id=pd.Series(dtype=object))
    return _validate(df, lines, known_items=known_items, known_users=known_users, source=str(path))


def _read_jsonl(path: Path) -> tuple[pd.DataFrame, NDArray[np.int64]]:
    records, lines, errors = [], [], []
    with path.open(encoding="utf-8") as f:
        for i, text in enumerate(f, start=1):
            if not text.strip():
                continue
            try:
                rec = json.loads(text)
            except json.JSONDecodeError as e:
                errors.append(RowError(i, "", f"not valid JSON ({e.msg})", str(path)))
                continue
            if not isinstance(rec, dict):
                errors.append(RowError(i, "", "each line must be a JSON object", str(path)))
                continue
            records.append(rec)
            lines.append(i)
    if errors:
        raise DataValidationError(errors, source=str(path))
    return pd.DataFrame.from_records(records), np.asarray(lines, dtype=np.int64)


def make_event_ids(df: pd.DataFrame) -> pd.Series:
    """Deterministic event ids: sha1 of ``user_id|item_id|event_type|timestamp|value``.

    Inputs are normalised first (timestamps to UTC microseconds, values to floats, types
    to lower case) so ``2025-01-01`` and ``2025-01-01T00:00:00Z``, or ``80`` and ``80.0``,
    give the same id. Identical events therefore share an id and are stored once.
    """
    n = len(df)
    user, _ = _clean_strings(df["user_id"]) if "user_id" in df else (pd.Series([""] * n), None)
    item, _ = _clean_strings(df["item_id"]) if "item_id" in df else (pd.Series([""] * n), None)
    et, _ = _clean_strings(df["event_type"]) if "event_type" in df else (pd.Series([""] * n), None)
    if "timestamp" in df:
        ts, reasons = _parse_timestamps(df["timestamp"])
        us = ts.array.asi8  # microseconds since the epoch (NaT where reasons says why)
        raw = df["timestamp"].reset_index(drop=True).astype(str).to_numpy()
        ts_key = [r if why else str(u) for r, why, u in zip(raw, reasons, us)]
    else:
        ts_key = [""] * n
    value, _ = _parse_values(df["value"] if "value" in df else None, n)
    v_key = ["" if np.isnan(x) else repr(float(x)) for x in value.to_numpy()]
    ids = [
        hashlib.sha1("\x1f".join((u, i, t.lower(), s, v)).encode("utf-8")).hexdigest()
        for u, i, t, s, v in zip(user.to_numpy(), item.to_numpy(), et.to_numpy(), ts_key, v_key)
    ]
    return pd.Series(ids, index=df.index, dtype=object, name="event_id")
