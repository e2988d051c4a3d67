"""SkillPath catalog: skills, the prerequisite graph, resources, freshness decay, loaders.

Pure logic except the loaders and the event log, which are the package's I/O edge.
Names are imported on first use (PEP 562), so ``import catalog.errors`` does not pull
in pandas and scipy: the CLI's ``--help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from catalog.errors import *  # noqa: F401,F403
from catalog.errors import __all__ as _errors_all

_LAZY = {
    "Catalog": "catalog.catalog", "World": "catalog.catalog", "SkillGraph": "catalog.graph",
    "IdMap": "catalog.ids", "Goal": "catalog.schema", "Mentee": "catalog.schema", "Mentor": "catalog.schema",
    "Resource": "catalog.schema", "Skill": "catalog.schema", "SkillLevel": "catalog.schema",
}

__all__ = [*_LAZY, *_errors_all]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'catalog' has no attribute {name!r}")
