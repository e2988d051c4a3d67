"""Feature maths on tiny, hand-computed event sets (no Feast involved)."""

from __future__ import annotations

from datetime import timezone

import numpy as np
import pandas as pd
import pytest

from catalog.errors import DataValidationError
from catalog.schema import EVENT_COLUMNS
from features.tables import MENTEE_ENGAGEMENT, MENTEE_SKILL_STATE, RESOURCE_STATS, TIMESTAMP
from training.features import ACTIVITY_TYPES, compute_feature_frames, default_snapshot_times

UTC = timezone.utc


def T(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


def ev(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["user_id", "item_id", "event_type", "value", "timestamp"])
    df["event_id"] = [f"e{i}" for i in range(len(df))]
    df["source"] = "test"
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True)
    return df.loc[:, list(EVENT_COLUMNS)]


@pytest.fixture
def tiny_events() -> pd.DataFrame:
    nan = np.nan
    return ev([
        ("u1", "pr-101", "impression", nan, "2026-10-01 09:00"),
        ("u1", "pr-101", "view", nan, "2026-10-01 10:00"),
        ("u1", "pr-101", "complete", nan, "2026-10-01 11:00"),
        ("u1", "pr-101", "assess", 80, "2026-10-02 09:00"),
        ("u1", "llm-101", "dismiss", nan, "2026-10-03 09:00"),
        ("u1", "pr-101", "complete", nan, "2026-10-03 10:00"),   # a re-completion
        ("u1", "llm-101", "assess", 60, "2026-10-03 12:00"),
        ("u2", "pd-101", "like", 4, "2026-10-02 12:00"),
        ("u2", "pd-101", "like", nan, "2026-10-02 13:00"),       # a like without a rating
        ("u2", "pd-101", "start", nan, "2026-10-02 14:00"),
    ])


def _row(df, **where):
    m = np.ones(len(df), bool)
    for k, v in where.items():
        m &= (df[k] == v).to_numpy()
    assert m.sum() == 1, where
    return df[m].iloc[0]


def test_engagement_by_hand(tiny_world, tiny_events):
    f = compute_feature_frames(tiny_events, tiny_world)
    e = f.mentee_engagement
    assert list(e.columns) == MENTEE_ENGAGEMENT.columns
    assert str(e[TIMESTAMP].dtype) == "datetime64[us, UTC]"
    r = _row(e, user_id="u1", event_timestamp=T("2026-10-04"))
    assert r.events_7d == 6 and r.events_30d == 6             # impression is not activity
    assert r.completions_7d == 2 and r.completions_30d == 2
    assert r.active_days_30d == 3 and r.current_streak_days == 3
    assert r.days_since_last_activity == pytest.approx(0.5)  # last at 10-03 12:00
    assert r.dismiss_rate_30d == pytest.approx(1 / 4)        # 1 dismiss / (1 + view + 2 completes)
    assert r.minutes_completed_30d == pytest.approx(40.0)    # pr-101 is 20 minutes, twice
    first = _row(e, user_id="u1", event_timestamp=T("2026-10-02"))
    assert first.events_7d == 2 and first.active_days_30d == 1 and first.current_streak_days == 1
    # u2's first activity is on 10-02, so its first row is at the 10-03 snapshot.
    assert e[e.user_id == "u2"][TIMESTAMP].min() == T("2026-10-03")


def test_windows_expire_and_streak_breaks(tiny_world, tiny_events):
    snaps = [T("2026-10-04"), T("2026-10-05"), T("2026-10-09"), T("2026-10-11"), T("2026-11-02")]
    e = compute_feature_frames(tiny_events, tiny_world, snapshot_times=snaps).mentee_engagement
    u1 = e[e.user_id == "u1"].set_index(TIMESTAMP)
    assert u1.loc[T("2026-10-05"), "current_streak_days"] == 3   # 10-04 is "today": alive until it ends
    assert u1.loc[T("2026-10-09"), "current_streak_days"] == 0
    assert u1.loc[T("2026-10-09"), "events_7d"] == 4              # [10-02, 10-09): assess, dismiss, complete, assess
    assert u1.loc[T("2026-10-11"), "events_7d"] == 0
    assert u1.loc[T("2026-10-11"), "events_30d"] == 6
    assert u1.loc[T("2026-11-02"), "events_30d"] == 3            # [10-03, 11-02): dismiss, complete, assess
    assert u1.loc[T("2026-11-02"), "active_days_30d"] == 1
    assert u1.loc[T("2026-11-02"), "days_since_last_activity"] == pytest.approx(29.5)


def test_skill_state_by_hand(tiny_world, tiny_events):
    s = compute_feature_frames(tiny_events, tiny_world).mentee_skill_state
    assert list(s.columns) == MENTEE_SKILL_STATE.columns
    # u1's goal is llm-apps; llm-101 teaches llm-apps, pr-101 teaches prompting only.
    last = s[(s.user_id == "u1") & (s.skill_id == "llm-apps")].sort_values(TIMESTAMP).iloc[-1]
    assert last.completed_resources == 0 and last.assessment_count == 1 and last.assessment_avg == 60.0
    assert set(s.skill_id[s.user_id == "u1"]) == {"llm-apps"}
    u2 = s[(s.user_id == "u2") & (s.skill_id == "pandas")]
    assert len(u2) == 1 and u2.iloc[0].completed_resources == 0 and np.isnan(u2.iloc[0].assessment_avg)


def test_skill_state_counts_distinct_completions(tiny_world):
    nan = np.nan
    events = ev([("u2", "pd-101", "complete", nan, "2026-10-01 10:00"),
                 ("u2", "pd-101", "complete", nan, "2026-10-02 10:00"),
                 ("u2", "sql-101", "complete", nan, "2026-10-02 11:00"),   # sql is not u2's goal
                 ("u2", "pd-101", "assess", 70, "2026-10-03 10:00"),
                 ("u2", "pd-101", "assess", 90, "2026-10-03 11:00")])
    s = compute_feature_frames(events, tiny_world).mentee_skill_state
    s = s[s.user_id == "u2"].set_index(TIMESTAMP)
    assert s.skill_id.unique().tolist() == ["pandas"]
    assert s.loc[T("2026-10-02"), "completed_resources"] == 1
    assert s.loc[T("2026-10-03"), "completed_resources"] == 1
    assert s.loc[T("2026-10-04"), "assessment_avg"] == 80.0 and s.loc[T("2026-10-04"), "assessment_count"] == 2


def test_resource_stats_by_hand(tiny_world, tiny_events):
    r = compute_feature_frames(tiny_events, tiny_world).resource_stats
    assert list(r.columns) == RESOURCE_STATS.columns
    pr = _row(r, item_id="pr-101", event_timestamp=T("2026-10-04"))
    assert pr.popularity_7d == 3                      # view + 2 completes (no impression, no assess)
    assert pr.completion_rate == 1.0 and pr.dismiss_rate == 0.0
    pd_ = _row(r, item_id="pd-101", event_timestamp=T("2026-10-04"))
    assert pd_.avg_rating == 4.0 and pd_.rating_count == 1 and pd_.completion_rate == 0.0
    llm = _row(r, item_id="llm-101", event_timestamp=T("2026-10-04"))
    assert llm.dismiss_rate == 1.0 and llm.popularity_30d == 0
    assert np.isnan(_row(r, item_id="py-101", event_timestamp=T("2026-10-04")).avg_rating)
    # pr-new is published 2026-09-01: rows exist; pd-101 was updated 2024-05-01.
    assert _row(r, item_id="pd-101", event_timestamp=T("2026-10-02")).age_days == pytest.approx(
        (T("2026-10-02") - T("2024-05-01")).days)
    assert (r.freshness.between(0.1, 1.0)).all()


def test_resources_get_rows_only_once_published_and_ignore_future_updates(tiny_world):
    events = ev([("u1", "py-101", "view", np.nan, "2026-08-15")])
    snaps = [T("2026-08-20"), T("2026-09-10")]
    r = compute_feature_frames(events, tiny_world, snapshot_times=snaps).resource_stats
    assert set(r.item_id[r[TIMESTAMP] == T("2026-08-20")]) == set(r.item_id) - {"pr-new"}
    assert "pr-new" in set(r.item_id[r[TIMESTAMP] == T("2026-09-10")])


def test_every_row_only_sees_events_strictly_before_its_timestamp(world, events):
    """Brute force: recount every engagement row from the raw events before its timestamp."""
    e = compute_feature_frames(events, world).mentee_engagement
    act = events[events.event_type.isin(ACTIVITY_TYPES)]
    for row in e.sample(60, random_state=1).itertuples():
        t = row.event_timestamp
        mine = act[(act.user_id == row.user_id) & (act.timestamp < t)]
        assert row.events_30d == ((mine.timestamp >= t - pd.Timedelta(days=30))).sum()
        assert row.completions_7d == ((mine.timestamp >= t - pd.Timedelta(days=7)) & (mine.event_type == "complete")).sum()
        assert row.days_since_last_activity == pytest.approx((t - mine.timestamp.max()) / pd.Timedelta(days=1))
        assert row.active_days_30d == mine[mine.timestamp >= t - pd.Timedelta(days=30)].timestamp.dt.floor("D").nunique()


def test_default_snapshots_cover_every_event(events):
    snaps = default_snapshot_times(events)
    assert snaps[0] > events.timestamp.min() and snaps[-1] > events.timestamp.max()
    assert (snaps[0] - pd.Timedelta("1D")) <= events.timestamp.min()
    assert (pd.Series(snaps).diff().dropna() == pd.Timedelta("1D")).all()


def test_empty_events_give_empty_tables_with_the_schema(tiny_world):
    f = compute_feature_frames(ev([]), tiny_world)
    for spec, df in f.items():
        assert df.empty and list(df.columns) == spec.columns


def test_missing_event_columns_are_reported():
    with pytest.raises(DataValidationError, match="event_type"):
        compute_feature_frames(pd.DataFrame({"user_id": ["u1"]}), None)  # type: ignore[arg-type]
