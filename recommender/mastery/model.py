"""A mentee's mastery over every skill (:class:`MasteryState`) and the model that moves it.

:class:`MasteryModel` holds per-skill BKT parameters (:class:`~recommender.mastery.bkt.BKTParams`),
seeds a state from self-assessed levels and applies a mentee's events in time order with
the rules of :mod:`recommender.mastery.bkt`. Optional forgetting pulls mastery above the
prior back toward it with a half-life. States are immutable, so a request can rebuild
one from the log and share it without locks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from catalog.catalog import Catalog
from catalog.errors import ConfigError
from catalog.ids import IdMap
from catalog.schema import SkillLevel
from recommender.mastery.bkt import (
    MASTERY_THRESHOLD, BKTParams, assess_update, complete_update, evidence_rows, level_of, mastered, prior_for_level,
)
from recommender.mastery.fit import fit_skill_params

__all__ = ["MasteryState", "MasteryModel", "CALIBRATED_PARAMS"]

#: The default BKT parameters, calibrated against a synthetic world's hidden true mastery (seed 100,
#: disjoint from the seed-7 world the figures are reported on): the (prior, learn) pair with the lowest
#: expected calibration error (benchmarks/mastery_calibration.py, docs/paths.md). BKTParams() (prior 0.1,
#: learn 0.1) over-estimated mastery by about twice the truth.
CALIBRATED_PARAMS = BKTParams(prior=0.05, learn=0.02)

_NEVER = np.iinfo(np.int64).min
_US_PER_DAY = 86_400e6


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
        Used for every skill that :meth:`fit` did not fit (too few assessments);
        :data:`CALIBRATED_PARAMS` unless given.
    forgetting_half_life_days : float or None
        If set, mastery above a skill's prior halves its excess over the prior every
        this many days without evidence. ``None`` (default) means no forgetting.
    min_assess_events : int
        Assessments a skill needs (over all mentees) before :meth:`fit` fits its params.
    threshold : float
        The mastery bar of the top level (see :func:`mastered`).
    """

    def __init__(self, default: BKTParams = CALIBRATED_PARAMS, *, forgetting_half_life_days: float | None = None,
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
        """``(prior, learn, slip, guess)`` arrays aligned with ``skill_ids`` (read-only).

        Remembered for the last ``skill_ids`` and parameters seen: every request reads them,
        and building them skill by skill costs more than the update they feed."""
        key = (skill_ids, self.params_, self.default, tuple(self.params.items()))
        hit = getattr(self, "_arrays", None)
        if hit is not None and hit[0][0] is key[0] and hit[0][1] is key[1] and hit[0][2:] == key[2:]:
            return hit[1]  # type: ignore[no-any-return]
        ps = [self.params_for(s) for s in skill_ids]
        arrays = tuple(np.array([getattr(b, f) for b in ps], dtype=np.float64)
                       for f in ("prior", "learn", "slip", "guess"))
        for a in arrays:
            a.flags.writeable = False
        self._arrays = (key, arrays)
        return arrays

    def advance(self, state: MasteryState, *, now: datetime, catalog: Catalog) -> MasteryState:
        """``state`` (the result of :meth:`update`) as of a later ``now`` with no new evidence: what
        :meth:`update` with no events returns, without reading any. Forgetting, if on, decays from
        ``state.as_of`` (exponential, so this equals one decay from the last evidence); a state that
        never saw evidence does not decay (as :meth:`update` from the initial state)."""
        if state.as_of is None or now < state.as_of:
            raise ConfigError(f"advance needs a state as of a time at or before now ({now}), got {state.as_of}")
        p = state.p
        if self.forgetting_half_life_days is not None and bool((state.n_evidence > 0).any()):
            prior = self.param_arrays(catalog.skill_ids)[0]
            p = self._decay(p, prior, (_us(now) - _us(state.as_of)) / _US_PER_DAY)
        return replace(state, p=p, as_of=now)

    def fit(self, events: pd.DataFrame, catalog: Catalog, *,
            self_levels: Mapping[str, Iterable[SkillLevel]] | None = None) -> MasteryModel:
        """Fit BKT params per skill by grid search on the predictive log-likelihood of
        assessment scores; skills with fewer than ``min_assess_events`` keep the default.
        ``self_levels`` (user -> levels) seeds those users' starting mastery."""
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
