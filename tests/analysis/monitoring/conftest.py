"""Small event histories for the monitor's tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

UTC = timezone.utc
T0 = datetime(2026, 1, 5, tzinfo=UTC)


def frame(rows: list[tuple]) -> pd.DataFrame:
    """Events from ``(user, item, type, value, days after T0)`` tuples."""
    df = pd.DataFrame({
        "event_id": [f"e{k}" for k in range(len(rows))],
        "user_id": [r[0] for r in rows], "item_id": [r[1] for r in rows], "event_type": [r[2] for r in rows],
        "value": np.array([np.nan if r[3] is None else r[3] for r in rows], dtype=np.float64),
        "timestamp": pd.to_datetime([T0 + timedelta(days=r[4]) for r in rows], utc=True).astype("datetime64[us, UTC]"),
        "source": "test",
    })
    return df


def random_history(seed: int, n: int = 300, users: int = 4, days: float = 90) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    types = ["impression", "view", "start", "complete", "like", "bookmark", "dismiss", "assess"]
    rows = []
    for _ in range(n):
        t = types[int(rng.integers(len(types)))]
        v = float(rng.integers(0, 101)) if t == "assess" else None
        # Coarse times so ties (same microsecond) are common.
        rows.append((f"u{rng.integers(users)}", f"i{rng.integers(12)}", t, v, float(rng.integers(0, days * 4)) / 4))
    return frame(rows)


def random_mastery(seed: int, users: int = 4, days: float = 90) -> pd.DataFrame:
    rng = np.random.default_rng(seed + 1000)
    n = 80
    return pd.DataFrame({
        "user_id": [f"u{k}" for k in rng.integers(users, size=n)],
        "skill_id": [f"s{k}" for k in rng.integers(3, size=n)],
        "timestamp": pd.to_datetime([T0 + timedelta(days=float(d)) for d in rng.integers(0, days * 2, n) / 2], utc=True),
        "mastery": rng.random(n),
    })


ITEM_SKILL = {f"i{k}": f"s{k % 3}" for k in range(12)}


@pytest.fixture
def item_skill() -> dict[str, str]:
    return ITEM_SKILL
