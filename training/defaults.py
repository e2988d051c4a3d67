"""Default hyper-parameters per model, as tuned on validation windows cut from training data.

:data:`DEFAULT_PARAMS` overrides the constructors' own defaults; ``docs/training.md``
records the search (``benchmarks/training.py --tune``) that chose them, on the synthetic
demo world and on OULAD, always on a validation split cut from the training events. The
``recency_*`` parameters are the recency prior (:mod:`recommender.models.recency`); ``"auto"``
values are resolved at training time on the fit window (:mod:`training.autoprior`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalog.errors import ConfigError
from recommender.models import MODELS

AUTO = "auto"  # same value as training.autoprior.AUTO (which imports this package's data module)

__all__ = ["DEFAULT_PARAMS", "model_params", "parse_model_names"]

# The model settings (factors, learning rate, ...) are shared constants chosen on validation windows
# cut from TRAIN of both datasets (synthetic seed 7, OULAD) by training.tuning.shared_defaults. The
# recency settings differ per deployment (a running course: a day; a slow catalog: months), so they
# are "auto": chosen at training time on an inner validation split of the fit window
# (training.autoprior); docs/training.md has the numbers and the commands.
_PRIOR_AUTO: dict[str, Any] = {"recency_weight": AUTO, "recency_half_life_days": AUTO}
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "popularity": {"binary": True, "half_life_days": AUTO},
    "content": {"history_weight": 0.0, "level_tolerance": 1.0},
    "als": {"factors": 32, "regularization": 10.0, "alpha": 1.0, "iterations": 15, **_PRIOR_AUTO},
    "bpr": {"factors": 64, "learning_rate": 0.01, "iterations": 100, **_PRIOR_AUTO},
    "ease": {"regularization": 500.0, **_PRIOR_AUTO},
    "lightfm": {"no_components": 64, "epochs": 30, **_PRIOR_AUTO},
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
