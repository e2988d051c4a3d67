"""Validate interaction events into the canonical events frame, all rows at once.

Events arrive by the thousand (HTTP batches, CSV imports), so validation works on whole
columns (:mod:`catalog.event_columns`: batch-wide regex, set algebra, pandas parsers),
with per-row Python only to word the message of a row already known to be bad. A batch is either entirely valid or
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
from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from catalog.errors import ConfigError, DataValidationError, RowError
from catalog.event_columns import parse_ids, parse_text, parse_timestamps, parse_types, parse_values, to_datetime_us
from catalog.schema import EVENT_COLUMNS
from catalog.tables import read_table, sniff_delimiter, unreadable_as_config_error

__all__ = [
    "REQUIRED_EVENT_COLUMNS",
    "with_event_ids",
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
_COLUMN_ORDER = {c: i for i, c in enumerate(EVENT_COLUMNS)}

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
    n = len(df)
    found: list[tuple[str, NDArray[np.object_]]] = []  # (column, reason per row)
    eid, r = parse_ids(df["event_id"], "event_id")
    found.append(("event_id", r))
    user, r = parse_ids(df["user_id"], "user_id")
    found.append(("user_id", r))
    item, r = parse_ids(df["item_id"], "item_id")
    found.append(("item_id", r))
    et, r_type = parse_types(df["event_type"])
    found.append(("event_type", r_type))
    us, r = parse_timestamps(df["timestamp"])
    found.append(("timestamp", r))
    v, r_value = parse_values(df["value"] if "value" in df.columns else None, n)
    found.append(("value", r_value))
    found.append(("value", _value_rules(et, v, (r_type == "") & (r_value == ""))))
    for col, ids, known, hint in (("item_id", item, known_items, "add it to the catalog (resources) first"),
                                  ("user_id", user, known_users, "add the mentee first")):
        if known is not None:
            found.append((col, _unknown(ids, known, col.split("_")[0], hint)))
    src = parse_text(df["source"]) if "source" in df.columns else np.full(n, "", dtype=object)

    errors: list[RowError] = []
    bad = np.zeros(n, dtype=bool)
    for col, reasons in found:
        hit = reasons != ""
        if hit.any():
            bad |= hit
            errors.extend(RowError(int(lines[p]), col, str(reasons[p]), source) for p in np.flatnonzero(hit))
    out = pd.DataFrame({"event_id": eid, "user_id": user, "item_id": item, "event_type": et, "value": v,
                        "timestamp": to_datetime_us(us), "source": src})
    keep = None if len(set(eid)) == n else _collapse_duplicates(out, bad, lines, errors, source)
    if errors:
        errors.sort(key=lambda e: (e.line, _COLUMN_ORDER.get(e.column, 99), e.reason))
        raise DataValidationError(errors, source=source)
    if keep is not None:
        out, lines = out.loc[keep].reset_index(drop=True), lines[keep]
    return out, lines


def _value_rules(et: NDArray[np.object_], v: NDArray[np.float64], checkable: Mask) -> NDArray[np.object_]:
    """Which event types carry a value, and in which range (only rows whose type and value parsed)."""
    reasons = np.full(len(et), "", dtype=object)
    has_v = ~np.isnan(v)
    is_assess, is_like = et == "assess", et == "like"
    with np.errstate(invalid="ignore"):
        assess_bad = is_assess & (~has_v | (v < ASSESS_RANGE[0]) | (v > ASSESS_RANGE[1]))
        like_bad = is_like & has_v & ((v < LIKE_RANGE[0]) | (v > LIKE_RANGE[1]))
    other_bad = has_v & ~is_assess & ~is_like
    for mask, say in ((assess_bad, lambda p: f"assess needs a score in [0, 100], got {_show(v[p])}"),
                      (like_bad, lambda p: f"like rating {_show(v[p])} is outside 1-5"),
                      (other_bad, lambda p: f"{et[p]} events carry no value, got {_show(v[p])}")):
        for pos in np.flatnonzero(mask & checkable):
            reasons[pos] = say(pos)
    return reasons


def _collapse_duplicates(out: pd.DataFrame, bad: Mask, lines: NDArray[np.int64],
                         errors: list[RowError], source: str) -> Mask:
    """Report ids reused with other content; return the rows to keep (first of each id)."""
    eid = out["event_id"]
    dup = eid.duplicated(keep=False).to_numpy() & ~bad
    first_pos: dict[str, int] = {}
    for pos in np.flatnonzero(dup):  # only the duplicated rows
        first_pos.setdefault(eid.iat[pos], pos)
    sub = out.loc[dup, ["event_id", *CONTENT_COLUMNS]]
    aligned = sub.drop_duplicates("event_id").set_index("event_id").reindex(sub["event_id"])
    same = np.ones(len(sub), dtype=bool)
    for c in CONTENT_COLUMNS:
        a, b = sub[c].to_numpy(), aligned[c].to_numpy()
        same &= (a == b) | (pd.isna(a) & pd.isna(b))
    for pos, ok in zip(np.flatnonzero(dup), same):
        if not ok:
            first = first_pos[eid.iat[pos]]
            errors.append(RowError(int(lines[pos]), "event_id",
                                   f"event_id {eid.iat[pos]!r} reused with different content "
                                   f"(line {int(lines[first])}); an event_id may name only one event", source))
    return ~eid.duplicated(keep="first").to_numpy()


def _unknown(ids: NDArray[np.object_], known: Collection[str], what: str, hint: str) -> NDArray[np.object_]:
    # Set algebra over the batch is O(batch); pandas' isin would hash the whole known
    # set (O(catalog)) on every call.
    if not isinstance(known, (set, frozenset, dict)):
        known = frozenset(known)
    reasons = np.full(len(ids), "", dtype=object)
    unknown = set(ids).difference(known)
    unknown.discard("")  # a missing id is reported as missing, not unknown
    if unknown:
        for pos in np.flatnonzero(np.isin(ids, list(unknown))):
            reasons[pos] = f"unknown {what} {ids[pos]!r}; {hint}"
    return reasons


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
    if suffix not in (".csv", ".parquet", ".jsonl", ".ndjson"):
        raise ConfigError(f"{path}: unsupported events file type {suffix!r}; use .csv, .parquet or .jsonl")
    with unreadable_as_config_error(path):
        if suffix == ".csv":
            with open(path, encoding="utf-8-sig") as f:
                head = f.read(65536)
            df = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False,
                             sep=sniff_delimiter(head), encoding="utf-8-sig")
            lines = np.arange(len(df), dtype=np.int64) + 2
            blank = (df.apply(lambda c: c.str.strip() == "")).all(axis=1).to_numpy() if len(df.columns) else None
            if blank is not None and blank.any():  # keep line numbers true across blank lines
                df, lines = df.loc[~blank].reset_index(drop=True), lines[~blank]
        elif suffix == ".parquet":
            df = pd.read_parquet(path)
            lines = np.arange(len(df), dtype=np.int64) + 1
        elif suffix in (".jsonl", ".ndjson"):
            df = read_table(path)  # the one JSONL reader; its index is the file line
            lines = df.index.to_numpy(dtype=np.int64)
            df = df.reset_index(drop=True)
    df = _default_event_type(df)
    if "event_id" not in df.columns and not df.empty:
        df = df.assign(event_id=make_event_ids(df).to_numpy())
    elif "event_id" not in df.columns:
        df = df.assign(event_id=pd.Series(dtype=object))
    return _validate(df, lines, known_items=known_items, known_users=known_users, source=str(path))


def _default_event_type(df: pd.DataFrame) -> pd.DataFrame:
    """``event_type`` is ``view`` where the file has no such column or leaves a cell blank (as in
    ``data import`` and ``POST /events``: the one set of required columns is user, item, timestamp)."""
    if "event_type" not in df.columns:
        return df.assign(event_type="view")
    col = df["event_type"]
    blank = col.isna() | (col.astype(str).str.strip() == "")
    return df.assign(event_type=col.where(~blank, "view")) if blank.any() else df


def make_event_ids(df: pd.DataFrame) -> pd.Series:
    """Deterministic event ids: sha1 of ``user_id|item_id|event_type|timestamp|value``.

    Inputs are normalised first (timestamps to UTC microseconds, values to floats, types
    to lower case) so ``2025-01-01`` and ``2025-01-01T00:00:00Z``, or ``80`` and ``80.0``,
    give the same id. Identical events therefore share an id and are stored once.
    """
    n = len(df)
    blank = np.full(n, "", dtype=object)
    user = parse_text(df["user_id"]) if "user_id" in df else blank
    item = parse_text(df["item_id"]) if "item_id" in df else blank
    et = parse_text(df["event_type"]) if "event_type" in df else blank
    if "timestamp" in df:
        us, reasons = parse_timestamps(df["timestamp"])
        raw = df["timestamp"].astype(str).to_numpy()  # unparseable: validation rejects it anyway
        ts_key = [r if why else str(u) for r, why, u in zip(raw, reasons, us.tolist())]
    else:
        ts_key = [""] * n
    value, _ = parse_values(df["value"] if "value" in df else None, n)
    v_key = ["" if x != x else repr(x) for x in value.tolist()]
    ids = [
        hashlib.sha1("\x1f".join((u, i, t.lower(), s, v)).encode("utf-8")).hexdigest()
        for u, i, t, s, v in zip(user, item, et, ts_key, v_key)
    ]
    return pd.Series(ids, index=df.index, dtype=object, name="event_id")


def with_event_ids(rows: list[dict]) -> list[dict]:
    """Event dicts (a ``POST /events`` body) with ``event_id`` filled by :func:`make_event_ids` where absent,
    so every entry point derives a missing id by the same rule."""
    missing = [r for r in rows if not r.get("event_id")]
    if not missing:
        return rows
    ids = make_event_ids(pd.DataFrame(missing)).tolist()
    by_pos = iter(ids)
    return [r if r.get("event_id") else {**r, "event_id": next(by_pos)} for r in rows]
