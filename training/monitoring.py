"""Train the at-risk model on labelled outcomes, evaluate it on a later time window, gate, log to MLflow.

Rows: every ``every_days`` from the first month on, one per mentee present (joined, not yet
left), with the status features at that cut (:func:`analysis.monitoring.statuses_at`: the
fold the service runs, replayed, so a row never sees an event after its cut), built with
the same inputs the service gives (goals, self-levels, the mentor, the completion mastery
series of :class:`~analysis.monitoring.progress.CompletionMastery`). Label: drops out
within ``horizon_days`` after the cut, or ends ``stalled`` and the cut is in the last 60
days. Split by time: fit on cuts whose label window closes before ``split`` (the
``train_fraction`` point of the period), evaluate on the cuts after it. The model is saved
to ``models/at_risk/model.npz`` (where the service reads it) only if its validation AUC
passes ``min_auc``; the run (parameters, metrics, the gate, the files) goes to MLflow.
No demographic attribute is a feature (``AtRiskClassifier`` refuses them by name).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.monitoring import FEATURE_NAMES, AtRiskClassifier, MentorContact, statuses_at
from analysis.monitoring.inputs import marks_by_pair
from analysis.monitoring.progress import CompletionMastery, item_main_skill
from catalog.catalog import World
from catalog.errors import NotReadyError

__all__ = ["TrainResult", "training_rows", "train_at_risk", "STALL_WINDOW_DAYS"]

STALL_WINDOW_DAYS = 60


@dataclass(frozen=True)
class TrainResult:
    metrics: dict[str, float]
    params: dict[str, Any]
    passed: bool
    model_path: Path | None
    run_id: str | None


def training_rows(events: pd.DataFrame, world: World, outcomes: pd.DataFrame, *, every_days: int = 7,
                  horizon_days: int = 30,
                  sessions: Iterable[tuple[str, str, Any, float | None]] = ()) -> pd.DataFrame:
    """``user_id, at, <FEATURE_NAMES>, label`` at weekly cuts of every present mentee.

    ``sessions`` are ``(mentee_id, mentor_id, start, mentee rating)`` rows (``SessionStore.contacts``):
    the whole record; each row's status reads only the sessions started by its cut.
    """
    ev = events.sort_values("timestamp", kind="stable")
    start, end = ev["timestamp"].min().normalize(), ev["timestamp"].max()
    out = outcomes.set_index("user_id")
    joined, left = out["joined_at"], out["left_at"]
    cuts = []
    t = start + timedelta(days=28)
    while t <= end:
        present = out.index[(joined <= t) & (left.isna() | (left > t))]
        cuts.append(pd.DataFrame({"user_id": present, "at": t}))
        t += timedelta(days=every_days)
    if not cuts:
        raise NotReadyError("the event history is shorter than a month: nothing to train on")
    cut_df = pd.concat(cuts, ignore_index=True)
    comp = ev[ev["event_type"] == "complete"]
    mastery = CompletionMastery(world.catalog, world.mentees).points(
        zip(comp["user_id"].tolist(), comp["item_id"].tolist(), comp["timestamp"].array.asi8.tolist()))
    marks = marks_by_pair(sessions)
    inputs = {}
    for u, m in world.mentees.items():
        mid = out.at[u, "mentor_id"] if u in out.index else ""
        contact = None
        if mid and mid in world.mentors:
            mm = world.mentors[mid]
            contact = MentorContact(mid, out.at[u, "joined_at"].to_pydatetime(), None, mm.skills, mm.name,
                                    *marks.get((u, mid), ((), ())))
        inputs[u] = {"goals": m.goals, "mentee": m, "mentor": contact}
    X = statuses_at(ev, cut_df, mastery=mastery, item_skill=item_main_skill(world.catalog),
                    inputs=lambda u, at_us: inputs.get(u, {}))
    at = X["at"]
    lft = left.reindex(X["user_id"]).to_numpy()
    outcome = out["outcome"].reindex(X["user_id"]).to_numpy()
    drops = (outcome == "dropped") & (pd.to_datetime(lft, utc=True) <= at + timedelta(days=horizon_days))
    stalls = (outcome == "stalled") & (at >= end - timedelta(days=STALL_WINDOW_DAYS))
    X["label"] = (np.asarray(drops) | np.asarray(stalls)).astype(np.int64)
    return X


def _metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    top = np.argsort(-p, kind="stable")[: max(1, len(p) // 10)]
    return {"auc": float(roc_auc_score(y, p)), "average_precision": float(average_precision_score(y, p)),
            "brier": float(brier_score_loss(y, p)), "precision_top10": float(y[top].mean()),
            "base_rate": float(y.mean()), "rows": float(len(y))}


def train_at_risk(rows: pd.DataFrame, model_dir: str | Path, *, train_fraction: float = 0.6, horizon_days: int = 30,
                  min_auc: float = 0.55, params: dict[str, Any] | None = None, tracking: Any = None) -> TrainResult:
    """Fit on the early cuts, evaluate on the late ones, save if the gate passes, log to ``tracking`` (MLflow)."""
    at = rows["at"]
    lo, hi = at.min(), at.max()
    split = lo + (hi - lo) * train_fraction
    train = (at + timedelta(days=horizon_days) <= split).to_numpy()
    test = (at > split).to_numpy()
    y = rows["label"].to_numpy()
    if len(set(y[train].tolist())) < 2 or len(set(y[test].tolist())) < 2:
        raise NotReadyError("both labels are needed in the training and the validation cuts; a longer history "
                            "or more mentees are needed")
    p = {"max_iter": 200, "max_leaf_nodes": 7, "min_samples_leaf": 100, "cv": 5, **(params or {})}
    X = rows[list(FEATURE_NAMES)]
    model = AtRiskClassifier(**p).fit(X[train], y[train])
    metrics = _metrics(y[test], model.predict_proba(X[test])[:, 1])
    metrics["train_rows"] = float(train.sum())
    passed = metrics["auc"] >= min_auc
    path = None
    if passed:
        path = model.save(Path(model_dir) / "model.npz")
    run_id = None
    if tracking is not None:
        import mlflow

        with mlflow.start_run(experiment_id=tracking.experiment_id, run_name="at-risk") as run:
            mlflow.log_params({**p, "horizon_days": horizon_days, "train_fraction": train_fraction,
                               "min_auc": min_auc, "split": str(split), "features": len(FEATURE_NAMES)})
            mlflow.log_metrics({f"val_{k}": v for k, v in metrics.items()})
            mlflow.set_tags({"skillpath.kind": "at-risk", "skillpath.gate": "passed" if passed else "failed"})
            if path is not None:
                mlflow.log_artifact(str(path), artifact_path="at_risk")
                mlflow.log_artifact(str(path) + ".json", artifact_path="at_risk")
            run_id = run.info.run_id
    return TrainResult(metrics, p, passed, path, run_id)
