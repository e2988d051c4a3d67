"""Hidden outcomes of the synthetic world: who drops out or stalls, and why.

Four causes act on a mentee during the simulation, each through behaviour:

- ``low_time_budget``: under 90 minutes a week; sessions are short and progress slow,
  and they give up sooner (their churn time is scaled by 0.55);
- ``goal_too_far``: the total gap between where they start and what their goals need
  (prerequisites included) is in the top fifth of the cohort (churn time x 0.6);
- ``mentor_mismatch``: their mentor shares no domain with their goals (churn time x 0.7);
- ``poor_mentoring``: their pair is secretly *poor* (churn time x 0.8).

  Mentors are assigned once, before the simulation, by :func:`assign_mentors`, and that
  one assignment is the outcomes' ``mentor_id``, the mentoring sessions' pairs
  (``catalog/synth/sessions.py``) and what the monitor is given: each mentor takes
  mentees up to their capacity (a draw favouring mentees whose goals lie in the
  mentor's domains and who speak the mentor's language), so most mentees have no
  mentor. Each pair is *good* (probability 0.3 + 0.4 x the domain fit) or *poor*, with a
  latent quality in [0, 1] that drives its sessions;

  (the scales are then divided by their cohort mean, so mentees without a factor stay
  longer and the world's total activity changes little);
- ``content_too_hard``: frustration (dismissing content that is too hard for them,
  failing assessments), decaying by 3 % a day, reaches 5: each such day they quit with
  probability 1/4.

Whatever the cause, engagement fades before a mentee leaves: over the last
``FADE_DAYS`` (28, or half their stay if shorter) their daily chance of a session falls
linearly to a quarter of its usual value, as clicks fall before a withdrawal in real data (OULAD). A frustration
quit or leaving on reaching every target comes without that warning.

The outcome at the end: ``completed`` (reached every target), ``dropped`` (left before
the end without reaching them), ``stalled`` (still there, not done, and gained less than
0.02 of mastery toward their targets in the last 60 days), else ``active``. The cause of
a drop or a stall is the strongest cause present (a frustration quit is always
``content_too_hard``), else ``motivation`` (the background churn every mentee has).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from catalog.catalog import Catalog
from catalog.schema import Mentee, Mentor

__all__ = ["OUTCOME_COLUMNS", "CAUSES", "RiskFactors", "risk_factors", "assign_mentors", "outcome_frame",
           "FRUSTRATION_QUIT", "FRUSTRATION_DECAY", "QUIT_P", "STALL_DAYS", "FADE_DAYS", "FADE_FLOOR"]

OUTCOME_COLUMNS = ("user_id", "outcome", "cause", "joined_at", "left_at", "mentor_id",
                   "low_time_budget", "goal_too_far", "mentor_mismatch", "poor_mentoring", "frustrated")
# Strongest first: the order in which a cause is named when several are present.
CAUSES = ("content_too_hard", "low_time_budget", "goal_too_far", "mentor_mismatch", "poor_mentoring", "motivation")
_CHURN_SCALE = {"low_time_budget": 0.55, "goal_too_far": 0.6, "mentor_mismatch": 0.7, "poor_mentoring": 0.8}
LOW_MINUTES = 90
FRUSTRATION_QUIT = 5.0
FRUSTRATION_DECAY = 0.97
QUIT_P = 0.25
STALL_DAYS = 60
FADE_DAYS = 28
FADE_FLOOR = 0.25
STALL_GAIN = 0.02


@dataclass(frozen=True)
class RiskFactors:
    """Per-mentee hidden risk factors, the mentor each is assigned (-1: none), the pair's hidden quality."""

    low_time_budget: NDArray[np.bool_]
    goal_too_far: NDArray[np.bool_]
    mentor_mismatch: NDArray[np.bool_]
    mentor: NDArray[np.int64]
    poor_mentoring: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))
    pair_quality: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))   # NaN: no mentor
    pair_fit: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))       # goal domains the mentor covers

    def churn_scale(self) -> NDArray[np.float64]:
        """Multiplier of each mentee's background churn time, with mean 1 over the cohort.

        Mentees with risk factors leave sooner and the others later, so the world keeps
        about the same amount of activity as without the factors.
        """
        s = np.ones(len(self.mentor))
        for name, k in _CHURN_SCALE.items():
            s = np.where(getattr(self, name), s * k, s)
        return s / s.mean() if len(s) else s


def assign_mentors(cat: Catalog, mentees: list[Mentee], mentors: list[Mentor],
                   rng: np.random.Generator) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Capacity-respecting mentor assignment: ``(mentor index or -1, domain fit)`` per mentee.

    Mentors in a random order each take ``max(1, Binomial(capacity, 0.8))`` free mentees
    (never more than their capacity), drawn with weight 0.15 + fit + 0.3 x same language,
    where fit is the share of the mentee's goals in the mentor's domains.
    """
    n = len(mentees)
    mentor = np.full(n, -1, dtype=np.int64)
    fit_of = np.zeros(n)
    if not n or not mentors:
        return mentor, fit_of
    domains = sorted({s.domain for s in cat.skills.values()})
    d_index = {d: k for k, d in enumerate(domains)}
    goals = np.zeros((n, len(domains)))
    for r, m in enumerate(mentees):
        for g in m.goals:
            goals[r, d_index[cat.skills[g.skill_id].domain]] += 1
    goals /= np.maximum(goals.sum(axis=1, keepdims=True), 1)
    lang = np.array([m.language for m in mentees], dtype=object)
    free = np.ones(n, dtype=bool)
    for k in rng.permutation(len(mentors)).tolist():
        m = mentors[k]
        take = min(max(1, int(rng.binomial(m.capacity, 0.8))), int(free.sum()))
        if take <= 0:
            break
        mask = np.zeros(len(domains))
        for sk in m.skills:
            mask[d_index[cat.skills[sk.skill_id].domain]] = 1
        fit = goals @ mask
        keys = np.where(free, np.log(0.15 + fit + 0.3 * (lang == m.language)) + rng.gumbel(size=n), -np.inf)
        picked = np.argsort(-keys, kind="stable")[:take]
        free[picked] = False
        mentor[picked] = k
        fit_of[picked] = fit[picked]
    return mentor, fit_of


def risk_factors(cat: Catalog, mentees: list[Mentee], mentors: list[Mentor], mastery: NDArray[np.float64],
                 target: NDArray[np.float64], rng: np.random.Generator) -> RiskFactors:
    """Assign mentors (:func:`assign_mentors`), draw each pair's quality, derive the static risk factors."""
    n = len(mentees)
    minutes = np.array([m.minutes_per_week or 120 for m in mentees])
    gap = np.clip(target - mastery, 0, None).sum(axis=1)
    too_far = gap > np.quantile(gap, 0.8) if n else np.zeros(0, bool)
    mentor, fit = assign_mentors(cat, mentees, mentors, rng)
    has = mentor >= 0
    mismatch = has & (fit == 0)
    good = rng.random(n) < 0.3 + 0.4 * fit
    quality = np.where(good, rng.beta(5, 2, n), rng.beta(2, 5, n))
    return RiskFactors(minutes < LOW_MINUTES, too_far, mismatch, mentor, poor_mentoring=has & ~good,
                       pair_quality=np.where(has, quality, np.nan), pair_fit=fit)


def outcome_frame(mentees: list[Mentee], mentors: list[Mentor], factors: RiskFactors, *, join: NDArray[np.int64],
                  leave: NDArray[np.int64], completed: NDArray[np.bool_], frustration_quit: NDArray[np.bool_],
                  frustrated: NDArray[np.bool_], gain_recent: NDArray[np.float64], days: int,
                  start_us: int, day_us: int) -> pd.DataFrame:
    """The hidden outcome table (:data:`OUTCOME_COLUMNS`), one row per mentee."""
    left = leave < days
    dropped = left & ~completed
    stalled = ~left & ~completed & (gain_recent < STALL_GAIN)
    outcome = np.where(completed, "completed", np.where(dropped, "dropped", np.where(stalled, "stalled", "active")))
    cause = np.full(len(mentees), "", dtype=object)
    named = np.zeros(len(mentees), dtype=bool)
    present = {"content_too_hard": frustration_quit | (stalled & frustrated),
               "low_time_budget": factors.low_time_budget, "goal_too_far": factors.goal_too_far,
               "mentor_mismatch": factors.mentor_mismatch, "poor_mentoring": factors.poor_mentoring}
    for c in CAUSES[:-1]:
        hit = (dropped | stalled) & ~named & present[c]
        cause[hit] = c
        named |= hit
    cause[(dropped | stalled) & ~named] = "motivation"
    ts = lambda d: pd.to_datetime(start_us + d.astype(np.int64) * day_us, unit="us", utc=True)  # noqa: E731
    return pd.DataFrame({
        "user_id": np.array([m.user_id for m in mentees], dtype=object),
        "outcome": outcome.astype(object), "cause": cause,
        "joined_at": ts(join).astype("datetime64[us, UTC]"),
        "left_at": ts(np.minimum(leave, days)).where(left).astype("datetime64[us, UTC]"),
        "mentor_id": np.array([mentors[k].mentor_id if k >= 0 else "" for k in factors.mentor], dtype=object),
        "low_time_budget": factors.low_time_budget, "goal_too_far": factors.goal_too_far,
        "mentor_mismatch": factors.mentor_mismatch, "poor_mentoring": factors.poor_mentoring,
        "frustrated": frustrated,
    })
