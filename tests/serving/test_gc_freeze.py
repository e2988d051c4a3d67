"""The worker's start state leaves the cyclic collector's reach once warm (serving.service.freeze_start_state),
and what is allocated after is still collected."""

from __future__ import annotations

import gc

from serving.service import freeze_start_state


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
