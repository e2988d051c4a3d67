"""Training runs against the session's embedded MLflow store: the gate, the registry, the pyfunc.

The module fixture trains four versions in order (the gate's decisions depend on it):
v1 popularity (first -> champion), v2 ALS (better -> champion), v3 popularity (worse ->
rejected), v4 popularity --force (forced -> champion).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from catalog.errors import IntegrityError
from training.pipeline import train
from training.promotion import list_versions, promote, rollback
from training.registry import champion_version, load_champion, load_version


@pytest.fixture(scope="module")
def runs(settings, data_dir, tracking):
    out = {}
    out["v1"] = train(settings, data_dir.root, models=["popularity"])
    out["v2"] = train(settings, data_dir.root, models=["als"], k=10)
    champion_after_v2 = champion_version(tracking)
    out["v3"] = train(settings, data_dir.root, models=["popularity"])
    champion_after_v3 = champion_version(tracking)
    out["v4"] = train(settings, data_dir.root, models=["popularity"], force=True)
    out["champions"] = (champion_after_v2, champion_after_v3, champion_version(tracking))
    return out


def test_gate_promotes_better_rejects_worse_and_obeys_force(runs):
    v1, v2, v3, v4 = runs["v1"], runs["v2"], runs["v3"], runs["v4"]
    assert v1.gate.decision == "first" and v1.gate.promote
    assert v2.gate.decision == "promoted" and v2.gate.candidate_score > v2.gate.champion_score
    assert v2.gate.champion_version == v1.version and v2.gate.champion_scored == "artifact"
    # the champion is re-scored on the same validation data: same data, same score as its own run
    assert v2.gate.champion_score == pytest.approx(v1.gate.candidate_score)
    assert v3.gate.decision == "rejected" and not v3.gate.promote
    assert v3.gate.champion_score == pytest.approx(v2.gate.candidate_score)
    assert v4.gate.decision == "forced" and v4.gate.promote
    assert runs["champions"] == (v2.version, v2.version, v4.version)


def test_gate_score_equals_the_comparison_table(runs):
    v2 = runs["v2"]
    table = v2.comparison.table.set_index("model")
    assert v2.gate.candidate_score == pytest.approx(table.loc["als", "ndcg@10"])


def test_decision_is_recorded_on_the_version_and_the_run(runs, tracking):
    v3 = runs["v3"]
    mv = tracking.client.get_model_version(tracking.registered_model, v3.version)
    assert mv.tags["gate.decision"] == "rejected"
    assert float(mv.tags["gate.champion_ndcg_at_10"]) == pytest.approx(v3.gate.champion_score, abs=1e-6)
    assert float(mv.tags["gate.candidate_ndcg_at_10"]) == pytest.approx(v3.gate.candidate_score, abs=1e-6)
    run = tracking.client.get_run(v3.run_id)
    assert run.data.tags["gate.decision"] == "rejected"
    assert "ndcg_at_10" in run.data.metrics and "popularity/ndcg_at_10" in run.data.metrics
    assert run.data.params["data.events_sha256"] == v3.fingerprint["events_sha256"]
    arts = {a.path for a in tracking.client.list_artifacts(v3.run_id, "plots")}
    assert arts == {"plots/ndcg_at_k.png", "plots/recommended_freshness.png"}


def test_auto_settings_are_recorded_as_chosen_values(runs, tracking):
    v1 = runs["v1"]  # popularity with the default half_life_days="auto"
    r = v1.comparison.results["popularity"]
    chosen = r.auto.chosen["half_life_days"]
    assert r.recipe["half_life_days"] == "auto" and r.params["half_life_days"] == chosen
    mv = tracking.client.get_model_version(tracking.registered_model, v1.version)
    assert json.loads(mv.tags["model_recipe"])["half_life_days"] == "auto"
    assert json.loads(mv.tags["model_params"])["half_life_days"] == chosen
    run = tracking.client.get_run(v1.run_id)
    assert run.data.params["auto.half_life_days"] == str(chosen)
    assert run.data.params["param.half_life_days"] == str(chosen)
    assert pd.Timestamp(run.data.params["auto.inner_cut"]) < pd.Timestamp(v1.split["validation_cut"])
    assert "auto/inner_ndcg_at_10" in run.data.metrics
    assert {a.path for a in tracking.client.list_artifacts(v1.run_id, "auto")} == {"auto/auto_prior.json"}
    # The artifact itself holds the chosen number (what serving loads).
    loaded = load_version(tracking, v1.version)
    assert loaded.model.get_params()["half_life_days"] == chosen


def test_training_never_sees_the_validation_window_or_events_after_the_cutoff(runs, block, settings, data_dir):
    s = runs["v2"].split
    assert pd.Timestamp(s["fit_end"]) < pd.Timestamp(s["validation_cut"])
    cutoff = pd.Timestamp(block.events.timestamp.quantile(0.7))
    r = train(settings, data_dir.root, models=["popularity"], cutoff=cutoff)
    assert r.fingerprint["n_events"] == int((block.events.timestamp < cutoff).sum())
    assert pd.Timestamp(r.fingerprint["time_max"]) < cutoff
    assert pd.Timestamp(r.split["validation_cut"]) < cutoff
    # the champion (trained up to a later time) has seen this validation window: its recipe is refitted
    assert r.gate.champion_scored == "refit"


def test_pyfunc_predict_returns_k_ids_per_user(runs, tracking, block):
    import mlflow.pyfunc

    v2 = runs["v2"]
    model = mlflow.pyfunc.load_model(f"models:/{tracking.registered_model}/{v2.version}")
    users = ["u000", "u001", "never-seen"]
    out = model.predict(pd.DataFrame({"user_id": users}), params={"k": 4})
    assert list(out.user_id) == users
    catalog = set(block.world.catalog.items.to_list())
    for ids in out.item_ids:
        assert len(ids) == 4 and len(set(ids)) == 4 and set(ids) <= catalog
    seen = set(block.events[(block.events.user_id == "u000")
                            & (block.events.timestamp < pd.Timestamp(v2.split["validation_cut"]))].item_id)
    assert not seen & set(out.item_ids[0])  # what u000 used in training is not recommended again
    default = model.predict(pd.DataFrame({"user_id": ["u000"]}))
    assert len(default.item_ids[0]) == 10


def test_load_champion_verifies_and_refuses_a_tampered_artifact(runs, settings, data_dir, tracking):
    model, version, meta, local = load_champion(settings, data_dir.root)
    assert version == runs["v4"].version and meta["model_name"] == "popularity"
    assert model.sha256_ == meta["model_sha256"]
    # tamper with the stored artifact of the champion, in the tracking store's artifact folder
    mv = tracking.client.get_model_version(tracking.registered_model, version)
    logged_model_id = mv.source.rsplit("/", 1)[-1]  # models:/m-<id>
    [target] = [p for p in (data_dir.mlflow / "artifacts").rglob("arrays.npz") if logged_model_id in str(p)]
    assert _sha_of_dir(target.parent) == meta["model_sha256"]
    backup = target.read_bytes()
    try:
        arrays = dict(np.load(target))
        name = sorted(arrays)[0]
        arrays[name] = arrays[name][::-1].copy()  # same shape and dtype, different scores
        np.savez(target, **arrays)
        with pytest.raises(IntegrityError):
            load_champion(settings, data_dir.root)
    finally:
        target.write_bytes(backup)
    assert load_champion(settings, data_dir.root)[1] == version


def _sha_of_dir(d):
    import hashlib

    return hashlib.sha256((d / "model.json").read_bytes()).hexdigest()


def test_promote_rollback_and_list(runs, tracking):
    v2, v4 = runs["v2"].version, runs["v4"].version
    assert champion_version(tracking) == v4
    assert rollback(tracking) == (v4, v2)
    assert champion_version(tracking) == v2
    assert promote(tracking, v4) == v2
    rows = {r["version"]: r for r in list_versions(tracking)}
    assert rows[v4]["aliases"] == "champion" and rows[v2]["aliases"] == ""
    assert rows[v2]["model"] == "als" and rows[runs["v3"].version]["gate"] == "rejected"
    lv = load_version(tracking, v2, dst_root=tracking.data_dir / "tmp-load")
    assert lv.model.name == "als"
    shutil.rmtree(tracking.data_dir / "tmp-load")
