"""Default hyper-parameters per model, as tuned on validation windows cut from training data.

:data:`DEFAULT_PARAMS` overrides the constructors' own defaults; ``docs/training.md``
records the search (``benchmarks/training.py --tune``) that chose them, on the synthetic
demo world and on OULAD, always on a validation split cut from the training events. The
``recency_*`` parameters are the recency prior (:mod:`recommender.models.recency`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalog.errors import ConfigError
from recommender.models import MODELS

__all__ = ["DEFAULT_PARAMS", "model_params", "parse_model_names"]

# Chosen on validation windows cut from TRAIN of both datasets (synthetic seed 7, OULAD) by
# training.tuning.shared_defaults: per model, the setting whose worst ratio to the dataset's tuned
# recency popularity is highest (docs/training.md has the numbers and the commands).
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "popularity": {"binary": False, "half_life_days": 7.0},
    "content": {"history_weight": 0.0, "level_tolerance": 1.0},
    "als": {"factors": 32, "regularization": 10.0, "alpha": 1.0, "iterations": 15,
            "recency_weight": 0.3, "recency_half_life_days": 1.0},
    "bpr": {"factors": 64, "learning_rate": 0.01, "iterations": 100,
            "recency_weight": 3.0, "recency_half_life_days": 3.0},
    "ease": {"regularization": 500.0, "recency_weight": 1.0, "recency_half_life_days": 7.0},
    "lightfm": {"no_components": 64, "epochs": 30, "recency_weight": 3.0, "recency_half_life_days": 3.0},
}


def model_params(name: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Tuned defaults for ``name`` with ``overrides`` on top."""
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    return {**DEFAULT_PARAMS.get(name, {}), **dict(overrides or {})}


def parse_model_names(value: str | None, default: str) -> list[str]:
    """``all`` -> every model; ``als,ease`` -> both; None -> ``[default]``."""
    if value is None:
        return [default]
    names = sorted(MODELS) if value.strip().lower() == "all" else [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in MODELS]
    if unknown or not names:
        raise ConfigError(f"unknown model(s) {unknown or [value]}; choose from {sorted(MODELS)} or 'all'")
    return names
