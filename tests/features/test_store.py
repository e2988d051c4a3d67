"""Feast with the duckdb offline store and the SQLite online store (no server needed).

Point-in-time correctness, no silent row drops, materialisation and the push path.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from catalog.errors import ConfigError, DataValidationError, NotReadyError
from features.store import read_online, repo_config_dict
from features.tables import MENTEE_ENGAGEMENT, MENTEE_SKILL_STATE, RESOURCE_STATS, TIMESTAMP
from training.feature_store import (
    apply, historical_features, materialize, open_store, push_engagement, tables_time_range,
)
from training.features import ACTIVITY_TYPES, compute_feature_frames, write_feature_frames

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

T = lambda s: pd.Timestamp(s, tz="UTC")  # noqa: E731
PLANT_T0 = T("2026-10-05 12:00:00")
REPO = Path(__file__).resolve().parents[2] / "features"


def _planted() -> pd.DataFrame:
    """Two rows for a mentee 'planted': a small value, then 999 written at PLANT_T0."""
    rows = pd.DataFrame({"user_id": ["planted", "planted"],
                         TIMESTAMP: [PLANT_T0 - pd.Timedelta(hours=1), PLANT_T0]})
    for name, dtype in MENTEE_ENGAGEMENT.features:
        rows[name] = np.array([1, 999]).astype(dtype)
    rows[TIMESTAMP] = rows[TIMESTAMP].astype("datetime64[us, UTC]")
    return rows[MENTEE_ENGAGEMENT.columns]


@pytest.fixture(scope="module")
def built(tmp_path_factory, feast_imported, world, events):
    d = tmp_path_factory.mktemp("features-sqlite")
    frames = compute_feature_frames(events, world)
    frames.mentee_engagement = pd.concat([frames.mentee_engagement, _planted()], ignore_index=True)
    write_feature_frames(frames, d)
    store = open_store(d, online="sqlite")
    apply(store)
    lo, hi = tables_time_range(d)
    materialize(store, lo, hi)
    return SimpleNamespace(dir=d, store=store, frames=frames, lo=lo, hi=hi)


def test_a_feature_row_written_after_a_training_row_never_reaches_it(built):
    edf = pd.DataFrame({"user_id": ["planted"] * 4, TIMESTAMP: [
        PLANT_T0 - pd.Timedelta(hours=2), PLANT_T0 - pd.Timedelta(microseconds=1), PLANT_T0,
        PLANT_T0 + pd.Timedelta(days=1)]})
    out = historical_features(built.store, edf, features=MENTEE_ENGAGEMENT.refs())
    assert np.isnan(out.events_7d[0])                       # nothing written yet
    assert out.events_7d[1] == 1                            # 999 is one microsecond in the future
    assert out.events_7d[2] == 999 and out.events_7d[3] == 999


def _entity_rows(events: pd.DataFrame) -> pd.DataFrame:
    """One training row per event, plus a ghost mentee, an unknown item, a too-early row and duplicates."""
    edf = events[["user_id", "item_id", "timestamp"]].rename(columns={"timestamp": TIMESTAMP})
    extra = pd.DataFrame({"user_id": ["ghost", "u1", "u1", "u1"], "item_id": ["py-1", "no-such-item", "py-1", "py-1"],
                          TIMESTAMP: [T("2026-10-10"), T("2026-10-10"), T("2026-01-01"), T("2026-10-10")]})
    return pd.concat([edf, extra, edf.iloc[:5]], ignore_index=True)


def _oracle(frames: pd.DataFrame, keys: list[str], edf: pd.DataFrame, col: str, ttl: pd.Timedelta | None) -> np.ndarray:
    """Latest feature row with timestamp <= t (and within the TTL), by brute force."""
    out = np.full(len(edf), np.nan)
    groups = {k: g.sort_values(TIMESTAMP) for k, g in frames.groupby(keys if len(keys) > 1 else keys[0])}
    for i, row in enumerate(edf.itertuples(index=False)):
        key = tuple(getattr(row, k) for k in keys) if len(keys) > 1 else getattr(row, keys[0])
        g = groups.get(key)
        if g is None:
            continue
        ok = g[g[TIMESTAMP] <= getattr(row, TIMESTAMP)]
        if ttl is not None:
            ok = ok[ok[TIMESTAMP] >= getattr(row, TIMESTAMP) - ttl]
        if len(ok):
            out[i] = ok[col].iloc[-1]
    return out


def test_every_input_row_comes_back_in_order_with_point_in_time_values(built, events):
    edf = _entity_rows(events)
    out = historical_features(built.store, edf)
    assert len(out) == len(edf)                                          # no silent drops
    pd.testing.assert_frame_equal(out[["user_id", "item_id"]], edf[["user_id", "item_id"]])
    assert (out[TIMESTAMP] == edf[TIMESTAMP]).all()
    ghost = out[out.user_id == "ghost"].iloc[0]
    assert ghost[MENTEE_ENGAGEMENT.feature_names].isna().all()           # unknown -> nulls, kept
    assert out[out.item_id == "no-such-item"].iloc[0][RESOURCE_STATS.feature_names].isna().all()
    assert out.iloc[-5:].reset_index(drop=True)[["events_30d", "popularity_30d"]].equals(
        out.iloc[:5].reset_index(drop=True)[["events_30d", "popularity_30d"]])  # duplicates both kept
    for col in ("events_30d", "completions_7d", "days_since_last_activity", "current_streak_days"):
        np.testing.assert_allclose(out[col], _oracle(built.frames.mentee_engagement, ["user_id"], edf, col,
                                                     pd.Timedelta(days=MENTEE_ENGAGEMENT.ttl_days)), equal_nan=True)
    np.testing.assert_allclose(out["popularity_7d"], _oracle(built.frames.resource_stats, ["item_id"], edf,
                                                             "popularity_7d", pd.Timedelta(days=2)), equal_nan=True)


def test_no_event_counts_itself_or_anything_later(built, events):
    """The leak check in its plainest form: a row at t counts only events strictly before t."""
    edf = _entity_rows(events)
    out = historical_features(built.store, edf, features=MENTEE_ENGAGEMENT.refs())
    act = events[events.event_type.isin(ACTIVITY_TYPES)]
    before = np.array([((act.user_id == u) & (act.timestamp < t)).sum() for u, t in zip(edf.user_id, edf[TIMESTAMP])])
    seen = out.events_30d.fillna(0).to_numpy()
    assert (seen <= before).all()
    at_midnight = edf[TIMESTAMP].dt.floor("D") == edf[TIMESTAMP]
    assert at_midnight.sum() >= 10                                       # the boundary case is exercised


def test_skill_state_is_a_step_function_without_ttl(built):
    edf = pd.DataFrame({"user_id": ["u1", "u1", "u2", "u5"], "skill_id": ["pandas", "prompting", "sql", "sql"],
                        TIMESTAMP: [T("2026-10-25"), T("2026-10-08 05:00"), T("2026-12-31"), T("2026-10-10")]})
    out = historical_features(built.store, edf, features=MENTEE_SKILL_STATE.refs())
    for col in ("completed_resources", "assessment_avg"):
        np.testing.assert_allclose(out[col], _oracle(built.frames.mentee_skill_state, ["user_id", "skill_id"],
                                                     edf, col, None), equal_nan=True)
    assert out.completed_resources.notna()[:3].all()                      # long after the last row: still there
    assert out.iloc[3][MENTEE_SKILL_STATE.feature_names].isna().all()     # u5 has no goals


def test_online_store_holds_the_last_snapshot(built):
    users = sorted(set(built.frames.mentee_engagement.user_id))
    got = read_online(built.store, MENTEE_ENGAGEMENT, [*users, "ghost"])
    last = built.frames.mentee_engagement.sort_values(TIMESTAMP).groupby("user_id").tail(1).set_index("user_id")
    for u in users:
        for name in MENTEE_ENGAGEMENT.feature_names:
            assert got[u][name] == pytest.approx(last.loc[u, name]), (u, name)
    assert set(got["ghost"].values()) == {None}
    items = read_online(built.store, RESOURCE_STATS, ["py-1", "pr-late"])
    assert items["py-1"]["freshness"] is not None and items["pr-late"]["age_days"] is not None


def test_push_changes_online_features_at_once(built, world, events):
    as_of = built.hi + pd.Timedelta(hours=3)
    before = read_online(built.store, MENTEE_ENGAGEMENT, ["u2"])["u2"]
    new = pd.DataFrame({"event_id": ["n1", "n2"], "user_id": ["u2", "u2"], "item_id": ["sql-1", "sql-1"],
                        "event_type": ["complete", "dismiss"], "value": [np.nan, np.nan],
                        "timestamp": [as_of - pd.Timedelta(minutes=5), as_of], "source": "test"})
    pushed = push_engagement(built.store, "u2", pd.concat([events, new], ignore_index=True), as_of=as_of,
                             catalog=world.catalog)
    after = read_online(built.store, MENTEE_ENGAGEMENT, ["u2"])["u2"]
    assert after == pytest.approx(pushed)
    assert after["completions_30d"] == before["completions_30d"] + 1
    assert after["days_since_last_activity"] == pytest.approx(0.0, abs=1e-6)
    assert after["minutes_completed_30d"] == pytest.approx(before["minutes_completed_30d"] + 30)
    assert push_engagement(built.store, "nobody", events, as_of=as_of, catalog=world.catalog) is None


def test_errors_name_the_problem(built, tmp_path):
    with pytest.raises(DataValidationError, match=TIMESTAMP):
        historical_features(built.store, pd.DataFrame({"user_id": ["u1"]}))
    with pytest.raises(ConfigError, match="join keys"):
        historical_features(built.store, pd.DataFrame({"x": [1], TIMESTAMP: [T("2026-10-10")]}))
    with pytest.raises(ConfigError, match="after end"):
        materialize(built.store, built.hi, built.lo)
    with pytest.raises(NotReadyError, match="features build"):
        materialize(open_store(tmp_path), built.lo, built.hi)


def test_yaml_default_is_the_config_built_in_code(tmp_path, monkeypatch):
    monkeypatch.setenv("SKILLPATH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SKILLPATH_ONLINE_STORE", raising=False)
    from_yaml = yaml.safe_load(os.path.expandvars((REPO / "feature_store.yaml").read_text()))
    code = repo_config_dict(tmp_path)
    assert from_yaml["registry"] == code["registry"]["path"]
    for key in ("project", "provider", "offline_store", "online_store", "entity_key_serialization_version"):
        assert from_yaml[key] == code[key], key


def test_feast_apply_sees_only_the_declared_objects(feast_imported, tmp_path, monkeypatch):
    from feast.repo_operations import parse_repo

    monkeypatch.setenv("SKILLPATH_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(REPO)
    monkeypatch.syspath_prepend(str(REPO))
    contents = parse_repo(REPO)
    assert sorted(v.name for v in contents.feature_views) == ["mentee_engagement", "mentee_skill_state", "mentee_status",
                                                              "resource_stats"]
    assert sorted(e.name for e in contents.entities if not e.name.startswith("__")) == ["mentee", "resource", "skill"]
    assert all(str(tmp_path) in s.path for s in contents.data_sources if hasattr(s, "path") and s.path)
