"""Block-structured toy data for tests and sanity benchmarks (seeded, tiny, fast).

``n_blocks`` skill clusters; each has its own skill and ``items_per_block`` resources at
levels 1-5. Every mentee belongs to one block (their goal skill) and mostly interacts
with that block's items, with a skewed popularity inside each block, plus some noise.
Collaborative models should learn the blocks; popularity cannot, which is the point.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd

from catalog.catalog import World
from catalog.schema import EVENT_COLUMNS, Goal, Mentee, Resource, Skill, SkillLevel

__all__ = ["BlockData", "block_world"]

_TYPES = ("article", "video", "course", "exercise", "project")
_POSITIVE = ("view", "start", "complete", "like", "bookmark")
_POSITIVE_P = (0.3, 0.2, 0.3, 0.1, 0.1)


@dataclass(frozen=True)
class BlockData:
    world: World
    events: pd.DataFrame
    user_block: dict[str, int]
    item_block: dict[str, int]
    start: datetime


def block_world(*, n_blocks: int = 4, items_per_block: int = 12, n_users: int = 80, events_per_user: int = 10,
                noise: float = 0.1, days: int = 60, staggered: bool = False, seed: int = 0,
                start: datetime = datetime(2026, 1, 1, tzinfo=timezone.utc)) -> BlockData:
    """A seeded world plus events with clear block structure (see the module docstring).

    With ``staggered`` each mentee joins at a random day and is active from then on, so a
    temporal split has cold-start mentees (joined after the cutoff).
    """
    rng = np.random.default_rng(seed)
    skills = [Skill(f"block{b}", f"Block {b}", "synthetic") for b in range(n_blocks)]
    resources, item_block = [], {}
    for b in range(n_blocks):
        for j in range(items_per_block):
            iid = f"b{b}-i{j:02d}"
            level = 1 + j % 5
            resources.append(Resource(iid, f"Block {b} item {j}", _TYPES[j % len(_TYPES)], (SkillLevel(f"block{b}", level),),
                                      start - timedelta(days=365), difficulty=level))
            item_block[iid] = b
    mentees, user_block = [], {}
    for u in range(n_users):
        uid, b = f"u{u:03d}", u % n_blocks
        mentees.append(Mentee(uid, (Goal(f"block{b}", 4),), (SkillLevel(f"block{b}", 1),)))
        user_block[uid] = b
    # Zipf-like popularity inside each block.
    weights = 1.0 / np.arange(1, items_per_block + 1) ** 0.8
    weights /= weights.sum()
    rows = []
    for uid, b in user_block.items():
        n_ev = max(2, int(rng.poisson(events_per_user)))
        joined = float(rng.uniform(0, days * 86400 * 0.95)) if staggered else 0.0
        for _ in range(n_ev):
            blk = int(rng.integers(n_blocks)) if rng.random() < noise else b
            j = int(rng.choice(items_per_block, p=weights))
            ts = start + timedelta(seconds=float(rng.uniform(joined, days * 86400)))
            et = str(rng.choice(_POSITIVE, p=_POSITIVE_P))
            rows.append((uid, f"b{blk}-i{j:02d}", et, np.nan, ts))
    ev = pd.DataFrame(rows, columns=["user_id", "item_id", "event_type", "value", "timestamp"])
    ev = ev.sort_values("timestamp", kind="mergesort").reset_index(drop=True)
    ev.insert(0, "event_id", [f"e{i:06d}" for i in range(len(ev))])
    ev["timestamp"] = pd.to_datetime(ev["timestamp"], utc=True).astype("datetime64[us, UTC]")
    ev["source"] = "synthetic"
    return BlockData(world=World.build(skills, resources, mentees), events=ev[list(EVENT_COLUMNS)],
                     user_block=user_block, item_block=item_block, start=start)
