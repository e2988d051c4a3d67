"""Mentor matching for the service: rank mentors for a mentee, assign a cohort, persist it.

A thin layer over :class:`recommender.matching.MentorMatcher` that resolves the request's
ids (naming every unknown one, and saying so when a mentee has events but no profile),
counts places already taken from the persisted assignment, and writes assignments to
``<data_dir>/reports/mentor_assignment.csv`` atomically, in the format
``skillpath mentors assign --out`` writes and ``skillpath mentors rematch`` reads
(``user_id,mentor_id,mentor,score,coverage,needs``).

Assigning a cohort keeps the persisted mentor of every mentee outside the cohort and
counts those places as taken, so no mentor ever ends up over capacity in the file.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from catalog.catalog import World
from catalog.errors import UnknownUserError
from catalog.writers import atomic_write_csv
from catalog.schema import Mentee
from recommender.matching import MentorMatcher, RankedMentor, needs_from_goals, rank_mentors
from serving.errors import FieldError
from serving.schemas_mentors import (
    AssignmentPairOut, AssignmentQualityOut, MentorAssignRequest, MentorAssignResponse, MentorMatchRequest,
    MentorMatchResponse, RankedMentorOut,
)

__all__ = ["MentorsView", "ASSIGNMENT_FILE", "ASSIGNMENT_COLUMNS"]

log = logging.getLogger("skillpath.serving")

ASSIGNMENT_FILE = "mentor_assignment.csv"
ASSIGNMENT_COLUMNS = ["user_id", "mentor_id", "mentor", "score", "coverage", "needs"]


class MentorsView:
    """Mentor endpoints over ``world``; ``has_events(user_id)`` tells a profile-less mentee from a stranger."""

    def __init__(self, world: World, reports_dir: str | Path, *, has_events: Callable[[str], bool],
                 matcher: MentorMatcher | None = None, infer: Callable[[str], Mentee | None] | None = None) -> None:
        self.world = world
        self.infer = infer  # a profile inferred from history, for mentees known only from their events
        self.matcher = matcher or MentorMatcher(world)
        self.path = Path(reports_dir) / ASSIGNMENT_FILE
        self.has_events = has_events
        self._lock = threading.Lock()
        self._cache: tuple[tuple[int, int, int], pd.DataFrame] | None = None

    def over(self, world: World) -> MentorsView:
        """This view over ``world``, which holds this one's skill graph, mentees and mentors (the same
        objects: a resource write): the matcher's tables and the assignment's cache are kept, so a catalog
        write does not rebuild what only a mentor, mentee or skill write changes."""
        new = copy.copy(self)
        new.world, new.matcher = world, copy.copy(self.matcher)
        new.matcher.world = world
        return new

    # ------------------------------------------------------------ the persisted assignment
    def forget(self, user_id: str) -> int:
        """Remove ``user_id``'s rows from the persisted assignment (forgetting a mentee); how many."""
        with self._lock:
            if not self.path.exists():
                return 0
            df = pd.read_csv(self.path, dtype=str, keep_default_na=False)
            if "user_id" not in df.columns:
                return 0
            gone = df["user_id"].str.strip() == user_id
            if gone.any():
                atomic_write_csv(df[~gone], self.path)
            return int(gone.sum())

    def assignment_rows(self) -> pd.DataFrame:
        """The persisted assignment (strings; empty when none), rows naming unknown mentees or mentors dropped."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return pd.DataFrame(columns=ASSIGNMENT_COLUMNS)
        stamp = (st.st_mtime_ns, st.st_ino, st.st_size)
        cached = self._cache
        if cached is not None and cached[0] == stamp:
            return cached[1]
        df = pd.read_csv(self.path, dtype=str, keep_default_na=False)
        if not {"user_id", "mentor_id"} <= set(df.columns):
            log.warning("%s has no user_id/mentor_id columns; ignoring it", self.path)
            df = pd.DataFrame(columns=ASSIGNMENT_COLUMNS)
        df = df.reindex(columns=ASSIGNMENT_COLUMNS, fill_value="")
        df["user_id"], df["mentor_id"] = df["user_id"].str.strip(), df["mentor_id"].str.strip()
        known = df["user_id"].isin(list(self.world.mentees)) & (
            df["mentor_id"].eq("") | df["mentor_id"].isin(list(self.world.mentors)))
        if not known.all():
            log.info("%s: ignoring %d row(s) naming mentees or mentors that are not in the world",
                        self.path, int((~known).sum()))
        df = df[known].drop_duplicates("user_id", keep="last").reset_index(drop=True)
        self._cache = (stamp, df)
        return df

    def pairs(self) -> dict[str, str | None]:
        """Mentee id -> persisted mentor id (None: unmatched)."""
        df = self.assignment_rows()
        return {u: (m or None) for u, m in zip(df["user_id"], df["mentor_id"])}

    def loads(self, *, without: Sequence[str] = ()) -> dict[str, int]:
        """Mentees each mentor has in the persisted assignment, not counting ``without``."""
        skip = set(without)
        return dict(Counter(m for u, m in self.pairs().items() if m is not None and u not in skip))

    # ------------------------------------------------------------ ids
    def check_mentees(self, user_ids: Sequence[str], field: str) -> None:
        """Raise one error naming every id without a profile (and which of them have events)."""
        bad = [u for u in dict.fromkeys(user_ids) if u not in self.world.mentees]
        if not bad:
            return
        with_events = [u for u in bad if self.has_events(u)]
        hint = "mentor matching needs a profile (goals and levels) in the mentees file of the data dir"
        if with_events:
            shown = ", ".join(repr(u) for u in with_events[:10])
            hint = (f"{shown} {'has' if len(with_events) == 1 else 'have'} events but no profile; " + hint)
        raise FieldError([field], UnknownUserError(bad, hint))

    # ------------------------------------------------------------ /mentors/match
    def match(self, req: MentorMatchRequest) -> MentorMatchResponse:
        inferred = None
        if req.user_id not in self.world.mentees and self.infer is not None:
            inferred = self.infer(req.user_id)
        if inferred is None:
            self.check_mentees([req.user_id], "user_id")
            needs = self.matcher.needs(req.user_id)
            ranked = self.matcher.rank(req.user_id, req.k, needs=needs, loads=self.loads(without=[req.user_id]))
        else:  # no profile: their next steps from what they worked on
            m = self.matcher
            needs = needs_from_goals(inferred, self.world.catalog.graph, half_life=m.half_life)
            ranked = rank_mentors(needs, inferred, m.mentors, req.k, loads=self.loads(without=[req.user_id]),
                                  weights=m.weights, skill_names=m.skill_names)
        return MentorMatchResponse(user_id=req.user_id, next_skills=[f"{n.skill_id}:{n.level}" for n in needs],
                                   assigned_mentor_id=self.pairs().get(req.user_id),
                                   mentors=[ranked_out(r) for r in ranked])

    # ------------------------------------------------------------ /mentors/assign
    def assign(self, req: MentorAssignRequest) -> MentorAssignResponse:
        if req.user_ids is not None:
            self.check_mentees(req.user_ids, "user_ids")
            cohort = sorted(set(req.user_ids))
        else:
            cohort = sorted(self.world.mentees)
        with self._lock:  # read-modify-write of the file, one at a time per worker
            before = self.assignment_rows()
            kept = before[~before["user_id"].isin(cohort)]
            taken = dict(Counter(m for m in kept["mentor_id"] if m))
            a, mat = self.matcher.assign(cohort, method=req.method, seed=req.seed, loads=taken)
            quality = self.matcher.quality(a, mat)
            cov = mat.part("coverage")
            pairs = []
            for u, (uid, j) in enumerate(zip(a.mentee_ids, a.mentor_of.tolist())):
                m = a.mentor_ids[j] if j >= 0 else None
                pairs.append(AssignmentPairOut(
                    user_id=uid, mentor_id=m, mentor=None if m is None else self.world.mentors[m].name,
                    score=None if m is None else round(float(mat.score[u, j]), 4),
                    coverage=None if m is None else round(float(cov[u, j]), 4), needs=int(mat.n_needs[u])))
            new = pd.DataFrame([{"user_id": p.user_id, "mentor_id": p.mentor_id or "", "mentor": p.mentor or "",
                                 "score": "" if p.score is None else str(p.score),
                                 "coverage": "" if p.coverage is None else str(p.coverage), "needs": str(p.needs)}
                                for p in pairs], columns=ASSIGNMENT_COLUMNS)
            rows = pd.concat([kept, new], ignore_index=True).sort_values("user_id", kind="stable")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_csv(rows[ASSIGNMENT_COLUMNS], self.path)
            self._cache = None
        q = quality.as_row()
        out_q = AssignmentQualityOut.model_validate({k: (round(v, 4) if isinstance(v, float) else v)
                                                     for k, v in q.items() if k in AssignmentQualityOut.model_fields})
        return MentorAssignResponse(method=a.method, pairs=pairs, quality=out_q,
                                    persisted=f"{self.path.parent.name}/{self.path.name}", persisted_rows=len(rows))


def ranked_out(r: RankedMentor) -> RankedMentorOut:
    m = r.match
    return RankedMentorOut(rank=r.rank, mentor_id=r.mentor_id, name=r.name, score=round(m.score, 4),
                           coverage=round(m.coverage, 4), free_places=r.free_places,
                           covered_skills=list(m.covered_skills), partial_skills=list(m.partial_skills),
                           reasons=list(m.reasons))
