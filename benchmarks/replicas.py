"""``/recommend`` with two replicas sharing PostgreSQL vs one SQLite replica, and cross-replica visibility.

    .venv/bin/python benchmarks/replicas.py                          # 300 req/s x 60 s, 20k items (quiet machine)
    .venv/bin/python benchmarks/replicas.py --quick --duration 10    # a smoke run: 5k items, any load

Side by side in one run, on the same world, model and request bodies:

- ``sqlite_1_replica``: one ``bentoml serve`` (one worker) on the data dir's SQLite file takes the
  whole ``--rate``;
- ``postgres_2_replicas``: PostgreSQL (a private server, ``tests/pg_server.py``) holding the data dir's
  database (moved with ``skillpath db export``, as docs/deploy.md does), and two ``bentoml serve``
  replicas (one worker each, own data dir copy without ``events.db``) sharing it, as ``make stack``
  starts them; each takes half the rate from its own load generator.

Each server is measured only once it is ready (``/readyz``) **and** its background build (popularity,
co-completion, the monitor's fold, the virtual mentor's index; serving/app_parts.py) is done: the
harness asks for the monitor and the assistant (a request that needs a part waits for that same
build), then waits until the server's processes stay idle (< 3 % of a core over two 1 s windows),
so the open loop never competes with start-up work. Then, per set-up:

1. an open loop (``benchmarks/rest_load.py``: latency from the intended send time, no coordinated
   omission) at ``--rate`` requests/s for ``--duration`` s, default (hybrid) answers; p50/p99 per
   replica, the worst replica reported;
2. visibility (after the loop, ``--rounds`` each): an event (``complete`` of the mentee's top item)
   or an entity write (the top item retired) acknowledged by replica A, then ``/recommend`` asked of
   replica B until the item leaves its answer; the lag from A's acknowledgement to the end of the
   first answer of B without it. With one SQLite replica A = B: the same-replica baseline.

Prints a Markdown table; writes ``--json`` (default ``benchmarks/results/replicas.json``).
PostgreSQL, both replicas and the load generators share this machine's cores: the figures are
for side-by-side comparison; a production database on its own host behaves differently.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["run", "main"]

KEY = "replicas-bench-key"
AUTH = {"authorization": f"Bearer {KEY}"}
IDLE_CPU = 0.03  # of a core: below this over two 1 s windows, the background build is over
WARM_TIMEOUT_S = 600


def _start(root: Path, log_path: Path, database_url: str | None):
    """``bentoml serve`` (one worker) on ``root``; with ``database_url`` its database is PostgreSQL's."""
    from benchmarks import rest

    saved = {k: os.environ.get(k) for k in ("SKILLPATH_DATABASE_URL", "SKILLPATH_API_KEYS")}
    os.environ["SKILLPATH_API_KEYS"] = KEY
    os.environ.pop("SKILLPATH_DATABASE_URL", None)
    if database_url:
        os.environ["SKILLPATH_DATABASE_URL"] = database_url
    try:
        return rest.Server("bentoml1", root, log_path)
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None)
            if v is not None:
                os.environ[k] = v


def wait_warm(srv, user: str) -> dict[str, float]:
    """Ready, then the background build done (see the module docstring); seconds each took."""
    t0 = time.perf_counter()
    ready_s = srv.wait_ready()
    with httpx.Client(base_url=srv.url, timeout=WARM_TIMEOUT_S, headers=AUTH) as c:
        c.get("/monitor/alerts")  # waits for the monitor's build if it is under way
        c.post("/assistant", json={"user_id": user, "message": "What should I learn next?"})
    idle, last = 0, srv.cpu_s()
    while idle < 2:
        if time.perf_counter() - t0 > WARM_TIMEOUT_S:
            raise RuntimeError(f"{srv.url} still busy {WARM_TIMEOUT_S} s after start:\n"
                               f"{srv.log_path.read_text()[-2000:]}")
        time.sleep(1.0)
        now = srv.cpu_s()
        idle, last = (idle + 1 if now - last < IDLE_CPU else 0), now
    return {"ready_s": round(ready_s, 1), "warm_s": round(time.perf_counter() - t0, 1)}


def open_loops(urls: list[str], bodies: list[dict], warm: list[dict], rate: float, duration: float,
               tmp: Path) -> list[dict]:
    """One load generator per URL, all at once, each at ``rate / len(urls)``; each one's open-loop result."""
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


def _top(c: httpx.Client, user: str) -> list[str]:
    r = c.post("/recommend", json={"user_id": user, "k": 10})
    r.raise_for_status()
    return [i["item_id"] for i in r.json()["items"]]


def visibility(writer: str, reader: str, users: list[str], rounds: int, *, tag: str) -> dict[str, Any]:
    """Lags (ms) from a write acknowledged by ``writer`` to the end of ``reader``'s first answer that shows it."""
    lags: dict[str, list[float]] = {"event": [], "entity": []}
    with httpx.Client(base_url=writer, timeout=30, headers=AUTH) as cw, \
            httpx.Client(base_url=reader, timeout=30, headers=AUTH) as cr:
        for i in range(2 * rounds):
            kind, user = ("event", "entity")[i % 2], users[i % len(users)]
            top = _top(cr, user)[0]
            if kind == "event":
                r = cw.post("/events", json={"events": [{
                    "event_id": f"vis-{tag}-{i}", "user_id": user, "item_id": top, "event_type": "complete",
                    "timestamp": datetime.now(timezone.utc).isoformat()}]})
            else:
                r = cw.delete(f"/resources/{top}")
            if r.status_code != 200:
                raise RuntimeError(f"{kind} write refused: {r.status_code} {r.text[:300]}")
            acked = time.perf_counter()
            while top in _top(cr, user):
                if time.perf_counter() - acked > 10:
                    raise RuntimeError(f"{reader} still answers {top} for {user} 10 s after the {kind} write")
            lags[kind].append((time.perf_counter() - acked) * 1e3)
    return {f"{k}_visibility_ms": {"p50": float(np.percentile(v, 50)), "p99": float(np.percentile(v, 99)),
                                   "max": float(np.max(v)), "n": len(v)} for k, v in lags.items()}


def _export(root: Path, url: str) -> str:
    """``skillpath db export`` of the world's data dir into PostgreSQL (as docs/deploy.md moves one)."""
    out = subprocess.run([sys.executable, "-m", "skillpath_cli.main", "--data-dir", str(root), "db", "export",
                          "--url", url], cwd=REPO, capture_output=True, text=True, timeout=1800)
    if out.returncode:
        raise RuntimeError(f"db export failed: {out.stderr[-2000:]}")
    return out.stdout.strip().splitlines()[-1]


def run(*, quick: bool, rate: float, duration: float, rounds: int, pg_url: str | None = None) -> dict[str, Any]:
    """Both set-ups side by side (see the module docstring); starts its own PostgreSQL unless given ``pg_url``."""
    import pandas as pd

    from benchmarks.rest import prepare, request_mix

    n_items, n_mentees = (5_000, 400) if quick else (20_000, 2_000)
    world_root = Path(tempfile.gettempdir()) / f"skillpath-storagebench-{n_items}"
    world = prepare(world_root, n_items=n_items, n_mentees=n_mentees, days=60)
    users = pd.read_csv(world_root / "mentees.csv", usecols=["user_id"])["user_id"].astype(str).tolist()
    bodies, warm = request_mix(users, int(rate * duration), seed=3), request_mix(users, 200, seed=1)
    out: dict[str, Any] = {"world": {k: world[k] for k in ("n_items", "n_mentees", "n_events")}, "rate_rps": rate,
                           "duration_s": duration, "loadavg_start": os.getloadavg()}
    pg = None
    if pg_url is None:
        from tests.pg_server import PostgresServer

        pg = PostgresServer().start()
        pg_url = pg.url
    try:
        with tempfile.TemporaryDirectory(prefix="replicasbench-") as tmpd:
            tmp = Path(tmpd)
            src = tmp / "src"
            shutil.copytree(world_root, src)
            out["export"] = _export(src, pg_url)
            for name, n, url in (("sqlite_1_replica", 1, None), ("postgres_2_replicas", 2, pg_url)):
                out[name] = _setup(name, n, url, src, tmp, users, bodies, warm, rate, duration, rounds)
                print(name, json.dumps({k: out[name][k] for k in ("p50_ms", "p99_ms", "errors")}), flush=True)
    finally:
        if pg is not None:
            pg.close()
    out["loadavg_end"] = os.getloadavg()
    return out


def _setup(name: str, n: int, url: str | None, src: Path, tmp: Path, users: list[str], bodies: list[dict],
           warm: list[dict], rate: float, duration: float, rounds: int) -> dict[str, Any]:
    servers, warmed = [], []
    try:
        for k in range(n):
            r = tmp / f"{name}-{k}"
            shutil.copytree(src, r, ignore=shutil.ignore_patterns("events.db*") if url else None)
            servers.append(_start(r, tmp / f"{name}-{k}.log", url))
        for srv in servers:
            warmed.append(wait_warm(srv, users[0]))
        res = open_loops([srv.url for srv in servers], bodies, warm, rate, duration, tmp)
        vis = visibility(servers[0].url, servers[-1].url, users[len(users) // 2:], rounds, tag=name)
    finally:
        for srv in servers:
            srv.stop()
    return {"replicas": n, "start": warmed,
            "per_replica": [{"sent": r["sent"], "errors": r["errors"], "latency_ms": r["latency_ms"]} for r in res],
            "p50_ms": max(r["latency_ms"]["p50"] for r in res), "p99_ms": max(r["latency_ms"]["p99"] for r in res),
            "errors": sum(r["n_errors"] for r in res), "sent": sum(r["sent"] for r in res), **vis}


def table(out: dict[str, Any]) -> str:
    """The result as the Markdown table of benchmarks/storage.md."""
    rows = ["| set-up | rate | `/recommend` p50 / p99 (worst replica) | errors / sent | event visibility p50 / p99 "
            "| entity visibility p50 / p99 | ready / warm (s) |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for name in ("sqlite_1_replica", "postgres_2_replicas"):
        r = out[name]
        ev, en = r["event_visibility_ms"], r["entity_visibility_ms"]
        rows.append(f"| {name} | {out['rate_rps']:g} req/s x {out['duration_s']:g} s | {r['p50_ms']:.1f} / "
                    f"{r['p99_ms']:.1f} ms | {r['errors']} / {r['sent']} | {ev['p50']:.1f} / {ev['p99']:.1f} ms | "
                    f"{en['p50']:.1f} / {en['p99']:.1f} ms | "
                    + ", ".join(f"{s['ready_s']:g} / {s['warm_s']:g}" for s in r["start"]) + " |")
    load = ", ".join(f"{x:.1f}" for x in out["loadavg_start"]) + " -> " + ", ".join(
        f"{x:.1f}" for x in out["loadavg_end"])
    return "\n".join(rows) + f"\n\nworld: {out['world']}; load average (1, 5, 15 min): {load}"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="5,000 items and 400 mentees instead of 20,000 and 2,000")
    ap.add_argument("--rate", type=float, default=300.0, help="total /recommend requests/s (split over the replicas)")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of the open loop")
    ap.add_argument("--rounds", type=int, default=30, help="visibility rounds per kind (event, entity)")
    ap.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "replicas.json")
    args = ap.parse_args(argv)
    out = run(quick=args.quick, rate=args.rate, duration=args.duration, rounds=args.rounds)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2))
    print(table(out))
    return out


if __name__ == "__main__":
    main()
