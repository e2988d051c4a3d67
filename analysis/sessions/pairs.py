"""Every pair at once: analyse the sessions, follow them up in the events, score each pair.

This is the one call the service, the CLI and the monitoring need: sessions (and
optionally the events and the catalog) in, one :class:`PairHealth` per mentor-mentee
pair out. Pure: the clock is ``now``; nothing is read or written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import pandas as pd

from analysis.sessions.analyse import SessionAnalysis, analyse_session
from analysis.sessions.engagement import EngagementIndex, follow_through, item_skill_map, skill_progress
from analysis.sessions.health import HealthConfig, PairHealth, pair_health
from analysis.vocabulary import SkillVocabulary
from catalog.catalog import Catalog
from catalog.schema import Mentor
from catalog.sessions import Session

__all__ = ["analyse_sessions", "assess_pairs"]

Pair = tuple[str, str]


def analyse_sessions(sessions: Iterable[Session], *, vocabulary: SkillVocabulary,
                     mentors: Mapping[str, Mentor] | None = None) -> dict[str, SessionAnalysis]:
    """Each session's analysis by session id; mentors' names let name-labelled transcripts be read."""
    mentors = mentors or {}
    out = {}
    for s in sessions:
        m = mentors.get(s.mentor_id)
        out[s.session_id] = analyse_session(s, vocabulary=vocabulary, mentor_name=m.name if m and m.name else None)
    return out


def assess_pairs(sessions: Iterable[Session], *, vocabulary: SkillVocabulary, now: datetime,
                 events: pd.DataFrame | None = None, catalog: Catalog | None = None,
                 mentors: Mapping[str, Mentor] | None = None, config: HealthConfig | None = None,
                 analyses: Mapping[str, SessionAnalysis] | None = None,
                 item_skills: Mapping[str, tuple[str, ...]] | None = None) -> dict[Pair, PairHealth]:
    """One :class:`PairHealth` per ``(mentor_id, mentee_id)``, as of ``now``.

    Without ``events`` and ``catalog`` there is no follow-through or progress signal.
    Progress is measured on the skills the pair's sessions mention or record, else on the
    mentor's skills (``mentors``). ``analyses`` reuses analyses already computed (by id);
    ``item_skills`` reuses :func:`item_skill_map` of ``catalog`` (a service keeps one per catalog).
    """
    cfg = config or HealthConfig()
    sessions = [s for s in sessions if s.started_at <= now]
    done = dict(analyses or {})
    missing = [s for s in sessions if s.session_id not in done]
    done.update(analyse_sessions(missing, vocabulary=vocabulary, mentors=mentors))
    by_pair: dict[Pair, list[SessionAnalysis]] = {}
    for s in sessions:
        by_pair.setdefault(s.pair, []).append(done[s.session_id])
    engaged = completed = None
    if events is not None and catalog is not None:
        table = item_skills if item_skills is not None else item_skill_map(catalog)
        users = {s.mentee_id for s in sessions}
        ev = events[events["user_id"].isin(users)]
        engaged = EngagementIndex(ev, table)
        completed = EngagementIndex(ev, table, event_types=("complete",))
    names = {sid: sk.name for sid, sk in catalog.skills.items()} if catalog is not None else {}
    out: dict[Pair, PairHealth] = {}
    for (mentor_id, mentee_id), group in by_pair.items():
        follow, progress = [], None
        if engaged is not None and completed is not None:
            follow = [follow_through(a, engaged, now=now, window_days=cfg.follow_window_days) for a in group]
            mentor = (mentors or {}).get(mentor_id)
            skills = list(dict.fromkeys(sid for a in group for sid in a.skills)) or \
                ([s.skill_id for s in mentor.skills] if mentor else [])
            first = min(a.started_at for a in group)
            progress = skill_progress(completed, mentee_id, skills, start=first, now=now)
        out[(mentor_id, mentee_id)] = pair_health(group, now=now, follow=follow, progress=progress,
                                                  skill_names=names, config=cfg)
    return out
