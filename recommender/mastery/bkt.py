"""Bayesian Knowledge Tracing: the equations, per-skill parameters and the evidence they read.

Mastery ``p`` is the probability that the mentee has the skill; levels 1-5 are read off
it with :func:`level_of` / :func:`mastered` (level L is held when ``p >= L/5 * threshold``).
Events, in time order, move ``p``:

- ``assess`` (score x = value/100, item level L for the skill): the exact BKT posterior
  for a correct (x=1) or incorrect (x=0) answer, generalised to graded scores by
  Jeffrey's rule, then moved only a level-dependent fraction of the way (passing an
  easy test or failing a hard one says less), then the learn transition;
- ``complete``: the learn transition alone, scaled by how well the item's level fits
  (the next level up fits best);
- everything else (``dismiss``, ``view``, ...): no change.

The rules are vectorised (every argument broadcasts) so that the per-mentee model
(:mod:`recommender.mastery.model`) and the grid-search fit (:mod:`recommender.mastery.fit`)
run the same arithmetic. The maths, with worked numbers, is in ``docs/paths.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from catalog.errors import ConfigError, DataValidationError, RowError
from catalog.schema import MAX_LEVEL

__all__ = [
    "MASTERY_THRESHOLD",
    "SELF_LEVEL_CAP",
    "BKTParams",
    "level_of",
    "mastered",
    "prior_for_level",
    "level_weight",
    "level_fit",
    "assess_update",
    "complete_update",
    "evidence_rows",
]

MASTERY_THRESHOLD = 0.95  # the classic BKT "mastered" bar, applied to the top level
SELF_LEVEL_CAP = 0.99  # a self-assessed level 5 must stay movable by evidence


# ------------------------------------------------------------------ levels <-> mastery


def level_of(p: ArrayLike, threshold: float = MASTERY_THRESHOLD) -> NDArray[np.int64] | int:
    """The highest level L in 0..5 with ``p >= L/5 * threshold`` (0 = not even level 1)."""
    lv = np.clip(np.floor(np.asarray(p, dtype=np.float64) * MAX_LEVEL / threshold + 1e-9), 0, MAX_LEVEL)
    out = lv.astype(np.int64)
    return int(out) if out.ndim == 0 else out


def mastered(p: ArrayLike, level: ArrayLike, threshold: float = MASTERY_THRESHOLD) -> NDArray[np.bool_] | bool:
    """Whether mastery ``p`` holds ``level``: ``p >= level/5 * threshold``, i.e. ``level_of(p) >= level``
    (level 0 always holds)."""
    out = np.asarray(level_of(p, threshold)) >= np.asarray(level)
    return bool(out) if out.ndim == 0 else out


def prior_for_level(level: int) -> float:
    """Seed mastery for a self-assessed level: ``L/5``, capped at 0.99 (so ``level_of`` gives L back)."""
    return min(level / MAX_LEVEL, SELF_LEVEL_CAP)


def level_weight(level: ArrayLike, positive: ArrayLike) -> NDArray[np.float64]:
    """How far an assessment moves mastery: ``L/5`` for good news, ``(6-L)/5`` for bad news.

    Passing a level-5 test or failing a level-1 test is full evidence (weight 1);
    passing a level-1 test or failing a level-5 test is weak evidence (weight 0.2).
    """
    lv = np.asarray(level, dtype=np.float64)
    return np.where(positive, lv / MAX_LEVEL, (MAX_LEVEL + 1 - lv) / MAX_LEVEL)


def level_fit(level: ArrayLike, p: ArrayLike, threshold: float = MASTERY_THRESHOLD) -> NDArray[np.float64]:
    """How well an item's level suits the learner: ``2 ** -|L - (level_of(p) + 1)|``.

    1 for the next level up, 1/2 one level off, 1/4 two off, ...
    """
    nxt = np.asarray(level_of(p, threshold), dtype=np.float64) + 1.0
    return np.exp2(-np.abs(np.asarray(level, dtype=np.float64) - nxt))


# ------------------------------------------------------------------ the update rules


def assess_update(p: ArrayLike, x: ArrayLike, level: ArrayLike, *, slip: ArrayLike, guess: ArrayLike,
                  learn: ArrayLike) -> NDArray[np.float64]:
    """Mastery after an assessment with score ``x`` in [0, 1] on an item of ``level``.

    ``post1 = p(1-S) / (p(1-S) + (1-p)G)`` (correct), ``post0 = pS / (pS + (1-p)(1-G))``
    (incorrect); graded score by Jeffrey's rule ``pJ = x post1 + (1-x) post0``; level
    weighting ``p' = p + w (pJ - p)`` with :func:`level_weight`; then learning
    ``p'' = p' + (1-p') T``. Vectorised: every argument broadcasts.
    """
    p = np.asarray(p, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    s, g, t = (np.asarray(a, dtype=np.float64) for a in (slip, guess, learn))
    c1, c0 = p * (1.0 - s), (1.0 - p) * g
    i1, i0 = p * s, (1.0 - p) * (1.0 - g)
    post1 = c1 / (c1 + c0)
    post0 = i1 / (i1 + i0)
    pj = x * post1 + (1.0 - x) * post0
    w = level_weight(level, pj >= p)
    pw = p + w * (pj - p)
    return pw + (1.0 - pw) * t


def complete_update(p: ArrayLike, level: ArrayLike, *, learn: ArrayLike,
                    threshold: float = MASTERY_THRESHOLD) -> NDArray[np.float64]:
    """Mastery after completing an item of ``level``: ``p + (1-p) T fit`` (:func:`level_fit`)."""
    p = np.asarray(p, dtype=np.float64)
    return p + (1.0 - p) * np.asarray(learn, dtype=np.float64) * level_fit(level, p, threshold)



# ------------------------------------------------------------------ parameters


@dataclass(frozen=True, slots=True)
class BKTParams:
    """BKT parameters for one skill. All in (0, 1); ``slip + guess < 1`` (else answers
    would carry inverted evidence and the model is not identifiable)."""

    prior: float = 0.1
    learn: float = 0.1
    slip: float = 0.1
    guess: float = 0.2

    def __post_init__(self) -> None:
        for name in ("prior", "learn", "slip", "guess"):
            v = getattr(self, name)
            if not 0.0 < v < 1.0:
                raise ConfigError(f"BKT {name} must be in (0, 1), got {v}")
        if self.slip + self.guess >= 1.0:
            raise ConfigError(f"BKT slip + guess must be < 1, got {self.slip} + {self.guess}")

    def expected_score(self, p: ArrayLike) -> NDArray[np.float64]:
        """P(correct) = p(1-S) + (1-p)G: the score a learner at mastery ``p`` is expected to get."""
        p = np.asarray(p, dtype=np.float64)
        return p * (1.0 - self.slip) + (1.0 - p) * self.guess




def evidence_rows(events: pd.DataFrame, user_id: str | None, now_us: int) -> pd.DataFrame:
    """The assess/complete rows that count, in stable time order, with ``x`` = score/100."""
    if events is None or len(events) == 0:
        return pd.DataFrame({"user_id": [], "item_id": [], "event_type": [], "x": [], "ts_us": []})
    ev = events.reset_index(drop=True)
    value = ev["value"].to_numpy(dtype=np.float64)
    is_assess = (ev["event_type"] == "assess").to_numpy()
    mine = np.ones(len(ev), dtype=bool)
    if user_id is not None and "user_id" in ev.columns:
        mine = (ev["user_id"] == user_id).to_numpy()
    bad = mine & is_assess & ~((value >= 0) & (value <= 100))
    if bad.any():
        rows = np.flatnonzero(bad)[:20]
        raise DataValidationError(
            [RowError(int(r) + 1, "value", f"assess score {value[r]!r} must be in [0, 100]") for r in rows],
            source="events")
    ts_us = pd.to_datetime(ev["timestamp"], utc=True).astype("datetime64[us, UTC]").astype("int64").to_numpy()
    keep = mine & (is_assess | (ev["event_type"] == "complete").to_numpy()) & (ts_us <= now_us)
    ev, ts_us, value, is_assess = ev[keep], ts_us[keep], value[keep], is_assess[keep]
    order = np.argsort(ts_us, kind="stable")
    users = ev["user_id"].to_numpy() if "user_id" in ev.columns else np.full(len(ev), None, dtype=object)
    return pd.DataFrame({
        "user_id": users[order],
        "item_id": ev["item_id"].to_numpy()[order],
        "event_type": ev["event_type"].to_numpy()[order],
        "x": np.where(is_assess, value / 100.0, np.nan)[order],
        "ts_us": ts_us[order],
    })
