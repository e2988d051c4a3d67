"""Promotion in the registry (training and the CLI): move ``@champion``, go back one step, list versions.

:func:`promote` moves ``@champion`` and appends to the registered model's ``champion_history``
tag, so :func:`rollback` can go back one step; the service only reads what these write
(:mod:`training.registry`).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from catalog.errors import NotReadyError
from training.registry import _HISTORY_MAX, _HISTORY_TAG, CHAMPION, champion_version, get_version
from training.tracking import Tracking

__all__ = ["promote", "rollback", "list_versions"]


def _history(tracking: Tracking) -> list[str]:
    from mlflow.exceptions import MlflowException

    try:
        rm = tracking.client.get_registered_model(tracking.registered_model)
    except MlflowException:
        return []
    return [str(v) for v in json.loads(rm.tags.get(_HISTORY_TAG, "[]"))]


def promote(tracking: Tracking, version: str, *, reason: str = "manual") -> str:
    """Point ``@champion`` at ``version`` and remember the step; returns the previous champion or ''."""
    get_version(tracking, version)
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


