"""Lenient readers for ``skillpath evaluate``: a catalog needing only ``item_id`` and events
needing only ``user_id, item_id, timestamp``.

:mod:`catalog.imports` (the importer behind ``skillpath data import``) does the work, so
both commands accept the same files; :func:`catalog.tables.read_table` reads them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from catalog.catalog import World
from catalog.imports import import_catalog, import_events
from catalog.tables import read_table

__all__ = ["read_catalog_file", "read_events_table"]


def _first_line(df: pd.DataFrame) -> int:
    return int(df.index[0]) if len(df) else 2


def read_catalog_file(path: str | Path) -> World:
    """A :class:`World` (catalog only) from a catalog table where only ``item_id`` is required."""
    df = read_table(path)
    skills, resources = import_catalog(df, source=str(path), first_line=_first_line(df))
    return World.build(skills, resources)


def read_events_table(path: str | Path, world: World) -> pd.DataFrame:
    """Canonical events from a table with ``user_id, item_id, timestamp`` (``event_type``
    defaults to ``view``; ``value`` optional); items must be in ``world``'s catalog."""
    df = read_table(path)
    items = set(world.catalog.items.to_list())
    return import_events(df, items=items, source=str(path), first_line=_first_line(df))
