"""One object for callers (the CLI, the service): matching over a loaded :class:`World`.

It resolves ids (unknown ones raise :class:`UnknownUserError`/:class:`UnknownMentorError`),
derives needs from goals unless needs are given, and passes skill names for reasons::

    matcher = MentorMatcher(world)
    matcher.rank("u00042", k=5)                  # list[RankedMentor], with reasons
    a, mat = matcher.assign(method="optimal")    # whole cohort, within capacities
    matcher.quality(a, mat)                      # AssignmentQuality
    matcher.rematch(a.pairs())                   # list[RematchSuggestion]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from catalog.catalog import World
from catalog.errors import UnknownMentorError, UnknownUserError
from catalog.schema import Mentee, Mentor
from recommender.matching.assign import Assignment, AssignmentQuality, assign, assignment_quality
from recommender.matching.matrix import Loads, MatchMatrix, score_matrix
from recommender.matching.needs import DEFAULT_HALF_LIFE, Need, needs_from_goals
from recommender.matching.rank import RankedMentor, RematchSuggestion, rank_mentors, rematch_suggestions
from recommender.matching.scoring import MatchScore, MatchWeights, score_pair

__all__ = ["MentorMatcher"]

Progress = Callable[[int, int], None]


class MentorMatcher:
    """Mentor matching over ``world``.

    Parameters
    ----------
    world : World
        Catalog (skill graph and names), mentees and mentors.
    weights : MatchWeights, optional
    mastery : mapping user_id -> (skill_id -> level 0-5), optional
        Current levels per mentee (e.g. from the mastery model, mastery x 5); mentees
        absent from it use their self-assessed levels.
    half_life : float
        Steps after which a need's urgency halves (see ``needs``).
    """

    def __init__(self, world: World, *, weights: MatchWeights | None = None,
                 mastery: Mapping[str, Mapping[str, float]] | None = None,
                 half_life: float = DEFAULT_HALF_LIFE) -> None:
        self.world = world
        self.weights = weights or MatchWeights()
        self.mastery = mastery or {}
        self.half_life = half_life
        self.skill_names = {sid: sk.name or sid for sid, sk in world.catalog.skills.items()}
        self.mentors: list[Mentor] = [world.mentors[m] for m in sorted(world.mentors)]

    # ------------------------------------------------------------- lookups
    def mentee(self, user_id: str) -> Mentee:
        return self.world.mentee(user_id)

    def mentees(self, user_ids: Sequence[str] | None = None) -> list[Mentee]:
        """Mentees by id (all, in id order, when None); every unknown id in one error."""
        if user_ids is None:
            return [self.world.mentees[u] for u in sorted(self.world.mentees)]
        bad = [u for u in user_ids if u not in self.world.mentees]
        if bad:
            raise UnknownUserError(bad, "see the mentees file of the data dir")
        return [self.world.mentees[u] for u in user_ids]

    def needs(self, user_id: str) -> list[Need]:
        """The mentee's unmet goals and prerequisites, soonest first."""
        return needs_from_goals(self.mentee(user_id), self.world.catalog.graph,
                                self.mastery.get(user_id), half_life=self.half_life)

    # ------------------------------------------------------------- one mentee
    def score(self, user_id: str, mentor_id: str, *, load: int = 0,
              needs: Sequence[Need] | None = None) -> MatchScore:
        mentee, mentor = self.mentee(user_id), self.world.mentor(mentor_id)
        return score_pair(self.needs(user_id) if needs is None else needs, mentee, mentor, load=load,
                          weights=self.weights, skill_names=self.skill_names)

    def rank(self, user_id: str, k: int = 5, *, needs: Sequence[Need] | None = None, loads: Loads = None,
             include_full: bool = False) -> list[RankedMentor]:
        """The ``k`` best mentors with a free place (``loads``: mentees each already has)."""
        mentee = self.mentee(user_id)
        return rank_mentors(self.needs(user_id) if needs is None else needs, mentee, self.mentors, k,
                            loads=loads, weights=self.weights, skill_names=self.skill_names,
                            include_full=include_full)

    # ------------------------------------------------------------- cohorts
    def matrix(self, user_ids: Sequence[str] | None = None, *, needs: Mapping[str, Sequence[Need]] | None = None,
               loads: Loads = None, progress: Progress | None = None) -> MatchMatrix:
        """Scores of ``user_ids`` (default: every mentee, id order) x all mentors (id order)."""
        mentees = self.mentees(user_ids)
        rows: list[Sequence[Need]] = []
        for i, m in enumerate(mentees):
            given = None if needs is None else needs.get(m.user_id)
            rows.append(self.needs(m.user_id) if given is None else given)
            if progress and (i + 1) % 500 == 0:
                progress(i + 1, len(mentees))
        return score_matrix(rows, mentees, self.mentors, loads=loads, weights=self.weights)

    def assign(self, user_ids: Sequence[str] | None = None, *, method: str = "optimal", seed: int = 0,
               loads: Loads = None, matrix: MatchMatrix | None = None) -> tuple[Assignment, MatchMatrix]:
        """Assign the cohort to the mentors' free places; returns the assignment and its matrix."""
        mat = matrix if matrix is not None else self.matrix(user_ids, loads=loads)
        return assign(mat, method, seed=seed), mat

    @staticmethod
    def quality(assignment: Assignment, matrix: MatchMatrix) -> AssignmentQuality:
        return assignment_quality(assignment, matrix)

    def rematch(self, pairs: Mapping[str, str | None], *, needs: Mapping[str, Sequence[Need]] | None = None,
                k: int = 3, min_coverage: float = 1 / 3, min_gain: float = 0.25,
                horizon: int = 5) -> list[RematchSuggestion]:
        """Suggestions for mentees whose mentor in ``pairs`` no longer covers their needs."""
        bad_u = sorted(u for u in pairs if u not in self.world.mentees)
        if bad_u:
            raise UnknownUserError(bad_u, "the assignment names mentees that are not in the mentees file")
        bad_m = sorted({m for m in pairs.values() if m is not None and m not in self.world.mentors})
        if bad_m:
            raise UnknownMentorError(bad_m, "the assignment names mentors that are not in the mentors file")
        given = needs or {}
        cur = {u: (given[u] if u in given else self.needs(u)) for u, m in pairs.items() if m is not None}
        return rematch_suggestions(pairs, cur, self.world.mentees, self.world.mentors, weights=self.weights,
                                   skill_names=self.skill_names, min_coverage=min_coverage,
                                   min_gain=min_gain, k=k, horizon=horizon,
                                   current_levels=self.mastery)
