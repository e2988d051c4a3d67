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
  world: one SQLite replica vs two replicas (``bentoml serve``, one worker each) sharing
  PostgreSQL, each taking half the rate from its own load generator (benchmarks/rest_load.py);
  p50/p99 per replica from the intended send time.
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


def _serve(root: Path, log_path: Path, database_url: str | None):
    from benchmarks import rest

    old = os.environ.pop("SKILLPATH_DATABASE_URL", None)
    if database_url:
        os.environ["SKILLPATH_DATABASE_URL"] = database_url
    try:
        return rest.Server("bentoml1", root, log_path)
    finally:
        os.environ.pop("SKILLPATH_DATABASE_URL", None)
        if old is not None:
            os.environ["SKILLPATH_DATABASE_URL"] = old


def _open_loops(urls: list[str], bodies: list[dict], warm: list[dict], rate: float, duration: float,
                tmp: Path) -> list[dict]:
    """One load generator per URL, all at once, each at ``rate / len(urls)``; each one's open-loop result."""
    import subprocess

    procs = []
    for k, url in enumerate(urls):
        plan = tmp / f"plan{k}.json"
        each = rate / len(urls)
        # Fewer connections at low rates: one idle longer than the server's keep-alive (5 s) is closed by it,
        # and the next request on it fails (an artifact of the generator, not of the service).
        plan.write_text(json.dumps({"url": url, "warm": warm, "open": {
            "bodies": bodies[k::len(urls)], "rate": each, "duration_s": duration, "drain_s": 10,
            "max_connections": max(4, min(64, int(each)))}}))
        procs.append(subprocess.Popen([sys.executable, str(Path(__file__).parent / "rest_load.py"), str(plan)],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    out = []
    for p in procs:
        so, se = p.communicate(timeout=duration + 300)
        if p.returncode:
            raise RuntimeError(f"load generator failed:\n{se[-3000:]}")
        out.append(json.loads(so)["open"])
    return out


def _replicas(pg_url: str, *, quick: bool, rate: float, duration: float) -> dict:
    """``/recommend`` at ``rate`` req/s: one SQLite replica vs two replicas sharing PostgreSQL."""
    import shutil

    import pandas as pd

    from benchmarks.rest import prepare, request_mix
    from catalog.logs import copy_events

    n_items, n_mentees = (5_000, 400) if quick else (20_000, 2_000)
    root = Path(tempfile.gettempdir()) / f"skillpath-storagebench-{n_items}"
    world = prepare(root, n_items=n_items, n_mentees=n_mentees, days=60)
    users = pd.read_csv(root / "mentees.csv", usecols=["user_id"])["user_id"].astype(str).tolist()
    bodies, warm = request_mix(users, int(rate * duration), seed=3), request_mix(users, 200, seed=1)
    with EventLog(root / "events.db") as src, PgEventLog(pg_url) as dst:
        copy_events(src, dst)
    out: dict = {"world": {k: world[k] for k in ("n_items", "n_mentees", "n_events")}, "rate_rps": rate,
                 "duration_s": duration}
    with tempfile.TemporaryDirectory(prefix="storagebench-") as tmpd:
        tmp = Path(tmpd)
        for name, n, url in (("sqlite_1_replica", 1, None), ("postgres_2_replicas", 2, pg_url)):
            servers = []
            try:
                for k in range(n):
                    r = tmp / f"{name}-{k}"
                    shutil.copytree(root, r, ignore=shutil.ignore_patterns("events.db*") if url else None)
                    servers.append(_serve(r, tmp / f"{name}-{k}.log", url))
                for srv in servers:
                    srv.wait_ready()
                res = _open_loops([srv.url for srv in servers], bodies, warm, rate, duration, tmp)
            finally:
                for srv in servers:
                    srv.stop()
            out[name] = {"per_replica": [{"sent": r["sent"], "errors": r["errors"], "latency_ms": r["latency_ms"]}
                                         for r in res],
                         "p50_ms": max(r["latency_ms"]["p50"] for r in res),
                         "p99_ms": max(r["latency_ms"]["p99"] for r in res),
                         "errors": sum(r["n_errors"] for r in res)}
            print(name, json.dumps({k: out[name][k] for k in ("p50_ms", "p99_ms", "errors")}), flush=True)
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "storage.json")
    ap.add_argument("--no-replicas", action="store_true", help="skip the /recommend run with service replicas")
    ap.add_argument("--rate", type=float, default=300.0, help="/recommend requests/s in the replica run")
    ap.add_argument("--duration", type=float, default=None, help="seconds of the open loop (default 20; quick 8)")
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
        if not args.no_replicas:
            results["replicas"] = _replicas(pg.url, quick=args.quick, rate=args.rate,
                                            duration=args.duration or (8.0 if args.quick else 20.0))
    results["meta"] = {"events": n, "rounds": rounds, "loadavg": os.getloadavg()}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
