"""The console's first copy of a SQLite event log, made in a child process (``python -m serving.analytics.logcopy
EVENTS_DB OUT_DIR``) and left as the Parquet snapshot :meth:`serving.analytics.store.AnalyticsStore.load_snapshot`
reads.

Why a process: reading the demo world's 350k events through ``sqlite3`` and converting them to Arrow is
per-row Python, seconds that hold the service's GIL. Done in the service it competed with every request
(``/recommend``'s p99 +67 % while the console was used) and with the service's own start-up work, so a
first start's programme page waited 7-15 s. The child runs on the other core at a lower priority
(``nice``), holds no lock of the service, and reads inside one read transaction, so the copy is one
consistent state of the log; the parent then loads the file with duckdb (native code) and reads only the
events stored since. It imports sqlite3 and pyarrow, nothing of the service.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["SCHEMA", "META", "PARQUET", "copy_log", "publish"]

SCHEMA = pa.schema([("seq", pa.int64()), ("user_id", pa.string()), ("item_id", pa.string()),
                    ("event_type", pa.string()), ("value", pa.float64()), ("ts_us", pa.int64())])
META, PARQUET = "events.json", "events-{seq}.parquet"
_BATCH = 50_000
NICE = 3  # a little below the service (10 starved the copy on a machine busy with other work)


def copy_log(events_db: str | Path, out_dir: str | Path) -> int:
    """Write every event of ``events_db`` to ``out_dir`` as the console's snapshot (Parquet and its
    ``events.json``: last ``seq``, row count, last ``event_id``); returns the row count (0: nothing written)."""
    out = Path(out_dir)
    conn = sqlite3.connect(f"file:{events_db}?mode=ro", uri=True, timeout=30)
    try:
        conn.execute("BEGIN")  # one read transaction: every batch sees the same log
        seq, rows, batches = 0, 0, []
        while True:
            got = conn.execute("SELECT seq, user_id, item_id, event_type, value, ts_us FROM events WHERE seq > ? "
                               "ORDER BY seq LIMIT ?", [seq, _BATCH]).fetchall()
            if not got:
                break
            cols = [list(c) for c in zip(*got)]
            batches.append(pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(cols, SCHEMA)],
                                                schema=SCHEMA))
            seq, rows = int(got[-1][0]), rows + len(got)
        if not rows:
            return 0
        (event_id,) = conn.execute("SELECT event_id FROM events WHERE seq = ?", [seq]).fetchone()
    finally:
        conn.close()
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".events-copy-{os.getpid()}.parquet"
    pq.write_table(pa.concat_tables(batches), tmp)
    publish(out, tmp, seq=seq, rows=rows, event_id=event_id, tag="copy")
    return rows


def publish(out: Path, parquet_tmp: Path, *, seq: int, rows: int, event_id: str, tag: str = "") -> None:
    """Make the written ``parquet_tmp`` the snapshot of ``out`` up to ``seq``: renamed into place, then
    its ``events.json`` (also renamed, so a reader sees the old snapshot or the new, never half of one),
    then older Parquet files removed."""
    os.replace(parquet_tmp, out / PARQUET.format(seq=seq))
    meta_tmp = out / f".{META}.{tag}{os.getpid()}"
    meta_tmp.write_text(json.dumps({"seq": seq, "rows": rows, "event_id": event_id}))
    os.replace(meta_tmp, out / META)
    for old in out.glob("events-*.parquet"):
        if old.name != PARQUET.format(seq=seq):
            old.unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m serving.analytics.logcopy EVENTS_DB OUT_DIR", file=sys.stderr)
        return 2
    try:
        os.nice(NICE)
    except OSError:  # not allowed here: copy at the same priority
        pass
    copy_log(argv[0], argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
