"""Feature-store benchmark: build + materialisation time, online read latency SQLite vs Redis.

    .venv/bin/python benchmarks/features.py                 # demo size: 6k mentees, 5k items, 300k events
    .venv/bin/python benchmarks/features.py --events 30000 --mentees 600 --items 500   # quick

Generates its own synthetic world (uniform-random skills, Zipf-like activity and item
popularity over ``--days`` days), computes the point-in-time tables, applies, materialises
into SQLite and into a throwaway loopback redis-server, then times
``get_online_features`` for 1 and 100 mentees. Prints a Markdown table.
"""

from __future__ import annotations

import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from catalog.catalog import World  # noqa: E402
from catalog.schema import EVENT_COLUMNS, Goal, Mentee, Resource, Skill, SkillLevel  # noqa: E402

END = datetime(2026, 11, 1, tzinfo=timezone.utc)
TYPES = np.array(["impression", "view", "start", "complete", "like", "bookmark", "dismiss", "assess"], dtype=object)
TYPE_P = [0.30, 0.22, 0.12, 0.12, 0.06, 0.04, 0.08, 0.06]


def synth(n_mentees: int, n_items: int, n_events: int, days: int, seed: int) -> tuple[World, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    skills = [Skill(f"s{i}", f"Skill {i}", "d", float(rng.choice([90, 365, 1460])) if i % 3 else None) for i in range(40)]
    resources = []
    for i in range(n_items):
        tags = rng.choice(40, size=rng.integers(1, 3), replace=False)
        pub = END - timedelta(days=int(rng.integers(200, 1500)))
        resources.append(Resource(f"r{i}", f"Resource {i}", "article",
                                  tuple(SkillLevel(f"s{t}", int(rng.integers(1, 6))) for t in tags), pub,
                                  duration_minutes=int(rng.integers(5, 240))))
    mentees = [Mentee(f"m{i}", tuple(Goal(f"s{g}", 3) for g in rng.choice(40, size=rng.integers(1, 3), replace=False)))
               for i in range(n_mentees)]
    world = World.build(skills, resources, mentees, [])
    user_p = 1.0 / np.arange(1, n_mentees + 1) ** 0.6
    item_p = 1.0 / np.arange(1, n_items + 1) ** 0.8
    users = rng.choice(n_mentees, n_events, p=user_p / user_p.sum())
    items = rng.choice(n_items, n_events, p=item_p / item_p.sum())
    et = TYPES[rng.choice(len(TYPES), n_events, p=TYPE_P)]
    value = np.full(n_events, np.nan)
    value[et == "assess"] = rng.integers(0, 101, (et == "assess").sum())
    value[et == "like"] = rng.integers(1, 6, (et == "like").sum())
    start_us = int((END - timedelta(days=days)).timestamp() * 1e6)
    ts = np.sort(rng.integers(start_us, int(END.timestamp() * 1e6), n_events))
    events = pd.DataFrame({
        "event_id": [f"e{i}" for i in range(n_events)], "user_id": np.char.add("m", users.astype(str)).astype(object),
        "item_id": np.char.add("r", items.astype(str)).astype(object), "event_type": et, "value": value,
        "timestamp": pd.Series(ts.astype("datetime64[us]")).dt.tz_localize("UTC"), "source": "bench",
    })
    return world, events.loc[:, list(EVENT_COLUMNS)]


def latency(fn, reps: int, warmup: int = 20) -> tuple[float, float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    ms = np.array(samples) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mentees", type=int, default=6000)
    ap.add_argument("--items", type=int, default=5000)
    ap.add_argument("--events", type=int, default=300_000)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--reps", type=int, default=300, help="timed reads per (store, batch size)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args(argv)

    from features.store import read_online
    from features.tables import MENTEE_ENGAGEMENT
    from serving.features_adapter import OnlineFeatures
    from tests.features.redis_server import RedisServer
    from training.feature_store import apply, materialize, open_store, tables_time_range
    from training.features import compute_feature_frames, write_feature_frames

    res: dict = {"args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}}
    t0 = time.perf_counter()
    world, events = synth(args.mentees, args.items, args.events, args.days, args.seed)
    res["synth_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    frames = compute_feature_frames(events, world)
    res["compute_s"] = time.perf_counter() - t0
    res["rows"] = {spec.name: len(df) for spec, df in frames.items()}
    t0 = time.perf_counter()
    import feast  # noqa: F401  (timed apart: it is a fixed cost of every process)
    res["import_feast_s"] = time.perf_counter() - t0

    with tempfile.TemporaryDirectory(prefix="skillpath-bench-") as d, RedisServer() as redis:
        t0 = time.perf_counter()
        write_feature_frames(frames, d)
        res["write_parquet_s"] = time.perf_counter() - t0
        res["parquet_mb"] = sum(p.stat().st_size for p in (Path(d) / "features").glob("*.parquet")) / 1e6
        lo, hi = tables_time_range(d)
        users = np.array(sorted(set(frames.mentee_engagement.user_id)), dtype=object)
        rng = np.random.default_rng(args.seed)
        for name, online in (("sqlite", "sqlite"), ("redis", redis.url)):
            store = open_store(d, online=online)
            t0 = time.perf_counter()
            apply(store)
            res[f"{name}_apply_s"] = time.perf_counter() - t0
            for run in ("cold", "warm"):  # the first run also pays lazy imports (duckdb, ibis)
                t0 = time.perf_counter()
                materialize(store, lo, hi)
                res[f"{name}_materialize_{run}_s"] = time.perf_counter() - t0
            for batch in (1, 100):
                batches = iter([list(rng.choice(users, batch, replace=False)) for _ in range(args.reps + 20)])
                fn = lambda: read_online(store, MENTEE_ENGAGEMENT, next(batches))  # noqa: E731
                res[f"{name}_read{batch}_p50_ms"], res[f"{name}_read{batch}_p99_ms"] = latency(fn, args.reps)
            with OnlineFeatures(lambda s=store: s, timeout_s=1.0) as adapter:
                batches = iter([[u] for u in rng.choice(users, args.reps + 20)])
                fn = lambda: adapter.get_mentee_features(next(batches))  # noqa: E731
                res[f"{name}_adapter1_p50_ms"], res[f"{name}_adapter1_p99_ms"] = latency(fn, args.reps)
    print(report(res))
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))
    return res


def report(r: dict) -> str:
    a = r["args"]
    lines = [
        f"world: {a['mentees']} mentees, {a['items']} items, {a['events']} events over {a['days']} days; "
        f"rows: " + ", ".join(f"{k} {v:,}" for k, v in r["rows"].items()) + f" ({r['parquet_mb']:.1f} MB Parquet)",
        f"compute tables {r['compute_s']:.1f} s, write Parquet {r['write_parquet_s']:.1f} s, import feast {r['import_feast_s']:.1f} s",
        "",
        "| measure | SQLite | Redis | Redis / SQLite |",
        "| --- | ---: | ---: | ---: |",
    ]
    for label, key in (("apply (s)", "apply_s"), ("materialize all views, first run (s)", "materialize_cold_s"),
                       ("materialize all views, again (s)", "materialize_warm_s"),
                       ("read 1 mentee p50 (ms)", "read1_p50_ms"), ("read 1 mentee p99 (ms)", "read1_p99_ms"),
                       ("read 100 mentees p50 (ms)", "read100_p50_ms"), ("read 100 mentees p99 (ms)", "read100_p99_ms"),
                       ("adapter, 1 mentee p50 (ms)", "adapter1_p50_ms"), ("adapter, 1 mentee p99 (ms)", "adapter1_p99_ms")):
        s, rd = r[f"sqlite_{key}"], r[f"redis_{key}"]
        lines.append(f"| {label} | {s:.2f} | {rd:.2f} | {rd / s:.2f}x |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
