"""MLflow tracking, embedded by default: SQLite store and artifact folder inside the data dir.

The embedded layout (``mlflow/README.md``), both set explicitly because MLflow 3.17's own
defaults (``./mlflow.db``, ``./mlruns``) depend on the current directory:

    tracking/registry URI   sqlite:////<abs data dir>/mlflow/mlflow.db
    experiment artifacts    <abs data dir>/mlflow/artifacts

``--tracking-uri`` or ``MLFLOW_TRACKING_URI`` (``Settings.tracking.uri``) points at a
server instead; the server then decides where artifacts go. MLflow is imported only here
and in the modules that log or load models, so the core never needs it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.datadir import DataDir
from catalog.settings import Settings

__all__ = ["Tracking", "embedded_uri", "connect"]


def embedded_uri(data_dir: str | Path) -> str:
    """``sqlite:////abs/path/mlflow/mlflow.db`` (four slashes: an absolute path)."""
    return f"sqlite:///{DataDir(data_dir).mlflow / 'mlflow.db'}"


@dataclass(frozen=True)
class Tracking:
    """A connection to one tracking store: its URI, the experiment, the registered model name."""

    uri: str
    experiment_id: str
    registered_model: str
    data_dir: Path
    embedded: bool

    @property
    def client(self) -> Any:
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)


#: MLflow's UI opens an experiment on its runs table for this kind (else on the GenAI traces page).
EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")


def connect(settings: Settings, data_dir: str | Path | None = None, *, tracking_uri: str | None = None) -> Tracking:
    """Point MLflow at the configured store (creating the embedded one and the experiment if needed)."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    dd = DataDir(data_dir if data_dir is not None else settings.data_dir)
    configured = tracking_uri or settings.tracking.uri
    embedded = configured is None
    artifact_location = None
    if configured is None:
        dd.mlflow.mkdir(parents=True, exist_ok=True)
        (dd.mlflow / "artifacts").mkdir(exist_ok=True)
        artifact_location = str(dd.mlflow / "artifacts")
    uri = configured or embedded_uri(dd.root)
    # mlflow.set_*_uri also export MLFLOW_TRACKING_URI / MLFLOW_REGISTRY_URI, which our own
    # settings read: a second data dir in the same process (tests, notebooks) would then
    # silently log into the first one's store. Keep MLflow's module state, restore the env.
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    client = mlflow.tracking.MlflowClient(tracking_uri=uri, registry_uri=uri)
    name = settings.tracking.experiment
    exp = client.get_experiment_by_name(name)
    exp_id = exp.experiment_id if exp is not None else client.create_experiment(name, artifact_location=artifact_location)
    if exp is None or EXPERIMENT_KIND[0] not in exp.tags:  # the UI opens on the runs, not on GenAI traces
        client.set_experiment_tag(exp_id, *EXPERIMENT_KIND)
    return Tracking(uri=uri, experiment_id=exp_id, registered_model=settings.tracking.registered_model,
                    data_dir=dd.root, embedded=embedded)
