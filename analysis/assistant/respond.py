"""The parts of answering that need only the catalog: search, and the names to echo a question.

``search_facts`` is the whole fetch step of the ``search`` intent (the service adds
nothing but the mentee's language preference); the other intents fetch from the
recommender, the path planner and the mentor code (docs/assistant.md, "Wiring").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from analysis.assistant.cards import Facts, resource_card
from analysis.assistant.search import ResourceIndex
from analysis.assistant.understand import Understanding
from catalog.catalog import Catalog

__all__ = ["search_facts", "skill_names"]


def skill_names(catalog: Catalog, skill_ids: Iterable[str]) -> dict[str, str]:
    """``{skill_id: name}`` for the ids the catalog has."""
    return {s: catalog.skills[s].name for s in skill_ids if s in catalog.skills}


def search_facts(u: Understanding, index: ResourceIndex, *, k: int = 5, now: datetime | str | None = None,
                 language: str | None = None, exclude: Iterable[str] = ()) -> Facts:
    """Search the catalog for ``u`` and wrap the hits as cards (best first)."""
    hits = index.search(u.entities, keywords=u.keywords, k=k, now=now, language=language, exclude=exclude)
    cat = index.catalog
    return Facts(resources=tuple(resource_card(cat, h.item_id) for h in hits),
                 names=skill_names(cat, u.entities.skills))
