"""A realistic, deterministic synthetic mentorship world with a hidden truth.

``generate(SynthConfig(seed=7))`` builds ~240 skills in a prerequisite DAG, thousands of
resources published over six years, mentees with goals and mentors, a year of learner
events from a simulation whose hidden mastery moves according to
:class:`TrueLearningModel`, and mentoring sessions driven by a hidden pair quality.
The same config always gives the same world, to the byte: there is no wall clock (the
world ends at ``config.end``) and every random draw comes from generators seeded by
``config.seed``. See ``docs/synthetic.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from catalog.catalog import Catalog, World
from catalog.synth.config import DEFAULT_END, SynthConfig
from catalog.synth.content import make_resources
from catalog.synth.learning import LearningParams, TrueLearningModel, assessment_score, level_to_mastery
from catalog.synth.outcomes import CAUSES, OUTCOME_COLUMNS, risk_factors
from catalog.synth.people import make_mentees, make_mentors
from catalog.synth.sessions import PROGRAMME_TARGET_PER_MONTH, SynthSessions, make_sessions
from catalog.synth.simulate import EVENT_SOURCE, simulate
from catalog.synth.skills_data import build_skills, skill_specs

__all__ = [
    "SynthConfig", "SynthWorld", "generate", "TrueLearningModel", "LearningParams",
    "assessment_score", "level_to_mastery", "DEFAULT_END", "EVENT_SOURCE", "TRUTH_COLUMNS",
    "OUTCOME_COLUMNS", "CAUSES",
    "SynthSessions", "PROGRAMME_TARGET_PER_MONTH",
]

TRUTH_COLUMNS = ("user_id", "skill_id", "mastery_start", "mastery_end")

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SynthWorld:
    """A generated world: the public part (``world``, ``events``) and the hidden ``truth``.

    ``truth`` has one row per (mentee, skill) with the true mastery in [0, 1] at the
    start and at the end of the simulated period. ``outcomes`` has one row per mentee
    (:data:`OUTCOME_COLUMNS`): completed, dropped, stalled or active, the cause, when
    they joined and left, and their mentor (``catalog/synth/outcomes.py``). Both are for
    evaluation only: never train a model on ``truth``; ``outcomes`` are the labels of
    the at-risk model and of the alert evaluation, and ``mentor_id`` is what a platform
    would know anyway. ``sessions`` holds the mentoring sessions and their own hidden
    truth (each pair's quality), or None when the config turns them off.
    """

    world: World
    events: pd.DataFrame
    truth: pd.DataFrame
    config: SynthConfig
    outcomes: pd.DataFrame | None = None
    sessions: SynthSessions | None = None

    def learning_model(self, params: LearningParams | None = None) -> TrueLearningModel:
        """The true learning model over this world's catalog (the one the simulation used)."""
        return TrueLearningModel.from_catalog(self.world.catalog, params)


def generate(config: SynthConfig | None = None, *, progress: Progress | None = None) -> SynthWorld:
    """Generate the world described by ``config`` (defaults: 6,000 mentees, 5,000 items).

    ``progress(stage, done, total)`` is called as work advances (stages ``"world"`` and
    ``"simulate"``), for a progress bar.
    """
    config = config or SynthConfig()
    rngs = config.rngs()
    specs = skill_specs()
    skills = build_skills(specs, rngs["skills"])
    resources, content = make_resources(config, specs, skills, rngs["content"])
    if progress:
        progress("world", 1, 3)
    cat = Catalog(skills, resources)
    pop_by_id = {s.skill_id: s.popularity for s in specs}
    popularity = np.array([pop_by_id[s] for s in cat.skill_ids], dtype=np.float64)
    mentees, people = make_mentees(cat, popularity, n=config.n_mentees, start=config.start,
                                   days=config.days, rng=rngs["people"])
    mentors = make_mentors(cat, popularity, n=config.n_mentors, rng=rngs["people"])
    world = World(cat, {m.user_id: m for m in mentees}, {m.mentor_id: m for m in mentors})
    if progress:
        progress("world", 3, 3)
    model = TrueLearningModel.from_catalog(cat)
    factors = risk_factors(cat, mentees, mentors, people.mastery, people.target, rngs["outcomes"])
    events, mastery_end, outcomes = simulate(cat, mentees, people, content, model, config, rngs["simulation"],
                                             mentors=mentors, factors=factors, outcome_rng=rngs["outcomes"],
                                             progress=progress)
    n_users, n_skills = mastery_end.shape
    truth = pd.DataFrame({
        "user_id": np.repeat(np.array([m.user_id for m in mentees], dtype=object), n_skills),
        "skill_id": np.tile(cat.skill_ids.ids.copy(), n_users),
        "mastery_start": people.mastery.ravel(),
        "mastery_end": mastery_end.ravel(),
    })
    pairs = [(mentors[int(k)], mentees[u].user_id, not bool(factors.poor_mentoring[u]), float(factors.pair_quality[u]))
             for u, k in enumerate(factors.mentor.tolist()) if k >= 0]
    sessions = make_sessions(world, events, config, rngs["sessions"], pairs=pairs) if config.sessions else None
    return SynthWorld(world=world, events=events, truth=truth, config=config, outcomes=outcomes, sessions=sessions)
