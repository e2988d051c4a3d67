"""Per-mentee, per-skill mastery in [0, 1] by Bayesian Knowledge Tracing (BKT).

Each skill has four parameters (:class:`BKTParams`): ``prior`` P(L0), ``learn`` P(T),
``slip`` P(S) and ``guess`` P(G). Mastery ``p`` is the probability that the mentee has
the skill; levels 1-5 are read off it with :func:`level_of` / :func:`mastered`
(level L is held when ``p >= L/5 * threshold``). Events, in time order, move ``p``:

- ``assess`` (score x = value/100, item level L for the skill): the exact BKT posterior
  for a correct (x=1) or incorrect (x=0) answer, generalised to graded scores by
  Jeffrey's rule, then moved only a level-dependent fraction of the way (passing an
  easy test or failing a hard one says less), then the learn transition;
- ``complete``: the learn transition alone, scaled by how well the item's level fits
  (the next level up fits best);
- everything else (``dismiss``, ``view``, ...): no change.

Optional forgetting pulls mastery above the prior back toward it with a half-life.
The maths, with worked numbers, is in ``docs/paths.md``. Fitting lives in
:mod:`recommender.mastery_fit`; the update rules here are vectorised so that the fit
can run them over a whole parameter grid at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from catalog.catalog import Catalog
from catalog.errors import ConfigError, DataValidationError, RowError
from catalog.ids import IdMap
from catalog.schema import MAX_LEVEL, SkillLevel

__all__ = [
    "MASTERY_THRESHOLD",
    "SELF_LEVEL_CAP",
    "BKTParams",
    "MasteryState",
    "MasteryModel",
    "level_of",
    "mastered",
    "prior_for_level",
    "level_weight",
    "level_fit",
    "assess_update",
    "complete_update",
]

MASTERY_THRESHOLD = 0.95  # the classic BKT "mastered" bar, applied to the top level
SELF_LEVEL_CAP = 0.99  # a self-assessed level 5 must stay movable by evidence
_NEVER = np.iinfo(np.int64).min
_US_PER_DAY = 86_400e6


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


# ------------------------------------------------------------------ parameters and state


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


@dataclass(frozen=True)
class MasteryState:
    """One mentee's mastery over every skill of a catalog (arrays aligned with ``skill_ids``).

    ``p`` is mastery as of ``as_of``; ``last_update_us`` the time of the last evidence per
    skill (int64 µs, ``INT64_MIN`` = never); ``n_evidence`` how many assess/complete events
    touched each skill. Immutable: updates return a new state.
    """

    skill_ids: IdMap
    p: NDArray[np.float64]
    last_update_us: NDArray[np.int64]
    n_evidence: NDArray[np.int32]
    as_of: datetime | None = None
    user_id: str | None = None
    threshold: float = MASTERY_THRESHOLD
    seeded: Mapping[str, int] = field(default_factory=dict)

    def mastery(self, skill_id: str) -> float:
        return float(self.p[self.skill_ids.index(skill_id)])

    def level(self, skill_id: str) -> int:
        return int(level_of(self.mastery(skill_id), self.threshold))

    def levels(self) -> NDArray[np.int64]:
        return np.asarray(level_of(self.p, self.threshold), dtype=np.int64)

    def is_mastered(self, skill_id: str, level: int) -> bool:
        return bool(mastered(self.mastery(skill_id), level, self.threshold))

    def last_update(self, skill_id: str) -> datetime | None:
        us = int(self.last_update_us[self.skill_ids.index(skill_id)])
        return None if us == _NEVER else datetime.fromtimestamp(us / 1e6, tz=timezone.utc)

    def to_dict(self) -> dict[str, tuple[float, datetime | None]]:
        """``{skill_id: (p, last_update)}`` for the API."""
        return {s: (float(self.p[j]), self.last_update(s)) for j, s in enumerate(self.skill_ids)}

    def to_frame(self) -> pd.DataFrame:
        """One row per skill: ``skill_id, p, level, last_update, n_evidence`` (features, tables)."""
        never = self.last_update_us == _NEVER
        lu = pd.Series(pd.to_datetime(np.where(never, 0, self.last_update_us), unit="us", utc=True)).where(~never)
        return pd.DataFrame({
            "skill_id": self.skill_ids.to_list(),
            "p": self.p.copy(),
            "level": self.levels(),
            "last_update": lu.astype("datetime64[us, UTC]"),
            "n_evidence": self.n_evidence.copy(),
        })


def _us(ts: datetime) -> int:
    if ts.tzinfo is None:
        raise ConfigError(f"time {ts!r} must be timezone-aware (UTC)")
    return int(ts.timestamp() * 1_000_000)


# ------------------------------------------------------------------ the model


class MasteryModel:
    """BKT mastery tracking with per-skill parameters and optional forgetting.

    Parameters
    ----------
    default : BKTParams
        Used for every skill that :meth:`fit` did not fit (too few assessments).
    forgetting_half_life_days : float or None
        If set, mastery above a skill's prior halves its excess over the prior every
        this many days without evidence. ``None`` (default) means no forgetting.
    min_assess_events : int
        Assessments a skill needs (over all mentees) before :meth:`fit` fits its params.
    threshold : float
        The mastery bar of the top level (see :func:`mastered`).
    """

    def __init__(self, default: BKTParams = BKTParams(), *, forgetting_half_life_days: float | None = None,
                 min_assess_events: int = 50, threshold: float = MASTERY_THRESHOLD,
                 params: Mapping[str, BKTParams] | None = None) -> None:
        self.default = default
        self.forgetting_half_life_days = forgetting_half_life_days
        self.min_assess_events = min_assess_events
        self.threshold = threshold
        self.params = dict(params or {})
        self.params_: dict[str, BKTParams] = {}
        self.n_assess_: dict[str, int] = {}

    def _check(self) -> None:
        hl = self.forgetting_half_life_days
        if hl is not None and not hl > 0:
            raise ConfigError(f"forgetting_half_life_days must be positive or None, got {hl}")
        if not 0.0 < self.threshold <= 1.0:
            raise ConfigError(f"threshold must be in (0, 1], got {self.threshold}")
        if self.min_assess_events < 1:
            raise ConfigError(f"min_assess_events must be >= 1, got {self.min_assess_events}")

    def get_params(self) -> dict[str, object]:
        return {"default": self.default, "forgetting_half_life_days": self.forgetting_half_life_days,
                "min_assess_events": self.min_assess_events, "threshold": self.threshold,
                "params": dict(self.params)}

    def params_for(self, skill_id: str) -> BKTParams:
        """Fitted params, else explicitly given ones, else the default."""
        return self.params_.get(skill_id) or self.params.get(skill_id) or self.default

    def param_arrays(self, skill_ids: IdMap) -> tuple[NDArray[np.float64], ...]:
        """``(prior, learn, slip, guess)`` arrays aligned with ``skill_ids``."""
        ps = [self.params_for(s) for s in skill_ids]
        return tuple(np.array([getattr(b, f) for b in ps], dtype=np.float64)
                     for f in ("prior", "learn", "slip", "guess"))

    def fit(self, events: pd.DataFrame, catalog: Catalog, *,
            self_levels: Mapping[str, Iterable[SkillLevel]] | None = None) -> MasteryModel:
        """Fit BKT params per skill by grid search on the predictive log-likelihood of
        assessment scores; skills with fewer than ``min_assess_events`` keep the default.
        ``self_levels`` (user -> levels) seeds those users' starting mastery."""
        from recommender.mastery_fit import fit_skill_params  # keeps this module small

        self._check()
        self.params_, self.n_assess_ = fit_skill_params(
            events, catalog, min_assess=self.min_assess_events,
            threshold=self.threshold, self_levels=self_levels or {},
        )
        return self

    def initial_state(self, catalog: Catalog, *, user_id: str | None = None,
                      self_levels: Iterable[SkillLevel] = (), at: datetime | None = None) -> MasteryState:
        """Every skill at its prior; self-assessed levels seed ``p = L/5`` (capped at 0.99)."""
        self._check()
        prior = self.param_arrays(catalog.skill_ids)[0].copy()
        seeded: dict[str, int] = {}
        for sl in self_levels:
            prior[catalog.skill_ids.index(sl.skill_id)] = prior_for_level(sl.level)
            seeded[sl.skill_id] = sl.level
        n = catalog.n_skills
        if at is not None:
            _us(at)
        return MasteryState(catalog.skill_ids, prior, np.full(n, _NEVER, dtype=np.int64),
                            np.zeros(n, dtype=np.int32), at, user_id, self.threshold, seeded)

    def _decay(self, p: NDArray[np.float64], prior: NDArray[np.float64], days: float) -> NDArray[np.float64]:
        hl = self.forgetting_half_life_days
        if hl is None or days <= 0:
            return p
        f = 0.5 ** (days / hl)
        return np.where(p > prior, prior + (p - prior) * f, p)

    def update(self, state: MasteryState, events: pd.DataFrame, catalog: Catalog, *,
               now: datetime) -> MasteryState:
        """Apply ``events`` (sorted here by time; only this state's user if it has one; only
        those at or before ``now``) and return the new state as of ``now``.

        Events on items missing from the catalog are skipped (a resource may have been
        deleted since). Forgetting, if on, runs between events and up to ``now``; since
        it is exponential, decaying in several stretches equals decaying once.
        """
        self._check()
        if len(state.p) != catalog.n_skills:
            raise ConfigError(f"state has {len(state.p)} skills, the catalog {catalog.n_skills}: "
                              "build the state from the same catalog")
        now_us = _us(now)
        ev = evidence_rows(events, state.user_id, now_us)
        prior, learn, slip, guess = self.param_arrays(catalog.skill_ids)
        p = state.p.copy()
        last = state.last_update_us.copy()
        n_ev = state.n_evidence.copy()
        clock = _us(state.as_of) if state.as_of is not None else None
        m = catalog.item_skill_levels
        for item_id, kind, x, ts in zip(ev["item_id"], ev["event_type"], ev["x"], ev["ts_us"]):
            i = catalog.items.get(item_id)
            if i < 0:
                continue
            if clock is not None and ts > clock:
                p = self._decay(p, prior, (ts - clock) / _US_PER_DAY)
            clock = ts if clock is None else max(clock, ts)
            cols = m.indices[m.indptr[i]:m.indptr[i + 1]]
            lvls = m.data[m.indptr[i]:m.indptr[i + 1]]
            if kind == "assess":
                p[cols] = assess_update(p[cols], x, lvls, slip=slip[cols], guess=guess[cols], learn=learn[cols])
            else:
                p[cols] = complete_update(p[cols], lvls, learn=learn[cols], threshold=self.threshold)
            last[cols] = np.maximum(last[cols], ts)
            n_ev[cols] += 1
        if clock is not None and now_us > clock:
            p = self._decay(p, prior, (now_us - clock) / _US_PER_DAY)
        return MasteryState(state.skill_ids, p, last, n_ev, now, state.user_id, state.threshold, state.seeded)


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
