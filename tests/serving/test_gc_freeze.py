"""The worker's start state leaves the cyclic collector's reach once warm (serving.service.freeze_start_state),
and what is allocated after is still collected."""

from __future__ import annotations

import gc

from serving.service import freeze_start_state


class _Leaf:
    def __init__(self, i: int) -> None:
        self.i = i


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_the_start_state_is_frozen_and_later_garbage_still_collected():
    start_state = [{"i": i} for i in range(1000)]
    try:
        frozen = freeze_start_state()
        assert frozen >= len(start_state)
        assert not any(o is start_state for o in gc.get_objects())  # out of every generation's scan
        for _ in range(100):
            _Node()
        assert gc.collect() >= 100  # cycles made after the freeze are collected
    finally:
        gc.unfreeze()
    assert any(o is start_state for o in gc.get_objects())


def test_after_warm_up_each_full_collection_freezes_its_survivors_and_young_cycles_are_still_collected():
    """Regression: after the start-state freeze, every full collection rescanned the serving caches
    (0.1-0.9 s GIL holds every few seconds at 300 req/s, benchmarks/resilience.md)."""
    from serving.service import YOUNG_THRESHOLD, _freeze_survivors, freeze_after_full_collections

    thresholds = gc.get_threshold()
    try:
        assert freeze_after_full_collections()
        assert not freeze_after_full_collections()  # installed once per process
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *thresholds[1:])  # request temporaries die young
        gc.collect()
        cache = [_Leaf(i) for i in range(1000)]  # what a cache holds after the freeze (tracked, no cycle)
        for _ in range(100):
            _Node()
        before = gc.get_freeze_count()
        assert gc.collect(1) >= 100  # a young collection: garbage cycles are freed, nothing frozen
        assert gc.get_freeze_count() == before
        for _ in range(100):
            _Node()
        assert gc.collect() >= 100  # a full collection frees cycles first, then freezes the survivors
        assert gc.get_freeze_count() >= before + len(cache)
        assert not any(o is cache for o in gc.get_objects())  # out of the next full collection's scan
        del cache  # a frozen object that dies by reference count is still freed
    finally:
        gc.callbacks.remove(_freeze_survivors)
        gc.set_threshold(*thresholds)
        gc.unfreeze()
