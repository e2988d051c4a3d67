"""Pair health: one score in [0, 1] per mentor-mentee pair, with the signals behind it.

Seven signals, each scored in [0, 1] from a rule fixed in advance (``docs/sessions.md``
lists every one), combined as a weighted mean over the signals that have data (weights
tuned on the development worlds only: seeds 3 and 5, and 100-103 for duration's):

============== ====== ==============================================================
signal         weight score
============== ====== ==============================================================
cadence        0.04   sessions a month / target, capped at 1; halved after a gap of
                      more than twice the target interval
ratings        0.15   (mean recent rating - 1) / 4, + 0.1 x trend (last half - first)
sentiment      0.15   0.5 + recent tone (share of positive minus share of negative
                      sentences by VADER, mentee 2/3, mentor 1/3) + 0.5 x trend
engagement     0.35   mean of: mentee talk share (1 within 30-70 %, 0 at 10 % or 90 %),
                      mentee questions (2 a session = 1) and sessions with an action item
follow_through 0.04   (skills followed + 0.5) / (skills judged + 1), within 14 days;
                      a fortnight without any learning is not judged
progress       0.04   completions a month on the skills the sessions cover / 2, capped
duration       0.23   (mean recent session length - 15 min) / (60 - 15), capped: sessions
                      that keep ending early are a pair going through the motions
============== ====== ==============================================================

Nothing here reads a label or a truth: only the sessions, their analyses and the events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from analysis.sessions.analyse import SessionAnalysis
from analysis.sessions.cadence import Cadence, cadence
from analysis.sessions.engagement import FollowThrough, Progress
from analysis.sessions.config import HealthConfig
from analysis.sessions.feedback import mentor_feedback

__all__ = ["HealthConfig", "Signal", "PairHealth", "pair_health", "SIGNALS", "Status"]

SIGNALS: tuple[str, ...] = ("cadence", "ratings", "sentiment", "engagement", "follow_through", "progress",
                             "duration")
Status = Literal["healthy", "watch", "at risk", "no data"]


@dataclass(frozen=True, slots=True)
class Signal:
    """One signal: its score in [0, 1] (None without data), its weight, the raw figure and a reason."""

    name: str
    score: float | None
    weight: float
    value: float | None
    reason: str


@dataclass(frozen=True)
class PairHealth:
    """A pair's health score, status, signals and plain-words feedback for the mentor."""

    mentor_id: str
    mentee_id: str
    score: float | None
    status: Status
    sessions: int
    signals: tuple[Signal, ...]
    feedback: tuple[str, ...] = ()
    cadence: Cadence | None = None

    def signal(self, name: str) -> Signal:
        return next(s for s in self.signals if s.name == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mentor_id": self.mentor_id, "mentee_id": self.mentee_id,
            "score": None if self.score is None else round(self.score, 4), "status": self.status,
            "sessions": self.sessions,
            "signals": [{"name": s.name, "score": None if s.score is None else round(s.score, 4), "weight": s.weight,
                         "value": None if s.value is None else round(s.value, 4), "reason": s.reason}
                        for s in self.signals],
            "feedback": list(self.feedback),
        }


def _clip(x: float) -> float:
    return min(1.0, max(0.0, x))


def _trend(values: Sequence[float]) -> float:
    """Mean of the later half minus mean of the earlier half (0 with fewer than 3 values)."""
    if len(values) < 3:
        return 0.0
    h = len(values) // 2
    late, early = values[-h:], values[:h]
    return sum(late) / len(late) - sum(early) / len(early)


def _word(delta: float, eps: float) -> str:
    return "rising" if delta > eps else "falling" if delta < -eps else "steady"


def talk_score(share: float, cfg: HealthConfig) -> float:
    """1 inside the talk band, falling linearly to 0 at ``talk_floor`` below it and ``1 - talk_floor`` above."""
    lo, hi = cfg.talk_band
    if share < lo:
        return _clip((share - cfg.talk_floor) / (lo - cfg.talk_floor))
    if share > hi:
        return _clip((1 - cfg.talk_floor - share) / (1 - cfg.talk_floor - hi))
    return 1.0


def _cadence_signal(c: Cadence, w: float) -> Signal:
    score = _clip(c.ratio)
    late = c.days_since_last is not None and c.days_since_last > 2 * c.target_gap_days
    if late:
        score *= 0.5
    reason = (f"{c.per_month:.1f} sessions a month over the last {c.period_days:.0f} days "
              f"(target {c.target_per_month:g})" + (f"; none for {c.days_since_last:.0f} days" if late else ""))
    return Signal("cadence", score, w, c.per_month, reason)


def _ratings_signal(recent: Sequence[SessionAnalysis], w: float) -> Signal:
    per = []
    for a in recent:
        given = [r for r in (a.ratings.mentee, a.ratings.mentor) if r is not None]
        if given:
            per.append(sum(given) / len(given))
    if not per:
        return Signal("ratings", None, w, None, "no ratings yet")
    level, trend = sum(per) / len(per), _trend(per)
    return Signal("ratings", _clip((level - 1) / 4 + 0.1 * trend), w, level,
                  f"mean rating {level:.1f} over {len(per)} recent sessions, {_word(trend, 0.25)}")


def _tone(a: SessionAnalysis) -> float | None:
    """Share of positive minus share of negative sentences (mentee 2/3, mentor 1/3), else the mentee's comment."""
    me, mo = a.sentiment.get("mentee"), a.sentiment.get("mentor")
    if me is not None and mo is not None:
        return (2 * me.balance + mo.balance) / 3
    if me is not None:
        return me.balance
    return a.comment_sentiment.get("mentee")


def _sentiment_signal(recent: Sequence[SessionAnalysis], w: float) -> Signal:
    tones = [t for a in recent if (t := _tone(a)) is not None]
    if not tones:
        return Signal("sentiment", None, w, None, "no transcript or comment to read the tone from")
    level, trend = sum(tones) / len(tones), _trend(tones)
    return Signal("sentiment", _clip(0.5 + level + 0.5 * trend), w, level,
                  f"tone {level:+.2f} (positive minus negative sentences, VADER) over {len(tones)} recent "
                  f"sessions, {_word(trend, 0.05)}")


def _engagement_signal(recent: Sequence[SessionAnalysis], cfg: HealthConfig, w: float) -> Signal:
    talk = [a.talk_balance["mentee"] for a in recent if a.talk_balance is not None]
    questions = [a.mentee_questions for a in recent if a.mentee_questions is not None]
    with_text = [a for a in recent if a.has_text or a.action_items]
    parts = []
    bits = []
    if talk:
        share = sum(talk) / len(talk)
        parts.append(sum(talk_score(t, cfg) for t in talk) / len(talk))
        bits.append(f"mentee spoke {share:.0%} of the words")
    if questions:
        q = sum(questions) / len(questions)
        parts.append(_clip(q / cfg.questions_per_session))
        bits.append(f"asked {q:.1f} questions a session")
    if with_text:
        share_items = sum(bool(a.action_items) for a in with_text) / len(with_text)
        parts.append(share_items)
        bits.append(f"action items in {sum(bool(a.action_items) for a in with_text)} of {len(with_text)} sessions")
    if not parts:
        return Signal("engagement", None, w, None, "no transcript, notes or action items")
    score = sum(parts) / len(parts)
    return Signal("engagement", score, w, score, "; ".join(bits))


def _duration_signal(recent: Sequence[SessionAnalysis], cfg: HealthConfig, w: float) -> Signal:
    minutes = [a.duration_minutes for a in recent if a.duration_minutes]
    if not minutes:
        return Signal("duration", None, w, None, "no session length recorded")
    mean = sum(minutes) / len(minutes)
    lo, full = cfg.duration_floor_minutes, cfg.duration_full_minutes
    return Signal("duration", _clip((mean - lo) / (full - lo)), w, mean,
                  f"sessions lasted {mean:.0f} minutes on average over the last {len(minutes)} "
                  f"(a full session: {full:g})")


def _follow_signal(follow: Sequence[FollowThrough], cfg: HealthConfig, w: float) -> Signal:
    done = sum(f.followed for f in follow)
    judged = sum(f.judged for f in follow)
    if not judged:
        return Signal("follow_through", None, w, None, "no action item with a skill to follow up yet")
    return Signal("follow_through", (done + 0.5) / (judged + 1), w, done / judged,
                  f"the mentee engaged with {done} of {judged} action-item skills within "
                  f"{cfg.follow_window_days} days")


def _progress_signal(progress: Progress | None, cfg: HealthConfig, w: float) -> Signal:
    if progress is None or not progress.skills or progress.days <= 0:
        return Signal("progress", None, w, None, "no skills to measure progress on")
    rate = progress.per_month
    return Signal("progress", _clip(rate / cfg.progress_per_month), w, rate,
                  f"{progress.completions} resources completed on the pair's skills in {progress.days:.0f} days "
                  f"({rate:.1f} a month)")


def pair_health(analyses: Sequence[SessionAnalysis], *, now: datetime, follow: Sequence[FollowThrough] = (),
                progress: Progress | None = None, skill_names: Mapping[str, str] | None = None,
                config: HealthConfig | None = None) -> PairHealth:
    """Score one pair from its sessions' analyses (any order), follow-through and progress, as of ``now``.

    Sessions after ``now`` are ignored. Raises ``ValueError`` if the analyses mix pairs.
    """
    cfg = config or HealthConfig()
    past = sorted((a for a in analyses if a.started_at <= now), key=lambda a: a.started_at)
    pairs = {(a.mentor_id, a.mentee_id) for a in analyses}
    if len(pairs) != 1:
        raise ValueError(f"pair_health needs the sessions of exactly one pair, got {len(pairs)}")
    mentor_id, mentee_id = next(iter(pairs))
    w = cfg.weights
    cad = cadence([a.started_at for a in past], now=now, target_per_month=cfg.target_per_month,
                  window_days=cfg.window_days)
    recent = past[-cfg.recent:]
    follow = [f for f in follow if f.started_at <= now]
    signals = (
        _cadence_signal(cad, w["cadence"]),
        _ratings_signal(recent, w["ratings"]),
        _sentiment_signal(recent, w["sentiment"]),
        _engagement_signal(recent, cfg, w["engagement"]),
        _follow_signal(follow, cfg, w["follow_through"]),
        _progress_signal(progress, cfg, w["progress"]),
        _duration_signal(recent, cfg, w.get("duration", 0.0)),
    )
    have = [s for s in signals if s.score is not None and s.weight > 0]
    total = sum(s.weight for s in have)
    score = sum(float(s.score) * s.weight for s in have if s.score is not None) / total if have else None
    status: Status = ("no data" if score is None or not past else "healthy" if score >= cfg.healthy
                      else "watch" if score >= cfg.at_risk else "at risk")
    feedback = mentor_feedback(past, cad, follow, progress, skill_names or {}, cfg)
    return PairHealth(mentor_id, mentee_id, score if past else None, status, len(past), signals,
                      tuple(feedback), cad)
