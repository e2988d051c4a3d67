"""Lenient readers for ``skillpath evaluate``: a catalog needing only ``item_id`` and events
needing only ``user_id, item_id, timestamp``.

Where :mod:`catalog.imports` (the importer behind ``skillpath data import``) is installed it
does the work, so both commands accept the same files. Otherwise a minimal reader here
applies the same core defaults: ``event_type`` ``view``, items without skills teach
``general``, every bad row is reported with its line in one DataValidationError.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from catalog.catalog import World
from catalog.errors import DataValidationError, RowError
from catalog.schema import EVENT_TYPES, Resource, Skill, SkillLevel, check_id, parse_levels
from catalog.tables import read_table

__all__ = ["read_catalog_file", "read_events_table"]

_EPOCH = pd.Timestamp("1970-01-01", tz="UTC").to_pydatetime()
_FALLBACK_SKILL = "general"


def _first_line(df: pd.DataFrame) -> int:
    return int(df.index[0]) if len(df) else 2


def _importer():
    try:
        import catalog.imports as imports
    except ModuleNotFoundError as e:
        if e.name in ("catalog.imports", None):
            return None
        raise
    return imports


def read_catalog_file(path: str | Path) -> World:
    """A :class:`World` (catalog only) from a catalog table where only ``item_id`` is required."""
    df = read_table(path)
    imports = _importer()
    if imports is not None:
        imported_skills, imported = imports.import_catalog(df, source=str(path), first_line=_first_line(df))
        return World.build(imported_skills, imported)
    df.columns = [str(c).strip().lower() for c in df.columns]
    if "item_id" not in df.columns:
        raise DataValidationError([RowError(1, "item_id", "required column missing", str(path))], source=str(path))
    errors: list[RowError] = []
    resources: list[Resource] = []
    seen: set[str] = set()
    for line, row in zip(df.index, df.to_dict("records")):
        try:
            item_id = check_id(row.get("item_id"), "item id")
            if item_id in seen:
                raise ValueError(f"duplicate item id {item_id!r}")
            seen.add(item_id)
            cell = row.get("skills")
            levels = parse_levels(cell, default_level=3) if isinstance(cell, str) and cell.strip() else ()
        except ValueError as e:
            errors.append(RowError(int(line), "item_id" if "item" in str(e) else "skills", str(e), str(path)))
            continue
        resources.append(Resource(item_id, item_id, "other", levels or (SkillLevel(_FALLBACK_SKILL, 3),), _EPOCH))
    if errors:
        raise DataValidationError(errors, source=str(path))
    skill_ids = dict.fromkeys(sl.skill_id for r in resources for sl in r.skills)
    return World.build([Skill(s, s) for s in skill_ids], resources)


def read_events_table(path: str | Path, world: World) -> pd.DataFrame:
    """Canonical events from a table with ``user_id, item_id, timestamp`` (``event_type``
    defaults to ``view``; ``value`` optional); items must be in ``world``'s catalog."""
    df = read_table(path)
    items = set(world.catalog.items.to_list())
    imports = _importer()
    if imports is not None:
        return imports.import_events(df, items=items, source=str(path), first_line=_first_line(df))
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in ("user_id", "item_id", "timestamp") if c not in df.columns]
    if missing:
        raise DataValidationError([RowError(1, c, "required column missing", str(path)) for c in missing],
                                  source=str(path))
    errors: list[RowError] = []
    lines = df.index.to_numpy()
    text = {c: df[c].map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip())
            for c in ("user_id", "item_id", "timestamp")}
    et = (df["event_type"].map(lambda v: str(v).strip().lower() if isinstance(v, str) and v.strip() else "view")
          if "event_type" in df.columns else pd.Series("view", index=df.index))
    ts_text = text["timestamp"]
    numeric = ts_text.str.fullmatch(r"-?\d+(\.\d*)?")
    ts = pd.to_datetime(ts_text.where(~numeric, None), utc=True, format="ISO8601", errors="coerce")
    if numeric.any():
        ts = ts.where(~numeric, pd.to_datetime(pd.to_numeric(ts_text[numeric]), unit="s", utc=True))
    value = pd.to_numeric(df["value"], errors="coerce") if "value" in df.columns else pd.Series(np.nan, index=df.index)
    for pos, line in enumerate(lines):
        for col in ("user_id", "item_id"):
            v = text[col].iloc[pos]
            try:
                check_id(v, col)
            except ValueError as e:
                errors.append(RowError(int(line), col, str(e), str(path)))
        if text["item_id"].iloc[pos] and text["item_id"].iloc[pos] not in items:
            errors.append(RowError(int(line), "item_id", f"{text['item_id'].iloc[pos]!r} is not in the catalog",
                                   str(path)))
        if pd.isna(ts.iloc[pos]):
            errors.append(RowError(int(line), "timestamp", f"not a timestamp: {ts_text.iloc[pos]!r}", str(path)))
        if et.iloc[pos] not in EVENT_TYPES:
            errors.append(RowError(int(line), "event_type", f"unknown event type {et.iloc[pos]!r}", str(path)))
    if errors:
        raise DataValidationError(errors, source=str(path))
    out = pd.DataFrame({
        "event_id": [f"{Path(path).name}:{int(line)}" for line in lines], "user_id": text["user_id"].to_numpy(),
        "item_id": text["item_id"].to_numpy(), "event_type": et.to_numpy(), "value": value.to_numpy(np.float64),
        "timestamp": pd.DatetimeIndex(ts).as_unit("us"), "source": "import",
    })
    return out.sort_values("timestamp", kind="mergesort").reset_index(drop=True)
