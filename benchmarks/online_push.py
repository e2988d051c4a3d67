"""CPU of the online sync's work per event with Redis: rows from the log, then the write (SDK vs RedisRows).

    make redis && .venv/bin/python benchmarks/online_push.py --json benchmarks/results/online_push.json

On the world of ``resilience.py`` (``rest.prepare``: 2,000 items, 1,000 mentees, 60 days), its feature
tables materialised into a throwaway ``redis-server``. For batches of 1 and 8 mentees: the CPU (process
time, so the figure is less sensitive to other jobs than wall time) of ``engagement_at`` over the log,
of ``FeatureStore.push`` and of ``RedisRows.write``; and of one mentee's read through
``get_online_features`` and through ``RedisRows.read``. The sync thread's cost per event is
(rows + write) / batch.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def _cpu_ms(fn, n: int) -> float:
    c0 = time.process_time()
    for i in range(n):
        fn(i)
    return round((time.process_time() - c0) / n * 1e3, 3)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=40, help="batches timed per measurement")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)

    from benchmarks import rest
    from benchmarks.resilience import _features
    from catalog.datadir import DataDir
    from catalog.eventlog import EventLog
    from catalog.loaders import load_world
    from features.engagement import engagement_at
    from features.redis_rows import RedisRows
    from features.store import open_store, read_online
    from features.tables import ENGAGEMENT_PUSH_SOURCE, MENTEE_ENGAGEMENT
    from tests.features.redis_server import RedisServer

    data = REPO / "benchmarks" / "data" / "resilience"
    rest.prepare(data, n_items=2000, n_mentees=1000, days=60)
    out: dict = {"machine": {"cpus": os.cpu_count(), "loadavg_1min_start": round(os.getloadavg()[0], 2)}}
    with tempfile.TemporaryDirectory(prefix="skillpath-online-push-") as t, RedisServer() as rs:
        root = Path(t) / "data"
        shutil.copytree(data, root)
        url = f"{rs.url}/0?socket_timeout=0.5&socket_connect_timeout=0.5"
        _features(root, url)
        store = open_store(root, online=url)
        fast = RedisRows(store, MENTEE_ENGAGEMENT)
        catalog = load_world(DataDir(root)).catalog
        with EventLog(root / "events.db") as log:
            users = sorted(set(log.read()["user_id"]))

            def rows_for(batch: list[str]):
                return engagement_at(log.read(user_ids=batch), as_of=datetime.now(timezone.utc), catalog=catalog,
                                     user_ids=batch)

            n = args.repeats
            store.push(ENGAGEMENT_PUSH_SOURCE, rows_for(users[:1]))  # the registry is open, caches are warm
            for b in (1, 8):
                part = [users[(i * b) % len(users): (i * b) % len(users) + b] for i in range(3 * n)]
                rows = [rows_for(u) for u in part]
                res = {"rows_ms": _cpu_ms(lambda i: rows_for(part[i]), n),
                       "sdk_push_ms": _cpu_ms(lambda i: store.push(ENGAGEMENT_PUSH_SOURCE, rows[n + i]), n),
                       "redis_rows_write_ms": _cpu_ms(lambda i: fast.write(rows[2 * n + i]), n)}
                res["per_event_sdk_ms"] = round((res["rows_ms"] + res["sdk_push_ms"]) / b, 3)
                res["per_event_redis_rows_ms"] = round((res["rows_ms"] + res["redis_rows_write_ms"]) / b, 3)
                out[f"batch_{b}"] = res
            out["read_1"] = {"get_online_features_ms": _cpu_ms(
                lambda i: read_online(store, MENTEE_ENGAGEMENT, [users[i]]), n),
                "redis_rows_ms": _cpu_ms(lambda i: fast.read([users[i]]), n)}
    out["machine"]["loadavg_1min_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
