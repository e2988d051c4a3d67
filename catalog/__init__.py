"""SkillPath catalog: skills, the prerequisite graph, resources, freshness decay, loaders.

Pure logic except the loaders and the event log, which are the package's I/O edge.
"""

from catalog.catalog import Catalog, World
from catalog.errors import *  # noqa: F401,F403
from catalog.errors import __all__ as _errors_all
from catalog.graph import SkillGraph
from catalog.ids import IdMap
from catalog.schema import Goal, Mentee, Mentor, Resource, Skill, SkillLevel

__all__ = ["Catalog", "World", "SkillGraph", "IdMap", "Goal", "Mentee", "Mentor", "Resource",
           "Skill", "SkillLevel", *_errors_all]
