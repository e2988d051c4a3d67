"""SkillPath recommenders behind one contract (:class:`recommender.models.base.Recommender`).

``make_model(name, **params)`` builds one by name; ``load_model(path)`` reads any saved
model back, checking its integrity.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from catalog.errors import ConfigError, IntegrityError
from recommender.models.als import ALSRecommender
from recommender.models.artifact import read_artifact
from recommender.models.base import Recommender
from recommender.models.bpr import BPRRecommender
from recommender.models.content import ContentRecommender
from recommender.models.ease import EASERecommender
from recommender.models.lightfm import LightFMRecommender
from recommender.models.popularity import PopularityRecommender

__all__ = [
    "MODELS", "make_model", "load_model", "Recommender",
    "ALSRecommender", "BPRRecommender", "ContentRecommender", "EASERecommender", "LightFMRecommender",
    "PopularityRecommender",
]

MODELS: dict[str, type[Recommender]] = {
    cls.name: cls
    for cls in (PopularityRecommender, ContentRecommender, ALSRecommender, BPRRecommender, EASERecommender,
                LightFMRecommender)
}


def make_model(name: str, **params: Any) -> Recommender:
    """A fresh, unfitted model by registry name (``popularity``, ``content``, ``als``, ``bpr``, ``ease``, ``lightfm``)."""
    try:
        cls = MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; choose one of {sorted(MODELS)}") from None
    try:
        return cls(**params)
    except TypeError as e:
        raise ConfigError(f"{name}: {e}") from None


def load_model(path: str | Path, *, expected_sha256: str | None = None) -> Recommender:
    """Load any saved model; IntegrityError if it was tampered with or is inconsistent."""
    art = read_artifact(path, expected_sha256=expected_sha256)
    if art.model not in MODELS:
        raise IntegrityError(f"{path}: unknown model type {art.model!r}")
    return MODELS[art.model].from_artifact(art, source=str(path))
