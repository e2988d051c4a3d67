"""The monitor's status as a Feast feature view: point in time offline, the latest row online (real Feast,
duckdb offline store, SQLite online store)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.monitoring import FEATURE_NAMES, status_at
from analysis.monitoring.progress import CompletionMastery, item_main_skill
from catalog.datadir import DataDir
from catalog.synth import generate
from catalog.synth.config import SynthConfig
from features.status import status_rows
from features.tables import MENTEE_STATUS, TIMESTAMP

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _same(a, b) -> bool:
    return all((x == y) or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from training.feature_store import apply, open_store
    from training.features import compute_feature_frames, write_feature_frames

    sw = generate(SynthConfig(seed=3, n_mentees=150, n_items=150, n_mentors=4, days=45))
    dd = DataDir(tmp_path_factory.mktemp("feast-status")).ensure()
    frames = compute_feature_frames(sw.events, sw.world)
    write_feature_frames(frames, dd.root)
    store = open_store(dd.root, online="sqlite")
    apply(store)
    return sw, dd, frames, store


def test_a_row_is_the_status_just_before_its_timestamp(built):
    sw, _, frames, _ = built
    st = frames.mentee_status
    assert list(st.columns) == MENTEE_STATUS.columns and len(st) > 500
    assert st[TIMESTAMP].dtype == "datetime64[us, UTC]"
    cat, ev = sw.world.catalog, sw.events
    comp = ev[ev.event_type == "complete"].sort_values("timestamp", kind="stable")
    mastery = CompletionMastery(cat, sw.world.mentees).points(
        zip(comp.user_id.tolist(), comp.item_id.tolist(), comp.timestamp.array.asi8.tolist()))
    for _, row in st.sample(12, random_state=0).iterrows():
        u, t = row["user_id"], row[TIMESTAMP]
        m = sw.world.mentees[u]
        want = status_at(ev, u, (t - pd.Timedelta(microseconds=1)).to_pydatetime(), mastery=mastery,
                         item_skill=item_main_skill(cat), goals=m.goals, mentee=m)
        from analysis.monitoring import feature_vector
        assert _same(row[list(FEATURE_NAMES)].to_numpy(float), feature_vector(want)), (u, t)


def test_rows_never_see_an_event_at_or_after_their_timestamp(built):
    """Rewriting every event from a cut on changes no row stamped at or before the cut."""
    sw, _, frames, _ = built
    ev = sw.events
    snaps = np.unique(frames.mentee_status[TIMESTAMP].array.asi8)
    cut = int(snaps[len(snaps) // 2])
    later = ev["timestamp"].array.asi8 >= cut
    moved = ev.copy()
    moved.loc[later, "event_type"] = "assess"
    moved.loc[later, "value"] = 0.0
    a = status_rows(ev, sw.world, snaps[snaps <= cut])
    b = status_rows(moved, sw.world, snaps[snaps <= cut])
    assert len(a) == len(b) > 100
    for col in FEATURE_NAMES:
        assert _same(a[col].to_numpy(float), b[col].to_numpy(float)), col
    after = status_rows(moved, sw.world, snaps[snaps > cut][:3])
    before = status_rows(ev, sw.world, snaps[snaps > cut][:3])
    assert not after[list(FEATURE_NAMES)].fillna(-1).equals(before[list(FEATURE_NAMES)].fillna(-1))  # not vacuous


def test_feast_joins_the_latest_row_at_or_before_each_time_and_serves_the_latest_online(built):
    from features.store import read_online
    from training.feature_store import historical_features, materialize

    sw, _, frames, store = built
    st = frames.mentee_status
    users = sorted(st["user_id"].unique())[:25]
    times = sorted(st[TIMESTAMP].unique())
    # Entity rows between snapshots (an hour after), at a snapshot exactly, and before any row.
    probe = [times[3] + pd.Timedelta(hours=1), times[len(times) // 2], times[0] - pd.Timedelta(days=3)]
    edf = pd.DataFrame([(u, t) for u in users for t in probe], columns=["user_id", TIMESTAMP])
    got = historical_features(store, edf, features=MENTEE_STATUS.refs())
    assert len(got) == len(edf)
    checked = 0
    for k, (u, t) in enumerate(zip(edf["user_id"], edf[TIMESTAMP])):
        rows = st[(st.user_id == u) & (st[TIMESTAMP] <= t) & (st[TIMESTAMP] > t - pd.Timedelta(days=2))]
        have = got.iloc[k][list(FEATURE_NAMES)].to_numpy(float)
        if rows.empty:
            assert np.isnan(have).all(), (u, t)       # nothing within the TTL: nulls, never a later row
        else:
            assert _same(have, rows.sort_values(TIMESTAMP).iloc[-1][list(FEATURE_NAMES)].to_numpy(float)), (u, t)
            checked += 1
    assert checked >= 15
    end = times[-1]
    materialize(store, times[0], end, views=[MENTEE_STATUS.name])
    online = read_online(store, MENTEE_STATUS, users)
    for u in users:
        last = st[st.user_id == u].sort_values(TIMESTAMP)
        if last[TIMESTAMP].iloc[-1] < end - pd.Timedelta(days=2):
            continue                                   # older than the TTL at the end
        want = last.iloc[-1][list(FEATURE_NAMES)].to_numpy(float)
        have = np.array([np.nan if online[u][n] is None else online[u][n] for n in FEATURE_NAMES], dtype=float)
        assert _same(have, want), u
