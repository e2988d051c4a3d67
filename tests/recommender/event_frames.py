"""Events frames for tests, from ``(user_id, item_id, event_type, value, timestamp)`` tuples."""

from __future__ import annotations

import pandas as pd

from catalog.schema import EVENT_COLUMNS


def events_frame(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["user_id", "item_id", "event_type", "value", "timestamp"])
    df["event_id"] = [f"e{i}" for i in range(len(df))]
    df["source"] = "test"
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True).astype("datetime64[us, UTC]")
    return df.loc[:, list(EVENT_COLUMNS)]
