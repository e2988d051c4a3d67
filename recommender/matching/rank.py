"""Mentors for one mentee (ranked, with reasons), and re-match suggestions for a cohort.

A re-match is suggested when a mentee has moved past what their mentor covers: the
mentor covers less than ``min_coverage`` of the mentee's next ``horizon`` needs (what
they will work on soon; a mentee with 20 open needs is not flagged for needs a year
away). Alternatives are mentors with a free place whose coverage of the same needs is
at least ``min_gain`` higher, best score first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from catalog.errors import UnknownMentorError, UnknownUserError
from catalog.schema import Mentee, Mentor
from recommender.matching.matrix import Loads, resolve_loads, score_matrix
from recommender.matching.needs import Need
from recommender.matching.scoring import MatchScore, MatchWeights, free_places, name_list, score_pair

__all__ = ["RankedMentor", "RematchSuggestion", "rank_mentors", "rematch_suggestions"]


@dataclass(frozen=True)
class RankedMentor:
    """A mentor proposed to a mentee: rank from 1, free places, and the scored match."""

    rank: int
    mentor_id: str
    name: str
    free_places: int
    match: MatchScore


@dataclass(frozen=True)
class RematchSuggestion:
    """Mentee ``user_id``'s mentor covers only ``coverage`` of their needs; ``alternatives`` fit better."""

    user_id: str
    mentor_id: str
    coverage: float
    reason: str
    alternatives: tuple[RankedMentor, ...]


def rank_mentors(needs: Sequence[Need], mentee: Mentee, mentors: Sequence[Mentor], k: int = 5, *,
                 loads: Loads = None, weights: MatchWeights | None = None,
                 skill_names: Mapping[str, str] | None = None, include_full: bool = False,
                 exclude: Sequence[str] = ()) -> list[RankedMentor]:
    """The ``k`` best mentors for ``mentee`` (best first; ties by mentor id), with reasons.

    Mentors without a free place are left out unless ``include_full``; mentor ids in
    ``exclude`` are always left out.
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    load = resolve_loads(loads, mentors)
    mat = score_matrix([needs], [mentee], mentors, loads=load, weights=weights)
    ok = np.ones(len(mentors), dtype=bool) if include_full else mat.free_places > 0
    if exclude:
        ok &= ~np.isin(np.array(mat.mentor_ids, dtype=object), list(exclude))
    cand = np.flatnonzero(ok)
    ids = np.array(mat.mentor_ids, dtype=object)[cand]
    order = cand[np.lexsort((ids, -mat.score[0, cand]))][:k]
    return [
        RankedMentor(r + 1, mentors[j].mentor_id, mentors[j].name, free_places(mentors[j].capacity, int(load[j])),
                     score_pair(needs, mentee, mentors[j], load=int(load[j]), weights=weights,
                                skill_names=skill_names))
        for r, j in enumerate(order.tolist())
    ]


def rematch_suggestions(pairs: Mapping[str, str | None], needs: Mapping[str, Sequence[Need]],
                        mentees: Mapping[str, Mentee], mentors: Mapping[str, Mentor], *,
                        weights: MatchWeights | None = None, skill_names: Mapping[str, str] | None = None,
                        min_coverage: float = 1 / 3, min_gain: float = 0.25, k: int = 3, horizon: int = 5,
                        current_levels: Mapping[str, Mapping[str, float]] | None = None
                        ) -> list[RematchSuggestion]:
    """Mentees whose mentor no longer covers their needs, with better mentors that have room.

    Parameters
    ----------
    pairs : mentee id -> current mentor id (None: no mentor; skipped)
    needs : mentee id -> current needs (soonest first); only the first ``horizon`` count.
        A mentee absent here or with no needs (goals met) is not flagged
    mentees, mentors : by id; loads are counted from ``pairs``
    current_levels : mentee id -> (skill id -> level), optional
        What each mentee knows now (default: their self-assessed levels); used only to
        say which of the mentor's skills the mentee has moved past.

    Raises
    ------
    UnknownUserError, UnknownMentorError
        ``pairs`` names a mentee or a mentor that is not known (all of them listed).
    """
    bad_u = sorted(u for u in pairs if u not in mentees)
    if bad_u:
        raise UnknownUserError(bad_u, "the assignment names mentees that are not in the mentees file")
    bad_m = sorted({m for m in pairs.values() if m is not None and m not in mentors})
    if bad_m:
        raise UnknownMentorError(bad_m, "the assignment names mentors that are not in the mentors file")
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    names = skill_names or {}
    all_needs = needs
    needs = {u: list(nds)[:horizon] for u, nds in needs.items()}
    load = Counter(m for m in pairs.values() if m is not None)
    flagged: list[tuple[str, MatchScore]] = []
    for uid in sorted(pairs):
        mid = pairs[uid]
        nds = needs.get(uid, ())
        if mid is None or not nds:
            continue
        cur = score_pair(nds, mentees[uid], mentors[mid], load=load[mid], weights=weights, skill_names=names)
        if cur.coverage < min_coverage:
            flagged.append((uid, cur))
    if not flagged:
        return []
    pool = list(mentors.values())
    mat = score_matrix([needs[u] for u, _ in flagged], [mentees[u] for u, _ in flagged], pool,
                       loads=dict(load), weights=weights)
    ids = np.array(mat.mentor_ids, dtype=object)
    out = []
    for row, (uid, cur) in enumerate(flagged):
        mid = pairs[uid]
        ok = (mat.free_places > 0) & (ids != mid) & (mat.part("coverage")[row] >= cur.coverage + min_gain)
        cand = np.flatnonzero(ok)
        order = cand[np.lexsort((ids[cand], -mat.score[row, cand]))][:k]
        alts = tuple(
            RankedMentor(r + 1, pool[j].mentor_id, pool[j].name, int(mat.free_places[j]),
                         score_pair(needs[uid], mentees[uid], pool[j], load=load[pool[j].mentor_id],
                                    weights=weights, skill_names=names))
            for r, j in enumerate(order.tolist())
        )
        levels = (current_levels or {}).get(uid)
        if levels is None:
            levels = {s.skill_id: s.level for s in mentees[uid].self_levels}
        out.append(RematchSuggestion(uid, str(mid), cur.coverage,
                                     _why(all_needs[uid], horizon, mentors[str(mid)], cur, levels, names,
                                          bool(alts)), alts))
    return out


def _why(needs: Sequence[Need], horizon: int, mentor: Mentor, cur: MatchScore, levels: Mapping[str, float],
         names: Mapping[str, str], any_alt: bool) -> str:
    """Why a re-match: what the mentor covers of the next needs, and where their other skills stand."""
    who = mentor.name or mentor.mentor_id
    window = [x.skill_id for x in needs][:horizon]
    n, k = len(window), len(cur.covered_skills)
    if k == 0:
        head = f"{who} does not cover your next skill" if n == 1 else f"{who} covers none of your {n} next skills"
    else:
        head = f"{who} covers only {k} of your {n} next skills"
    parts = [head, f"your next skills: {name_list(window, names)}"]
    later = {x.skill_id for x in needs[horizon:]}
    others = [s.skill_id for s in mentor.skills if s.skill_id not in window]
    groups = (
        ([s for s in others if s in later], "{who}'s {skills} come{s} later on your path"),
        ([s for s in others if s not in later and float(levels.get(s, 0)) > 0],
         "you already have what your goals need in {who}'s {skills}"),
        ([s for s in others if s not in later and float(levels.get(s, 0)) <= 0],
         "{who}'s {skills} {are} not on your path"),
    )
    for skills, text in groups:
        if skills:
            one = len(skills) == 1
            parts.append(text.format(who=who, skills=name_list(skills, names, 3), s="s" if one else "",
                                     are="is" if one else "are"))
    parts.append("better-fitting mentors with free places below" if any_alt
                 else "no mentor with a free place covers clearly more")
    return "; ".join(parts)
