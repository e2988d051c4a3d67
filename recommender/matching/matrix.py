"""The match score of every mentee x mentor pair at once (numpy/scipy, no Python per pair).

Coverage-type parts are sums over needs of ``weight * credit(mentor level, target)``.
Splitting needs by target level ``t`` (1-5) turns each into sparse matrix products:

    part = sum_t  A_t @ B_t.T,   A_t[u, s] = weight of u's need in s if its target is t
                                 B_t[m, s] = [L[m, s] >= t] + partial * [L[m, s] == t - 1 > 0]

``A_t`` is sparse (a mentee has a handful of needs), ``B_t`` dense mentors x skills, so
thousands of mentees x hundreds of mentors take milliseconds. The numbers equal
:func:`recommender.matching.scoring.score_pair` pair by pair (tested).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from catalog.errors import UnknownMentorError
from catalog.schema import MAX_LEVEL, Mentee, Mentor
from recommender.matching.needs import Need
from recommender.matching.scoring import COMPONENTS, FORMAT_AFFINITY, MatchWeights, normalise_language

__all__ = ["MatchMatrix", "score_matrix", "resolve_loads"]

Loads = Mapping[str, int] | Sequence[int] | NDArray[np.integer] | None


@dataclass(frozen=True)
class MatchMatrix:
    """Scores (mentees x mentors) with their parts, aligned with the given id orders.

    ``parts[name]`` broadcasts to ``score.shape`` (``capacity`` is one row: it depends on
    the mentor only). ``n_needs`` per mentee; ``capacity``/``load`` per mentor.
    """

    mentee_ids: tuple[str, ...]
    mentor_ids: tuple[str, ...]
    score: NDArray[np.float64]
    parts: Mapping[str, NDArray[np.float64]]
    n_needs: NDArray[np.int64]
    capacity: NDArray[np.int64]
    load: NDArray[np.int64]

    @property
    def coverage(self) -> NDArray[np.float64]:
        return self.parts["coverage"]

    @property
    def free_places(self) -> NDArray[np.int64]:
        return np.maximum(self.capacity - self.load, 0)

    def part(self, name: str) -> NDArray[np.float64]:
        return np.broadcast_to(self.parts[name], self.score.shape)


def resolve_loads(loads: Loads, mentors: Sequence[Mentor]) -> NDArray[np.int64]:
    """Current mentees per mentor, aligned with ``mentors`` (a mapping by id or an array)."""
    if loads is None:
        return np.zeros(len(mentors), dtype=np.int64)
    if isinstance(loads, Mapping):
        ids = {m.mentor_id for m in mentors}
        unknown = sorted(k for k in loads if k not in ids)
        if unknown:
            raise UnknownMentorError(unknown, "loads name mentors that are not in the mentor list")
        return np.array([int(loads.get(m.mentor_id, 0)) for m in mentors], dtype=np.int64)
    arr = np.asarray(loads, dtype=np.int64)
    if arr.shape != (len(mentors),):
        raise ValueError(f"loads has shape {arr.shape}, expected ({len(mentors)},)")
    return arr


def score_matrix(needs: Sequence[Sequence[Need]], mentees: Sequence[Mentee], mentors: Sequence[Mentor], *,
                 loads: Loads = None, weights: MatchWeights | None = None) -> MatchMatrix:
    """Score every pair; ``needs[u]`` are the needs of ``mentees[u]`` (soonest first).

    ``loads``: mentees each mentor already has (mapping by mentor id, or an array aligned
    with ``mentors``); default none.
    """
    w = weights or MatchWeights()
    if len(needs) != len(mentees):
        raise ValueError(f"needs has {len(needs)} rows for {len(mentees)} mentees")
    n_u, n_m = len(mentees), len(mentors)
    load = resolve_loads(loads, mentors)
    capacity = np.array([m.capacity for m in mentors], dtype=np.int64)

    skills: dict[str, int] = {}
    m_rows, m_cols, m_lvls = [], [], []
    for j, m in enumerate(mentors):
        for sl in m.skills:
            m_rows.append(j)
            m_cols.append(skills.setdefault(sl.skill_id, len(skills)))
            m_lvls.append(sl.level)
    n_rows, n_cols, n_lvls, n_urg = [], [], [], []
    for u, row in enumerate(needs):
        for nd in row:
            n_rows.append(u)
            n_cols.append(skills.setdefault(nd.skill_id, len(skills)))
            n_lvls.append(nd.level)
            n_urg.append(nd.urgency)
    g_rows, g_cols, g_lvls = [], [], []
    for u, me in enumerate(mentees):
        for g in me.goals:
            g_rows.append(u)
            g_cols.append(skills.setdefault(g.skill_id, len(skills)))
            g_lvls.append(g.level)

    levels = np.zeros((n_m, len(skills)), dtype=np.int64)
    levels[np.asarray(m_rows, dtype=np.int64), np.asarray(m_cols, dtype=np.int64)] = m_lvls
    credit_t = _credit_tables(levels, w.partial_credit)

    nr = np.asarray(n_rows, dtype=np.int64)
    n_needs = np.bincount(nr, minlength=n_u).astype(np.int64)
    urg = np.asarray(n_urg, dtype=np.float64)
    urg_sum = np.bincount(nr, weights=urg, minlength=n_u)
    gr = np.asarray(g_rows, dtype=np.int64)
    n_goals = np.bincount(gr, minlength=n_u)
    nc, nl = np.asarray(n_cols, dtype=np.int64), np.asarray(n_lvls, dtype=np.int64)
    gc, gl = np.asarray(g_cols, dtype=np.int64), np.asarray(g_lvls, dtype=np.int64)
    shape = (n_u, len(skills))
    parts: dict[str, NDArray[np.float64]] = {
        "coverage": _credit_sum(nr, nc, nl, 1.0 / n_needs[nr], shape, credit_t),
        "urgency": _credit_sum(nr, nc, nl, urg / urg_sum[nr], shape, credit_t),
        "goal_alignment": _credit_sum(gr, gc, gl, 1.0 / n_goals[gr], shape, credit_t),
    }
    free = np.maximum(capacity - load, 0).astype(np.float64)
    parts["capacity"] = (free / (free + 1.0))[None, :]
    parts["language"] = _language(mentees, mentors)
    parts["timezone"] = _timezone(mentees, mentors)
    parts["format"] = _format(mentees, mentors)

    score = np.zeros((n_u, n_m), dtype=np.float64)
    for c in COMPONENTS:  # same order as MatchWeights.combine
        score += getattr(w, c) * parts[c]
    score /= w.total()
    return MatchMatrix(tuple(m.user_id for m in mentees), tuple(m.mentor_id for m in mentors), score,
                       parts, n_needs, capacity, load)


def _credit_tables(levels: NDArray[np.int64], partial: float) -> list[NDArray[np.float64]]:
    """``B_t`` (skills x mentors) for t = 1..5: credit a mentor earns on a target of t."""
    out = []
    for t in range(1, MAX_LEVEL + 1):
        b = (levels >= t).astype(np.float64)
        if t > 1 and partial:
            b += partial * (levels == t - 1)
        out.append(np.ascontiguousarray(b.T))
    return out


def _credit_sum(rows: NDArray[np.int64], cols: NDArray[np.int64], lvls: NDArray[np.int64],
                wts: NDArray[np.float64], shape: tuple[int, int],
                credit_t: list[NDArray[np.float64]]) -> NDArray[np.float64]:
    n_m = credit_t[0].shape[1]
    out = np.zeros((shape[0], n_m), dtype=np.float64)
    for t in range(1, MAX_LEVEL + 1):
        sel = lvls == t
        if not sel.any():
            continue
        a = sp.csr_matrix((wts[sel], (rows[sel], cols[sel])), shape=shape)
        out += a @ credit_t[t - 1]
    return out


def _language(mentees: Sequence[Mentee], mentors: Sequence[Mentor]) -> NDArray[np.float64]:
    vocab: dict[str, int] = {}
    a = np.array([vocab.setdefault(lang, len(vocab)) if (lang := normalise_language(m.language)) else -1
                  for m in mentees], dtype=np.int64)
    b = np.array([vocab.setdefault(lang, len(vocab)) if (lang := normalise_language(m.language)) else -1
                  for m in mentors], dtype=np.int64)
    same = (a[:, None] == b[None, :]).astype(np.float64)
    return np.where((a[:, None] < 0) | (b[None, :] < 0), 0.5, same)


def _timezone(mentees: Sequence[Mentee], mentors: Sequence[Mentor]) -> NDArray[np.float64]:
    a = np.array([np.nan if m.timezone is None else m.timezone for m in mentees], dtype=np.float64)
    b = np.array([np.nan if m.timezone is None else m.timezone for m in mentors], dtype=np.float64)
    d = np.abs(a[:, None] - b[None, :]) % 24
    d = np.minimum(d, 24 - d)
    return np.where(np.isnan(d), 0.5, 1.0 - d / 12.0)


def _format(mentees: Sequence[Mentee], mentors: Sequence[Mentor]) -> NDArray[np.float64]:
    prefs: dict[str, int] = {}
    p_rows, p_cols = [], []
    for u, me in enumerate(mentees):
        for p in sorted({p.strip().lower() for p in me.preferred_types if p.strip()}):
            p_rows.append(u)
            p_cols.append(prefs.setdefault(p, len(prefs)))
    n_pref = np.bincount(np.asarray(p_rows, dtype=np.int64), minlength=len(mentees))
    fmts = [{f.strip().lower() for f in m.formats if f.strip()} for m in mentors]
    suits = np.zeros((len(prefs), len(mentors)), dtype=np.float64)
    for p, i in prefs.items():
        ok = {p, *FORMAT_AFFINITY.get(p, ())}
        suits[i] = [bool(ok & f) for f in fmts]
    pr = np.asarray(p_rows, dtype=np.int64)
    a = sp.csr_matrix((1.0 / n_pref[pr], (pr, np.asarray(p_cols, dtype=np.int64))),
                      shape=(len(mentees), len(prefs)))
    fit = np.asarray(a @ suits) if len(prefs) else np.zeros((len(mentees), len(mentors)))
    has_f = np.array([bool(f) for f in fmts], dtype=bool)
    return np.where((n_pref[:, None] == 0) | ~has_f[None, :], 0.5, fit)
