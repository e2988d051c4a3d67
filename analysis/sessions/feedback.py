"""Feedback for the mentor in plain words, from the same facts the health score reads.

Each rule states a fact and a number ("3 sessions without an action item", "your mentee
spoke 12 % of the time", "follow-through on Kubernetes: 0 of 2"); thresholds are in
:class:`analysis.sessions.config.HealthConfig` and ``docs/sessions.md``. Rules that
find nothing to say say nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from analysis.sessions.analyse import NEUTRAL_BAND, SessionAnalysis
from analysis.sessions.cadence import Cadence
from analysis.sessions.config import HealthConfig
from analysis.sessions.engagement import FollowThrough, Progress

__all__ = ["mentor_feedback", "LOOKBACK"]

LOOKBACK = 3  # sessions the talk, question and tone rules look at


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def mentor_feedback(past: Sequence[SessionAnalysis], cad: Cadence, follow: Sequence[FollowThrough],
                    progress: Progress | None, names: Mapping[str, str], cfg: HealthConfig) -> list[str]:
    """Plain-words observations on a pair, most pressing first. ``past`` is in time order."""
    out: list[str] = []
    if cad.days_since_last is not None and cad.days_since_last > 2 * cad.target_gap_days:
        out.append(f"no session for {cad.days_since_last:.0f} days (target: one every {cad.target_gap_days:.0f} days)")
    elif past and cad.ratio < 0.75:
        out.append(f"{_plural(cad.sessions, 'session')} in the last {cad.period_days:.0f} days "
                   f"(target: {cad.target_per_month:g} a month)")
    streak = 0
    for a in reversed([a for a in past if a.has_text or a.action_items]):
        if a.action_items:
            break
        streak += 1
    if streak >= 2:
        out.append(f"{streak} sessions without an action item")
    talked = [a.talk_balance["mentee"] for a in past if a.talk_balance is not None][-LOOKBACK:]
    if talked:
        share = sum(talked) / len(talked)
        if share < cfg.talk_band[0]:
            out.append(f"your mentee spoke {share * 100:.0f} % of the time")
        elif share > cfg.talk_band[1]:
            out.append(f"you spoke {100 - share * 100:.0f} % of the time: your mentee may want more guidance")
    lasted = [a.duration_minutes for a in past if a.duration_minutes][-LOOKBACK:]
    if len(lasted) >= 2 and sum(lasted) / len(lasted) < cfg.short_session_minutes:
        out.append(f"the last {len(lasted)} sessions lasted {sum(lasted) / len(lasted):.0f} minutes on average")
    asked = [a.mentee_questions for a in past if a.mentee_questions is not None][-LOOKBACK:]
    if len(asked) >= 2 and not any(asked):
        out.append(f"your mentee asked no questions in the last {len(asked)} sessions")
    out.extend(_follow_lines(follow, names))
    closed = [f for f in follow if any(i.status != "pending" for i in f.items)][-LOOKBACK:]
    idle = sum(all(i.status == "idle" for i in f.items) for f in closed)
    if len(closed) >= 2 and idle * 2 >= len(closed):
        out.append(f"your mentee did not study at all in the {cfg.follow_window_days} days after {idle} of the "
                   f"last {len(closed)} sessions with action items")
    rated = [sum(g) / len(g) for a in past[-cfg.recent:]
             if (g := [r for r in (a.ratings.mentee, a.ratings.mentor) if r is not None])]
    if len(rated) >= 3:
        h = len(rated) // 2
        early, late = sum(rated[:h]) / h, sum(rated[-h:]) / h
        if late - early <= -1.0:
            out.append(f"ratings fell from {early:.1f} to {late:.1f} over the last {len(rated)} rated sessions")
    toned = [a.sentiment["mentee"].compound for a in past if "mentee" in a.sentiment][-LOOKBACK:]
    low = sum(t <= -NEUTRAL_BAND for t in toned)
    if len(toned) >= 2 and low * 2 >= len(toned):
        out.append(f"your mentee sounded negative in {low} of the last {len(toned)} sessions")
    if progress is not None and progress.skills and progress.completions == 0 and progress.days >= 30:
        shown = ", ".join(names.get(s, s) for s in progress.skills[:3]) + (", ..." if len(progress.skills) > 3 else "")
        out.append(f"no resource completed on {shown} in {progress.days:.0f} days")
    return out


def _follow_lines(follow: Sequence[FollowThrough], names: Mapping[str, str]) -> list[str]:
    """``follow-through on <skill>: k of n`` for skills followed less than half the time (n >= 2)."""
    per: dict[str, list[int]] = {}
    for f in follow:
        for item in f.items:
            if item.status in ("followed", "missed"):
                k = per.setdefault(item.skill_id, [0, 0])
                k[0] += item.status == "followed"
                k[1] += 1
    return [f"follow-through on {names.get(sid, sid)}: {done} of {n}"
            for sid, (done, n) in sorted(per.items(), key=lambda kv: (kv[1][0] / kv[1][1], -kv[1][1]))
            if n >= 2 and done * 2 < n]
