"""The curator's stale-content report: what has decayed, and which skills it leaves bare.

An item is *stale* when its freshness (see :mod:`catalog.freshness`) is below a
threshold. Only active items count: inactive ones are already out of recommendations.
A *coverage gap* is a skill whose active content is all stale (or that has no active
content at all): mentees working on it get only decayed material, so it is where a
curator should add or refresh content first. Pure: ``as_of`` is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from catalog.catalog import Catalog
from catalog.errors import ConfigError
from catalog.freshness import DEFAULT_FLOOR, age_days, freshness, resolve_half_lives
from catalog.schema import format_levels, parse_timestamp

__all__ = ["ITEM_COLUMNS", "GAP_COLUMNS", "StaleReport", "stale_report"]

ITEM_COLUMNS = ["item_id", "title", "type", "skills", "provider", "age_days", "half_life_days",
                "half_life_source", "freshness"]
GAP_COLUMNS = ["skill_id", "name", "domain", "half_life_days", "n_items", "n_stale", "best_freshness",
               "freshest_item"]


@dataclass(frozen=True)
class StaleReport:
    """Stale active items (stalest first) and the skills they leave without fresh content.

    ``items`` has :data:`ITEM_COLUMNS`; ``half_life_days`` is the resolved half-life and
    ``half_life_source`` where it came from (``item``, ``skill`` or ``type``).
    ``gaps`` has :data:`GAP_COLUMNS`; ``half_life_days`` is the skill's own (NaN when the
    skill is evergreen), ``n_items``/``n_stale`` count its active items, and
    ``best_freshness``/``freshest_item`` are NaN/None when it has no active item.
    """

    as_of: datetime
    threshold: float
    floor: float
    n_active: int
    items: pd.DataFrame
    gaps: pd.DataFrame

    @property
    def stale_share(self) -> float:
        """Fraction of active items that are stale (0.0 for an empty catalog)."""
        return len(self.items) / self.n_active if self.n_active else 0.0


def stale_report(catalog: Catalog, as_of: datetime | str, *, threshold: float = 0.5,
                 floor: float = DEFAULT_FLOOR) -> StaleReport:
    """Build the stale-content report for ``catalog`` at ``as_of``.

    Parameters
    ----------
    threshold : float
        An active item is stale when its freshness is below this, in ``(floor, 1]``
        (at or below the floor nothing could ever be stale).
    floor : float
        The freshness floor used by ranking (``catalog.freshness.DEFAULT_FLOOR``).

    Items are sorted stalest first by half-lives elapsed (``age / half_life``), which
    keeps items that all sit at the floor in a meaningful order; ties by item id.
    """
    if not 0.0 <= floor < 1.0:
        raise ConfigError(f"floor must be in [0, 1), got {floor}")
    if not floor < threshold <= 1.0:
        raise ConfigError(f"threshold must be in ({floor}, 1] (above the freshness floor), got {threshold}")
    as_of_ts = parse_timestamp(as_of)
    hl = resolve_half_lives(catalog)
    age = age_days(catalog, as_of_ts)
    fresh = freshness(age, hl.days, floor=floor)
    with np.errstate(divide="ignore", invalid="ignore"):
        elapsed = np.where(np.isinf(hl.days), 0.0, np.maximum(age, 0.0) / hl.days)
    stale = catalog.active & (fresh < threshold)

    idx = np.flatnonzero(stale)
    idx = idx[np.lexsort((catalog.items.ids[idx].astype(str), -elapsed[idx]))]
    res = catalog.resources
    items = pd.DataFrame({
        "item_id": [res[i].item_id for i in idx],
        "title": [res[i].title for i in idx],
        "type": [res[i].type for i in idx],
        "skills": [format_levels(res[i].skills) for i in idx],
        "provider": [res[i].provider for i in idx],
        "age_days": age[idx].astype(np.float64),
        "half_life_days": hl.days[idx],
        "half_life_source": hl.source_names()[idx].astype(object),
        "freshness": fresh[idx],
    }, columns=ITEM_COLUMNS)
    return StaleReport(as_of_ts, float(threshold), float(floor), int(catalog.active.sum()), items,
                       _gaps(catalog, fresh, stale))


def _gaps(catalog: Catalog, fresh: np.ndarray, stale: np.ndarray) -> pd.DataFrame:
    """Skills none of whose active items is fresh, worst first (no content, then lowest best freshness)."""
    csc = catalog.item_skill_levels_csc
    rows = []
    for j, sid in enumerate(catalog.skill_ids):
        tagged = csc.indices[csc.indptr[j]:csc.indptr[j + 1]]
        active = tagged[catalog.active[tagged]]
        n_stale = int(stale[active].sum())
        if n_stale < len(active):
            continue
        skill = catalog.skills[sid]
        best = None
        if len(active):
            # freshest first, ties broken by item id so the answer is deterministic
            best = min(active, key=lambda i: (-fresh[i], catalog.items.ids[i]))
        rows.append({
            "skill_id": sid,
            "name": skill.name,
            "domain": skill.domain,
            "half_life_days": np.nan if skill.half_life_days is None else float(skill.half_life_days),
            "n_items": len(active),
            "n_stale": n_stale,
            "best_freshness": np.nan if best is None else float(fresh[best]),
            "freshest_item": None if best is None else catalog.items.ids[best],
        })
    gaps = pd.DataFrame(rows, columns=GAP_COLUMNS)
    if len(gaps):
        gaps = gaps.sort_values(["best_freshness", "skill_id"], na_position="first", kind="stable")
        gaps = gaps.reset_index(drop=True)
    return gaps.astype({"n_items": "int64", "n_stale": "int64", "half_life_days": "float64",
                        "best_freshness": "float64"})
