"""Bulk reads of the event log for the service, in batches.

:meth:`catalog.eventlog.EventLog.read` holds the log's single connection lock for the
whole query, and every ``/recommend`` needs that lock (``last_seq``); a whole-log read
(popularity, co-completion, stale reach) would stall them all. ``iter_batches`` takes
the lock per batch only, so requests interleave with the bulk read.
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd

from catalog.eventlog import EventLog

__all__ = ["BULK_BATCH", "read_log"]

BULK_BATCH = 20_000


def read_log(log: EventLog, *, event_types: Collection[str] | None = None,
             batch_size: int = BULK_BATCH) -> pd.DataFrame:
    """The events of ``log`` (optionally only ``event_types``) in timestamp order, read in batches."""
    batches = list(log.iter_batches(batch_size, event_types=event_types))
    if not batches:
        return log.tail(0)  # an empty frame with the log's columns and dtypes, without a scan
    return pd.concat(batches, ignore_index=True) if len(batches) > 1 else batches[0]
