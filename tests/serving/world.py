"""A tiny served world: block-structured catalog with stale and retired items, a trained ALS model.

Blocks 0-3 each have one skill and 12 resources. Block 0's skill has a 180-day
half-life and its first 6 resources were last touched 3 years ago (stale); block 1's
first resource is retired (inactive). Dates are relative to the real clock, because the
service reads the clock itself. Block 3's skill needs block 2's at level 2. Five mentors with 9 places in all (80 mentees, each with
a goal of their block's skill at level 4): ``MENTORS`` says what each covers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from catalog.catalog import World
from catalog.datadir import DataDir
from catalog.eventlog import EventLog
from catalog.schema import Mentor, SkillLevel
from catalog.writers import save_world
from recommender.interactions import build_id_maps, build_interactions
from recommender.models import make_model
from recommender.synthetic import block_world

STALE_ITEMS = [f"b0-i{j:02d}" for j in range(6)]
RETIRED_ITEM = "b1-i00"
#: mentor id -> (skills as skill:level, capacity). Mentees need their block's skill at level 4.
MENTORS = {
    "m-a": ("block0:5", 2),
    "m-b": ("block1:4;block2:3", 2),   # block 2 one level short: partial credit
    "m-c": ("block2:5", 1),
    "m-d": ("block3:4", 3),
    "m-e": ("block0:3;block3:5", 1),
}


def mentors() -> list[Mentor]:
    out = []
    for mid, (skills, cap) in MENTORS.items():
        levels = tuple(SkillLevel(s.split(":")[0], int(s.split(":")[1])) for s in skills.split(";"))
        out.append(Mentor(mid, f"Mentor {mid[-1].upper()}", levels, capacity=cap, language="en"))
    return out


@dataclass(frozen=True)
class Served:
    root: Path
    model_dir: Path
    sha256: str
    world: World
    user_block: dict[str, int]
    item_block: dict[str, int]


def build_world(now: datetime | None = None):
    now = now or datetime.now(timezone.utc)
    data = block_world(n_blocks=4, items_per_block=12, n_users=80, events_per_user=10, noise=0.05, seed=1,
                       start=now - timedelta(days=61))
    w = data.world
    skills = []
    for s in w.catalog.skills.values():
        if s.skill_id == "block0":
            s = dataclasses.replace(s, half_life_days=180.0)
        if s.skill_id == "block3":  # the one prerequisite edge: block 3 builds on block 2 (level 2)
            s = dataclasses.replace(s, prerequisites=(SkillLevel("block2", 2),))
        skills.append(s)
    resources = []
    for r in w.catalog.resources:
        if r.item_id in STALE_ITEMS:
            r = dataclasses.replace(r, published_at=now - timedelta(days=3 * 365))
        else:
            r = dataclasses.replace(r, published_at=now - timedelta(days=90), updated_at=now - timedelta(days=60))
        if r.item_id == RETIRED_ITEM:
            r = dataclasses.replace(r, active=False)
        resources.append(r)
    world = World.build(skills, resources, list(w.mentees.values()), mentors())
    return data, world


def train_model(world: World, events, path: Path, *, factors: int = 8, seed: int = 0) -> str:
    users, items = build_id_maps(events, catalog=world.catalog, mentees=world.mentees.values())
    inter = build_interactions(events, users=users, items=items)
    model = make_model("als", factors=factors, iterations=5, random_state=seed).fit(inter)
    return model.save(path, id_maps={"users": users, "items": items})


def make_served(root: Path) -> Served:
    """Write the world and its events into ``root`` and train a model into ``root/models/als``."""
    data, world = build_world()
    dd = DataDir(root).ensure()
    save_world(world, dd)
    with EventLog(dd.events_db) as log:
        log.append(data.events)
    model_dir = dd.models / "als"
    sha = train_model(world, data.events, model_dir)
    return Served(dd.root, model_dir, sha, world, data.user_block, data.item_block)
