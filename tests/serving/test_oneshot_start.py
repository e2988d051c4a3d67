"""What a one-shot command and the service's start read: the champion from the embedded registry
without MLflow, and `skillpath recommend` without the heavy stacks (a subprocess reads sys.modules).

Regression for issue #22: `skillpath recommend` took 16-90 s because it imported MLflow to ask
for the champion, imported the assistant's scikit-learn, and folded the whole log (popularity,
co-completion, the monitor) for one mentee's answer.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime, timezone
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from training.registry import MlflowModelSource
from training.tracking import embedded_uri
from tests.serving.mlflow_registry import register

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("mlflow", "bentoml", "sklearn", "feast", "torch", "scipy.optimize")


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SKILLPATH_", "MLFLOW_"))}
    env.update(OPENBLAS_NUM_THREADS="1", SKILLPATH_DATA_DIR=str(root))
    return env


def test_embedded_read_answers_what_mlflow_answers(served):
    uri = embedded_uri(served.root)
    (served.root / "mlflow").mkdir()
    source = MlflowModelSource(uri, cache_dir=served.root / "models" / "cache")
    v1 = register(uri, served.root / "mlflow" / "artifacts", served.model_dir, served.sha256)
    v2 = register(uri, served.root / "mlflow" / "artifacts", served.model_dir, served.sha256)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    assert source._embedded() == (v2, served.sha256)
    client.set_registered_model_alias("skillpath-recommender", "champion", v1)  # a rollback
    assert source._embedded() == (v1, served.sha256) and source.current_version() == v1
    assert MlflowModelSource(uri, alias="nope", cache_dir=served.root / "c")._embedded() == (None, None)
    assert MlflowModelSource("http://127.0.0.1:9/x", cache_dir=served.root / "c")._embedded() is None


def test_cached_champion_loads_without_mlflow_and_recommend_skips_heavy_stacks(served):
    uri = embedded_uri(served.root)
    (served.root / "mlflow").mkdir()
    version = register(uri, served.root / "mlflow" / "artifacts", served.model_dir, served.sha256)
    env = _env(served.root)
    cli = [sys.executable, "-m", "skillpath_cli.main", "recommend", "u002", "--k", "3", "--format", "json"]
    first = subprocess.run(cli, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr  # fetches the champion into the cache (through MLflow)
    probe = (
        "import runpy, sys, json\n"
        "sys.argv = " + repr(cli[2:]) + "\n"
        "try:\n    runpy.run_module('skillpath_cli.main', run_name='__main__')\n"
        "except SystemExit as e:\n    code = e.code\n"
        "print('\\nMODULES ' + json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        + repr(sorted({h.split('.')[0] for h in HEAVY})) + " and m in " + repr(list(HEAVY)) + ")))\n"
    )
    r = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert "MODULES " in r.stdout, r.stderr
    body, mods = r.stdout.rsplit("MODULES ", 1)
    assert json.loads(mods) == []  # no MLflow, BentoML, scikit-learn, Feast or scipy.optimize on this path
    items = [json.loads(line) for line in body.splitlines() if line.strip()]  # one JSON object a line
    assert len(items) == 3 and items == [json.loads(line) for line in first.stdout.splitlines() if line.strip()]
    assert f"model {version};" in r.stderr


def test_whole_log_parts_wait_for_first_use_and_answer_alike(served):
    from catalog.settings import load_settings
    from serving.app import SkillPathApp
    from serving.schemas import RecommendRequest

    settings = load_settings(data_dir=str(served.root))
    app = SkillPathApp.from_settings(settings, model_dir=served.model_dir)
    try:
        b = app.bundle
        assert app._monitor is None and b._popularity is None
        assert b.cocompletion is not None and not b.cocompletion.built
        lazy = [app.recommend(RecommendRequest(user_id=u, k=5, mode="model")) for u in ("u002", "u010", "u041")]
        assert not b.cocompletion.built and b._popularity is None  # one mentee's answer read no whole log
        assert any("mentees with your history completed it" in r for resp in lazy for i in resp.items
                   for r in i.reasons)  # the on-demand neighbours' read gives the collaborative reason
        app.warm_background(("model extras", "monitor"))
        assert b.cocompletion.built and b._popularity is not None and app._monitor is not None
        app.contexts.clear()
        built = [app.recommend(RecommendRequest(user_id=u, k=5, mode="model")) for u in ("u002", "u010", "u041")]
        assert [r.model_dump() for r in built] == [r.model_dump() for r in lazy]
    finally:
        app.close()


def test_one_mentee_view_answers_as_the_whole_world_and_refuses_writes(served):
    """Issue #22: `skillpath recommend` reads only its mentee's profile from the entity store (parsing all
    6,000 was most of its start) and ranks with numpy's top-k instead of loading numba's scans. Every mode's
    answer must still be the whole service's, for a mentee with a profile, with goals given, and for one
    the store does not know; and such a partial view must refuse to write."""
    from catalog.errors import NotReadyError, SkillPathError
    from catalog.settings import load_settings
    from serving.app import SkillPathApp
    from serving.schemas import RecommendRequest

    settings = load_settings(data_dir=str(served.root))
    now = datetime.now(timezone.utc)  # one clock: freshness moves with time
    full = SkillPathApp.from_settings(settings, model_dir=served.model_dir, clock=lambda: now)
    some = list(full.world.mentees)[:3]
    skill = next(iter(full.world.catalog.skills))
    asks = [RecommendRequest(user_id=u, k=5, mode=m) for u in some for m in ("model", "hybrid", "path")]
    asks += [RecommendRequest(user_id=some[0], k=5, goal_skills=[skill]), RecommendRequest(user_id="nobody", k=5)]

    def answer(app, req):
        try:
            return app.recommend(req).model_dump()
        except SkillPathError as e:
            return type(e).__name__, str(e)

    try:
        for req in asks:
            one = SkillPathApp.from_settings(settings, model_dir=served.model_dir, mentees=[req.user_id],
                                             clock=lambda: now)
            try:
                assert len(one.world.mentees) <= 1 and one.entities.only == {"mentees": [req.user_id]}
                assert answer(one, req) == answer(full, req), req
            finally:
                one.close()
        one = SkillPathApp.from_settings(settings, model_dir=served.model_dir, mentees=[some[0]])
        try:
            with pytest.raises(NotReadyError, match="one-shot"):
                one.entities.delete("mentees", some[0], actor="t", now_us=1)
            with pytest.raises(NotReadyError, match="one-shot"):
                one.entities.put("mentees", [full.entities.get("mentees", some[0]).doc], actor="t", now_us=1)
        finally:
            one.close()
    finally:
        full.close()


def test_cli_answer_equals_the_service_answer(served):
    """The CLI's numpy top-k and one-mentee view give the in-process service's list (compiled scans here)."""
    from catalog.settings import load_settings
    from serving.app import SkillPathApp
    from serving.schemas import RecommendRequest

    env = _env(served.root)
    env["SKILLPATH_MODEL_DIR"] = str(served.model_dir)
    user = next(iter(served.world.mentees))
    r = subprocess.run([sys.executable, "-m", "skillpath_cli.main", "recommend", user, "--k", "5", "--format", "json"],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    cli = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    app = SkillPathApp.from_settings(load_settings(data_dir=str(served.root)), model_dir=served.model_dir)
    try:
        resp = app.recommend(RecommendRequest(user_id=user, k=5))
    finally:
        app.close()
    assert [(c["item_id"], c["reasons"]) for c in cli] == [(i.item_id, "; ".join(i.reasons)) for i in resp.items]
    assert [c["score"] for c in cli] == pytest.approx([round(i.score, 4) for i in resp.items], abs=1e-4)
