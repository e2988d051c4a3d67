"""Feast definitions for SkillPath: entities, Parquet sources, feature views, a push source.

Declarative: :func:`build_definitions` turns :mod:`features.tables` into Feast objects
for one data dir. ``training/feature_store.py`` calls it with the data dir it is given;
``feast apply`` (which imports every ``.py`` here) picks up the module-level objects
below, built for the data dir of :func:`catalog.settings.load_settings` (``$SKILLPATH_DATA_DIR``;
make it absolute).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from feast import Entity, FeatureView, Field, FileSource, PushSource, ValueType
from feast.types import Float64, Int64

from catalog.settings import load_settings
from features.tables import (
    ENGAGEMENT_PUSH_SOURCE,
    MENTEE_ENGAGEMENT,
    MENTEE_SKILL_STATE,
    MENTEE_STATUS,
    RESOURCE_STATS,
    TIMESTAMP,
    TableSpec,
    table_path,
)

__all__ = ["FeatureDefinitions", "build_definitions"]

_FEAST_TYPES = {"int64": Int64, "float64": Float64}


@dataclass
class FeatureDefinitions:
    """Every Feast object of the repo for one data dir; ``objects`` is what ``apply`` takes."""

    entities: dict[str, Entity]
    sources: dict[str, FileSource]
    push_source: PushSource
    views: dict[str, FeatureView]
    objects: list = field(default_factory=list)


def _source(data_dir: Path, spec: TableSpec) -> FileSource:
    return FileSource(
        name=f"{spec.name}_source",
        path=str(table_path(data_dir, spec)),
        timestamp_field=TIMESTAMP,
        description=f"Parquet written by `skillpath features build` for {spec.name}.",
    )


def _view(spec: TableSpec, entities: list[Entity], source) -> FeatureView:
    return FeatureView(
        name=spec.name,
        entities=entities,
        ttl=timedelta(days=spec.ttl_days),
        schema=[Field(name=n, dtype=_FEAST_TYPES[t]) for n, t in spec.features],
        source=source,
        online=True,
        description=spec.description,
        tags={"owner": "skillpath"},
    )


def build_definitions(data_dir: str | Path) -> FeatureDefinitions:
    """Feast objects whose sources read ``<data_dir>/features/*.parquet`` (absolute paths)."""
    data_dir = Path(data_dir).expanduser().resolve()
    mentee = Entity(name="mentee", join_keys=["user_id"], value_type=ValueType.STRING,
                    description="A learner (catalog.schema.Mentee.user_id).")
    resource = Entity(name="resource", join_keys=["item_id"], value_type=ValueType.STRING,
                      description="A catalog resource (catalog.schema.Resource.item_id).")
    skill = Entity(name="skill", join_keys=["skill_id"], value_type=ValueType.STRING,
                   description="A skill of the graph (catalog.schema.Skill.skill_id).")
    sources = {s.name: _source(data_dir, s)
               for s in (MENTEE_ENGAGEMENT, MENTEE_SKILL_STATE, RESOURCE_STATS, MENTEE_STATUS)}
    # The service pushes a fresh engagement row after each event; the Parquet file
    # behind it serves training (historical retrieval) and materialisation.
    push = PushSource(name=ENGAGEMENT_PUSH_SOURCE, batch_source=sources[MENTEE_ENGAGEMENT.name])
    views = {
        MENTEE_ENGAGEMENT.name: _view(MENTEE_ENGAGEMENT, [mentee], push),
        MENTEE_SKILL_STATE.name: _view(MENTEE_SKILL_STATE, [mentee, skill], sources[MENTEE_SKILL_STATE.name]),
        RESOURCE_STATS.name: _view(RESOURCE_STATS, [resource], sources[RESOURCE_STATS.name]),
        MENTEE_STATUS.name: _view(MENTEE_STATUS, [mentee], sources[MENTEE_STATUS.name]),
    }
    entities = {"mentee": mentee, "resource": resource, "skill": skill}
    objects = [*entities.values(), *sources.values(), push, *views.values()]
    return FeatureDefinitions(entities=entities, sources=sources, push_source=push, views=views,
                              objects=objects)


# ---- module-level objects for `feast apply` (it collects Feast objects from globals)
_defs = build_definitions(load_settings().data_dir)
mentee = _defs.entities["mentee"]
resource = _defs.entities["resource"]
skill = _defs.entities["skill"]
mentee_engagement_source = _defs.sources[MENTEE_ENGAGEMENT.name]
mentee_skill_state_source = _defs.sources[MENTEE_SKILL_STATE.name]
resource_stats_source = _defs.sources[RESOURCE_STATS.name]
mentee_status_source = _defs.sources[MENTEE_STATUS.name]
mentee_engagement_push = _defs.push_source
mentee_engagement = _defs.views[MENTEE_ENGAGEMENT.name]
mentee_skill_state = _defs.views[MENTEE_SKILL_STATE.name]
resource_stats = _defs.views[RESOURCE_STATS.name]
mentee_status = _defs.views[MENTEE_STATUS.name]
