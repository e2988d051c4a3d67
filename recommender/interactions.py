"""Events -> the sparse matrices every model trains on.

One place turns the event log into three aligned CSR matrices over (users x items):

- ``matrix``: float32 confidence that a mentee valued an item (the training signal);
- ``dismissed``: bool, items a mentee dismissed and must never be shown again;
- ``seen``: bool, anything the mentee did something with (not bare impressions).

Confidence per (user, item) is the sum, over event types, of the strongest (most
recent, when decayed) event of that type: repeating a view does not inflate it, while
view + start + complete adds up. Impressions weigh 0 (being shown something is not
liking it); a dismissal that is more recent than every positive event removes the pair
from ``matrix``. Time enters only through ``now``, which is passed in.

``age_days`` (same sparsity as ``matrix``) holds, per pair, the age in days of its most
recent positive event at ``now`` (or at the latest event when ``now`` is not given): what
recency-weighted popularity (:mod:`recommender.models.recency`) decays by, with a
half-life each model chooses at fit time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from catalog.catalog import Catalog
from catalog.errors import ConfigError, UnknownItemError, UnknownUserError
from catalog.ids import IdMap
from catalog.schema import EVENT_TYPES, Mentee, parse_timestamp

__all__ = ["EventWeights", "Interactions", "UserInteractions", "build_interactions", "user_interactions",
           "user_id_map", "item_id_map", "build_id_maps"]

_REQUIRED = ("user_id", "item_id", "event_type", "timestamp")


class EventWeights(BaseModel):
    """How much each event type says about a mentee valuing an item.

    A ``like`` with a rating 1-5 weighs ``like + like_rating_step * (rating - 3)``
    (never below 0). ``dismiss`` is not a weight: dismissed pairs are removed from the
    positives and kept in :attr:`Interactions.dismissed`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    complete: float = Field(default=4.0, ge=0, description="finished the resource")
    like: float = Field(default=3.0, ge=0, description="liked it (a rating shifts this)")
    like_rating_step: float = Field(default=0.5, ge=0, description="added per rating point above 3")
    bookmark: float = Field(default=2.0, ge=0, description="saved it for later")
    assess: float = Field(default=2.0, ge=0, description="took an assessment on it")
    start: float = Field(default=1.5, ge=0, description="started it")
    view: float = Field(default=1.0, ge=0, description="opened it")
    impression: float = Field(default=0.0, ge=0, description="was shown it (0: not a positive)")

    def for_type(self, event_type: str) -> float:
        return 0.0 if event_type == "dismiss" else float(getattr(self, event_type))


@dataclass(frozen=True)
class Interactions:
    """Aligned (users x items) matrices built from events; see the module docstring."""

    matrix: sp.csr_matrix
    dismissed: sp.csr_matrix
    seen: sp.csr_matrix
    users: IdMap
    items: IdMap
    age_days: sp.csr_matrix | None = None  # same pattern as matrix: days since the pair's last positive event

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape  # type: ignore[return-value]

    def history(self, user_index: int) -> sp.csr_matrix:
        """The 1 x n_items confidence row of one user (what ``fold_in`` takes)."""
        return self.matrix[user_index]

    def exclusions(self, user_index: int, *, seen: bool = True) -> np.ndarray:
        """Item indices never to recommend to this user: dismissed, plus seen if asked."""
        rows = [self.dismissed[user_index].indices]
        if seen:
            rows.append(self.seen[user_index].indices)
        return np.unique(np.concatenate(rows)).astype(np.int64)

    def ages_for(self, matrix: sp.csr_matrix) -> sp.csr_matrix | None:
        """``age_days`` if it is aligned with ``matrix`` (same shape and sparsity), else None."""
        a = self.age_days
        if a is None or a.shape != matrix.shape or a.nnz != matrix.nnz:
            return None
        if not (np.array_equal(a.indptr, matrix.indptr) and np.array_equal(a.indices, matrix.indices)):
            return None
        return a


def user_id_map(events: pd.DataFrame, mentees: Iterable[Mentee] = ()) -> IdMap:
    """Users known from mentee profiles (in order) then from events (sorted)."""
    ids = [m.user_id for m in mentees]
    known = set(ids)
    extra = sorted(set(events["user_id"].astype(str)) - known) if len(events) else []
    return IdMap([*ids, *extra], error=UnknownUserError)


def item_id_map(events: pd.DataFrame, catalog: Catalog | None = None) -> IdMap:
    """The catalog's item map (so item indices align with catalog arrays), else the sorted event items."""
    if catalog is not None:
        return catalog.items
    ids = sorted(set(events["item_id"].astype(str))) if len(events) else []
    return IdMap(ids, error=UnknownItemError)


def build_id_maps(events: pd.DataFrame, *, catalog: Catalog | None = None,
                  mentees: Iterable[Mentee] = ()) -> tuple[IdMap, IdMap]:
    """``(users, items)`` for :func:`build_interactions`.

    Build them from *all* events (train and test) and mentee profiles, so mentees with
    no training history still get a row (an empty one: the cold-start slice).
    """
    return user_id_map(events, mentees), item_id_map(events, catalog)


def _check_events(events: pd.DataFrame) -> None:
    missing = [c for c in _REQUIRED if c not in events.columns]
    if missing:
        raise ConfigError(f"events frame lacks column(s) {missing}; expected {list(_REQUIRED)}")
    bad = sorted(set(events["event_type"].astype(str)) - set(EVENT_TYPES))
    if bad:
        raise ConfigError(f"unknown event type(s) {bad}; known: {list(EVENT_TYPES)}")


def _event_weights(events: pd.DataFrame, weights: EventWeights) -> np.ndarray:
    types = events["event_type"].to_numpy(dtype=object)
    table = {t: weights.for_type(t) for t in EVENT_TYPES}
    w = np.fromiter((table[t] for t in types), dtype=np.float64, count=len(types))
    if "value" in events.columns:
        rating = events["value"].to_numpy(dtype=np.float64, na_value=np.nan)
        is_rated_like = (types == "like") & ~np.isnan(rating)
        w = np.where(is_rated_like, np.maximum(w + weights.like_rating_step * (rating - 3.0), 0.0), w)
    return w


def _pairs(index: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of a (u, i) MultiIndex; empty arrays for an empty index of any kind."""
    if len(index) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return index.get_level_values(0).to_numpy(np.int64), index.get_level_values(1).to_numpy(np.int64)


def build_interactions(events: pd.DataFrame, *, users: IdMap, items: IdMap,
                       weights: EventWeights | None = None, now: datetime | str | None = None,
                       half_life_days: float | None = None, on_unknown: str = "raise") -> Interactions:
    """Turn an events frame into :class:`Interactions` over ``users`` x ``items``.

    Parameters
    ----------
    events : DataFrame
        Columns ``user_id, item_id, event_type, timestamp`` (``value`` optional).
    users, items : IdMap
        Row and column order (see :func:`build_id_maps`).
    weights : EventWeights
        Confidence per event type.
    now : datetime, optional
        Events after ``now`` are ignored (no peeking into the future); required with
        ``half_life_days``.
    half_life_days : float, optional
        Recency decay: an event ``a`` days before ``now`` weighs ``0.5 ** (a / half_life)``.
    on_unknown : {"raise", "drop"}
        What to do with events whose user or item is not in the maps.
    """
    weights = weights or EventWeights()
    if on_unknown not in ("raise", "drop"):
        raise ConfigError(f"on_unknown must be 'raise' or 'drop', got {on_unknown!r}")
    if half_life_days is not None and (now is None or half_life_days <= 0):
        raise ConfigError("recency decay needs now= and a positive half_life_days")
    _check_events(events)
    shape = (len(users), len(items))
    ts = pd.to_datetime(events["timestamp"], utc=True)
    keep = np.ones(len(events), dtype=bool)
    now_ts = None
    if now is not None:
        now_ts = pd.Timestamp(parse_timestamp(now))
        keep &= (ts <= now_ts).to_numpy()
    u = users.indices(events["user_id"].astype(str).tolist(), missing="-1")
    i = items.indices(events["item_id"].astype(str).tolist(), missing="-1")
    if on_unknown == "raise":
        if (u[keep] < 0).any():
            raise UnknownUserError(sorted(set(events["user_id"].astype(str)[keep & (u < 0)])),
                                   "build the user map from every event (build_id_maps)")
        if (i[keep] < 0).any():
            raise UnknownItemError(sorted(set(events["item_id"].astype(str)[keep & (i < 0)])),
                                   "events may only name catalog items (or pass on_unknown='drop')")
    keep &= (u >= 0) & (i >= 0)
    ev = pd.DataFrame({
        "u": u[keep], "i": i[keep], "t": events["event_type"].to_numpy(dtype=object)[keep],
        "w": _event_weights(events, weights)[keep], "ts": ts.dt.tz_localize(None).to_numpy()[keep],
    })
    if half_life_days is not None and now_ts is not None:
        age_days = (now_ts.tz_localize(None).to_datetime64() - ev["ts"].to_numpy()) / np.timedelta64(1, "D")
        ev["w"] = ev["w"] * np.exp2(-np.maximum(age_days, 0.0) / half_life_days)

    def csr(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, dtype: type) -> sp.csr_matrix:
        m = sp.csr_matrix((vals.astype(dtype), (rows, cols)), shape=shape, dtype=dtype)
        m.sum_duplicates()
        m.eliminate_zeros()
        return m

    is_dismiss = (ev["t"] == "dismiss").to_numpy()
    is_positive = (ev["w"] > 0).to_numpy() & ~is_dismiss
    # Latest dismissal vs latest positive event per pair: the later one wins.
    last_dismiss = ev[is_dismiss].groupby(["u", "i"])["ts"].max()
    last_positive = ev[is_positive].groupby(["u", "i"])["ts"].max()
    both = last_dismiss.index.intersection(last_positive.index)
    revived = both[(last_positive.loc[both] > last_dismiss.loc[both]).to_numpy()]
    dismissed_idx = last_dismiss.index.difference(revived)
    per_type = ev[is_positive].groupby(["u", "i", "t"])["w"].max().groupby(level=["u", "i"]).sum()
    per_type = per_type[~per_type.index.isin(dismissed_idx)]
    matrix = csr(*_pairs(per_type.index), per_type.to_numpy(), np.float32)
    age_days = _ages(matrix, last_positive, now_ts if now_ts is not None else ev["ts"].max())
    dismissed = csr(*_pairs(dismissed_idx), np.ones(len(dismissed_idx)), bool)
    acted = (ev["t"] != "impression").to_numpy()
    seen = csr(ev["u"].to_numpy()[acted], ev["i"].to_numpy()[acted], np.ones(int(acted.sum())), bool)
    seen.data[:] = True
    return Interactions(matrix=matrix, dismissed=dismissed, seen=seen, users=users, items=items, age_days=age_days)


@dataclass(frozen=True)
class UserInteractions:
    """One user's row of :class:`Interactions`: ``history`` (1 x n_items), ``dismissed`` and ``seen`` indices."""

    history: sp.csr_matrix
    dismissed: np.ndarray
    seen: np.ndarray

    def exclusions(self, *, seen: bool = True) -> np.ndarray:
        """Same as :meth:`Interactions.exclusions` for this user."""
        rows = [self.dismissed, self.seen] if seen else [self.dismissed]
        return np.unique(np.concatenate(rows)).astype(np.int64)


def user_interactions(rows: Iterable[Sequence], *, items: IdMap,
                      weights: EventWeights | None = None) -> UserInteractions:
    """One user's :func:`build_interactions` row from ``(item_id, event_type, value, ts)`` tuples.

    The same rules (strongest event per type summed, a dismissal beats earlier positives,
    ``seen`` is anything but an impression; unknown items dropped, no recency decay) in
    plain Python: a serving request rebuilding one mentee's state from a few dozen events
    should not pay pandas' fixed cost (~20 ms) for it. ``ts`` is any totally ordered
    timestamp (``EventLog.user_rows`` gives microseconds); ``value`` is a like's rating
    or None/NaN.
    """
    weights = weights or EventWeights()
    table = {t: weights.for_type(t) for t in EVENT_TYPES}
    step = weights.like_rating_step
    best: dict[tuple[int, str], float] = {}
    last_dismiss: dict[int, object] = {}
    last_positive: dict[int, object] = {}
    seen: set[int] = set()
    for item_id, event_type, value, ts in rows:
        i = items.get(str(item_id))
        if i < 0:
            continue
        if event_type not in table:
            raise ConfigError(f"unknown event type {event_type!r}; known: {list(EVENT_TYPES)}")
        if event_type != "impression":
            seen.add(i)
        if event_type == "dismiss":
            if i not in last_dismiss or ts > last_dismiss[i]:  # type: ignore[operator]
                last_dismiss[i] = ts
            continue
        w = table[event_type]
        if event_type == "like" and value is not None and value == value:  # a rating (not NaN)
            w = max(w + step * (float(value) - 3.0), 0.0)
        if w <= 0:
            continue
        if i not in last_positive or ts > last_positive[i]:  # type: ignore[operator]
            last_positive[i] = ts
        key = (i, event_type)
        if w > best.get(key, 0.0):
            best[key] = w
    dismissed = {i for i, t in last_dismiss.items() if not (i in last_positive and last_positive[i] > t)}  # type: ignore[operator]
    conf: dict[int, float] = {}
    for (i, _), w in sorted(best.items()):  # types in sorted order, as the groupby sums them
        if i not in dismissed:
            conf[i] = conf.get(i, 0.0) + w
    cols = np.array(sorted(conf), dtype=np.int32)
    vals = np.array([conf[i] for i in cols.tolist()], dtype=np.float32)
    history = sp.csr_matrix((vals, cols, np.array([0, len(cols)], np.int32)), shape=(1, len(items)))
    return UserInteractions(history=history, dismissed=np.array(sorted(dismissed), np.int64),
                            seen=np.array(sorted(seen), np.int64))


def _ages(matrix: sp.csr_matrix, last_positive: pd.Series, now: pd.Timestamp | np.datetime64 | None
          ) -> sp.csr_matrix:
    """Days from each stored pair's latest positive event to ``now``, aligned with ``matrix``."""
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    ages = np.zeros(matrix.nnz, np.float32)
    if matrix.nnz and now is not None and not pd.isna(now):
        ref = pd.Timestamp(now)
        ref = (ref.tz_convert(None) if ref.tzinfo is not None else ref).to_datetime64()
        last = last_positive.reindex(pd.MultiIndex.from_arrays([rows, matrix.indices])).to_numpy()
        ages = np.maximum((ref - last) / np.timedelta64(1, "D"), 0.0).astype(np.float32)
    # Built on matrix's own index arrays so zeros (an event at ``now``) stay stored and aligned.
    return sp.csr_matrix((ages, matrix.indices.copy(), matrix.indptr.copy()), shape=matrix.shape)
