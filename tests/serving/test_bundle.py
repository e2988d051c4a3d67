"""CatalogView's request-filter mask cache: correct masks, bounded as an LRU."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

import serving.bundle as bundle
from serving.bundle import CatalogView


def _view(catalog) -> CatalogView:
    return CatalogView(catalog, datetime(2025, 5, 1, tzinfo=timezone.utc), floor=0.1, stale_threshold=0.5,
                       freshness_weight=1.0)


def test_mask_cache_is_a_bounded_lru(tiny_catalog, monkeypatch):
    monkeypatch.setattr(bundle, "MASK_CACHE_SIZE", 2)
    view = _view(tiny_catalog)
    a = view.allow_mask(max_minutes=10, include_stale=True)
    expected = tiny_catalog.duration_minutes <= 10
    assert a is not None and np.array_equal(a.mask, expected)
    b = view.allow_mask(max_minutes=20, include_stale=True)
    assert view.allow_mask(max_minutes=10, include_stale=True) is a  # a hit, and now most recent
    view.allow_mask(max_minutes=30, include_stale=True)  # evicts the least recently used: 20
    assert len(view._masks) == 2
    assert view.allow_mask(max_minutes=10, include_stale=True) is a
    b2 = view.allow_mask(max_minutes=20, include_stale=True)
    assert b2 is not b and np.array_equal(b2.mask, b.mask)  # rebuilt after eviction, same content
