"""Shared fixtures: one tiny block-structured world in a data dir, and one embedded MLflow
store for the whole session (importing MLflow and creating its SQLite schema is slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.datadir import DataDir
from catalog.settings import Settings
from catalog.writers import atomic_write_parquet, save_world
from recommender.synthetic import BlockData, block_world


@pytest.fixture(scope="session")
def block() -> BlockData:
    return block_world(n_blocks=3, items_per_block=8, n_users=60, events_per_user=10, staggered=True, seed=3)


def write_data_dir(root: Path, block: BlockData) -> DataDir:
    dd = DataDir(root).ensure()
    save_world(block.world, dd)
    atomic_write_parquet(block.events, dd.root / "events.parquet")
    return dd


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory, block) -> DataDir:
    """A data dir with the tiny world and events.parquet, shared by the MLflow tests."""
    return write_data_dir(tmp_path_factory.mktemp("skillpath-data"), block)


@pytest.fixture(scope="session")
def settings(data_dir) -> Settings:
    return Settings(data_dir=data_dir.root)


@pytest.fixture(scope="session")
def tracking(settings, data_dir):
    from training.tracking import connect

    return connect(settings, data_dir.root)
