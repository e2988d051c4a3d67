"""Pair health: the score, its signals, and the mentor's feedback in plain words, on hand-built pairs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from analysis.sessions.analyse import analyse_session
from analysis.sessions.engagement import FollowThrough, FollowUp, Progress
from analysis.sessions.health import SIGNALS, HealthConfig, pair_health, talk_score
from analysis.vocabulary import SkillVocabulary
from catalog.schema import Skill
from catalog.sessions import Ratings, Session

UTC = timezone.utc
NOW = datetime(2026, 6, 1, tzinfo=UTC)
VOCAB = SkillVocabulary([Skill("kubernetes", "Kubernetes", aliases=("k8s",)), Skill("docker", "Docker")])
NAMES = {"kubernetes": "Kubernetes", "docker": "Docker"}
MONOLOGUE = " ".join(["We will cover the whole topic in detail."] * 11)  # 88 words, neutral
GLUM = "I am really confused and frustrated. Nothing is working for me, sorry."  # 12 words, negative
LIVELY = ("Mentor: How did the Docker exercise go?\nMentee: Great, I loved it! How do I deploy it on Kubernetes?\n"
          "Mentor: Good question, start with k8s basics. By next week, read the Kubernetes tutorial.\n"
          "Mentee: Thanks, that is really helpful. I'll also write a small deployment file.")


def sessions(mentor: str, mentee: str, days_ago: list[int], transcript: str, ratings: list[int | None],
             minutes: int = 45):
    out = []
    for k, (d, r) in enumerate(zip(days_ago, ratings)):
        s = Session(f"{mentor}-{k}", mentor, mentee, NOW - timedelta(days=d), minutes, "video", transcript=transcript,
                    ratings=Ratings(r, None))
        out.append(analyse_session(s, vocabulary=VOCAB))
    return out


@pytest.fixture(scope="module")
def poor():
    group = sessions("m1", "u1", [100, 60, 20], f"Mentor: {MONOLOGUE}\nMentee: {GLUM}", [4, 3, 2],
                     minutes=20)
    missed = [FollowThrough(f"m1-{k}", a.started_at, (FollowUp("kubernetes", "missed"),))
              for k, a in enumerate(group[:2])]
    progress = Progress(("kubernetes",), 0, 100.0)
    return pair_health(group, now=NOW, follow=missed, progress=progress, skill_names=NAMES)


@pytest.fixture(scope="module")
def good():
    group = sessions("m2", "u2", [84, 70, 56, 42, 28, 14], LIVELY, [5, 4, 5, 5, None, 5], minutes=60)
    followed = [FollowThrough(f"m2-{k}", a.started_at, (FollowUp("kubernetes", "followed", a.started_at),))
                for k, a in enumerate(group)]
    return pair_health(group, now=NOW, follow=followed, progress=Progress(("kubernetes",), 6, 84.0),
                       skill_names=NAMES)


def test_feedback_in_plain_words(poor):
    assert list(poor.feedback) == [
        "2 sessions in the last 90 days (target: 2 a month)",
        "3 sessions without an action item",
        "your mentee spoke 12 % of the time",
        "the last 3 sessions lasted 20 minutes on average",
        "your mentee asked no questions in the last 3 sessions",
        "follow-through on Kubernetes: 0 of 2",
        "ratings fell from 4.0 to 2.0 over the last 3 rated sessions",
        "your mentee sounded negative in 3 of the last 3 sessions",
        "no resource completed on Kubernetes in 100 days",
    ]


def test_a_working_pair_scores_high_and_gets_no_complaint(good, poor):
    assert [s.name for s in good.signals] == list(SIGNALS)
    assert good.status == "healthy" and poor.status == "at risk"
    assert good.score > 0.8 > 0.3 > poor.score
    assert good.feedback == ()
    assert all(0 <= s.score <= 1 for p in (good, poor) for s in p.signals if s.score is not None)
    assert poor.signal("follow_through").score == pytest.approx(0.5 / 3)  # (0 + 0.5) / (2 + 1)
    assert poor.signal("ratings").value == pytest.approx(3.0)
    assert good.signal("cadence").value == pytest.approx(6 / 84 * 30.44)
    d = poor.to_dict()
    assert d["status"] == "at risk" and d["feedback"][1] == "3 sessions without an action item"
    assert {s["name"] for s in d["signals"]} == set(SIGNALS)


def test_the_score_is_the_weighted_mean_of_the_signals_with_data(poor):
    have = [s for s in poor.signals if s.score is not None]
    assert poor.score == pytest.approx(sum(s.score * s.weight for s in have) / sum(s.weight for s in have))


def test_missing_signals_are_left_out_not_zero():
    group = sessions("m3", "u3", [10], "", [None])
    h = pair_health(group, now=NOW)
    assert [s.name for s in h.signals if s.score is not None] == ["cadence", "duration"]
    cad, dur = h.signal("cadence"), h.signal("duration")
    assert h.score == pytest.approx((cad.score * cad.weight + dur.score * dur.weight) / (cad.weight + dur.weight))
    assert h.signal("ratings").reason == "no ratings yet"


def test_future_sessions_are_ignored_and_pairs_are_not_mixed(good):
    group = sessions("m3", "u3", [-5], LIVELY, [5])
    h = pair_health(group, now=NOW)
    assert h.status == "no data" and h.score is None and h.sessions == 0
    with pytest.raises(ValueError, match="exactly one pair"):
        pair_health(sessions("m3", "u3", [5], "", [5]) + sessions("m4", "u3", [5], "", [5]), now=NOW)


def test_idle_windows_are_said_and_not_counted_as_misses():
    group = sessions("m6", "u6", [60, 45, 30], LIVELY, [5, 5, 5])
    idle = [FollowThrough(a.session_id, a.started_at, (FollowUp("kubernetes", "idle"),)) for a in group]
    h = pair_health(group, now=NOW, follow=idle, skill_names=NAMES)
    assert h.signal("follow_through").score is None
    assert "your mentee did not study at all in the 14 days after 3 of the last 3 sessions with action items" \
        in h.feedback


def test_gap_halves_the_cadence_and_is_said():
    h = pair_health(sessions("m5", "u5", [70, 55, 40], "", [None] * 3), now=NOW)
    assert h.feedback[0] == "no session for 40 days (target: one every 15 days)"
    assert h.signal("cadence").score == pytest.approx(min(1, (3 / 70 * 30.44) / 2) / 2)


@pytest.mark.parametrize(("share", "score"), [(0.5, 1.0), (0.3, 1.0), (0.2, 0.5), (0.1, 0.0), (0.05, 0.0),
                                              (0.8, 0.5), (0.95, 0.0)])
def test_talk_score(share, score):
    assert talk_score(share, HealthConfig()) == pytest.approx(score)


def test_duration_scores_recent_session_length_between_a_check_in_and_a_full_session(good, poor):
    # (20 - 15) / (60 - 15) and (60 - 15) / (60 - 15): the config's floor and full length
    assert poor.signal("duration").score == pytest.approx(5 / 45)
    assert poor.signal("duration").value == pytest.approx(20)
    assert good.signal("duration").score == pytest.approx(1.0)
    cfg = HealthConfig()
    only_last = sessions("m5", "u5", [70, 50, 40, 30, 20, 10], "", [None] * 6, minutes=90)[:1] + \
        sessions("m5", "u5", [50, 40, 30, 20, 10], "", [None] * 5, minutes=15)
    h = pair_health(only_last, now=NOW)  # the recent five are all check-ins; the long first one is past
    assert h.signal("duration").score == 0.0 and cfg.recent == 5
    assert "sessions lasted 15 minutes on average" in h.signal("duration").reason


def test_a_pair_without_recorded_lengths_has_no_duration_signal():
    group = sessions("m6", "u6", [10], "", [4], minutes=0)
    assert pair_health(group, now=NOW).signal("duration").score is None
