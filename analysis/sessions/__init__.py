"""Mentoring sessions analysed: per session, per pair, with no model download and no I/O.

- :func:`analyse_session`: talk balance, each side's tone (VADER), the mentee's
  questions, action items (rules) and the skills mentioned (:class:`SkillVocabulary`);
- :class:`EngagementIndex`, :func:`follow_through`, :func:`skill_progress`: what the
  mentee did in the event log after a session;
- :func:`cadence`: sessions a month against the programme's target;
- :func:`pair_health`: a score in [0, 1] with its signals and feedback for the mentor;
- :func:`assess_pairs`: all of it for every pair at once.

See ``docs/sessions.md``.
"""

from analysis.sessions.actions import ActionItem, action_kind, is_action_item
from analysis.sessions.analyse import SessionAnalysis, SideSentiment, analyse_session, is_question
from analysis.sessions.cadence import Cadence, cadence
from analysis.sessions.engagement import (
    ENGAGED_TYPES,
    FOLLOW_WINDOW_DAYS,
    EngagementIndex,
    FollowThrough,
    FollowUp,
    Progress,
    follow_through,
    item_skill_map,
    skill_progress,
)
from analysis.sessions.feedback import mentor_feedback
from analysis.sessions.health import SIGNALS, HealthConfig, PairHealth, Signal, pair_health
from analysis.sessions.pairs import analyse_sessions, assess_pairs
from analysis.sessions.transcript import Transcript, Turn, parse_transcript
from analysis.sessions.vader import Vader

__all__ = [
    "ActionItem", "action_kind", "is_action_item",
    "SessionAnalysis", "SideSentiment", "analyse_session", "is_question",
    "Cadence", "cadence",
    "ENGAGED_TYPES", "FOLLOW_WINDOW_DAYS", "EngagementIndex", "FollowThrough", "FollowUp", "Progress",
    "follow_through", "item_skill_map", "skill_progress",
    "mentor_feedback",
    "SIGNALS", "HealthConfig", "PairHealth", "Signal", "pair_health",
    "analyse_sessions", "assess_pairs",
    "Transcript", "Turn", "parse_transcript",
    "Vader",
]
