"""Block-structured fixtures for the recommender tests (seeded, tiny)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pytest

from catalog.ids import IdMap
from recommender.features import ModelFeatures, build_features
from recommender.interactions import Interactions, build_id_maps, build_interactions
from recommender.synthetic import BlockData, block_world


@dataclass(frozen=True)
class Blocks:
    data: BlockData
    train: Interactions
    features: ModelFeatures
    users: IdMap
    items: IdMap

    def block_items(self, b: int) -> np.ndarray:
        return np.array([i for i, iid in enumerate(self.items) if self.data.item_block[iid] == b])

    def user_of_block(self, b: int, nth: int = 0) -> int:
        ids = [u for u, blk in self.data.user_block.items() if blk == b]
        return self.users.index(ids[nth])


@pytest.fixture(scope="session")
def blocks() -> Blocks:
    data = block_world(n_blocks=4, items_per_block=10, n_users=60, events_per_user=8, noise=0.05, seed=3)
    users, items = build_id_maps(data.events, catalog=data.world.catalog, mentees=data.world.mentees.values())
    train = build_interactions(data.events, users=users, items=items)
    feats = build_features(data.world.catalog, data.world.mentees, users)
    return Blocks(data, train, feats, users, items)


@pytest.fixture(scope="session")
def block_split():
    """A larger block world split in time, for quality sanity checks."""
    data = block_world(n_blocks=6, items_per_block=25, n_users=300, events_per_user=12, seed=11)
    users, items = build_id_maps(data.events, catalog=data.world.catalog, mentees=data.world.mentees.values())
    from recommender.split import temporal_split

    split = temporal_split(data.events, data.start + timedelta(days=45))
    train = build_interactions(split.train, users=users, items=items)
    test = build_interactions(split.test, users=users, items=items)
    feats = build_features(data.world.catalog, data.world.mentees, users)
    return data, train, test, feats
