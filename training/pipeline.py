"""One training run, end to end: data -> validation comparison -> MLflow run -> registry -> gate.

    events before --cutoff ──validation cut──> fit window | validation window
    every requested model: fit on the fit window, scored on the validation window
    candidate: the requested model (or, with several, the best NDCG@k); the artifact that
      is registered is exactly the one that was scored (trained on the fit window)
    gate: the candidate and the current @champion are scored on the same validation data
      (training/gate.py); @champion moves only if the candidate is strictly better, or --force

Everything a run used is logged: parameters, data fingerprints, every metric of every
model, the comparison table (CSV + markdown), two figures and the pyfunc model.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import pandas as pd

from catalog.settings import Settings
from training.data import TrainingData, UserExtra, before, fingerprint, load_training_data, validation_split, world_fingerprint
from training.defaults import model_params
from training.evaluate import Comparison, fit_resolved, mlflow_key, mlflow_metrics, run_comparison
from training.degenerate import Degeneracy, check_degenerate
from training.gate import GateResult, decide, refit_saved, score_saved_model
from training.plots import comparison_markdown, freshness_figure, ndcg_curve_figure
from training.pyfunc import ENTRY_FILE, Extras, signature, write_extras
from training.promotion import promote
from training.registry import champion_version, load_version
from training.tracking import Tracking, connect

__all__ = ["TrainReport", "train"]

_REQUIREMENTS = ("mlflow", "numpy", "scipy", "pandas", "pydantic", "implicit", "rectools-lightfm")


@dataclass
class TrainReport:
    """What a run did: the comparison, the candidate, the registry version and the gate's decision."""

    comparison: Comparison
    candidate: str
    run_id: str
    version: str
    gate: GateResult
    fingerprint: dict[str, Any]
    split: dict[str, Any] = field(default_factory=dict)
    tracking_uri: str = ""


def _pip_requirements() -> list[str]:
    reqs = []
    for name in _REQUIREMENTS:
        try:
            reqs.append(f"{name}=={importlib_metadata.version(name)}")
        except importlib_metadata.PackageNotFoundError:
            reqs.append(name)
    return reqs


def _save_candidate(comparison: Comparison, name: str, root: Path) -> tuple[Path, str, Path, str]:
    prepared = comparison.prepared
    model = comparison.results[name].model
    if prepared is None or model is None:
        raise ValueError("the comparison kept no fitted models (keep_models=True)")
    id_maps = {"users": prepared.users, "items": prepared.items, **prepared.features.names_for_model(model)}
    model_dir, extras_dir = root / "model", root / "extras"
    model_sha = model.save(model_dir, id_maps=id_maps)
    # Mentees the model never saw get the baseline: popularity, its half-life resolved on the fit window.
    pop_model, _, _ = fit_resolved("popularity", prepared, model_params("popularity"), k=comparison.k)
    pop = pop_model.item_popularity_  # type: ignore[attr-defined]
    extras_sha = write_extras(extras_dir, Extras.from_interactions(prepared.train, popularity=pop))
    return model_dir, model_sha, extras_dir, extras_sha


def _pick_candidate(comparison: Comparison, names: Sequence[str], k: int) -> tuple[str, Degeneracy]:
    """The requested model, or of several the best NDCG@k that is not degenerate (else the best)."""
    prepared = comparison.prepared
    order = [names[0]] if len(names) == 1 else \
        comparison.table.sort_values([f"ndcg@{k}", "model"], ascending=[False, True])["model"].tolist()
    checked: list[tuple[str, Degeneracy]] = []
    for name in order:
        model = comparison.results[name].model
        if prepared is None or model is None:
            raise ValueError("the comparison kept no fitted models (keep_models=True)")
        deg = check_degenerate(model, prepared.train, k, user_features=prepared.features.for_model(model)[1])
        if not deg.degenerate:
            return name, deg
        checked.append((name, deg))
    return checked[0]


def _gate(tracking: Tracking, comparison: Comparison, candidate_dir: Path, candidate_sha: str,
          fit_events: pd.DataFrame, val_events: pd.DataFrame, data: TrainingData, *, k: int,
          validation_cut: pd.Timestamp, force: bool, user_extra: UserExtra | None = None,
          degenerate: Sequence[str] = ()) -> GateResult:
    """Score the saved candidate and the current champion on the same validation data."""
    from recommender.models import load_model

    metric = f"ndcg@{k}"
    current = champion_version(tracking)
    candidate = load_model(candidate_dir, expected_sha256=candidate_sha)
    cand_score = score_saved_model(candidate, fit_events, val_events, data.world, k=k, user_extra=user_extra)[metric]
    if current is None:
        return decide(cand_score, None, force=force, metric=metric, degenerate=degenerate)
    with tempfile.TemporaryDirectory() as tmp:
        champion = load_version(tracking, current, dst_root=tmp)
        trained_until = champion.metadata.get("train_end")
        scored = "artifact"
        model = champion.model
        if not trained_until or pd.Timestamp(trained_until) >= validation_cut:
            # The recipe ("auto" values re-tuned on this fit window), else the params it was fitted with.
            recipe = champion.metadata.get("model_recipe") or champion.metadata.get("model_params", "null")
            params = json.loads(recipe or "null")
            model = refit_saved(champion.model, comparison.prepared, params, k=k)
            scored = "refit"
        champ_score = score_saved_model(model, fit_events, val_events, data.world, k=k, user_extra=user_extra)[metric]
    return decide(cand_score, champ_score, force=force, champion_version=current, champion_scored=scored,
                  metric=metric, degenerate=degenerate)


def train(settings: Settings, data_dir: str | Path | None = None, *, models: Sequence[str] | None = None,
          cutoff: datetime | str | None = None, k: int | None = None, force: bool = False,
          tracking_uri: str | None = None, events_path: str | Path | None = None, val_fraction: float = 0.2,
          on_stage: Callable[[str], None] | None = None, feast_features: bool = False) -> TrainReport:
    """Run one training run and return its :class:`TrainReport` (see the module docstring).

    ``feast_features``: append binned Feast engagement (point in time at the validation
    cut) to LightFM's user features and add ``active``/``inactive`` evaluation slices
    (:mod:`training.feast_features`); needs ``skillpath features build`` and ``apply``.
    """
    stage = on_stage or (lambda s: None)
    dd = Path(data_dir if data_dir is not None else settings.data_dir)
    if feast_features:
        from training.feast_features import require_tables

        require_tables(dd)  # fail before any work
    k = int(k or settings.k)
    names = list(models or [settings.default_model])
    stage("loading data")
    data = load_training_data(dd, events_path=events_path, database_url=settings.database_url)
    train_events = before(data.events, cutoff)
    vsplit = validation_split(train_events, fraction=val_fraction)
    fit_events, val_events = vsplit.train, vsplit.test
    user_extra = user_slices = None
    if feast_features:
        from training.feast_features import training_hooks

        # Fit events are strictly before the cut: features as of the cut see only them.
        user_extra, user_slices = training_hooks(dd, vsplit.cutoff)
    comparison = run_comparison(names, fit_events, val_events, data.world, k=k, id_events=[train_events],
                                as_of=vsplit.cutoff, keep_models=True, split="temporal-validation",
                                stale_threshold=settings.scoring.stale_threshold,
                                user_extra=user_extra, user_slices=user_slices,
                                on_model=lambda n: stage(f"fitting {n}"))
    candidate, degeneracy = _pick_candidate(comparison, names, k)
    fp = {**fingerprint(train_events), **world_fingerprint(data.world), "n_events_all": len(data.events)}
    split = {"cutoff": None if cutoff is None else pd.Timestamp(cutoff).isoformat(),
             "validation_cut": vsplit.cutoff.isoformat(), "val_fraction": val_fraction,
             "fit_events": len(fit_events), "validation_events": len(val_events),
             "fit_end": pd.to_datetime(fit_events["timestamp"], utc=True).max().isoformat()}
    stage("logging to MLflow")
    tracking = connect(settings, dd, tracking_uri=tracking_uri)
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        model_dir, model_sha, extras_dir, extras_sha = _save_candidate(comparison, candidate, Path(tmp))
        result = comparison.results[candidate]
        with mlflow.start_run(experiment_id=tracking.experiment_id, run_name=f"{candidate}-k{k}") as run:
            mlflow.log_params({"models": ",".join(names), "candidate": candidate, "k": k, "data_source": data.source,
                               "feast_features": str(feast_features).lower(),
                               **{f"split.{key}": v for key, v in split.items()},
                               **{f"param.{key}": v for key, v in result.params.items()},
                               **{f"auto.{key}": v for key, v in (result.auto.chosen if result.auto else {}).items()},
                               **{f"data.{key}": v for key, v in fp.items()}})
            mlflow.set_tags({"data.events_sha256": fp["events_sha256"], "data.items_sha256": fp["items_sha256"],
                             "model_sha256": model_sha, "extras_sha256": extras_sha})
            mlflow.log_metrics(mlflow_metrics(result.metrics))
            if result.auto is not None:  # what the train-time tuner chose, and every setting it scored
                mlflow.log_params({"auto.inner_cut": result.auto.inner_cut,
                                   "auto.inner_fit_events": result.auto.inner_fit_events,
                                   "auto.inner_validation_events": result.auto.inner_val_events})
                mlflow.log_metrics({f"auto/inner_{mlflow_key(f'ndcg@{k}')}": result.auto.best_score,
                                    "auto/seconds": result.auto.seconds})
                mlflow.log_text(result.auto.to_json(), "auto/auto_prior.json")
            for name, r in comparison.results.items():
                mlflow.log_metrics(mlflow_metrics({**r.metrics, "fit_seconds": r.fit_seconds,
                                                   "auto_seconds": r.auto_seconds}, prefix=f"{name}/"))
                for i, v in enumerate(r.ndcg_curve, start=1):
                    mlflow.log_metric(f"{name}/ndcg_curve", float(v), step=i)
            mlflow.log_text(comparison.table.to_csv(index=False), "comparison/comparison.csv")
            mlflow.log_text(comparison_markdown(comparison), "comparison/comparison.md")
            mlflow.log_figure(ndcg_curve_figure(comparison), "plots/ndcg_at_k.png")
            mlflow.log_figure(freshness_figure(comparison, settings.scoring.stale_threshold),
                              "plots/recommended_freshness.png")
            stage("logging the model")
            with warnings.catch_warnings():  # "no input example": the signature is explicit
                warnings.simplefilter("ignore", UserWarning)
                info = mlflow.pyfunc.log_model(
                    name="model", python_model=str(ENTRY_FILE),
                    artifacts={"model": str(model_dir), "extras": str(extras_dir)},
                    model_config={"model_sha256": model_sha, "extras_sha256": extras_sha, "k": k},
                    signature=signature(k), pip_requirements=_pip_requirements())
            mv = mlflow.register_model(info.model_uri, tracking.registered_model)
            version = str(mv.version)
            client = tracking.client
            version_tags = {
                "model_sha256": model_sha, "extras_sha256": extras_sha, "model_name": candidate,
                "model_params": json.dumps(result.params, sort_keys=True), "k": str(k),
                "model_recipe": json.dumps(result.recipe, sort_keys=True),
                "train_start": fp["time_min"], "train_end": split["fit_end"],
                "validation_cut": split["validation_cut"], "events_sha256": fp["events_sha256"],
                **{f"val_{mlflow_key(key)}": f"{v:.6f}" for key, v in result.metrics.items()
                   if key.startswith(("ndcg@", "recall@", "precision@"))},
            }
            for key, v in version_tags.items():
                client.set_model_version_tag(tracking.registered_model, version, key, str(v))
            stage("promotion gate")
            gate = _gate(tracking, comparison, model_dir, model_sha, fit_events, val_events, data, k=k,
                         validation_cut=vsplit.cutoff, force=force, user_extra=user_extra,
                         degenerate=degeneracy.reasons)
            for key, v in {**gate.tags(), **degeneracy.tags()}.items():
                client.set_model_version_tag(tracking.registered_model, version, key, v)
            mlflow.set_tags({**gate.tags(), "registered_version": version})
            mlflow.log_params({"gate.force": force})
            mlflow.log_metric(f"gate/candidate_{mlflow_key(gate.metric)}", gate.candidate_score)
            if gate.champion_score is not None:
                mlflow.log_metric(f"gate/champion_{mlflow_key(gate.metric)}", gate.champion_score)
            if gate.promote:
                promote(tracking, version, reason=gate.decision)
    return TrainReport(comparison=comparison, candidate=candidate, run_id=run.info.run_id, version=version,
                       gate=gate, fingerprint=fp, split=split, tracking_uri=tracking.uri)
