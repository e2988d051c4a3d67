"""Durable ingestion throughput of the event log, against two baselines.

Every figure is for *durable* writes: each batch is committed with the log's pragmas
(WAL, synchronous=FULL), so the WAL is fsynced before the next batch starts.

    .venv/bin/python benchmarks/ingest.py            # full run (~1 minute)
    .venv/bin/python benchmarks/ingest.py --quick    # smaller, for a smoke test

Scenarios:
- EventLog.append with batches of 500, 50 and 1 events (DataFrame input), and 500 as a
  list of dicts (what a JSON API hands over);
- replayed batches of 500 (every event already stored: validation + lookup, no insert);
- baseline "per-event commit": a naive INSERT + COMMIT per event, no validation;
- baseline "executemany 500": one INSERT executemany + COMMIT per batch, no validation,
  no duplicate check (the floor for the storage part of EventLog.append);
- validate_events alone on batches of 500;
- concurrent single-event appends from 16 threads (what `/events` sees under load), with
  group commit (concurrent batches share one transaction and one fsync) and with one
  commit per batch, side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from catalog.eventlog import EventLog  # noqa: E402
from catalog.events import validate_events  # noqa: E402

TYPES = np.array(["impression", "view", "start", "complete", "like", "bookmark", "dismiss", "assess"])


def make_batches(n_events: int, batch: int, *, seed: int, tag: str) -> list[pd.DataFrame]:
    """Synthetic, valid events: 2,000 users, 5,000 items, values where the type needs one."""
    rng = np.random.default_rng(seed)
    et = TYPES[rng.integers(0, len(TYPES), n_events)]
    value = np.where(et == "assess", rng.integers(0, 101, n_events).astype(float),
                     np.where(et == "like", rng.integers(1, 6, n_events).astype(float), np.nan))
    ts = pd.Timestamp("2025-01-01T00:00:00Z") + pd.to_timedelta(rng.integers(0, 365 * 86400, n_events), unit="s")
    df = pd.DataFrame({
        "event_id": [f"{tag}-{i}" for i in range(n_events)],
        "user_id": [f"u{u}" for u in rng.integers(0, 2000, n_events)],
        "item_id": [f"i{u}" for u in rng.integers(0, 5000, n_events)],
        "event_type": et,
        "value": value,
        "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),  # ISO strings, as clients send them
        "source": "bench",
    })
    return [df.iloc[s:s + batch].reset_index(drop=True) for s in range(0, n_events, batch)]


def _stats(name: str, per_batch: list[float], n_events: int, batch: int) -> dict:
    total = sum(per_batch)
    ms = np.array(per_batch) * 1e3
    return {"scenario": name, "batch": batch, "events": n_events, "seconds": round(total, 3),
            "events_per_s": round(n_events / total), "batch_p50_ms": round(float(np.percentile(ms, 50)), 2),
            "batch_p99_ms": round(float(np.percentile(ms, 99)), 2)}


def bench_eventlog(db: Path, batches: list, batch: int, name: str) -> dict:
    per = []
    with EventLog(db) as log:
        for b in batches:
            t = time.perf_counter()
            log.append(b)
            per.append(time.perf_counter() - t)
    return _stats(name, per, sum(len(b) for b in batches), batch)


def bench_concurrent(db: Path, batches: list, *, threads: int, group_commit: bool) -> dict:
    """``threads`` callers appending ``batches`` round-robin at once; per-call latency and total rate."""
    import threading

    per: list[float] = []
    lock = threading.Lock()
    with EventLog(db, group_commit=group_commit) as log:
        def run(mine: list) -> None:
            for b in mine:
                t = time.perf_counter()
                log.append(b)
                dt = time.perf_counter() - t
                with lock:
                    per.append(dt)

        workers = [threading.Thread(target=run, args=(batches[i::threads],)) for i in range(threads)]
        t0 = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        wall = time.perf_counter() - t0
        stored = log.count()
    n = sum(len(b) for b in batches)
    if stored != n:
        raise SystemExit(f"concurrent appends stored {stored} of {n} events")
    ms = np.array(per) * 1e3
    name = f"EventLog.append, batch 1, {threads} threads, " + ("group commit" if group_commit else "one commit each")
    return {"scenario": name, "batch": 1, "events": n, "seconds": round(wall, 3), "events_per_s": round(n / wall),
            "batch_p50_ms": round(float(np.percentile(ms, 50)), 2),
            "batch_p99_ms": round(float(np.percentile(ms, 99)), 2)}


def _raw_conn(db: Path) -> sqlite3.Connection:
    EventLog(db).close()  # same schema and pragmas as the log
    c = sqlite3.connect(db, isolation_level=None)
    c.execute("PRAGMA journal_mode = WAL")
    c.execute("PRAGMA synchronous = FULL")
    return c


_INSERT = ("INSERT INTO events (event_id, user_id, item_id, event_type, value, ts_us, source, ingested_us) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")


def _raw_rows(df: pd.DataFrame) -> list[tuple]:
    # Pre-converted outside the timer: the baselines measure storage only.
    ts = (pd.to_datetime(df["timestamp"], utc=True).astype("int64") // 1000).tolist()
    v = [None if x != x else x for x in df["value"].tolist()]
    return list(zip(df["event_id"], df["user_id"], df["item_id"], df["event_type"], v, ts, df["source"],
                    [0] * len(df)))


def bench_per_event_commit(db: Path, batches: list) -> dict:
    c = _raw_conn(db)
    rows = [r for b in batches for r in _raw_rows(b)]
    per = []
    for r in rows:
        t = time.perf_counter()
        c.execute("BEGIN")
        c.execute(_INSERT, r)
        c.execute("COMMIT")
        per.append(time.perf_counter() - t)
    c.close()
    return _stats("baseline: per-event commit, no validation", per, len(rows), 1)


def bench_executemany(db: Path, batches: list, batch: int) -> dict:
    c = _raw_conn(db)
    prepared = [_raw_rows(b) for b in batches]
    per = []
    for rows in prepared:
        t = time.perf_counter()
        c.execute("BEGIN")
        c.executemany(_INSERT, rows)
        c.execute("COMMIT")
        per.append(time.perf_counter() - t)
    c.close()
    return _stats(f"baseline: executemany {batch}, no validation", per, sum(map(len, prepared)), batch)


def bench_validate(batches: list, batch: int) -> dict:
    per = []
    for b in batches:
        t = time.perf_counter()
        validate_events(b)
        per.append(time.perf_counter() - t)
    return _stats(f"validate_events only, batch {batch}", per, sum(len(b) for b in batches), batch)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a tenth of the events")
    ap.add_argument("--dir", type=Path, default=None, help="where the SQLite files go (default: a temp dir)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    args = ap.parse_args(argv)
    scale = 0.1 if args.quick else 1.0
    n500, n50, n1 = int(50_000 * scale), int(10_000 * scale), int(1_000 * scale)

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        d = Path(tmp)
        b500 = make_batches(n500, 500, seed=1, tag="a")
        b50 = make_batches(n50, 50, seed=2, tag="b")
        b1 = make_batches(n1, 1, seed=3, tag="c")
        dicts = [b.to_dict("records") for b in make_batches(n500, 500, seed=4, tag="d")]
        results = [
            bench_validate(b500, 500),
            bench_eventlog(d / "log500.db", b500, 500, "EventLog.append, batch 500"),
            bench_eventlog(d / "log500.db", b500, 500, "EventLog.append, batch 500, all replayed"),
            bench_eventlog(d / "dicts.db", dicts, 500, "EventLog.append, batch 500 as dicts"),
            bench_eventlog(d / "log50.db", b50, 50, "EventLog.append, batch 50"),
            bench_eventlog(d / "log1.db", b1, 1, "EventLog.append, batch 1"),
            bench_executemany(d / "raw500.db", b500, 500),
            bench_per_event_commit(d / "raw1.db", b1),
            bench_concurrent(d / "single16.db", make_batches(n1 * 2, 1, seed=5, tag="s"), threads=16,
                             group_commit=False),
            bench_concurrent(d / "group16.db", make_batches(n1 * 2, 1, seed=5, tag="s"), threads=16,
                             group_commit=True),
        ]
        with EventLog(d / "log500.db") as log:
            stored = log.count()
        if stored != n500:
            raise SystemExit(f"replay stored extra events: {stored} != {n500}")

    by = {r["scenario"]: r["events_per_s"] for r in results}
    main500 = by["EventLog.append, batch 500"]
    ratios = {
        "eventlog500_vs_per_event_commit": round(main500 / by["baseline: per-event commit, no validation"], 1),
        "eventlog500_vs_executemany500": round(main500 / by["baseline: executemany 500, no validation"], 2),
        "eventlog500_vs_eventlog1": round(main500 / by["EventLog.append, batch 1"], 1),
        "group_commit_vs_one_commit_each_16_threads": round(
            by["EventLog.append, batch 1, 16 threads, group commit"]
            / by["EventLog.append, batch 1, 16 threads, one commit each"], 1),
    }
    machine = {"cpus": os.cpu_count(), "sqlite": sqlite3.sqlite_version, "python": sys.version.split()[0],
               "loadavg_1min": round(os.getloadavg()[0], 2), "quick": args.quick}
    cols = ["scenario", "batch", "events", "events_per_s", "batch_p50_ms", "batch_p99_ms"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in results:
        print("| " + " | ".join(f"{r[c]:,}" if isinstance(r[c], int) else str(r[c]) for c in cols) + " |")
    print()
    for k, v in ratios.items():
        print(f"{k}: {v}x")
    payload = {"machine": machine, "results": results, "ratios": ratios}
    print(json.dumps(payload))
    if args.json:
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
