"""Mixed load on the real service for 300 req/s-class runs: 90 % ``/recommend``, 10 % single-event ``/events``.

    .venv/bin/python benchmarks/resilience.py --duration 60 --baseline /path/to/old/checkout \\
        --json benchmarks/results/resilience.json

One ``bentoml serve`` per configuration (one worker), with online features off and with a
real ``redis-server`` online store, for this checkout and (``--baseline``) another one
(the code before a change), side by side in one run. Each run: a world from
``benchmarks/rest.prepare``, a warm-up at the target rate (``--warmup-s``, 60 s: the caches of
1,000 mentees fill in about a minute), then an open loop at
``--rate`` for ``--duration`` seconds from a separate load process (``rest_load.py``:
latency from the intended send time, per path). Reports errors, p50/p99 per path and
the server's resident memory growth over the measured window.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from benchmarks import rest  # noqa: E402

KEY = "bench-key-0123456789"
rest.START_TIMEOUT_S = 600  # a loaded 2-core machine can take minutes to start a worker


class Service(rest.Server):
    """``bentoml serve`` of the code in ``code`` on ``root`` (one worker), in its own session."""

    def __init__(self, code: Path, root: Path, log_path: Path, env: dict[str, str]) -> None:
        self.kind, self.port, self.log_path = "bentoml-1", rest._free_port(), log_path
        argv = [sys.executable, "-m", "bentoml", "serve", "serving.service:SkillPathService", "--host", "127.0.0.1",
                "--port", str(self.port), "--working-dir", str(code)]
        full = dict(os.environ, SKILLPATH_DATA_DIR=str(root), SKILLPATH_MODEL_DIR=str(root / "models" / "als"),
                    SKILLPATH_WORKERS="1", SKILLPATH_API_KEYS=KEY, PYTHONPATH=str(code), **env)
        if full.get("SKILLPATH_PROBE_DIR"):  # the watchdog / tracemalloc probe of benchmarks/probe (--probe-dir)
            full["PYTHONPATH"] = f"{REPO / 'benchmarks' / 'probe'}{os.pathsep}{code}"
        with open(log_path, "wb") as out:
            self.proc = subprocess.Popen(argv, env=full, cwd=code, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"


def _rss_parts(server: rest.Server) -> dict[str, float]:
    """Resident memory of the server's process tree by kind (MB): anonymous (heaps, arenas, numpy,
    native libraries' buffers), file-backed (mapped files: libraries, SQLite or model files) and shared."""
    out = {"anon": 0.0, "file": 0.0, "shmem": 0.0}
    for pid in server.tree():
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                key, _, val = line.partition(":")
                kind = {"RssAnon": "anon", "RssFile": "file", "RssShmem": "shmem"}.get(key)
                if kind:
                    out[kind] += int(val.split()[0]) / 1024
        except (OSError, ValueError, IndexError):
            continue
    return out


def _features(root: Path, url: str) -> None:
    """Feature tables from the log, registered and materialised into Redis (what `skillpath features` does)."""
    from catalog.eventlog import EventLog
    from catalog.loaders import load_world
    from catalog.datadir import DataDir
    from training.feature_store import apply, materialize, open_store, tables_time_range
    from training.features import compute_feature_frames, write_feature_frames

    with EventLog(root / "events.db") as log:
        events = log.read()
    write_feature_frames(compute_feature_frames(events, load_world(DataDir(root))), root)
    store = open_store(root, online=url)
    apply(store)
    materialize(store, *tables_time_range(root))


def _sync_cpu_s(url: str) -> float:
    """The worker's ``skillpath_online_sync_cpu_seconds`` (0 with online features off or an older checkout)."""
    import urllib.request

    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("skillpath_online_sync_cpu_seconds "):
                return float(line.split()[1])
    return 0.0


def _mix(users: list[str], items: list[str], n: int, *, tag: str, seed: int) -> list[dict[str, Any]]:
    """``n`` requests: every tenth a single new event, the others /recommend bodies from rest.request_mix."""
    recs = rest.request_mix(users, n, seed=seed)
    rng = np.random.default_rng(seed + 1)
    now = datetime.now(timezone.utc).isoformat()
    out = []
    for i in range(n):
        if i % 10 == 9:
            ev = {"event_id": f"{tag}-{i}", "user_id": users[int(rng.integers(len(users)))],
                  "item_id": items[int(rng.integers(len(items)))], "event_type": "view", "timestamp": now}
            out.append({"path": "/events", "body": {"events": [ev]}})
        else:
            out.append({"path": "/recommend", "body": recs[i]})
    return out


def one(code: Path, base_root: Path, tmp: Path, *, name: str, redis: bool, rate: float, duration: float,
        users: list[str], items: list[str], probe: dict[str, str] | None = None,
        warmup_s: float = 5.0) -> dict[str, Any]:
    root = tmp / name
    shutil.copytree(base_root, root)
    env: dict[str, str] = {}
    probe_env: dict[str, str] = {}
    if probe:
        (Path(probe["SKILLPATH_PROBE_DIR"]) / name).mkdir(parents=True, exist_ok=True)
        probe_env = dict(probe, SKILLPATH_PROBE_DIR=str(Path(probe["SKILLPATH_PROBE_DIR"]) / name))
    server = None
    from tests.features.redis_server import RedisServer

    rs = RedisServer().start() if redis else None
    try:
        if rs is not None:
            url = f"{rs.url}/0?socket_timeout=0.5&socket_connect_timeout=0.5"
            _features(root, url)
            env = {"SKILLPATH_ONLINE_FEATURES": "1", "SKILLPATH_ONLINE_STORE": url}
        server = Service(code, root, tmp / f"{name}.log", {**env, **probe_env})
        ready_s = server.wait_ready()
        warm_s = server.wait_warm()  # the build after readiness is not what this measures
        auth = f"Bearer {KEY}"
        warm = _mix(users, items, int(rate * warmup_s), tag=f"{name}-warm", seed=1)
        rest._load({"url": server.url, "open": {"bodies": [], "mix": warm, "rate": rate, "duration_s": warmup_s,
                                                "auth": auth}}, tmp, 300)
        rss0, parts0 = server.rss_mb(), _rss_parts(server)
        mix = _mix(users, items, int(rate * duration), tag=f"{name}-run", seed=2)
        cpu0, sync0, t0 = server.cpu_s(), _sync_cpu_s(server.url), time.time()
        res = rest._load({"url": server.url, "open": {"bodies": [], "mix": mix, "rate": rate,
                                                      "duration_s": duration, "auth": auth}}, tmp, duration + 600)
        rss1, parts1, t1 = server.rss_mb(), _rss_parts(server), time.time()
        o = res["open"]
        lag = o.get("send_lag_ms") or {}
        return {"run": name, "redis": redis, "ready_s": round(ready_s, 1), "warm_after_ready_s": round(warm_s, 1), "sent": o["sent"], "ok": o["ok"],
                "errors": o["n_errors"], "error_kinds": o["errors"], "achieved_rps": round(o["achieved_rps"], 1),
                "recommend_ms": o["by_path_ms"].get("/recommend"), "events_ms": o["by_path_ms"].get("/events"),
                "server_cpu_ms_per_req": round((server.cpu_s() - cpu0) / max(o["sent"], 1) * 1e3, 2),
                "sync_cpu_ms_per_req": round((_sync_cpu_s(server.url) - sync0) / max(o["sent"], 1) * 1e3, 3),
                "client_cpu_share": round(o.get("client_cpu_share", 0.0), 2), "send_lag_p99_ms": lag.get("p99"),
                "schedule_lag_p99_ms": (o.get("schedule_lag_ms") or {}).get("p99"),
                "window_unix": [round(t0, 3), round(t1, 3)], "rss_mb_start": round(rss0, 1),
                "rss_growth_mb_by_kind": {k: round(parts1[k] - parts0[k], 1) for k in parts0}, "rss_mb_end": round(rss1, 1),
                "rss_growth_pct": round(100 * (rss1 - rss0) / rss0, 2) if rss0 else None}
    finally:
        if server is not None:
            server.stop()
        if rs is not None:
            rs.stop()


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| run | Redis | sent | errors | achieved req/s | /recommend p50 / p99 ms | /events p50 / p99 ms "
            "| RSS growth | server CPU ms/req (online sync) | send lag p99 ms | generator's own lag p99 ms |"
            "\n|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        rec, ev = r["recommend_ms"] or {}, r["events_ms"] or {}
        lines.append(f"| {r['run']} | {'on' if r['redis'] else 'off'} | {r['sent']:,} | {r['errors']} | "
                     f"{r['achieved_rps']} | {rec.get('p50', float('nan')):.1f} / {rec.get('p99', float('nan')):.1f} | "
                     f"{ev.get('p50', float('nan')):.1f} / {ev.get('p99', float('nan')):.1f} | {r['rss_growth_pct']} % | "
                     f"{r.get('server_cpu_ms_per_req', float('nan'))} ({r.get('sync_cpu_ms_per_req', float('nan'))}) | "
                     f"{r.get('send_lag_p99_ms') or float('nan'):.1f} | {r.get('schedule_lag_p99_ms') or float('nan'):.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=float, default=300.0)
    p.add_argument("--duration", type=float, default=60.0, help="measured seconds per run (the issue's run: 600)")
    p.add_argument("--warmup-s", type=float, default=60.0,
                   help="seconds at the rate before the measured window: the caches fill for about a minute "
                        "(resident memory then flat, resilience.md); 5 was the default before 2026-12-08")
    p.add_argument("--baseline", type=Path, default=None, help="another checkout to run side by side")
    p.add_argument("--items", type=int, default=2000)
    p.add_argument("--mentees", type=int, default=1000)
    p.add_argument("--redis", choices=["both", "off", "on"], default="both")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--probe-dir", type=Path, default=None,
                   help="run each server with benchmarks/probe/sitecustomize.py, writing here (one folder per run)")
    p.add_argument("--watchdog-ms", type=float, default=25.0, help="with --probe-dir: dump stacks on GIL holds over this")
    p.add_argument("--tracemalloc-every-s", type=float, default=0.0,
                   help="with --probe-dir: a tracemalloc snapshot this often (slows the server; own runs)")
    p.add_argument("--watchdog-stacks", action="store_true",
                   help="with --probe-dir: also dump every thread's stack on a hold (unsafe: can crash a worker)")
    p.add_argument("--gc-census-every-s", type=float, default=0.0,
                   help="with --probe-dir: the commonest types in the collector's oldest generation this often")
    p.add_argument("--trim-every-s", type=float, default=0.0,
                   help="with --probe-dir: glibc malloc_trim(0) this often, logging resident memory before/after")
    args = p.parse_args(argv)
    probe = None
    if args.probe_dir:
        probe = {"SKILLPATH_PROBE_DIR": str(args.probe_dir.resolve())}
        if args.watchdog_ms > 0:
            probe["SKILLPATH_WATCHDOG_MS"] = str(args.watchdog_ms)
            probe["SKILLPATH_WATCHDOG_STACKS"] = "1" if args.watchdog_stacks else "0"
        if args.gc_census_every_s > 0:
            probe["SKILLPATH_GC_CENSUS_EVERY_S"] = str(args.gc_census_every_s)
        if args.trim_every_s > 0:
            probe["SKILLPATH_TRIM_EVERY_S"] = str(args.trim_every_s)
        if args.tracemalloc_every_s > 0:
            probe["SKILLPATH_TRACEMALLOC_EVERY_S"] = str(args.tracemalloc_every_s)
    data = REPO / "benchmarks" / "data" / "resilience"
    info = rest.prepare(data, n_items=args.items, n_mentees=args.mentees, days=60)
    from catalog.datadir import DataDir
    from catalog.eventlog import EventLog
    from catalog.loaders import load_world

    world = load_world(DataDir(data))
    with EventLog(data / "events.db") as log:
        users = sorted(set(log.read()["user_id"]))
    items = world.catalog.items.ids.tolist()
    codes = ([("before", args.baseline.resolve())] if args.baseline else []) + [("after", REPO)]
    modes = {"both": [False, True], "off": [False], "on": [True]}[args.redis]
    rows = []
    with tempfile.TemporaryDirectory(prefix="skillpath-resilience-") as t:
        tmp = Path(t)
        for redis in modes:
            for label, code in codes:
                name = f"{label}-{'redis' if redis else 'plain'}"
                print(f"running {name} ...", file=sys.stderr, flush=True)
                rows.append(one(code, data, tmp, name=name, redis=redis, rate=args.rate, duration=args.duration,
                                users=users, items=items, probe=probe, warmup_s=args.warmup_s))
                print(table(rows[-1:]), file=sys.stderr, flush=True)
    machine = {"cpus": os.cpu_count(), "loadavg_1min": round(os.getloadavg()[0], 2), "rate": args.rate,
               "duration_s": args.duration, "world": info["config"]}
    print(table(rows))
    payload = {"machine": machine, "results": rows}
    if args.json:
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
