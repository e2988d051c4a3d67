"""Mixed load on the real service for 300 req/s-class runs: 90 % ``/recommend``, 10 % single-event ``/events``.

    .venv/bin/python benchmarks/resilience.py --duration 60 --baseline /path/to/old/checkout \\
        --json benchmarks/results/resilience.json

One ``bentoml serve`` per configuration (one worker), with online features off and with a
real ``redis-server`` online store, for this checkout and (``--baseline``) another one
(the code before a change), side by side in one run. Each run: a world from
``benchmarks/rest.prepare``, a 5 s warm-up at the target rate, then an open loop at
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
        with open(log_path, "wb") as out:
            self.proc = subprocess.Popen(argv, env=full, cwd=code, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"


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
        users: list[str], items: list[str]) -> dict[str, Any]:
    root = tmp / name
    shutil.copytree(base_root, root)
    env: dict[str, str] = {}
    server = None
    from tests.features.redis_server import RedisServer

    rs = RedisServer().start() if redis else None
    try:
        if rs is not None:
            url = f"{rs.url}/0?socket_timeout=0.5&socket_connect_timeout=0.5"
            _features(root, url)
            env = {"SKILLPATH_ONLINE_FEATURES": "1", "SKILLPATH_ONLINE_STORE": url}
        server = Service(code, root, tmp / f"{name}.log", env)
        ready_s = server.wait_ready()
        warm_s = server.wait_warm()  # the build after readiness is not what this measures
        auth = f"Bearer {KEY}"
        warm = _mix(users, items, int(rate * 5), tag=f"{name}-warm", seed=1)
        rest._load({"url": server.url, "open": {"bodies": [], "mix": warm, "rate": rate, "duration_s": 5,
                                                "auth": auth}}, tmp, 300)
        rss0 = server.rss_mb()
        mix = _mix(users, items, int(rate * duration), tag=f"{name}-run", seed=2)
        cpu0, sync0 = server.cpu_s(), _sync_cpu_s(server.url)
        res = rest._load({"url": server.url, "open": {"bodies": [], "mix": mix, "rate": rate,
                                                      "duration_s": duration, "auth": auth}}, tmp, duration + 600)
        rss1 = server.rss_mb()
        o = res["open"]
        lag = o.get("send_lag_ms") or {}
        return {"run": name, "redis": redis, "ready_s": round(ready_s, 1), "warm_after_ready_s": round(warm_s, 1), "sent": o["sent"], "ok": o["ok"],
                "errors": o["n_errors"], "error_kinds": o["errors"], "achieved_rps": round(o["achieved_rps"], 1),
                "recommend_ms": o["by_path_ms"].get("/recommend"), "events_ms": o["by_path_ms"].get("/events"),
                "server_cpu_ms_per_req": round((server.cpu_s() - cpu0) / max(o["sent"], 1) * 1e3, 2),
                "sync_cpu_ms_per_req": round((_sync_cpu_s(server.url) - sync0) / max(o["sent"], 1) * 1e3, 3),
                "client_cpu_share": round(o.get("client_cpu_share", 0.0), 2), "send_lag_p99_ms": lag.get("p99"),
                "rss_mb_start": round(rss0, 1), "rss_mb_end": round(rss1, 1),
                "rss_growth_pct": round(100 * (rss1 - rss0) / rss0, 2) if rss0 else None}
    finally:
        if server is not None:
            server.stop()
        if rs is not None:
            rs.stop()


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| run | Redis | sent | errors | achieved req/s | /recommend p50 / p99 ms | /events p50 / p99 ms "
            "| RSS growth | server CPU ms/req (online sync) | send lag p99 ms |\n|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        rec, ev = r["recommend_ms"] or {}, r["events_ms"] or {}
        lines.append(f"| {r['run']} | {'on' if r['redis'] else 'off'} | {r['sent']:,} | {r['errors']} | "
                     f"{r['achieved_rps']} | {rec.get('p50', float('nan')):.1f} / {rec.get('p99', float('nan')):.1f} | "
                     f"{ev.get('p50', float('nan')):.1f} / {ev.get('p99', float('nan')):.1f} | {r['rss_growth_pct']} % | "
                     f"{r.get('server_cpu_ms_per_req', float('nan'))} ({r.get('sync_cpu_ms_per_req', float('nan'))}) | {r.get('send_lag_p99_ms') or float('nan'):.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=float, default=300.0)
    p.add_argument("--duration", type=float, default=60.0, help="measured seconds per run (the issue's run: 600)")
    p.add_argument("--baseline", type=Path, default=None, help="another checkout to run side by side")
    p.add_argument("--items", type=int, default=2000)
    p.add_argument("--mentees", type=int, default=1000)
    p.add_argument("--redis", choices=["both", "off", "on"], default="both")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
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
                                users=users, items=items))
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
