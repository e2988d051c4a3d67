"""Point-in-time feature tables from the event log and the catalog (pandas in, Parquet out).

Every row is a snapshot stamped ``event_timestamp = T`` that describes only events
strictly before ``T``. Feast's point-in-time join picks, for a training row at ``t``,
the latest snapshot with ``T <= t``: so no event at or after ``t`` (the label itself, or
anything later) can leak into that row's features.

- ``mentee_engagement``: one row per mentee and snapshot, from the snapshot after the
  mentee's first activity (impressions are not activity).
- ``mentee_skill_state``: one row per (mentee, goal skill) at the first snapshot and
  at every snapshot where the value changed (a step function; TTL 0 in Feast).
  ``mastery`` is the BKT mastery (:class:`recommender.mastery.MasteryModel`) from the
  mentee's self-assessed level and their complete/assess events strictly before the
  snapshot, exactly what ``MasteryModel.update`` gives at that time.
- ``resource_stats``: one row per resource and snapshot once it is published.

Definitions (windows are ``[T - w, T)``): *activity* = view, start, complete, like,
bookmark, dismiss, assess; *engaged* = view, start, complete, like, bookmark;
``dismiss_rate`` = dismiss / (dismiss + engaged), 0 when both are 0;
``completion_rate`` = complete / max(start, complete), 0 when both are 0;
``current_streak_days`` = consecutive UTC days with activity ending on the day of
``T - 1µs`` or the day before (a streak survives until a whole day is missed).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from catalog.catalog import Catalog, World
from catalog.errors import ConfigError
from catalog.freshness import resolve_half_lives, freshness as freshness_fn
from catalog.writers import atomic_write_parquet
from features.engagement import ACTIVITY_TYPES, DAY_US, ENGAGED_TYPES, engagement_rows
from features.snapshots import default_snapshot_times, prepare_events
from features.snapshots import frame as _frame, grid as _grid, ragged as _ragged, ratio as _ratio
from features.snapshots import snapshot_us as _snapshot_us, to_us as _us
from features.status import status_rows
from features.tables import (
    MENTEE_ENGAGEMENT, MENTEE_SKILL_STATE, MENTEE_STATUS, RESOURCE_STATS, TIMESTAMP, TableSpec, table_path,
)
from recommender.mastery import MasteryModel, assess_update, complete_update, prior_for_level
from training.windows import PrefixIndex

__all__ = [
    "FeatureFrames",
    "ACTIVITY_TYPES",
    "ENGAGED_TYPES",
    "default_snapshot_times",
    "compute_feature_frames",
    "engagement_rows",
    "write_feature_frames",
    "prepare_events",
]


@dataclass
class FeatureFrames:
    """The feature tables, each with its entity keys, features and ``event_timestamp``."""

    mentee_engagement: pd.DataFrame
    mentee_skill_state: pd.DataFrame
    resource_stats: pd.DataFrame
    mentee_status: pd.DataFrame | None = None

    def items(self) -> Iterator[tuple[TableSpec, pd.DataFrame]]:
        yield MENTEE_ENGAGEMENT, self.mentee_engagement
        yield MENTEE_SKILL_STATE, self.mentee_skill_state
        yield RESOURCE_STATS, self.resource_stats
        if self.mentee_status is not None:
            yield MENTEE_STATUS, self.mentee_status




def _pair_mastery(pairs: list[tuple[str, str]], world: World, model: MasteryModel, idx: PrefixIndex,
                  etype: NDArray[np.object_], value: NDArray[np.float64], level: NDArray[np.float64]
                  ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """BKT mastery per pair before any event (``seed``) and after each event in ``idx``'s order.

    BKT updates each skill from that skill's evidence alone, so a (mentee, skill) pair is
    its own sequence; the k-th events of all pairs are applied together. Assessments
    without a score carry no evidence here (the feature counts skip them too).
    """
    cat = world.catalog
    prior, learn, slip, guess = model.param_arrays(cat.skill_ids)
    j = cat.skill_ids.indices([s for _, s in pairs])
    seed = prior[j].copy()
    for k, (u, s) in enumerate(pairs):
        for sl in world.mentees[u].self_levels:
            if sl.skill_id == s:
                seed[k] = prior_for_level(sl.level)
    o = idx.order
    keys, kind, x, lv = idx.keys, etype[o], value[o] / 100.0, level[o]
    rank = np.arange(len(keys)) - np.searchsorted(keys, keys, side="left")
    cur, after = seed.copy(), np.empty(len(keys))
    for r in range(int(rank.max(initial=-1)) + 1):
        at = np.flatnonzero(rank == r)
        g = keys[at]
        p, sk = cur[g], j[g]
        new = p.copy()
        a = (kind[at] == "assess") & ~np.isnan(x[at])
        c = kind[at] == "complete"
        new[a] = assess_update(p[a], x[at][a], lv[at][a], slip=slip[sk][a], guess=guess[sk][a], learn=learn[sk][a])
        new[c] = complete_update(p[c], lv[at][c], learn=learn[sk][c], threshold=model.threshold)
        cur[g] = new
        after[at] = new
    return seed, after


def _skill_state_rows(events: pd.DataFrame, world: World, snaps: NDArray[np.int64],
                      mastery_model: MasteryModel | None = None) -> pd.DataFrame:
    """``mentee_skill_state`` rows for every (mentee, goal skill) pair."""
    cat = world.catalog
    pairs = [(m.user_id, g.skill_id) for m in world.mentees.values() for g in m.goals if g.skill_id in cat.skill_ids]
    if not pairs or len(snaps) == 0:
        return _frame(MENTEE_SKILL_STATE, {"user_id": [], "skill_id": []}, {n: [] for n, _ in MENTEE_SKILL_STATE.features}, np.zeros(0, np.int64))
    ev = events[events["event_type"].isin(("complete", "assess"))]
    # Only the first completion of an item counts: re-doing a resource adds nothing.
    done = ev[ev["event_type"].eq("complete")].sort_values("timestamp", kind="stable")
    first_done = np.ones(len(events), dtype=bool)
    first_done[done.index[done.duplicated(["user_id", "item_id"]).to_numpy()]] = False
    first_done = first_done[ev.index]
    item = cat.items.indices(ev["item_id"].tolist(), missing="-1")
    keep = item >= 0
    ev, item, first_done = ev[keep], item[keep], first_done[keep]
    m = cat.item_skill_levels.tocsr()
    per = np.diff(m.indptr)[item]
    rows = np.repeat(np.arange(len(ev)), per)  # one row per (event, skill the item teaches)
    nz = np.repeat(m.indptr[item], per) + _ragged(per)
    skills = cat.skill_ids.ids[m.indices[nz]]
    levels = m.data[nz].astype(np.float64)
    users = ev["user_id"].to_numpy(dtype=object)[rows]
    pu = np.array([a for a, _ in pairs], dtype=object)
    ps = np.array([b for _, b in pairs], dtype=object)
    pkey = pd.MultiIndex.from_arrays([pu, ps]).get_indexer(pd.MultiIndex.from_arrays([users, skills]))
    sel = pkey >= 0
    rows, pkey, levels = rows[sel], pkey[sel].astype(np.int64), levels[sel]
    ts = _us(ev["timestamp"])[rows]
    etype = ev["event_type"].to_numpy(dtype=object)[rows]
    value = ev["value"].to_numpy(np.float64)[rows]
    idx = PrefixIndex(pkey, ts)
    # Rows: the first snapshot for every pair, then the snapshot after each change.
    change = np.searchsorted(snaps, ts, side="right")
    qk = np.concatenate([np.arange(len(pairs)), pkey[change < len(snaps)]])
    qs = np.concatenate([np.zeros(len(pairs), np.int64), change[change < len(snaps)]])
    q = np.unique(np.stack([qk, qs], axis=1), axis=0)
    g, t = q[:, 0], snaps[q[:, 1]]
    p = idx.positions(g, t)
    is_assess = (etype == "assess") & ~np.isnan(value)
    n_assess = idx.window(idx.prefix(is_assess), p)
    seed, after = _pair_mastery(pairs, world, mastery_model or MasteryModel(), idx, etype, value, levels)
    feats = {
        "mastery": np.where(p.count > 0, after[np.maximum(p.pos - 1, 0)] if len(after) else 0.0, seed[g]),
        "completed_resources": idx.window(idx.prefix((etype == "complete") & first_done[rows]), p),
        "assessment_count": n_assess,
        "assessment_avg": np.where(n_assess > 0, idx.window(idx.prefix(np.where(is_assess, value, 0.0)), p) / np.maximum(n_assess, 1), np.nan),
    }
    return _frame(MENTEE_SKILL_STATE, {"user_id": pu[g], "skill_id": ps[g]}, feats, t)


def _resource_rows(events: pd.DataFrame, catalog: Catalog, snaps: NDArray[np.int64]) -> pd.DataFrame:
    """``resource_stats`` rows for every published resource at every snapshot."""
    item = catalog.items.indices(events["item_id"].tolist(), missing="-1")
    ev, item = events[item >= 0], item[item >= 0]
    etype = ev["event_type"].to_numpy(dtype=object)
    value = ev["value"].to_numpy(np.float64)
    idx = PrefixIndex(item, _us(ev["timestamp"]))
    g, t = _grid(catalog.published_us - 1, snaps)  # rows from the first snapshot at or after publication
    now = idx.positions(g, t)
    w7, w30 = idx.positions(g, t - 7 * DAY_US), idx.positions(g, t - 30 * DAY_US)
    engaged = np.isin(etype, ENGAGED_TYPES)
    pre_engaged = idx.prefix(engaged)
    n_start, n_done = idx.window(idx.prefix(etype == "start"), now), idx.window(idx.prefix(etype == "complete"), now)
    n_dismiss, n_engaged = idx.window(idx.prefix(etype == "dismiss"), now), idx.window(pre_engaged, now)
    rated = (etype == "like") & ~np.isnan(value)
    n_rated = idx.window(idx.prefix(rated), now)
    # Age runs from the last update known at T: a later update is future information.
    upd, pub = catalog.updated_us[g], catalog.published_us[g]
    nat = np.iinfo(np.int64).min
    age = (t - np.where((upd != nat) & (upd <= t), upd, pub)) / DAY_US
    hl = resolve_half_lives(catalog).days[g]
    feats = {
        "popularity_7d": idx.window(pre_engaged, now, w7),
        "popularity_30d": idx.window(pre_engaged, now, w30),
        "completion_rate": _ratio(n_done, np.maximum(n_start, n_done)),
        "dismiss_rate": _ratio(n_dismiss, n_dismiss + n_engaged),
        "avg_rating": np.where(n_rated > 0, idx.window(idx.prefix(np.where(rated, value, 0.0)), now) / np.maximum(n_rated, 1), np.nan),
        "rating_count": n_rated,
        "age_days": age,
        "freshness": freshness_fn(age, hl),
    }
    return _frame(RESOURCE_STATS, {"item_id": catalog.items.ids[g]}, feats, t)


def compute_feature_frames(events: pd.DataFrame, world: World | Catalog, *,
                           snapshot_times: Sequence[datetime | str | pd.Timestamp] | None = None,
                           freq: str = "1D", mastery_model: MasteryModel | None = None,
                           status: bool = True, status_inputs: Any = None) -> FeatureFrames:
    """Compute the feature tables as point-in-time snapshots.

    Parameters
    ----------
    events : DataFrame
        Columns of :data:`catalog.schema.EVENT_COLUMNS`.
    world : World or Catalog
        A :class:`Catalog` alone gives an empty ``mentee_skill_state`` (it needs goals).
    snapshot_times : datetimes, optional
        When to take snapshots; default every ``freq`` from just after the first event
        to just after the last (:func:`default_snapshot_times`).
    mastery_model : MasteryModel, optional
        BKT parameters for the ``mastery`` feature (default ``MasteryModel()``; a fitted
        model gives per-skill parameters). Forgetting is not supported here: mastery
        would change between events, and this table only has rows where events change it.
    status : bool
        Also compute ``mentee_status`` (the monitor's status, :mod:`features.status`; needs a World);
        ``status_inputs(user_id, at_us)`` may add the mentor contact.
    """
    if mastery_model is not None and mastery_model.forgetting_half_life_days is not None:
        raise ConfigError("the mastery feature needs a MasteryModel without forgetting "
                          "(rows are written only when events change a value)")
    ev = prepare_events(events)
    snaps = _snapshot_us(snapshot_times, ev, freq)
    w = world if isinstance(world, World) else World(world, {}, {})
    return FeatureFrames(
        mentee_engagement=engagement_rows(ev, w.catalog, snaps),
        mentee_skill_state=_skill_state_rows(ev, w, snaps, mastery_model),
        resource_stats=_resource_rows(ev, w.catalog, snaps),
        mentee_status=status_rows(ev, w, snaps, inputs=status_inputs) if status and w.mentees else None,
    )


def write_feature_frames(frames: FeatureFrames, data_dir: str | Path) -> dict[str, Path]:
    """Write each table to ``<data_dir>/features/<table>.parquet`` atomically; returns the paths."""
    out: dict[str, Path] = {}
    for spec, df in frames.items():
        path = table_path(data_dir, spec)
        df = df.astype({TIMESTAMP: "datetime64[us, UTC]"})
        atomic_write_parquet(df, path)
        out[spec.name] = path
    return out
