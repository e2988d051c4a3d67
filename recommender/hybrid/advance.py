"""A mentee's filter-free hybrid half moved past events that change only the model's scores and what was seen.

Most events are views (the service's mix: nine in ten). A view is no evidence for mastery, credits no
completed work, is no assessment or dismissal, so after it the levels held, the readiness of every skill,
the planner's inputs and the goal and gap parts are what they were; only the model's scores (the user
vector folds the view in) and the items allowed (a seen item is excluded) change. :func:`advance_next_up`
takes the previous :class:`~recommender.hybrid.prepared.PreparedNextUp` of the mentee and those two, and
skips everything else :func:`~recommender.hybrid.prepared.prepare_next_up` would recompute.

Invariant: when it returns a half, that half equals ``prepare_next_up`` on the new events (same catalog,
bundle, mentee and goals) field for field as :meth:`PreparedNextUp.select` reads them; when any input it
cannot carry changed, it returns None and the caller rebuilds (``tests/recommender/hybrid/test_advance.py``
checks both against a rebuild after random events).
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Sequence
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from catalog.catalog import Catalog
from catalog.schema import Mentee
from recommender.hybrid.prepared import PreparedNextUp
from recommender.mastery import MasteryModel
from recommender.paths.replan import PRACTICE_SPACING_DAYS

__all__ = ["EVIDENCE_KINDS", "advance_next_up"]

#: Event types that move mastery, completion credit, failed assessments or the items never planned again.
EVIDENCE_KINDS = frozenset({"assess", "complete", "dismiss"})


def advance_next_up(prep: PreparedNextUp, *, mentee: Mentee, rows_before: Sequence[tuple], read_before: int,
                    rows: Sequence[tuple], read: int, now: datetime, cf_scores: NDArray[np.floating] | None,
                    allowed: NDArray[np.bool_], excluded_before: NDArray[np.int64], excluded: NDArray[np.int64],
                    mastery_model: MasteryModel,
                    spacing_days: float = PRACTICE_SPACING_DAYS) -> PreparedNextUp | None:
    """``prep`` (built on ``rows_before``, the first ``read_before`` of them read, at ``prep.now``) for ``rows``
    (``read`` read) at ``now``, with the new ``cf_scores`` (None: the same as ``prep``'s, e.g. the model
    folded the events in to the same user vector); None when it must be rebuilt.

    ``allowed`` must be the same base as ``prep``'s with ``excluded`` removed (what the service composes
    from one catalog view), ``excluded_before`` the items removed then. Carried when: ``mentee`` (with the
    goals) is the same, forgetting is off (without new evidence mastery then only moves its clock), the
    old rows are the first of the new, every row newly read is of a type outside :data:`EVIDENCE_KINDS` on
    an item the mentee never completed or was assessed on (its last touch decides when practice is due
    again), the exclusions only grew, the old scores were all finite, and between the two clocks no
    resource was published and no practice item became due.
    """
    cat = prep.catalog
    if (mastery_model.forgetting_half_life_days is not None or not prep.all_scored or now < prep.now
            or read < read_before or len(rows) < len(rows_before) or prep.mentee != mentee):
        return None
    if tuple(rows[:len(rows_before)]) != tuple(rows_before):
        return None
    practice = {r[0] for r in rows[:read_before] if r[1] in ("assess", "complete")}
    if any(r[1] in EVIDENCE_KINDS or r[0] in practice for r in rows[read_before:read]):
        return None
    before_us, now_us = _us(prep.now), _us(now)
    if now_us != before_us:
        pub = _published(cat)
        i = int(np.searchsorted(pub, before_us, side="right"))
        if i < len(pub) and pub[i] <= now_us:  # a resource published in (before, now]
            return None
        if practice:
            last: dict[str, int] = {}
            for r in rows[:read]:
                if r[0] in practice:
                    last[r[0]] = max(last.get(r[0], r[3]), r[3])
            spacing = int(spacing_days * 86_400e6)
            if any(before_us - spacing < t <= now_us - spacing for t in last.values()):
                return None
    if len(excluded_before) and not bool(np.isin(excluded_before, excluded, assume_unique=True).all()):
        return None
    u = prep.u
    if cf_scores is None:
        cf, all_scored = prep.cf, prep.all_scored
    else:
        cf_all = np.asarray(cf_scores, dtype=np.float64)
        cf, all_scored = cf_all[u], bool(np.isfinite(cf_all).all())
    ok = allowed[u] & np.isfinite(cf)
    ready, plannable = prep.ready & ok, prep.plannable & ok
    keep = ready | plannable
    if keep.all():
        return dataclasses.replace(prep, now=now, cf=cf, ready=ready, plannable=plannable, all_scored=all_scored)
    return dataclasses.replace(prep, now=now, u=u[keep], cf=cf[keep], ready=ready[keep], plannable=plannable[keep],
                               marked=prep.marked[keep], goal=prep.goal[keep], gap=prep.gap[keep],
                               all_scored=all_scored)


_PUBLISHED: weakref.WeakKeyDictionary[Catalog, NDArray[np.int64]] = weakref.WeakKeyDictionary()


def _published(catalog: Catalog) -> NDArray[np.int64]:
    """The catalog's publication times, sorted once per catalog (its arrays are never written)."""
    p = _PUBLISHED.get(catalog)
    if p is None:
        p = _PUBLISHED[catalog] = np.sort(catalog.published_us)
    return p


def _us(t: datetime) -> int:
    return int(t.timestamp() * 1_000_000)
