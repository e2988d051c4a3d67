"""Follow-through and progress from the event log, and cadence against the target."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from analysis.sessions.analyse import analyse_session
from analysis.sessions.cadence import cadence
from analysis.sessions.engagement import EngagementIndex, follow_through, item_skill_map, skill_progress
from analysis.vocabulary import SkillVocabulary
from catalog.schema import Skill
from catalog.sessions import Session

UTC = timezone.utc
T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
ITEMS = {"k8s-101": ("kubernetes",), "dock-1": ("docker",), "both": ("docker", "kubernetes")}


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    rows = [("u1", "k8s-101", "view", day(3)), ("u1", "dock-1", "impression", day(1)),
            ("u1", "dock-1", "dismiss", day(2)), ("u1", "both", "complete", day(20)),
            ("u2", "dock-1", "start", day(2)), ("u1", "k8s-101", "complete", day(-5)),
            ("u1", "unknown-item", "view", day(4))]
    df = pd.DataFrame(rows, columns=["user_id", "item_id", "event_type", "timestamp"])
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True).astype("datetime64[us, UTC]")
    return df


def test_index_counts_engagement_per_skill_in_a_window(events):
    idx = EngagementIndex(events, ITEMS)
    assert idx.count("u1", ["kubernetes"], T0, day(14)) == 1
    assert idx.first("u1", "kubernetes", T0, day(14)) == day(3)
    assert idx.count("u1", ["docker"], T0, day(14)) == 0  # impressions and dismissals are not engagement
    assert idx.count("u1", ["docker", "kubernetes"], T0, day(30)) == 3  # "both" counts once per skill
    assert idx.count("u1", ["kubernetes"], day(3), day(10)) == 0  # the window is (start, end]
    assert idx.count("nobody", ["docker"], T0, day(30)) == 0 and idx.first("u2", "sql", T0, day(9)) is None


def test_item_skill_map_reads_the_catalog(tiny_catalog):
    table = item_skill_map(tiny_catalog)
    assert table["pd-101"] == ("pandas", "python") and len(table) == tiny_catalog.n_items


def test_follow_through_statuses(events):
    vocab = SkillVocabulary([Skill("docker", "Docker"), Skill("kubernetes", "Kubernetes")])
    s = Session("s1", "m1", "u1", T0, 45, "video",
                transcript="Mentor: Read the Kubernetes docs by Friday.\nMentee: I'll build a Docker image too.\n"
                           "Mentor: I'll send you my Docker notes.\nMentee: I'll think about it.",
                action_items=("Tidy up the repo",))
    a = analyse_session(s, vocabulary=vocab)
    idx = EngagementIndex(events, ITEMS)
    later = follow_through(a, idx, now=day(30))
    assert [(f.skill_id, f.status, f.first_at) for f in later.items] == [
        ("kubernetes", "followed", day(3)), ("docker", "missed", None)]  # the mentor's own item is not judged
    assert (later.followed, later.judged) == (1, 2)
    soon = follow_through(a, idx, now=day(10))
    assert [(f.skill_id, f.status) for f in soon.items] == [("kubernetes", "followed"), ("docker", "pending")]
    assert (soon.followed, soon.judged) == (1, 1)
    blind = follow_through(a, idx, now=day(2))  # an engagement after `now` is not seen yet
    assert [f.status for f in blind.items] == ["pending", "pending"]
    idle = follow_through(analyse_session(replace(s, mentee_id="u3"), vocabulary=vocab), idx, now=day(30))
    assert [f.status for f in idle.items] == ["idle", "idle"]  # learnt nothing at all: not a miss of this item
    assert (idle.followed, idle.judged) == (0, 0)
    assert idx.active("u1", T0, day(14)) == 1 and idx.active("u3", T0, day(14)) == 0


def test_progress_counts_completions_since_the_start(events):
    done = EngagementIndex(events, ITEMS, event_types=("complete",))
    p = skill_progress(done, "u1", ["docker", "kubernetes"], start=T0, now=day(30))
    assert (p.completions, p.days) == (2, 30.0) and p.per_month == pytest.approx(2 / 30 * 30.44)
    assert skill_progress(done, "u1", ["docker"], start=T0, now=day(10)).completions == 0


def test_cadence_by_hand():
    now = day(100)
    c = cadence([day(100 - d) for d in (80, 60, 45, 30, 16)] + [day(120)], now=now, target_per_month=2)
    assert (c.sessions, c.period_days, c.days_since_last, c.longest_gap_days) == (5, 80, 16, 20)
    assert c.per_month == pytest.approx(5 / 80 * 30.44) and c.ratio == pytest.approx(c.per_month / 2)
    assert c.target_gap_days == pytest.approx(15.22)
    young = cadence([day(97)], now=now)
    assert young.period_days == 30 and young.per_month == pytest.approx(30.44 / 30)  # no "10 a month" from one
    old = cadence([day(0), day(5)], now=now)
    assert (old.sessions, old.per_month, old.days_since_last) == (0, 0.0, 95)
    none = cadence([], now=now)
    assert none.sessions == 0 and none.days_since_last is None
