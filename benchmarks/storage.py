"""The event log and entity store on PostgreSQL side by side with SQLite, in one run.

    .venv/bin/python benchmarks/storage.py            # ~5 minutes (starts its own PostgreSQL)
    .venv/bin/python benchmarks/storage.py --quick
    .venv/bin/python benchmarks/storage.py --no-replicas   # the stores only (~1-2 minutes)

Measured, for both backends on the same synthetic batches:
- durable ingestion, events/s, batches of 500 (target on PostgreSQL: >= 5,000 events/s);
- the per-request reads the service makes (``last_seq`` of one mentee, ``user_rows``), p50/p99;
- cross-replica visibility: two independent logs (two pools, as two replicas have) on the same
  database; one appends a mentee's event, the other polls ``last_seq`` of that mentee until it
  moves; the time from the acknowledgement to the first poll that sees it, p50/p99;
- entity visibility: two entity stores on the same database (as two replicas); one writes a
  mentor, the other calls ``Entities.sync()`` until it has it (SQLite: a query per check;
  PostgreSQL: answered from NOTIFY), p50/p99;
- ``/recommend`` under an open loop at ``--rate`` requests/s (default 300) on a synthetic
  world, and cross-replica visibility through HTTP: one SQLite replica vs two replicas
  (``bentoml serve``, one worker each) sharing PostgreSQL (:mod:`benchmarks.replicas`, which
  also runs alone).
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
from catalog.store.entities import Entities  # noqa: E402


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


def _entity_visibility(writer: Entities, reader: Entities, rounds: int) -> dict[str, float]:
    writer.put("skills", [{"skill_id": "python", "name": "Python"}], actor="bench", now_us=0)
    while reader.find("skills", "python") is None:
        reader.sync()
        time.sleep(0.0005)
    lags = []
    for i in range(rounds):
        writer.put("mentors", [{"mentor_id": f"vis{i}", "skills": "python:4", "capacity": 2}], actor="bench", now_us=0)
        acked = time.perf_counter()
        while reader.find("mentors", f"vis{i}") is None:
            reader.sync()
            time.sleep(0.0005)  # requests arrive apart: a busy loop would starve the listener thread of the GIL
        lags.append(time.perf_counter() - acked)
    return {"entity_visibility_p50_ms": float(np.percentile(lags, 50) * 1e3),
            "entity_visibility_p99_ms": float(np.percentile(lags, 99) * 1e3)}


def _entity_store(name: str, tmp: str, url: str):
    from catalog.store.pg import PgEntityStore
    from catalog.store.sqlite import SQLiteEntityStore

    return SQLiteEntityStore(Path(tmp) / "events.db") if name == "sqlite" else PgEntityStore(url)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "storage.json")
    ap.add_argument("--no-replicas", action="store_true", help="skip the /recommend run with service replicas")
    ap.add_argument("--rate", type=float, default=300.0, help="/recommend requests/s in the replica run")
    ap.add_argument("--duration", type=float, default=None, help="seconds of the open loop (default 60; quick 10)")
    ap.add_argument("--rounds", type=int, default=30, help="cross-replica visibility rounds per kind (HTTP)")
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
            writer.close()
            reader.close()
            a, b = (Entities(_entity_store(name, tmp, pg.url)) for _ in range(2))
            r.update(_entity_visibility(a, b, rounds // 5))
            a.store.close()
            b.store.close()
            results[name] = r
            print(name, json.dumps({k: round(v, 3) for k, v in r.items()}), flush=True)
        results["ratio_pg_over_sqlite"] = {k: results["postgres"][k] / results["sqlite"][k]
                                           for k in results["sqlite"]}
    if not args.no_replicas:  # its own PostgreSQL: the database above holds this run's synthetic writes
        from benchmarks.replicas import run as run_replicas, table

        results["replicas"] = run_replicas(quick=args.quick, rate=args.rate, rounds=args.rounds,
                                           duration=args.duration or (10.0 if args.quick else 60.0))
        print(table(results["replicas"]), flush=True)
    results["meta"] = {"events": n, "rounds": rounds, "loadavg": os.getloadavg()}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
