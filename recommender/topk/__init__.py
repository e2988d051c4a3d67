"""Exact top-k (docs/scoring.md). :func:`topk` selects from score vectors or matrices;
:class:`ScoringIndex` scores factor models (``u·v + b + λ·log f``) and selects;
:class:`ItemMask` is a request filter prepared once. Everywhere: higher score first, the
lower item index first on equal scores; NaN and ``-inf`` are never returned.
"""

from __future__ import annotations

from recommender.topk.index import DTYPES, ScoringIndex, log_freshness
from recommender.topk.masks import ItemMask
from recommender.topk.panels import compiled_scans
from recommender.topk.selection import topk

__all__ = ["topk", "ScoringIndex", "ItemMask", "log_freshness", "DTYPES", "compiled_scans"]
