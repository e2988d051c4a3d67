"""Run the learning-path evaluation end to end: world, simulation, summary table, MLflow, Markdown.

:func:`evaluate_paths` builds (or loads) a synthetic world with its hidden truth, runs
:func:`training.path_eval.run_evaluation`, summarises learning effectiveness per policy
(mean and spread over seeds, overall and per slice) and optionally logs the table to MLflow,
in the training pipeline's store and experiment (:func:`training.tracking.connect`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from catalog.datadir import DataDir
from catalog.errors import NotReadyError
from catalog.settings import Settings
from catalog.synth import SynthConfig, generate
from training.path_eval import EvalWorld, PathEvalConfig, prepare_world, run_evaluation, runs_frame

__all__ = ["EvalReport", "synth_world", "data_dir_world", "summarize", "paired_gaps", "to_markdown",
           "latest_training_run", "log_to_mlflow", "evaluate_paths", "RUN_KIND", "RUN_KIND_TAG"]

RUN_KIND_TAG = "skillpath.run_kind"
RUN_KIND = "path-eval"
SLICES = ("all", "near", "far")


@dataclass
class EvalReport:
    """The evaluation's outputs: per-run rows, the summary, paired gaps, timing, settings."""

    runs: pd.DataFrame
    summary: pd.DataFrame
    gaps: pd.DataFrame
    seconds: float
    config: PathEvalConfig
    world: dict[str, Any]


def synth_world(config: SynthConfig, *, model: str = "als", model_params: dict[str, Any] | None = None) -> EvalWorld:
    """Generate a synthetic world in memory and prepare it (truth = ``mastery_end`` at ``config.end``)."""
    sw = generate(config)
    return prepare_world(sw.world, sw.events, sw.truth, now=config.end, model=model, model_params=model_params)


def data_dir_world(data_dir: str | Path, *, model: str = "als",
                   model_params: dict[str, Any] | None = None) -> EvalWorld:
    """The synthetic world in a data dir (``skillpath data synth``), with ``truth/mastery.parquet``.

    ``now`` is the UTC midnight after the last event (the world's end when it was generated).
    """
    from catalog.loaders import load_world
    from catalog.synth.store import truth_path

    dd = DataDir(data_dir)
    truth_file = truth_path(dd)
    if not truth_file.is_file():
        raise NotReadyError(f"no hidden truth at {truth_file}: evaluate-paths needs a synthetic world "
                            "(`skillpath data synth`), or run it without --from-data-dir")
    world = load_world(dd)
    if not dd.events_db.exists():
        raise NotReadyError(f"no event log at {dd.events_db}")
    from catalog.eventlog import EventLog

    with EventLog(dd.events_db) as log:
        events = log.read()
    if len(events) == 0:
        raise NotReadyError(f"the event log at {dd.events_db} is empty")
    last = pd.Timestamp(events["timestamp"].max())
    now = (last.floor("D") + pd.Timedelta(days=1)).to_pydatetime()
    return prepare_world(world, events, pd.read_parquet(truth_file), now=now, model=model, model_params=model_params)


def _per_seed(df: pd.DataFrame, col: str) -> pd.DataFrame:
    return df.groupby(["policy", "seed"])[col].mean().unstack("seed")


def summarize(runs: pd.DataFrame, policies: tuple[str, ...]) -> pd.DataFrame:
    """Per slice and policy: E (goal skills) and E_req (requirement set) as the mean over seeds
    of each seed's mean, their standard deviation over seeds, goals reached, minutes, goal steps."""
    rows = []
    for sl in SLICES:
        df = runs if sl == "all" else runs[runs["slice"] == sl]
        if df.empty:
            continue
        e, r = _per_seed(df, "effectiveness"), _per_seed(df, "req_effectiveness")
        for p in policies:
            if p not in e.index:
                continue
            sub = df[df["policy"] == p]
            rows.append({
                "slice": sl, "policy": p,
                "E": float(e.loc[p].mean()), "E_sd": float(e.loc[p].std(ddof=1)) if e.shape[1] > 1 else 0.0,
                "E_req": float(r.loc[p].mean()), "E_req_sd": float(r.loc[p].std(ddof=1)) if r.shape[1] > 1 else 0.0,
                "goals_reached": float(sub["goals_reached"].mean()),
                "goal_step_share": float(sub["goal_steps"].sum() / max(1, sub["steps"].sum())),
                "minutes": float(sub["minutes"].mean()),
                "mentees_per_seed": float(sub.groupby("seed").size().mean()),
            })
    return pd.DataFrame(rows)


def paired_gaps(runs: pd.DataFrame, *, reference: str = "planner") -> pd.DataFrame:
    """Per slice and baseline: ``E(reference) - E(baseline)`` on the same mentees, mean and
    standard deviation over seeds, and the share of seeds where the reference is ahead."""
    rows = []
    for sl in SLICES:
        df = runs if sl == "all" else runs[runs["slice"] == sl]
        if df.empty or reference not in set(df["policy"]):
            continue
        e = _per_seed(df, "effectiveness")
        for p in e.index:
            if p == reference:
                continue
            d = e.loc[reference] - e.loc[p]
            rows.append({"slice": sl, "baseline": p, "gap": float(d.mean()),
                         "gap_sd": float(d.std(ddof=1)) if len(d) > 1 else 0.0,
                         "seeds_ahead": f"{int((d > 0).sum())}/{len(d)}"})
    return pd.DataFrame(rows)


def to_markdown(report: EvalReport) -> str:
    """The summary and gaps as Markdown tables (for docs/paths_eval.md and the MLflow run)."""
    def table(df: pd.DataFrame, cols: list[str]) -> str:
        head = "| " + " | ".join(cols) + " |\n| " + " | ".join("---" for _ in cols) + " |\n"
        body = ""
        for _, r in df.iterrows():
            cells = [f"{r[c]:.3f}" if isinstance(r[c], float) and c not in ("minutes", "mentees_per_seed")
                     else (f"{r[c]:.0f}" if isinstance(r[c], float) else str(r[c])) for c in cols]
            body += "| " + " | ".join(cells) + " |\n"
        return head + body

    s = report.summary.copy()
    out = [table(s, ["slice", "policy", "E", "E_sd", "E_req", "E_req_sd", "goals_reached", "goal_step_share",
                     "minutes", "mentees_per_seed"])]
    if not report.gaps.empty:
        out.append(table(report.gaps, ["slice", "baseline", "gap", "gap_sd", "seeds_ahead"]))
    return "\n".join(out)


def latest_training_run(client: Any, experiment_id: str) -> Any | None:
    """The newest run of ``experiment_id`` that is not a path evaluation (a training run), or None."""
    for run in client.search_runs([experiment_id], order_by=["attributes.start_time DESC"], max_results=50):
        if run.data.tags.get(RUN_KIND_TAG) != RUN_KIND:
            return run
    return None


def log_to_mlflow(report: EvalReport, data_dir: str | Path, *, tracking_uri: str | None = None,
                  settings: Settings | None = None) -> str:
    """Log settings, per-policy metrics and the tables to MLflow; returns the run id.

    Through :func:`training.tracking.connect`, so the store and experiment are the training
    pipeline's: embedded by default (``sqlite:////<data dir>/mlflow/mlflow.db``, artifacts in
    ``<data dir>/mlflow/artifacts``), experiment ``settings.tracking.experiment``
    (``skillpath``). The run is a top-level run named ``path-eval``, tagged
    ``skillpath.run_kind=path-eval`` and, when the experiment holds a training run, with that
    latest training run's id (``skillpath.training_run_id``) and registered version. It is not
    nested under the training run: the evaluation trains its own model on the synthetic world,
    so it does not evaluate that run's model; the tag records what was current.
    """
    import mlflow

    from training.tracking import connect

    tracking = connect(settings or Settings(data_dir=Path(data_dir)), data_dir, tracking_uri=tracking_uri)
    client = tracking.client
    params = {**{k: (",".join(map(str, v)) if isinstance(v, tuple) else json.dumps(v) if isinstance(v, dict) else v)
                 for k, v in asdict(report.config).items()}, **{f"world_{k}": v for k, v in report.world.items()}}
    tags = {RUN_KIND_TAG: RUN_KIND}
    latest = latest_training_run(client, tracking.experiment_id)
    if latest is not None:
        tags["skillpath.training_run_id"] = latest.info.run_id
        if "registered_version" in latest.data.tags:
            tags["skillpath.training_model_version"] = latest.data.tags["registered_version"]
    with mlflow.start_run(experiment_id=tracking.experiment_id, run_name="path-eval", tags=tags) as run:
        mlflow.log_params(params)
        metrics = {"seconds": report.seconds}
        for _, r in report.summary.iterrows():
            for m in ("E", "E_sd", "E_req", "E_req_sd", "goals_reached"):
                metrics[f"{r['slice']}/{r['policy']}/{m}"] = float(r[m])
        for _, r in report.gaps.iterrows():
            metrics[f"{r['slice']}/gap_vs_{r['baseline']}"] = float(r["gap"])
            metrics[f"{r['slice']}/gap_sd_vs_{r['baseline']}"] = float(r["gap_sd"])
        mlflow.log_metrics(metrics)
        mlflow.log_text(to_markdown(report), "path_eval/paths_eval.md")
        mlflow.log_text(report.summary.to_csv(index=False), "path_eval/summary.csv")
        mlflow.log_text(report.gaps.to_csv(index=False), "path_eval/gaps.csv")
        mlflow.log_text(report.runs.to_csv(index=False), "path_eval/runs.csv")
        return run.info.run_id


def evaluate_paths(ew: EvalWorld, cfg: PathEvalConfig, *, world_info: dict[str, Any] | None = None,
                   progress: Callable[[int], None] | None = None) -> EvalReport:
    """Simulate every policy on ``ew`` and summarise (the caller decides where to log or write)."""
    t0 = time.perf_counter()
    runs = runs_frame(run_evaluation(ew, cfg, progress=progress))
    seconds = time.perf_counter() - t0
    return EvalReport(runs=runs, summary=summarize(runs, cfg.policies), gaps=paired_gaps(runs), seconds=seconds,
                      config=cfg, world=dict(world_info or {}, now=ew.now.isoformat(),
                                             n_items=ew.world.catalog.n_items, n_skills=ew.world.catalog.n_skills))

