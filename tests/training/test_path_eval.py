"""The learning-path evaluation harness on a tiny designed world (deterministic)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from catalog.catalog import World
from catalog.errors import ConfigError
from catalog.schema import EVENT_COLUMNS, Goal, Mentee, Resource, Skill, SkillLevel
from training.path_eval import (POLICIES, PathEvalConfig, eligible_mentees, prepare_world, required_arrays,
                                run_evaluation, run_mentee, runs_frame, sample_mentees)
from training.path_eval_report import EvalReport, log_to_mlflow, paired_gaps, summarize, to_markdown

UTC = timezone.utc
NOW = datetime(2026, 11, 1, tzinfo=UTC)
N_MENTEES = 8


def _world() -> World:
    """Goal ``b`` needs ``a`` at level 3 first; 40 distractor items on unrelated skills."""
    skills = [Skill("a", "Alpha"), Skill("b", "Beta", prerequisites=(SkillLevel("a", 3),)),
              Skill("c", "Gamma"), Skill("d", "Delta")]
    pub = NOW - timedelta(days=100)
    res = []
    for s in ("a", "b"):
        for lv in range(1, 6):
            for k in range(2):
                res.append(Resource(f"{s}{lv}-{k}", f"{s} level {lv} #{k}", "course", (SkillLevel(s, lv),), pub,
                                    duration_minutes=120))
    for k in range(40):
        res.append(Resource(f"x{k}", f"distractor {k}", "article", (SkillLevel("cd"[k % 2], 1 + k % 5),), pub,
                            duration_minutes=60))
    mentees = [Mentee(f"m{u}", (Goal("b", 3),), (), (), 300) for u in range(N_MENTEES)]
    return World.build(skills, res, mentees)


def _events(world: World) -> pd.DataFrame:
    rows = []
    for u in range(N_MENTEES):
        for k, item in enumerate((f"x{u}", f"x{(u + 1) % 40}", f"x{(u * 7) % 40}")):
            rows.append((f"e{u}-{k}", f"m{u}", item, "complete", np.nan, NOW - timedelta(days=10 - k), "t"))
    df = pd.DataFrame(rows, columns=list(EVENT_COLUMNS))
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True).astype("datetime64[us, UTC]")
    return df


@pytest.fixture(scope="module")
def ew():
    world = _world()
    truth = pd.DataFrame([(f"m{u}", s, 0.02) for u in range(N_MENTEES) for s in world.catalog.skill_ids],
                         columns=["user_id", "skill_id", "mastery_end"])
    return prepare_world(world, _events(world), truth, now=NOW, model="als", model_params={"factors": 4})


CFG = PathEvalConfig(seeds=(0, 1), n_mentees=4, steps=10)


@pytest.fixture(scope="module")
def runs(ew) -> pd.DataFrame:
    return runs_frame(run_evaluation(ew, CFG))


def test_every_policy_runs_on_the_same_mentees_and_e_is_bounded(runs):
    assert set(runs["policy"]) == set(POLICIES)
    per = runs.groupby("policy")[["user_id", "seed"]].apply(lambda d: tuple(zip(d.seed, d.user_id)))
    assert len(set(per)) == 1 and len(per.iloc[0]) == 2 * 4
    assert runs["effectiveness"].between(-1, 1).all() and runs["req_effectiveness"].between(-1, 1).all()
    assert (runs["steps"] == 10).all()
    assert np.allclose(runs["score_start"], 0.02) and np.allclose(runs["score_max"], 0.6)


def test_the_simulation_is_deterministic(ew, runs):
    first = runs[(runs.seed == 1)].iloc[0].user_id
    u = ew.user_index(first)
    for policy in ("planner", "topk", "random"):
        again = runs_frame([run_mentee(ew, policy, u, seed=1, cfg=CFG)]).iloc[0]
        pd.testing.assert_series_equal(again, runs[(runs.seed == 1) & (runs.user_id == first)
                                                   & (runs.policy == policy)].iloc[0], check_names=False)
    other = run_mentee(ew, "planner", u, seed=5, cfg=CFG)
    assert other.score_end != runs[(runs.seed == 1) & (runs.user_id == first) & (runs.policy == "planner")
                                   ].score_end.iloc[0]       # another seed, other noise


def test_planner_learns_the_prerequisite_first_and_beats_random_and_the_ablation(runs):
    e = runs.groupby("policy")["effectiveness"].mean()
    req = runs.groupby("policy")["req_effectiveness"].mean()
    assert e["planner"] > 0.05
    assert e["planner"] > e["random"] + 0.05
    assert e["planner"] > e["planner-noprereq"] + 0.05      # studying b before a teaches almost nothing
    assert req["planner"] > req["topk"] and req["planner"] > req["popularity"]
    # Random and plain top-k mostly pick distractors: nearly no step on the goal.
    share = runs.groupby("policy").apply(lambda d: d.goal_steps.sum() / d.steps.sum(), include_groups=False)
    assert share["random"] < 0.3 and share["goal-topk"] == 1.0


def test_requirement_set_and_eligibility(ew):
    u = ew.user_index("m0")
    req, target = required_arrays(ew, ew.world.mentee("m0"), ew.mastery[u])
    assert [ew.world.catalog.skill_ids.ids[j] for j in req] == ["b", "a"] and target.tolist() == [0.6, 0.6]
    assert len(eligible_mentees(ew, min_gap=0.1)) == N_MENTEES
    assert eligible_mentees(ew, min_gap=0.99) == []
    assert sample_mentees(ew, CFG, 0) == sample_mentees(ew, CFG, 0) and len(sample_mentees(ew, CFG, 0)) == 4


def test_one_mentee_run_by_hand(ew):
    r = run_mentee(ew, "planner", ew.user_index("m3"), seed=0, cfg=CFG)
    assert r.user_id == "m3" and r.slice == "near" and r.n_required == 2
    assert r.minutes == 10 * 120 and r.score_end > r.score_start


def test_summary_gaps_markdown_and_mlflow(tmp_path, ew, runs):
    s = summarize(runs, CFG.policies)
    assert list(s[s.slice == "all"].policy) == list(POLICIES)
    g = paired_gaps(runs)
    row = g[(g.slice == "all") & (g.baseline == "random")].iloc[0]
    assert row.gap > 0 and row.seeds_ahead == "2/2"
    report = EvalReport(runs=runs, summary=s, gaps=g, seconds=1.0, config=CFG, world={"source": "test"})
    md = to_markdown(report)
    assert md.startswith("| slice | policy | E |") and "| all | planner |" in md
    # A training run already in the store: the evaluation lands in its experiment, tagged with it.
    import mlflow
    from mlflow.tracking import MlflowClient

    from catalog.settings import Settings
    from training.tracking import connect

    tracking = connect(Settings(data_dir=tmp_path), tmp_path)
    with mlflow.start_run(experiment_id=tracking.experiment_id, run_name="als-k10",
                          tags={"registered_version": "3"}) as training_run:
        pass
    run_id = log_to_mlflow(report, tmp_path)
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}")
    run = client.get_run(run_id)
    assert run.info.experiment_id == tracking.experiment_id
    assert client.get_experiment(run.info.experiment_id).name == "skillpath"
    assert run.data.tags["skillpath.run_kind"] == "path-eval"
    assert run.data.tags["skillpath.training_run_id"] == training_run.info.run_id
    assert run.data.tags["skillpath.training_model_version"] == "3"
    assert run.data.metrics["all/planner/E"] == pytest.approx(float(s[(s.slice == "all") & (s.policy == "planner")].E.iloc[0]))
    assert run.data.metrics["all/gap_vs_random"] == pytest.approx(row.gap)
    assert run.data.params["steps"] == "10" and run.data.params["world_source"] == "test"
    exp = client.get_experiment(run.info.experiment_id)
    assert exp.artifact_location.endswith(str(tmp_path / "mlflow" / "artifacts"))
    # A second evaluation still points at the training run, not at the first evaluation.
    again = client.get_run(log_to_mlflow(report, tmp_path))
    assert again.data.tags["skillpath.training_run_id"] == training_run.info.run_id


def test_bad_config():
    with pytest.raises(ConfigError, match="unknown policies"):
        PathEvalConfig(policies=("planner", "oracle"))
    with pytest.raises(ConfigError):
        PathEvalConfig(seeds=())


def test_a_synthetic_data_dir_is_read_with_its_truth(tmp_path):
    from catalog.errors import NotReadyError
    from catalog.synth import SynthConfig, generate
    from skillpath_cli.common import run_cli
    from skillpath_cli.main import cli
    from training.path_eval_report import data_dir_world

    root = tmp_path / "world"
    assert run_cli(cli, ["--data-dir", str(root), "data", "synth", "--seed", "3", "--mentees", "200", "--items", "300",
                         "--days", "30"]) == 0
    ew = data_dir_world(root, model="popularity")
    sw = generate(SynthConfig(seed=3, n_mentees=200, n_items=300, days=30))
    assert ew.now == sw.config.end                     # the midnight after the last event
    truth = sw.truth.set_index(["user_id", "skill_id"])["mastery_end"]
    u = ew.user_ids.index("u00007")
    j = ew.world.catalog.skill_ids.index("python")
    assert ew.mastery[u, j] == pytest.approx(truth.loc[("u00007", "python")])
    (root / "truth" / "mastery.parquet").unlink()
    with pytest.raises(NotReadyError, match="needs a synthetic world"):
        data_dir_world(root)
