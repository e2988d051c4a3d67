"""Forgetting in the data dir's Parquet files: offline feature tables and event-log exports.

Each Parquet file under ``features/`` and ``exports/`` with a ``user_id`` column is
rewritten without the mentee's rows (atomically: temp file and rename), so the next
feature materialisation and the next training read no trace of them.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from catalog.datadir import DataDir

__all__ = ["forget_in_parquet"]


def forget_in_parquet(data_dir: DataDir, user_id: str) -> int:
    """Rows of ``user_id`` removed from the data dir's Parquet tables."""
    removed = 0
    for folder in (data_dir.features, data_dir.exports):
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.parquet")):
            removed += _rewrite(path, user_id)
    return removed


def _rewrite(path: Path, user_id: str) -> int:
    schema = pq.read_schema(path)
    if "user_id" not in schema.names:
        return 0
    table = pq.read_table(path)
    keep = pc.invert(pc.equal(table["user_id"].cast("string"), user_id))
    kept = table.filter(pc.fill_null(keep, True))
    gone = table.num_rows - kept.num_rows
    if gone:
        tmp = path.with_name(f".{path.name}.forget.tmp")
        pq.write_table(kept, tmp)
        tmp.replace(path)
    return gone
