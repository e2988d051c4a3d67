"""Mentoring sessions in the synthetic world, driven by a hidden pair quality.

The pairs are the world's one mentor assignment (``catalog.synth.outcomes.assign_mentors``,
drawn before the simulation, capacity-respecting, the outcomes' ``mentor_id``); each pair
is secretly *good* or *poor* (more often good when the mentor's domains cover the
mentee's goals) with a latent quality ``q`` in [0, 1] (Beta(5, 2) for good pairs,
Beta(2, 5) for poor ones, so the two overlap; a poor pair also shortens the mentee's
stay, the ``poor_mentoring`` cause). ``q`` sets,
each with its own noise: how often they meet and for how long the pairing lasts, the
ratings (many mentees give 5 whatever happened), how much the mentee talks and asks,
each side's tone, how many action items are agreed, and whether those items land on
skills the mentee then actually studies.

The learner events are never changed here: the sessions are drawn from their own random
stream *after* the simulation, and a good mentor's action items are aligned with what
the mentee goes on to study in the next 14 days (a good mentor's advice is the advice
that gets taken up), a poor one's mostly with the mentor's own topics. The truth
(``pairs``: quality and latent; ``session_truth``: each session's action-item skills)
is for evaluation only; the analysis never reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd

from catalog.catalog import World
from catalog.schema import Mentor
from catalog.sessions import Comments, Ratings, Session
from catalog.synth.config import SynthConfig
from catalog.synth.session_text import LABEL_STYLES, MENTEE_NAMES, TextDials, mentee_comment, write_session

__all__ = ["PROGRAMME_TARGET_PER_MONTH", "PAIR_TRUTH_COLUMNS", "SynthSessions", "make_sessions"]

PROGRAMME_TARGET_PER_MONTH = 2.0
PAIR_TRUTH_COLUMNS = ("mentor_id", "mentee_id", "quality", "latent", "paired_at", "ended_at", "sessions")
_ENGAGED = ("view", "start", "complete", "like", "bookmark", "assess")
_CHANNEL = {"video-call": "video", "chat": "chat", "code-review": "video", "pair-programming": "video",
            "group-session": "video"}
_DAY = 86_400


@dataclass(frozen=True)
class SynthSessions:
    """The public sessions and the hidden truth about each pair and session."""

    sessions: tuple[Session, ...]
    pairs: pd.DataFrame
    session_truth: pd.DataFrame


def _labels(style: str, mentor: Mentor, mentee_name: str) -> tuple[str, str]:
    first = (mentor.name or "Mentor").split()[0]
    return {
        "role": ("Mentor: ", "Mentee: "),
        "ROLE -": ("MENTOR - ", "MENTEE - "),
        "names": (f"{first}: ", f"{mentee_name}: "),
        "stamped": ("[{t}] Mentor: ", "[{t}] Mentee: "),
        "bold": ("**Mentor**: ", "**Mentee**: "),
    }[style]


class _Studied:
    """Per mentee, which skills they engaged with when (from the learner events, read only)."""

    def __init__(self, world: World, events: pd.DataFrame) -> None:
        cat = world.catalog
        ev = events[events["event_type"].isin(_ENGAGED)]
        self.item_skills = {r.item_id: tuple(s.skill_id for s in r.skills) for r in cat.resources}
        secs = (ev["timestamp"].astype("int64").to_numpy() // 1_000_000).astype(np.int64)
        users = ev["user_id"].to_numpy()
        order = np.lexsort((secs, users))
        users, secs, items = users[order], secs[order], ev["item_id"].to_numpy()[order]
        cuts = np.flatnonzero(users[1:] != users[:-1]) + 1
        starts, ends = np.r_[0, cuts], np.r_[cuts, len(users)]
        self.by_user = {users[a]: (secs[a:b], items[a:b]) for a, b in zip(starts, ends) if b > a}

    def skills(self, user: str, start: int, end: int) -> list[str]:
        """Skills of the items ``user`` engaged with in ``(start, end]`` (seconds), most touched first."""
        if user not in self.by_user:
            return []
        t, items = self.by_user[user]
        lo, hi = np.searchsorted(t, start, side="right"), np.searchsorted(t, end, side="right")
        counts: dict[str, int] = {}
        for item in items[lo:hi]:
            for s in self.item_skills.get(item, ()):
                counts[s] = counts.get(s, 0) + 1
        return sorted(counts, key=lambda s: -counts[s])


def _span(world: World, events: pd.DataFrame, config: SynthConfig) -> pd.DataFrame:
    """First and last event of each mentee who began more than three weeks before the end."""
    span = events.groupby("user_id")["timestamp"].agg(["min", "max"])
    latest = config.end - timedelta(days=21)
    return span[(span["min"] < latest) & span.index.isin(list(world.mentees))].sort_index()


def make_sessions(world: World, events: pd.DataFrame, config: SynthConfig, rng: np.random.Generator, *,
                  pairs: Sequence[tuple[Mentor, str, bool, float]]) -> SynthSessions:
    """The sessions of ``pairs`` (mentor, mentee, good, latent quality: the one assignment of
    :func:`catalog.synth.outcomes.assign_mentors`) up to ``config.end``, ids ``s000001...`` in time order."""
    cat = world.catalog
    skills = cat.skills
    studied = _Studied(world, events)
    end_s = int(config.end.timestamp())
    drafts: list[tuple[int, dict]] = []
    truth_rows, session_truth = [], []
    span = _span(world, events, config)
    for mentor, user, good, q in pairs:
        if user not in span.index:
            continue       # never active, or began in the last three weeks: no session yet
        first = int(span.at[user, "min"].timestamp()) + int(rng.integers(0, 21 * _DAY))
        stop = min(end_s, first + int(rng.exponential(120 + 300 * q) * _DAY) + _DAY,
                   int(span.at[user, "max"].timestamp()) + 14 * _DAY)
        if first >= end_s - 14 * _DAY:
            continue
        mentee = world.mentees[user]
        pool = list(dict.fromkeys([g.skill_id for g in mentee.goals] + [s.skill_id for s in mentor.skills]))
        style = LABEL_STYLES[int(rng.integers(len(LABEL_STYLES)))]
        name = MENTEE_NAMES[int(rng.integers(len(MENTEE_NAMES)))]
        labels = _labels(style, mentor, name)
        gap_days = 30.44 / PROGRAMME_TARGET_PER_MONTH / (0.35 + 0.9 * q)
        t, n_sessions, followed_last = first, 0, 1.0
        previous: tuple[str, ...] = ()
        while t < stop:
            hour = int(rng.integers(7, 20))
            start = t - t % _DAY + hour * 3600 + int(rng.integers(0, 2)) * 1800
            upcoming = studied.skills(user, start, start + 14 * _DAY)
            topics = tuple(dict.fromkeys(pool[int(i)] for i in rng.integers(0, len(pool), size=int(rng.integers(1, 3)))))
            actions = []
            for _ in range(min(3, int(rng.poisson(0.3 + 1.9 * q)))):
                aligned = upcoming and rng.random() < 0.15 + 0.7 * q
                actions.append(upcoming[int(rng.integers(min(3, len(upcoming))))] if aligned
                               else pool[int(rng.integers(len(pool)))])
            actions = list(dict.fromkeys(actions))
            dials = TextDials(
                mentee_share=float(np.clip(rng.normal(0.12 + 0.45 * q, 0.1), 0.03, 0.8)),
                mentee_positive=float(np.clip(rng.normal(0.3 + 0.55 * q, 0.2), 0.02, 0.98)),
                mentor_positive=float(np.clip(rng.normal(0.45 + 0.45 * q, 0.2), 0.02, 0.98)),
                questions=int(rng.poisson(0.4 + 2.4 * q)), topics=topics, actions=tuple(actions),
                followed_last=followed_last)
            mode = rng.random()
            text = write_session(dials, skills, mentor_label=labels[0], mentee_label=labels[1], mentee_name=name,
                                 rng=rng, with_transcript=mode < 0.7, previous=previous) if mode < 0.85 else None
            later = set(studied.skills(user, start, start + 14 * _DAY)) if actions else set()
            followed_last = sum(a in later for a in actions) / len(actions) if actions else 1.0
            previous = tuple(actions)
            drafts.append((start, {
                "mentor_id": mentor.mentor_id, "mentee_id": user, "started_at": start,
                "duration_minutes": int(np.clip(rng.normal(35 + 20 * q, 10), 15, 90)) // 5 * 5,
                "channel": _channel(mentor, rng), "text": text,
                "skills_discussed": topics if rng.random() < 0.35 else (),
                "record_actions": rng.random() < 0.25,
                "ratings": _ratings(q, rng), "comments": _comments(q, rng), "actions": tuple(actions)}))
            n_sessions += 1
            t = start + int(rng.gamma(3.0, gap_days / 3.0) * _DAY) + _DAY
        if n_sessions:  # the truth lists pairs that met at least once
            truth_rows.append((mentor.mentor_id, user, "good" if good else "poor", q, first, stop, n_sessions))
    sessions = []
    drafts.sort(key=lambda d: (d[0], d[1]["mentor_id"], d[1]["mentee_id"]))
    width = max(6, len(str(len(drafts))))
    for k, (start, d) in enumerate(drafts, start=1):
        sid = f"s{k:0{width}d}"
        text = d["text"]
        sessions.append(Session(
            sid, d["mentor_id"], d["mentee_id"], pd.Timestamp(start, unit="s", tz="UTC").to_pydatetime(),
            d["duration_minutes"], d["channel"], notes=text.notes if text else "",
            transcript=text.transcript if text else "", skills_discussed=tuple(d["skills_discussed"]),
            action_items=text.action_items if text and d["record_actions"] else (),
            ratings=d["ratings"], comments=d["comments"]))
        session_truth.append((sid, d["mentor_id"], d["mentee_id"], ";".join(d["actions"])))
    pairs_df = pd.DataFrame(truth_rows, columns=list(PAIR_TRUTH_COLUMNS))
    for col in ("paired_at", "ended_at"):
        pairs_df[col] = pd.to_datetime(pairs_df[col], unit="s", utc=True).astype("datetime64[us, UTC]")
    truth = pd.DataFrame(session_truth, columns=["session_id", "mentor_id", "mentee_id", "action_skills"])
    return SynthSessions(tuple(sessions), pairs_df, truth)


def _channel(mentor: Mentor, rng: np.random.Generator) -> str:
    if rng.random() < 0.08:
        return "phone" if rng.random() < 0.6 else "in-person"
    formats = [_CHANNEL.get(f, "video") for f in mentor.formats] or ["video"]
    return formats[int(rng.integers(len(formats)))]


def _ratings(q: float, rng: np.random.Generator) -> Ratings:
    """Ratings as programmes see them: often missing, inflated (many mentees give 5 whatever happened), noisy."""
    mentee = mentor = None
    if rng.random() < 0.65:
        mentee = 5 if rng.random() < 0.4 else int(np.clip(round(rng.normal(2.8 + 2.0 * q, 1.0)), 1, 5))
    if rng.random() < 0.4:
        mentor = int(np.clip(round(rng.normal(3.2 + 1.2 * q, 1.0)), 1, 5))
    return Ratings(mentee, mentor)


def _comments(q: float, rng: np.random.Generator) -> Comments:
    if rng.random() >= 0.2:
        return Comments()
    return Comments(mentee=mentee_comment(rng.random() < 0.25 + 0.6 * q, rng))
