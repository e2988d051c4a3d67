"""Assign a cohort of mentees to mentors with capacities: optimal, greedy and random.

:func:`assign_cohort` is optimal: it matches as many mentees as capacity allows
(``min(mentees, total free places)``) and, among those assignments, maximises the total
match score. Each mentor is expanded into one column per free place and the rectangular
problem is solved by ``scipy.optimize.linear_sum_assignment`` (which always matches the
smaller side completely). Mentees and mentors are put in id order first, so the result
depends only on ids and scores, never on input order: ties are broken by ids.

:func:`greedy_assign` (best remaining pair first) and :func:`random_assign` (seeded) are
the baselines; :func:`assignment_quality` measures any of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from catalog.schema import Mentee, Mentor
from recommender.matching.matrix import MatchMatrix

__all__ = [
    "Assignment", "AssignmentQuality", "METHODS", "assign_cohort", "greedy_assign", "random_assign",
    "assign", "assignment_quality",
]

METHODS = ("optimal", "greedy", "random")


@dataclass(frozen=True)
class Assignment:
    """``mentor_of[u]`` is the index in ``mentor_ids`` of mentee ``mentee_ids[u]``'s mentor (-1: none)."""

    mentee_ids: tuple[str, ...]
    mentor_ids: tuple[str, ...]
    mentor_of: NDArray[np.int64]
    method: str

    def pairs(self) -> dict[str, str | None]:
        """Mentee id -> mentor id (None when unmatched), in mentee order."""
        return {u: (self.mentor_ids[j] if j >= 0 else None) for u, j in zip(self.mentee_ids, self.mentor_of)}

    def loads(self) -> NDArray[np.int64]:
        """Mentees assigned to each mentor."""
        got = self.mentor_of[self.mentor_of >= 0]
        return np.bincount(got, minlength=len(self.mentor_ids)).astype(np.int64)

    @property
    def n_matched(self) -> int:
        return int((self.mentor_of >= 0).sum())

    def unmatched(self) -> list[str]:
        return [u for u, j in zip(self.mentee_ids, self.mentor_of) if j < 0]


@dataclass(frozen=True)
class AssignmentQuality:
    """How good an assignment is. Scores/coverage of unmatched mentees count as 0 in totals.

    ``needs_covered`` counts needs the assigned mentor covers (a partial cover counts
    ``partial_credit``); ``worst_score`` is the lowest score among matched mentees;
    ``utilisation`` is matched / total free places.
    """

    method: str
    mentees: int
    matched: int
    unmatched: int
    total_score: float
    mean_score: float
    worst_score: float
    total_coverage: float
    needs_covered: float
    needs_total: int
    uncovered_mentees: int
    utilisation: float

    def as_row(self) -> dict[str, float | int | str]:
        return dict(self.__dict__)


def _ids(items: Sequence[str] | Sequence[Mentee] | Sequence[Mentor], attr: str) -> tuple[str, ...]:
    out = tuple(str(getattr(x, attr)) if not isinstance(x, str) else x for x in items)
    if len(set(out)) != len(out):
        raise ValueError(f"duplicate ids among the {attr}s")
    return out


def _prepare(mentees: Sequence, mentors: Sequence, scores: ArrayLike, capacities: ArrayLike | None):
    u_ids, m_ids = _ids(mentees, "user_id"), _ids(mentors, "mentor_id")
    s = np.asarray(scores, dtype=np.float64)
    if s.shape != (len(u_ids), len(m_ids)):
        raise ValueError(f"scores has shape {s.shape}, expected ({len(u_ids)}, {len(m_ids)})")
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite")
    if capacities is None:
        if not all(isinstance(m, Mentor) for m in mentors):
            raise ValueError("capacities are required when mentors are given as ids")
        capacities = [m.capacity for m in mentors]
    cap = np.asarray(capacities, dtype=np.int64)
    if cap.shape != (len(m_ids),) or (cap < 0).any():
        raise ValueError(f"capacities must be {len(m_ids)} integers >= 0")
    # Canonical order: sorted ids, so ties are broken by id and input order never matters.
    uo = np.array(sorted(range(len(u_ids)), key=u_ids.__getitem__), dtype=np.int64)
    mo = np.array(sorted(range(len(m_ids)), key=m_ids.__getitem__), dtype=np.int64)
    return u_ids, m_ids, s, cap, uo, mo


def assign_cohort(mentees: Sequence, mentors: Sequence, scores: ArrayLike,
                  capacities: ArrayLike | None = None) -> Assignment:
    """The optimal assignment: most mentees matched, then the highest total score.

    Parameters
    ----------
    mentees, mentors : sequences of ids or of Mentee/Mentor
    scores : array (mentees x mentors), finite; higher is better
    capacities : free places per mentor (default: each Mentor's ``capacity``)
    """
    u_ids, m_ids, s, cap, uo, mo = _prepare(mentees, mentors, scores, capacities)
    mentor_of = np.full(len(u_ids), -1, dtype=np.int64)
    # More than one place per mentee is never useful: cap the columns at the cohort size.
    slots = np.repeat(mo, np.minimum(cap[mo], len(u_ids)))
    if len(u_ids) and len(slots):
        cost = s[np.ix_(uo, slots)]
        from scipy.optimize import linear_sum_assignment  # ~1.5 s of imports: only when a cohort is assigned

        rows, cols = linear_sum_assignment(cost, maximize=True)
        mentor_of[uo[rows]] = slots[cols]
    return Assignment(u_ids, m_ids, mentor_of, "optimal")


def greedy_assign(mentees: Sequence, mentors: Sequence, scores: ArrayLike,
                  capacities: ArrayLike | None = None) -> Assignment:
    """Baseline: take the best remaining (mentee, mentor) pair while places remain.

    Ties go to the smaller mentee id, then the smaller mentor id.
    """
    u_ids, m_ids, s, cap, uo, mo = _prepare(mentees, mentors, scores, capacities)
    n_u, n_m = len(u_ids), len(m_ids)
    mentor_of = np.full(n_u, -1, dtype=np.int64)
    left = cap.copy()
    target = min(n_u, int(cap.sum()))
    if target == 0:
        return Assignment(u_ids, m_ids, mentor_of, "greedy")
    u_rank = np.empty(n_u, dtype=np.int64)
    u_rank[uo] = np.arange(n_u)
    m_rank = np.empty(n_m, dtype=np.int64)
    m_rank[mo] = np.arange(n_m)
    uu, mm = np.divmod(np.arange(n_u * n_m, dtype=np.int64), n_m)
    order = np.lexsort((m_rank[mm], u_rank[uu], -s.ravel()))
    done = 0
    for u, m in zip(uu[order].tolist(), mm[order].tolist()):
        if mentor_of[u] < 0 and left[m] > 0:
            mentor_of[u] = m
            left[m] -= 1
            done += 1
            if done == target:
                break
    return Assignment(u_ids, m_ids, mentor_of, "greedy")


def random_assign(mentees: Sequence, mentors: Sequence, scores: ArrayLike,
                  capacities: ArrayLike | None = None, *, seed: int = 0) -> Assignment:
    """Baseline: mentees in random order take random free places (seeded, scores ignored)."""
    u_ids, m_ids, s, cap, uo, mo = _prepare(mentees, mentors, scores, capacities)
    rng = np.random.default_rng(seed)
    mentor_of = np.full(len(u_ids), -1, dtype=np.int64)
    slots = rng.permutation(np.repeat(mo, cap[mo]))
    who = uo[rng.permutation(len(uo))]
    n = min(len(who), len(slots))
    mentor_of[who[:n]] = slots[:n]
    return Assignment(u_ids, m_ids, mentor_of, "random")


def assign(matrix: MatchMatrix, method: str = "optimal", *, seed: int = 0) -> Assignment:
    """Assign the mentees of ``matrix`` to its mentors' free places with ``method``."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    args = (matrix.mentee_ids, matrix.mentor_ids, matrix.score, matrix.free_places)
    if method == "random":
        return random_assign(*args, seed=seed)
    return assign_cohort(*args) if method == "optimal" else greedy_assign(*args)


def assignment_quality(assignment: Assignment, matrix: MatchMatrix) -> AssignmentQuality:
    """Total and worst-off score, gap coverage, unmatched mentees and mentor utilisation.

    ``matrix`` must be the one the assignment was made from (same mentee and mentor ids).
    """
    if assignment.mentee_ids != matrix.mentee_ids or assignment.mentor_ids != matrix.mentor_ids:
        raise ValueError("assignment and matrix do not have the same mentees and mentors")
    u = np.flatnonzero(assignment.mentor_of >= 0)
    m = assignment.mentor_of[u]
    sc = matrix.score[u, m]
    cov = matrix.part("coverage")[u, m]
    places = int(matrix.free_places.sum())
    return AssignmentQuality(
        method=assignment.method,
        mentees=len(assignment.mentee_ids),
        matched=len(u),
        unmatched=len(assignment.mentee_ids) - len(u),
        total_score=float(sc.sum()),
        mean_score=float(sc.mean()) if len(u) else 0.0,
        worst_score=float(sc.min()) if len(u) else 0.0,
        total_coverage=float(cov.sum()),
        needs_covered=float((cov * matrix.n_needs[u]).sum()),
        needs_total=int(matrix.n_needs.sum()),
        uncovered_mentees=int(((cov == 0) & (matrix.n_needs[u] > 0)).sum()),
        utilisation=len(u) / places if places else 0.0,
    )
