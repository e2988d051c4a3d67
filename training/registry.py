"""The model registry: versions of ``skillpath-recommender``, the ``@champion`` alias, and loading it.

A version records, as tags, the sha256 of its model and extras directories, the model name
and parameters, and the time range it trained on. Promotion moves ``@champion`` and
appends to the ``champion_history`` tag of the registered model, so ``rollback`` can go
back one step. :func:`load_champion` downloads the champion and verifies both checksums
against the registry tags (not only against the artifact's own config): an artifact
edited in the store raises :class:`IntegrityError`.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from catalog.errors import ConfigError, IntegrityError, NotReadyError
from catalog.settings import Settings
from recommender.models import Recommender, load_model
from training.pyfunc import Extras, read_extras
from training.tracking import Tracking, connect

__all__ = ["CHAMPION", "LoadedVersion", "champion_version", "promote", "rollback", "list_versions",
           "load_version", "load_champion"]

CHAMPION = "champion"
_HISTORY_TAG = "champion_history"
_HISTORY_MAX = 50


@dataclass
class LoadedVersion:
    """A registry version downloaded and verified."""

    model: Recommender
    extras: Extras
    version: str
    metadata: dict[str, Any]
    local_dir: Path


def champion_version(tracking: Tracking) -> str | None:
    """The version behind ``@champion``, or None (no registered model or no champion yet)."""
    from mlflow.exceptions import MlflowException

    try:
        return str(tracking.client.get_model_version_by_alias(tracking.registered_model, CHAMPION).version)
    except MlflowException:
        return None


def _history(tracking: Tracking) -> list[str]:
    from mlflow.exceptions import MlflowException

    try:
        rm = tracking.client.get_registered_model(tracking.registered_model)
    except MlflowException:
        return []
    return [str(v) for v in json.loads(rm.tags.get(_HISTORY_TAG, "[]"))]


def _version(tracking: Tracking, version: str) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        return tracking.client.get_model_version(tracking.registered_model, str(version))
    except MlflowException:
        raise ConfigError(f"no version {version} of model {tracking.registered_model!r}; "
                          "see `skillpath models list`") from None


def promote(tracking: Tracking, version: str, *, reason: str = "manual") -> str:
    """Point ``@champion`` at ``version`` and remember the step; returns the previous champion or ''."""
    _version(tracking, version)
    client = tracking.client
    previous = champion_version(tracking) or ""
    client.set_registered_model_alias(tracking.registered_model, CHAMPION, str(version))
    history = [v for v in _history(tracking) if v != str(version)] + [str(version)]
    client.set_registered_model_tag(tracking.registered_model, _HISTORY_TAG, json.dumps(history[-_HISTORY_MAX:]))
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    client.set_model_version_tag(tracking.registered_model, str(version), "promoted_at", stamp)
    client.set_model_version_tag(tracking.registered_model, str(version), "promoted_reason", reason)
    return previous


def rollback(tracking: Tracking) -> tuple[str, str]:
    """Make the previous champion the champion again; returns ``(from_version, to_version)``."""
    current = champion_version(tracking)
    if current is None:
        raise NotReadyError(f"model {tracking.registered_model!r} has no @champion to roll back from")
    history = _history(tracking)
    if history and history[-1] == current:
        history = history[:-1]
    previous = [v for v in history if v != current]
    if not previous:
        raise NotReadyError(f"version {current} is the only champion there has been; nothing to roll back to")
    target = previous[-1]
    client = tracking.client
    client.set_registered_model_alias(tracking.registered_model, CHAMPION, target)
    client.set_registered_model_tag(tracking.registered_model, _HISTORY_TAG, json.dumps(previous))
    client.set_model_version_tag(tracking.registered_model, current, "rolled_back_at",
                                 datetime.now(timezone.utc).isoformat(timespec="seconds"))
    return current, target


def list_versions(tracking: Tracking) -> list[dict[str, Any]]:
    """One row per version, newest first: aliases, model, validation NDCG, gate decision, created."""
    from mlflow.exceptions import MlflowException

    client = tracking.client
    try:
        versions = client.search_model_versions(f"name='{tracking.registered_model}'")
    except MlflowException:
        return []
    aliases: dict[str, list[str]] = {}
    for alias, v in (client.get_registered_model(tracking.registered_model).aliases or {}).items():
        aliases.setdefault(str(v), []).append(alias)
    rows = []
    for mv in sorted(versions, key=lambda v: int(v.version), reverse=True):
        tags = dict(mv.tags or {})
        k = tags.get("k", "10")
        rows.append({
            "version": str(mv.version),
            "aliases": ",".join(sorted(aliases.get(str(mv.version), []))),
            "model": tags.get("model_name", ""),
            f"ndcg@{k}": _float(tags.get(f"val_ndcg_at_{k}")),
            f"recall@{k}": _float(tags.get(f"val_recall_at_{k}")),
            "gate": tags.get("gate.decision", ""),
            "trained_until": tags.get("train_end", ""),
            "created": datetime.fromtimestamp(mv.creation_timestamp / 1000, timezone.utc).isoformat(timespec="seconds"),
            "run_id": mv.run_id,
        })
    return rows


def _float(v: str | None) -> float | None:
    try:
        return None if v is None else float(v)
    except ValueError:
        return None


def load_version(tracking: Tracking, version: str, *, dst_root: str | Path | None = None) -> LoadedVersion:
    """Download ``version`` and load it, verifying model and extras against the registry's sha256 tags."""
    import mlflow.artifacts
    from mlflow.models import Model

    mv = _version(tracking, version)
    tags = dict(mv.tags or {})
    model_sha, extras_sha = tags.get("model_sha256"), tags.get("extras_sha256")
    if not model_sha or not extras_sha:
        raise IntegrityError(f"version {version} records no model_sha256/extras_sha256 tag; refusing to load it")
    root = Path(dst_root) if dst_root is not None else tracking.data_dir / "models" / "registry"
    dst = root / f"v{mv.version}"
    if dst.exists():
        shutil.rmtree(dst)  # always a fresh copy: a cached one could hide a changed store
    dst.mkdir(parents=True)
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{tracking.registered_model}/{mv.version}",
                                                     dst_path=str(dst)))
    flavor = Model.load(str(local)).flavors.get("python_function", {})
    config = flavor.get("config") or flavor.get("model_config") or {}
    if config and (config.get("model_sha256"), config.get("extras_sha256")) != (model_sha, extras_sha):
        raise IntegrityError(f"version {version}: the artifact's model config does not match the registry's "
                             "sha256 tags; the artifact was changed after registration")
    arts = flavor.get("artifacts", {})
    model_dir = local / arts.get("model", {}).get("path", "artifacts/model")
    extras_dir = local / arts.get("extras", {}).get("path", "artifacts/extras")
    model = load_model(model_dir, expected_sha256=model_sha)
    extras = read_extras(extras_dir, expected_sha256=extras_sha)
    metadata = {**tags, "version": str(mv.version), "run_id": mv.run_id,
                "aliases": list(getattr(mv, "aliases", []) or []),
                "created": datetime.fromtimestamp(mv.creation_timestamp / 1000, timezone.utc).isoformat()}
    return LoadedVersion(model=model, extras=extras, version=str(mv.version), metadata=metadata, local_dir=local)


def load_champion(settings: Settings, data_dir: str | Path | None = None, *, tracking_uri: str | None = None,
                  ) -> tuple[Recommender, str, dict[str, Any], Path]:
    """``(model, version, metadata, local_dir)`` of ``@champion``, verified; for serving.

    ``local_dir`` is the downloaded MLflow model (``artifacts/model``, ``artifacts/extras``).
    Raises NotReadyError when there is no champion, IntegrityError when a checksum fails.
    """
    tracking = connect(settings, data_dir, tracking_uri=tracking_uri)
    version = champion_version(tracking)
    if version is None:
        raise NotReadyError(f"model {tracking.registered_model!r} has no @champion yet; run `skillpath train`")
    lv = load_version(tracking, version)
    return lv.model, lv.version, lv.metadata, lv.local_dir
