"""Fixtures shared by the CLI tests."""

from __future__ import annotations

import pytest

from catalog.datadir import DataDir
from catalog.writers import save_world


@pytest.fixture
def data(tmp_path, tiny_world) -> DataDir:
    """A data dir holding the tiny world's CSVs (no events)."""
    dd = DataDir(tmp_path / "data")
    save_world(tiny_world, dd)
    return dd
