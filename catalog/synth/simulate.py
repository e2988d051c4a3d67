"""The learner simulation: a year of sessions turned into impression/view/start/... events.

Day by day, mentees who are around (they join and churn) open a session with a
probability set by their motivation and weekly time. A session picks two focus skills
(toward their goals, weighted by how far they are from the target and how ready they
are for it), shows up to six resources on them (near their perceived level; popular,
high-quality and, above all in fast-moving skills, fresh content first; in English or
their own language, their own preferred), and walks them in order of appeal until the
session's time runs out: view, bookmark, start, then complete or dismiss. Long items (over 90 minutes) finish or get abandoned on a later day.
Every completion moves the hidden mastery through :class:`TrueLearningModel`; some are
followed by a like (often with a 1-5 rating) or an assessment score from true mastery.

Everything is vectorised over the mentees active on a day; one generator drives it all.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from catalog.catalog import Catalog
from catalog.freshness import freshness, resolve_half_lives
from catalog.schema import EVENT_TYPES, Mentee, Mentor
from catalog.synth.config import DAY_US, SynthConfig
from catalog.synth.content import ContentTruth
from catalog.synth.learning import TrueLearningModel, assessment_score
from catalog.synth.outcomes import (
    FADE_DAYS, FADE_FLOOR, FRUSTRATION_DECAY, FRUSTRATION_QUIT, QUIT_P, STALL_DAYS, RiskFactors, outcome_frame,
)
from catalog.synth.people import PERSONAS, PeopleTruth

__all__ = ["simulate", "EVENT_SOURCE"]

EVENT_SOURCE = "synth"
SEC = 1_000_000
HOUR = 3600 * SEC
_CODE = {t: np.int8(i) for i, t in enumerate(EVENT_TYPES)}
_N_FOCUS, _N_EXPLORE = 4, 2
_LONG_MINUTES = 90
_OWN_LANGUAGE = 0.8  # appeal of content in a non-English speaker's own language (English: -0.3)
_ASSESS_P = {"quiz": 0.9, "exercise": 0.7, "project": 0.5, "course": 0.4, "tutorial": 0.15}
INT64_MIN, INT64_MAX = np.iinfo(np.int64).min, np.iinfo(np.int64).max


def _sigmoid(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return 1.0 / (1.0 + np.exp(-x))


class _Events:
    """Column buffers of generated events (integer-coded until the end)."""

    def __init__(self) -> None:
        self.cols: dict[str, list[NDArray]] = {"u": [], "i": [], "t": [], "ts": [], "v": []}

    def add(self, users, items, etype: str, ts, value=None) -> None:
        n = len(users)
        if n == 0:
            return
        c = self.cols
        c["u"].append(np.asarray(users, dtype=np.int64))
        c["i"].append(np.asarray(items, dtype=np.int64))
        c["t"].append(np.full(n, _CODE[etype], dtype=np.int8))
        c["ts"].append(np.asarray(ts, dtype=np.int64))
        c["v"].append(np.full(n, np.nan) if value is None else np.asarray(value, dtype=np.float64))

    def frame(self, user_ids: NDArray, item_ids: NDArray, end_us: int) -> pd.DataFrame:
        if not self.cols["u"]:
            cat = {k: np.zeros(0, dtype=np.int64) for k in ("u", "i", "t", "ts")} | {"v": np.zeros(0)}
        else:
            cat = {k: np.concatenate(v) for k, v in self.cols.items()}
        ts = np.minimum(cat["ts"], end_us - 1)
        order = np.argsort(ts, kind="stable")  # insertion order breaks ties (impression before view)
        n = len(order)
        types = np.array(EVENT_TYPES, dtype=object)
        return pd.DataFrame({
            "event_id": np.array([f"e{k:09d}" for k in range(1, n + 1)], dtype=object),
            "user_id": user_ids[cat["u"][order]],
            "item_id": item_ids[cat["i"][order]],
            "event_type": types[cat["t"][order]],
            "value": cat["v"][order].astype(np.float64),
            "timestamp": pd.to_datetime(ts[order], unit="us", utc=True).astype("datetime64[us, UTC]"),
            "source": np.full(n, EVENT_SOURCE, dtype=object),
        })


class _Sim:
    """State of one simulation run; ``run`` advances it day by day."""

    def __init__(self, cat: Catalog, mentees: list[Mentee], people: PeopleTruth, content: ContentTruth,
                 model: TrueLearningModel, config: SynthConfig, rng: np.random.Generator,
                 factors: RiskFactors, outcome_rng: np.random.Generator) -> None:
        self.cat, self.model, self.config, self.rng = cat, model, config, rng
        self.factors, self.outcome_rng = factors, outcome_rng
        U, I, S = len(mentees), cat.n_items, cat.n_skills
        self.ev = _Events()
        # Items.
        self.pub_us = cat.published_us
        self.upd_us = cat.updated_us
        self.hl = resolve_half_lives(cat).days
        self.quality = content.quality
        self.dur = cat.duration_minutes.astype(np.float64)
        self.types = cat.types
        self.levels = cat.item_skill_levels.toarray()
        self.prim = cat.skill_ids.indices(content.primary)
        self.prim_level = self.levels[np.arange(I), self.prim]
        self.deact = np.full(I, INT64_MAX, dtype=np.int64)  # inactive items vanish at some point
        off = ~cat.active
        lo = np.maximum(self.pub_us[off], config.start_us)
        self.deact[off] = lo + (rng.random(int(off.sum())) * (config.end_us - lo)).astype(np.int64)
        csc = cat.item_skill_levels.tocsc()
        sizes = np.diff(csc.indptr)
        width = max(int(sizes.max(initial=0)), 1)
        self.pool = np.full((S, width), -1, dtype=np.int64)
        self.pool_lvl = np.zeros((S, width))
        for j in range(S):
            a, b = csc.indptr[j], csc.indptr[j + 1]
            self.pool[j, : b - a] = csc.indices[a:b]
            self.pool_lvl[j, : b - a] = csc.data[a:b]
        shl = cat.skill_half_life
        self.stale_w = np.where(np.isfinite(shl) & (shl < 400), 1.5, 0.4)  # fast skills: staleness repels
        langs = sorted({m.language or "en" for m in mentees} | {r.language for r in cat.resources} | {"en"})
        code = {lang: k for k, lang in enumerate(langs)}
        self.item_lang = np.array([code[r.language] for r in cat.resources])
        self.user_lang = np.array([code[m.language or "en"] for m in mentees])
        self.en = code["en"]
        type_code = {t: k for k, t in enumerate(sorted(set(cat.types) | {t for m in mentees for t in m.preferred_types}))}
        self.item_type = np.array([type_code[t] for t in cat.types])
        self.pref = np.zeros((U, len(type_code)), dtype=bool)
        for u, m in enumerate(mentees):
            self.pref[u, [type_code[t] for t in m.preferred_types]] = True
        # Mentees.
        self.minutes = np.array([m.minutes_per_week or 120 for m in mentees], dtype=np.float64)
        self.motivation = people.motivation
        self.hour = people.hour_utc
        self.mastery = people.mastery.copy()
        self.target = people.target
        domains = [cat.skills[s].domain for s in cat.skill_ids]
        aff = np.array([[PERSONAS[p].affinity.get(d, 0.03) for d in domains] for p in PERSONAS])
        self.curiosity = aff[people.persona]
        days = config.days
        self.join = np.where(rng.random(U) < 0.35, 0, rng.integers(0, days, U))
        # Background churn, shortened by the hidden risk factors (catalog/synth/outcomes.py).
        tenure = rng.exponential(60 + 250 * self.motivation) * factors.churn_scale()
        self.leave = self.join + tenure.astype(np.int64) + 1
        self.fade_days = np.clip((self.leave - self.join) / 2, 1, FADE_DAYS)
        self.frustration = np.zeros(U)       # too-hard dismissals and failed assessments, decaying
        self.frustrated = np.zeros(U, dtype=bool)
        self.frustration_quit = np.zeros(U, dtype=bool)
        self.completed = np.zeros(U, dtype=bool)
        self.mastery_recent = self.mastery.copy()   # snapshot STALL_DAYS before the end
        self.p_session = np.clip(0.012 + 0.15 * self.motivation * np.minimum(1.0, self.minutes / 300), 0, 0.5)
        self.seen = np.zeros((U, I), dtype=bool)   # started or dismissed: not shown again
        self.n_complete = np.zeros(I)
        self.pend = {"u": np.zeros(0, np.int64), "i": np.zeros(0, np.int64), "due": np.zeros(0, np.int64),
                     "ok": np.zeros(0, bool)}

    # ------------------------------------------------------------------ helpers
    def _fresh(self, day_us: int) -> NDArray[np.float64]:
        updated = (self.upd_us != INT64_MIN) & (self.upd_us <= day_us)
        ref = np.where(updated, self.upd_us, self.pub_us)
        return freshness((day_us - ref) / DAY_US, self.hl)

    def _complete(self, users, items, ts, fresh) -> None:
        """Emit completes (users unique), learn, then maybe a like and an assessment."""
        rng = self.rng
        self.ev.add(users, items, "complete", ts)
        self.n_complete[items] += 1
        m = self.mastery[users]
        zone = self.model.zone(self.prim_level[items] / 5 - m[np.arange(len(users)), self.prim[items]])
        self.mastery[users] = self.model.study(m, self.levels[items], fresh[items], rng,
                                               duration_minutes=self.dur[items])
        q = self.quality[items]
        like = rng.random(len(users)) < _sigmoid(-2.0 + 0.8 * q + 1.2 * zone)
        rating = np.clip(np.round(3.2 + 0.8 * q + 1.2 * (zone - 0.5) + rng.normal(0, 0.6, len(users))), 1, 5)
        rating = np.where(rng.random(len(users)) < 0.75, rating, np.nan)
        self.ev.add(users[like], items[like], "like", ts[like] + 20 * SEC, rating[like])
        p_assess = np.array([_ASSESS_P.get(t, 0.03) for t in self.types[items]])
        a = rng.random(len(users)) < p_assess
        if a.any():
            mm = self.mastery[users[a], self.prim[items[a]]]
            score = assessment_score(mm, self.prim_level[items[a]], rng)
            self.ev.add(users[a], items[a], "assess", ts[a] + 60 * SEC, score)
            np.add.at(self.frustration, users[a][score < 50], 1.0)

    def _due(self, d: int, day_us: int, fresh) -> None:
        """Finish (or abandon) long items due today, one round per repeated mentee."""
        p = self.pend
        now = p["due"] == d
        if not now.any():
            return
        u, i, ok = p["u"][now], p["i"][now], p["ok"][now]
        self.pend = {k: v[~now] for k, v in p.items()}
        ts = day_us + self.hour[u] * HOUR + self.rng.integers(0, 3 * HOUR, len(u))
        self.ev.add(u[~ok], i[~ok], "dismiss", ts[~ok])
        u, i, ts = u[ok], i[ok], ts[ok]
        rank = np.zeros(len(u), dtype=np.int64)  # occurrence number of each mentee
        order = np.argsort(u, kind="stable")
        su = u[order]
        first = np.r_[True, su[1:] != su[:-1]]
        idx = np.arange(len(su))
        rank[order] = idx - np.maximum.accumulate(np.where(first, idx, 0))
        for r in range(int(rank.max(initial=-1)) + 1):
            sel = rank == r
            self._complete(u[sel], i[sel], ts[sel], fresh)

    # ------------------------------------------------------------------ sessions
    def _candidates(self, A, skill, m, fresh, visible, k, exclude=None):
        """Top-``k`` items (by appeal plus Gumbel noise) on ``skill`` for each mentee in ``A``."""
        items = self.pool[skill]
        ok = items >= 0
        it = np.where(ok, items, 0)
        lvl = self.pool_lvl[skill]
        gap = lvl / 5 - m[np.arange(len(A)), skill][:, None]
        il = self.item_lang[it]
        ul = self.user_lang[A][:, None]
        lang_ok = (il == ul) | (il == self.en)
        util = (-0.5 * ((gap - 0.1) / 0.2) ** 2 + 0.5 * self.quality[it] + 0.15 * np.log1p(self.n_complete[it])
                + 0.6 * self.pref[A[:, None], self.item_type[it]]
                + _OWN_LANGUAGE * ((il == ul) & (ul != self.en)) - 0.3 * ((il == self.en) & (ul != self.en))
                + self.stale_w[skill][:, None] * np.log(fresh[it]))
        valid = ok & visible[it] & lang_ok & ~self.seen[A[:, None], it]
        if exclude is not None:
            valid &= ~(it[:, :, None] == exclude[:, None, :]).any(axis=2)
        keys = np.where(valid, util + self.rng.gumbel(size=util.shape), -np.inf)
        rows = np.arange(len(A))[:, None]
        if keys.shape[1] > k:
            part = np.argpartition(-keys, k - 1, axis=1)[:, :k]
            top = part[rows, np.argsort(-keys[rows, part], axis=1)]
        else:
            top = np.argsort(-keys, axis=1)[:, :k]
        return it[rows, top], np.where(np.isfinite(keys[rows, top]), util[rows, top], -np.inf), gap[rows, top]

    def _session(self, A, d: int, day_us: int, fresh, visible) -> None:
        rng = self.rng
        m = self.mastery[A]
        gap_t = np.clip(self.target[A] - m, 0, None)
        done = gap_t.max(axis=1) < 0.02
        quit_ = done & (rng.random(len(A)) < 0.5)  # goals reached: half of them leave
        self.leave[A[quit_]] = d
        self.completed[A[done]] = True
        A, m, gap_t = A[~quit_], m[~quit_], gap_t[~quit_]
        if len(A) == 0:
            return
        w = gap_t * (0.05 + self.model.readiness(m)) + 0.002 * self.curiosity[A]
        focus = np.argsort(-(np.log(w) + rng.gumbel(size=w.shape)), axis=1)[:, :2]
        it1, u1, g1 = self._candidates(A, focus[:, 0], m, fresh, visible, _N_FOCUS)
        it2, u2, g2 = self._candidates(A, focus[:, 1], m, fresh, visible, _N_EXPLORE, exclude=it1)
        items, util, gap = np.c_[it1, it2], np.c_[u1, u2], np.c_[g1, g2]
        order = np.argsort(-util, axis=1, kind="stable")  # the most appealing first
        rows = np.arange(len(A))[:, None]
        items, util, gap = items[rows, order], util[rows, order], gap[rows, order]
        valid = np.isfinite(util)
        clock = day_us + self.hour[A] * HOUR + rng.integers(0, 50 * 60 * SEC, len(A))
        for k in range(items.shape[1]):
            v = valid[:, k]
            self.ev.add(A[v], items[v, k], "impression", clock[v] + k * SEC)
        clock = clock + items.shape[1] * SEC
        budget = self.minutes[A] / 7 * rng.uniform(0.5, 2.0, len(A))
        for k in range(items.shape[1]):
            self._slot(A, items[:, k], util[:, k], gap[:, k], valid[:, k], clock, budget, d, fresh)

    def _slot(self, A, items, util, gap, valid, clock, budget, d, fresh) -> None:
        """One shown item per mentee: view? start? complete or dismiss? (clock, budget updated in place)."""
        rng = self.rng
        n = len(A)
        it = np.where(valid, items, 0)
        f = fresh[it]
        misfit = 2 * np.clip(np.abs(gap - 0.1) - 0.15, 0, 1) + 0.3 * self.stale_w[self.prim[it]] * (1 - f)
        here = valid & (budget > 0)
        view = here & (rng.random(n) < _sigmoid(np.where(valid, util, 0) - 0.3))
        skip_dismiss = here & ~view & (rng.random(n) < 0.02 + 0.2 * misfit)
        self.ev.add(A[skip_dismiss], it[skip_dismiss], "dismiss", clock[skip_dismiss] + 2 * SEC)
        self.seen[A[skip_dismiss], it[skip_dismiss]] = True
        clock[view] += rng.integers(10, 60, int(view.sum())) * SEC
        self.ev.add(A[view], it[view], "view", clock[view])
        bm = view & (rng.random(n) < 0.04 + 0.08 * (self.dur[it] > 120))
        self.ev.add(A[bm], it[bm], "bookmark", clock[bm] + 5 * SEC)
        start = view & (rng.random(n) < _sigmoid(1.0 + util))
        no_start = view & ~start
        drop = no_start & (rng.random(n) < 0.2 + 0.4 * misfit)
        self.ev.add(A[drop], it[drop], "dismiss", clock[drop] + 30 * SEC)
        self.seen[A[drop], it[drop]] = True
        budget[no_start] -= 1.0
        clock[no_start] += rng.integers(20, 90, int(no_start.sum())) * SEC
        clock[start] += 10 * SEC
        self.ev.add(A[start], it[start], "start", clock[start])
        self.seen[A[start], it[start]] = True
        # Outcome from the truth: too hard, too easy, stale or long content gets dropped.
        tg = self.prim_level[it] / 5 - self.mastery[A, self.prim[it]]
        logit = (1.2 + 0.5 * self.quality[it] - 6 * np.clip(tg - 0.3, 0, None) - 5 * np.clip(-tg - 0.1, 0, None)
                 - 1.5 * self.stale_w[self.prim[it]] * (1 - f) - 0.4 * np.clip(np.log(self.dur[it] / 60), 0, None))
        ok = rng.random(n) < _sigmoid(logit)
        too_hard = tg > 0.25
        hard = (skip_dismiss | drop | (start & ~ok)) & too_hard
        np.add.at(self.frustration, A[hard], 1.0)
        long_ = start & (self.dur[it] > _LONG_MINUTES)
        short = start & ~long_
        frac = np.where(ok, rng.uniform(0.8, 1.3, n), rng.uniform(0.1, 0.6, n))
        spent = self.dur[it] * frac
        end_ts = clock + (spent * 60 * SEC).astype(np.int64)
        sc, sd = short & ok, short & ~ok
        self.ev.add(A[sd], it[sd], "dismiss", end_ts[sd])
        if sc.any():
            self._complete(A[sc], it[sc], end_ts[sc], fresh)
        clock[short] = end_ts[short]
        budget[short] -= spent[short]
        if long_.any():  # finished (or abandoned) over the next days or weeks
            per_day = np.maximum(15.0, self.minutes[A[long_]] / 7 * 0.7)
            need = np.ceil(self.dur[it[long_]] / per_day)
            share = np.where(ok[long_], rng.uniform(0.8, 1.5, len(need)), rng.uniform(0.1, 0.7, len(need)))
            due = d + np.maximum(1, np.round(need * share)).astype(np.int64)
            p = self.pend
            self.pend = {"u": np.r_[p["u"], A[long_]], "i": np.r_[p["i"], it[long_]],
                         "due": np.r_[p["due"], due], "ok": np.r_[p["ok"], ok[long_]]}
            clock[long_] += 30 * 60 * SEC
            budget[long_] -= 30.0

    def _frustration(self, d: int, alive) -> None:
        """Frustration decays; a mentee over the bar may quit today (draws from the outcome stream)."""
        self.frustration *= FRUSTRATION_DECAY
        over = alive & (self.frustration >= FRUSTRATION_QUIT) & ~self.completed
        self.frustrated |= over
        quit_ = np.flatnonzero(over)
        if len(quit_):
            quit_ = quit_[self.outcome_rng.random(len(quit_)) < QUIT_P]
            self.leave[quit_] = d
            self.frustration_quit[quit_] = True

    def outcomes(self, mentees: list[Mentee], mentors: list[Mentor]):
        cfg = self.config
        gap_now = np.clip(self.target - self.mastery, 0, None)
        done_now = gap_now.max(axis=1) < 0.02
        gap_then = np.clip(self.target - self.mastery_recent, 0, None)
        return outcome_frame(mentees, mentors, self.factors, join=self.join, leave=self.leave,
                             completed=self.completed | (done_now & (self.leave >= cfg.days)),
                             frustration_quit=self.frustration_quit, frustrated=self.frustrated,
                             gain_recent=(gap_then - gap_now).sum(axis=1), days=cfg.days,
                             start_us=cfg.start_us, day_us=DAY_US)

    def run(self, progress: Callable[[str, int, int], None] | None) -> None:
        cfg, rng = self.config, self.rng
        U = len(self.mastery)
        for d in range(cfg.days):
            day_us = cfg.start_us + d * DAY_US
            fresh = self._fresh(day_us)
            visible = (self.pub_us <= day_us) & (self.deact > day_us)
            self._due(d, day_us, fresh)
            alive = (self.join <= d) & (d < self.leave)
            self._frustration(d, alive)
            if d == max(0, cfg.days - STALL_DAYS):
                self.mastery_recent = self.mastery.copy()
            fade = np.clip((self.leave - d) / self.fade_days, FADE_FLOOR, 1.0)   # engagement fades before leaving
            A = np.flatnonzero(alive & (rng.random(U) < self.p_session * fade))
            if len(A):
                self._session(A, d, day_us, fresh, visible)
            if progress is not None:
                progress("simulate", d + 1, cfg.days)


def simulate(cat: Catalog, mentees: list[Mentee], people: PeopleTruth, content: ContentTruth,
             model: TrueLearningModel, config: SynthConfig, rng: np.random.Generator, *,
             mentors: list[Mentor], factors: RiskFactors, outcome_rng: np.random.Generator,
             progress: Callable[[str, int, int], None] | None = None,
             ) -> tuple[pd.DataFrame, NDArray[np.float64], pd.DataFrame]:
    """Run the simulation; returns the events, the final true mastery (mentees x skills) and the outcomes."""
    sim = _Sim(cat, mentees, people, content, model, config, rng, factors, outcome_rng)
    sim.run(progress)
    user_ids = np.array([m.user_id for m in mentees], dtype=object)
    return sim.ev.frame(user_ids, cat.items.ids, config.end_us), sim.mastery, sim.outcomes(mentees, mentors)
