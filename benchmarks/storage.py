"""The event log on PostgreSQL side by side with SQLite, in one run.

    .venv/bin/python benchmarks/storage.py            # ~1-2 minutes (starts its own PostgreSQL)
    .venv/bin/python benchmarks/storage.py --quick

Measured, for both backends on the same synthetic batches:
- durable ingestion, events/s, batches of 500 (target on PostgreSQL: >= 5,000 events/s);
- the per-request reads the service makes (``last_seq`` of one mentee, ``user_rows``), p50/p99;
- cross-replica visibility: two independent logs (two pools, as two replicas have) on the same
  database; one appends a mentee's event, the other polls ``last_seq`` of that mentee until it
  moves; the time from the acknowledgement to the first poll that sees it, p50/p99.
PostgreSQL runs on this machine (loopback), with fsync on: a production server on its own
disk and network behaves differently; the ratio against SQLite is the figure to keep.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from benchmarks.ingest import make_batches  # noqa: E402
from catalog.eventlog import EventLog  # noqa: E402
from catalog.pg_eventlog import PgEventLog  # noqa: E402


def _ingest(log, batches) -> float:
    t = time.perf_counter()
    for b in batches:
        log.append(b)
    return sum(len(b) for b in batches) / (time.perf_counter() - t)


def _reads(log, users: list[str], rounds: int) -> dict[str, float]:
    out = {}
    for name, call in (("last_seq", log.last_seq), ("user_rows", log.user_rows)):
        times = []
        for i in range(rounds):
            t = time.perf_counter()
            call(users[i % len(users)])
            times.append(time.perf_counter() - t)
        out[f"{name}_p50_ms"] = float(np.percentile(times, 50) * 1e3)
        out[f"{name}_p99_ms"] = float(np.percentile(times, 99) * 1e3)
    return out


def _visibility(writer, reader, rounds: int) -> dict[str, float]:
    lags = []
    for i in range(rounds):
        user = f"vis{i}"
        before = reader.last_seq(user)
        writer.append([{"event_id": f"vis-{i}", "user_id": user, "item_id": "i1", "event_type": "view",
                        "timestamp": "2025-06-01T00:00:00Z"}])
        acked = time.perf_counter()
        while reader.last_seq(user) == before:
            pass
        lags.append(time.perf_counter() - acked)
    return {"visibility_p50_ms": float(np.percentile(lags, 50) * 1e3),
            "visibility_p99_ms": float(np.percentile(lags, 99) * 1e3)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "storage.json")
    args = ap.parse_args(argv)
    n = 20_000 if args.quick else 100_000
    rounds = 200 if args.quick else 1000
    from tests.pg_server import PostgresServer

    results: dict[str, dict] = {}
    with PostgresServer() as pg, tempfile.TemporaryDirectory() as tmp:
        logs = {"sqlite": (EventLog(Path(tmp) / "events.db"), EventLog(Path(tmp) / "events.db")),
                "postgres": (PgEventLog(pg.url), PgEventLog(pg.url))}
        users = [f"u{u}" for u in range(0, 2000, 7)]
        for name, (writer, reader) in logs.items():
            batches = make_batches(n, 500, seed=1, tag=name)
            r = {"events_per_s_batch500": _ingest(writer, batches)}
            r.update(_reads(reader, users, rounds))
            r.update(_visibility(writer, reader, rounds // 5))
            results[name] = r
            writer.close()
            reader.close()
            print(name, json.dumps({k: round(v, 3) for k, v in r.items()}), flush=True)
    results["ratio_pg_over_sqlite"] = {k: results["postgres"][k] / results["sqlite"][k] for k in results["sqlite"]}
    results["meta"] = {"events": n, "rounds": rounds, "loadavg": os.getloadavg()}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
