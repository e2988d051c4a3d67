"""Registering a saved model in an embedded MLflow store, the way training does it.

Artifacts: the model directory logged under ``model/`` of a run; the version's source
is that folder; its checksum is the ``model_sha256`` tag; ``@champion`` points at it.
"""

from __future__ import annotations

from pathlib import Path


def register(tracking_uri: str, artifacts: Path, model_dir: Path, sha256: str, *,
             name: str = "skillpath-recommender") -> str:
    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    exp = client.get_experiment_by_name("skillpath")
    exp_id = exp.experiment_id if exp else client.create_experiment("skillpath", artifact_location=artifacts.as_uri())
    run = client.create_run(exp_id)
    client.log_artifacts(run.info.run_id, str(model_dir), artifact_path="model")
    client.set_terminated(run.info.run_id)
    try:
        client.get_registered_model(name)
    except mlflow.exceptions.MlflowException:
        client.create_registered_model(name)
    mv = client.create_model_version(name, source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id,
                                     tags={"model_sha256": sha256})
    client.set_registered_model_alias(name, "champion", mv.version)
    return str(mv.version)
