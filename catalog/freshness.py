"""Freshness decay: stale content in fast-moving skills is down-ranked.

``freshness = max(floor, 0.5 ** (age_days / half_life_days))`` where age runs from
``updated_at`` (else ``published_at``) to ``as_of``, and the half-life resolves
item override -> the shortest half-life among the item's skills -> a per-type default.
Content with no half-life anywhere is evergreen and keeps 1.0. Everything is
vectorised over the catalog; ``as_of`` is always passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from catalog.catalog import Catalog
from catalog.schema import parse_timestamp

__all__ = [
    "DEFAULT_FLOOR",
    "TYPE_HALF_LIFE_DAYS",
    "HalfLives",
    "resolve_half_lives",
    "freshness",
    "catalog_freshness",
    "age_days",
]

DEFAULT_FLOOR = 0.1

# Types whose content perishes by nature, whatever it teaches. Types absent here fall
# back to evergreen when neither the item nor any of its skills sets a half-life.
TYPE_HALF_LIFE_DAYS: dict[str, float] = {
    "documentation": 365.0,
    "forum": 180.0,
    "podcast": 365.0,
}

_SOURCE_NAMES = np.array(["evergreen", "item", "skill", "type"], dtype=object)


@dataclass(frozen=True)
class HalfLives:
    """Resolved half-life per item (``inf`` = evergreen) and where each came from.

    ``source`` codes: 0 evergreen, 1 item override, 2 skill, 3 type default.
    """

    days: NDArray[np.float64]
    source: NDArray[np.int8]

    def source_names(self) -> NDArray[np.object_]:
        return _SOURCE_NAMES[self.source]


#: Up to this many rows, :func:`resolve_half_lives` reads each row's slice itself.
_FEW_ROWS = 64


def resolve_half_lives(catalog: Catalog, *, type_defaults: dict[str, float] | None = None,
                       rows: NDArray[np.int64] | None = None) -> HalfLives:
    """Resolve each item's half-life: item override, else shortest skill half-life, else type default.

    ``rows``: only those items, in that order (what an entity write changed; the rest are not read).
    """
    type_defaults = TYPE_HALF_LIFE_DAYS if type_defaults is None else type_defaults
    m = catalog.item_skill_levels.tocsr()
    types, override = catalog.types, catalog.item_half_life
    skill_hl = np.where(np.isnan(catalog.skill_half_life), np.inf, catalog.skill_half_life)
    if rows is not None:
        rows = np.asarray(rows, dtype=np.int64)
        types, override = types[rows], override[rows]
    if rows is not None and len(rows) <= _FEW_ROWS:
        # An entity write's rows: their index slices read directly; scipy's fancy row indexing costs ~0.3 ms
        # of GIL-holding overhead per call, more than the rest of the write's freshness update.
        ptr, idx = m.indptr, m.indices
        per_item = np.array([skill_hl[idx[ptr[r]:ptr[r + 1]]].min(initial=np.inf) for r in rows.tolist()],
                            dtype=np.float64).reshape(len(rows))
    else:
        if rows is not None:
            m = m[rows]
        # Shortest half-life among each item's skills (inf where all evergreen or no skills).
        per_item = np.full(m.shape[0], np.inf)
        if m.nnz:
            vals = skill_hl[m.indices]
            starts = m.indptr[:-1]
            nonempty = np.diff(m.indptr) > 0
            mins = np.minimum.reduceat(vals, np.minimum(starts, len(vals) - 1))
            per_item[nonempty] = mins[nonempty]
    type_hl = np.array([type_defaults.get(t, np.inf) for t in types], dtype=np.float64)
    has_override = ~np.isnan(override)
    days = np.where(has_override, override, np.where(np.isfinite(per_item), per_item, type_hl))
    source = np.where(
        has_override, 1, np.where(np.isfinite(per_item), 2, np.where(np.isfinite(type_hl), 3, 0))
    ).astype(np.int8)
    return HalfLives(days=days.astype(np.float64), source=source)


def freshness(age_days: NDArray[np.floating] | float, half_life_days: NDArray[np.floating] | float,
              *, floor: float = DEFAULT_FLOOR) -> NDArray[np.float64]:
    """``max(floor, 0.5 ** (age / half_life))``; ``inf`` half-life gives 1.0; negative age counts as 0."""
    if not 0.0 <= floor <= 1.0:
        raise ValueError(f"floor must be in [0, 1], got {floor}")
    age = np.maximum(np.asarray(age_days, dtype=np.float64), 0.0)
    hl = np.asarray(half_life_days, dtype=np.float64)
    if np.any(hl <= 0):
        raise ValueError("half-life must be positive (use no half-life for evergreen content)")
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(np.isinf(hl), 1.0, np.exp2(-age / hl))
    return np.maximum(f, floor)


def age_days(catalog: Catalog, as_of: datetime | str, *, rows: NDArray[np.int64] | None = None) -> NDArray[np.float64]:
    """Days from each item's last update (else publication) to ``as_of`` (``rows``: only those items)."""
    as_of_us = int(parse_timestamp(as_of).timestamp() * 1_000_000)
    nat = np.iinfo(np.int64).min
    upd, pub = catalog.updated_us, catalog.published_us
    if rows is not None:
        upd, pub = upd[rows], pub[rows]
    ref = np.where(upd != nat, upd, pub)
    return (as_of_us - ref) / 86_400e6


def catalog_freshness(catalog: Catalog, as_of: datetime | str, *, floor: float = DEFAULT_FLOOR,
                      half_lives: HalfLives | None = None, rows: NDArray[np.int64] | None = None) -> NDArray[np.float64]:
    """Freshness in [floor, 1] for every item of ``catalog`` at ``as_of`` (tz-aware, or UTC if naive);
    ``rows``: only those items (``half_lives`` then resolved for those rows)."""
    hl = half_lives if half_lives is not None else resolve_half_lives(catalog, rows=rows)
    return freshness(age_days(catalog, as_of, rows=rows), hl.days, floor=floor)
