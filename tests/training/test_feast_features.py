"""Feast engagement as training features: binning, point-in-time retrieval, slices, the CLI guard."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from catalog.datadir import DataDir
from catalog.errors import NotReadyError
from catalog.synth import generate
from catalog.synth.config import SynthConfig
from catalog.synth.store import save_synth
from features.tables import MENTEE_ENGAGEMENT, TIMESTAMP
from skillpath_cli.common import run_cli
from skillpath_cli.main import cli
from training.feast_features import (
    bin_engagement, engagement_frame, engagement_slices, require_tables, training_hooks, user_features_from_store,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _row(cols: list[str], mat, r: int) -> set[str]:
    return {cols[j] for j in mat[r].indices}


def test_bin_engagement_puts_each_value_in_exactly_one_bucket_and_nulls_in_missing():
    frame = pd.DataFrame({
        "events_30d": [0, 5, 6, 21, np.nan],
        "days_since_last_activity": [0.5, 1.0, 1.5, 40.0, np.nan],
        "dismiss_rate_30d": [0.0, 0.2, 0.21, 0.9, np.nan],
    })
    mat, names = bin_engagement(frame)
    assert mat.shape == (5, len(names)) and (np.asarray(mat.sum(axis=1)).ravel() == 3).all()
    assert _row(names, mat, 0) == {"events_30d=0", "days_since_last_activity=<=1", "dismiss_rate_30d=0"}
    assert _row(names, mat, 1) == {"events_30d=1-5", "days_since_last_activity=<=1", "dismiss_rate_30d=0-0.2"}
    assert _row(names, mat, 2) == {"events_30d=6-20", "days_since_last_activity=1-7", "dismiss_rate_30d=0.2-0.5"}
    assert _row(names, mat, 3) == {"events_30d=>20", "days_since_last_activity=>30", "dismiss_rate_30d=>0.5"}
    assert _row(names, mat, 4) == {"events_30d=missing", "days_since_last_activity=missing",
                                   "dismiss_rate_30d=missing"}
    s = engagement_slices(frame)
    assert s["active"].tolist() == [False, False, True, True, False]
    assert (s["inactive"] == ~s["active"]).all()


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    """A small synthetic data dir with built and registered feature tables, plus a planted mentee."""
    from training.feature_store import apply, open_store
    from training.features import compute_feature_frames, write_feature_frames

    sw = generate(SynthConfig(seed=3, n_mentees=300, n_items=200, n_mentors=5, days=60))
    dd = DataDir(tmp_path_factory.mktemp("feast-train")).ensure()
    save_synth(sw, dd)
    ts = pd.to_datetime(sw.events["timestamp"], utc=True)
    as_of = ts.quantile(0.5)
    frames = compute_feature_frames(sw.events, sw.world)
    # "planted": 3 events before as_of, then a row stamped 1µs after as_of with 999.
    plant = pd.DataFrame({"user_id": ["planted", "planted"],
                          TIMESTAMP: [as_of - pd.Timedelta(hours=1), as_of + pd.Timedelta(microseconds=1)]})
    for name, dtype in MENTEE_ENGAGEMENT.features:
        plant[name] = np.array([3, 999]).astype(dtype)
    plant[TIMESTAMP] = plant[TIMESTAMP].astype("datetime64[us, UTC]")
    frames.mentee_engagement = pd.concat([frames.mentee_engagement, plant[MENTEE_ENGAGEMENT.columns]],
                                         ignore_index=True)
    write_feature_frames(frames, dd.root)
    apply(open_store(dd.root, online="sqlite"))
    return dd, sw, as_of, frames


def test_store_features_are_one_row_per_user_in_order_and_never_from_after_as_of(synth_dir):
    dd, sw, as_of, frames = synth_dir
    users = ["planted", *sorted(sw.world.mentees)[::-1], "nobody"]
    mat, names = user_features_from_store(dd.root, users, as_of)
    assert mat.shape == (len(users), len(names))
    assert (np.asarray(mat.sum(axis=1)).ravel() == 3).all()
    assert "events_30d=1-5" in _row(names, mat, 0) and "events_30d=>20" not in _row(names, mat, 0)
    assert _row(names, mat, len(users) - 1) == {n for n in names if n.endswith("=missing")}
    raw = engagement_frame(dd.root, users, as_of)
    assert raw["user_id"].tolist() == users
    assert raw["events_30d"].iloc[0] == 3 and not (raw["events_30d"] == 999).any()
    # Every real value is the latest snapshot at or before as_of (brute-force oracle).
    me = frames.mentee_engagement
    assert raw["events_30d"].notna().sum() > 50 and (raw["events_30d"] > 5).sum() > 10  # not vacuous
    for i, u in enumerate(users[1:-1], start=1):
        rows = me[(me.user_id == u) & (me[TIMESTAMP] <= as_of)].sort_values(TIMESTAMP)
        want = np.nan if rows.empty else float(rows["events_30d"].iloc[-1])
        got = float(raw["events_30d"].iloc[i])
        assert (np.isnan(want) and np.isnan(got)) or want == got, u


def test_comparison_appends_feast_columns_to_lightfm_users_and_adds_engagement_slices(synth_dir):
    from training.data import before, validation_split
    from training.evaluate import run_comparison

    dd, sw, as_of, _ = synth_dir
    split = validation_split(sw.events, fraction=0.3)
    extra, slices = training_hooks(dd.root, split.cutoff)
    comp = run_comparison(["lightfm"], split.train, split.test, sw.world, k=10, id_events=[sw.events],
                          as_of=split.cutoff, user_extra=extra, user_slices=slices)
    tags = comp.prepared.features.user_tags
    feast_cols = [n for n in tags.names.to_list() if n.startswith("feast:")]
    assert len(feast_cols) == 15 and tags.matrix.shape[0] == len(comp.prepared.users)
    assert comp.prepared.features.user_skills.names.to_list() == [
        n for n in comp.prepared.features.user_skills.names.to_list() if not n.startswith("feast:")]
    row = comp.table.iloc[0]
    assert {"active/ndcg@10", "inactive/ndcg@10", "active/n_users", "inactive/n_users"} <= set(comp.table.columns)
    assert row["active/n_users"] > 0 and row["inactive/n_users"] > 0
    assert row["active/n_users"] + row["inactive/n_users"] == row["n_users"]
    assert 0.0 <= row["active/ndcg@10"] <= 1.0 and 0.0 <= row["inactive/ndcg@10"] <= 1.0
    assert before(sw.events, split.cutoff).shape[0] == split.train.shape[0]


def test_require_tables_and_train_flag_fail_with_one_line_when_tables_are_missing(tmp_path, capsys):
    with pytest.raises(NotReadyError, match="skillpath features build && skillpath features apply"):
        require_tables(tmp_path)
    dd = DataDir(tmp_path / "empty").ensure()
    rc = run_cli(cli, ["--data-dir", str(dd.root), "train", "--model", "lightfm", "--feast-features"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "skillpath features apply" in err


def test_train_with_feast_features_logs_the_param_and_the_gate_scores_the_same_features(synth_dir, tmp_path,
                                                                                      monkeypatch):
    import mlflow

    from catalog.settings import Settings
    from training.pipeline import train

    dd, *_ = synth_dir
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # mlflow.set_tracking_uri exports it: undo after the test
    report = train(Settings(data_dir=dd.root), dd.root, models=["lightfm"], feast_features=True, tracking_uri=uri)
    assert {"active/ndcg@10", "inactive/ndcg@10"} <= set(report.comparison.table.columns)
    # The registered artifact, re-scored by the gate, gets the comparison's score (every
    # validation user is known, so LightFM uses the vectors it learnt with the features).
    assert report.gate.candidate_score == pytest.approx(report.comparison.table.iloc[0]["ndcg@10"], abs=1e-9)
    run = mlflow.MlflowClient(uri).get_run(report.run_id)
    assert run.data.params["feast_features"] == "true"
