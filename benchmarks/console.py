"""Console benchmark: each page's time cold (first start, restart, after a write) and warm, and
``/recommend`` latency with and without the console in use.

Starts the real service (``skillpath serve``: BentoML, 1 worker) on a demo world (``skillpath data synth`` +
``skillpath train``; 6,000 mentees, ~350k events) with a lead key, then:

1. first start (``--fresh`` removes the console's saved snapshot and tables first): right after
   ``/readyz``, each page once; the first pages wait for whatever the console still has to build
   (the content page shows its stale section as pending on a first build), then how long after
   readiness the first build's last table (``/analytics/content/stale``, which waits) answers;
2. warm: each page ``--repeat`` times (p50, p95);
3. after a write: 50 new events posted, then each page once at once (a write makes the tables
   stale: this is what a page costs then), and how long until ``active-weekly`` shows the write;
4. ``/recommend`` alone for ``--seconds`` s (closed loop, one client), then the same while a second client
   loads console pages in a loop and a third posts an event every second: p50/p99 side by side;
5. restart: the service stopped and started again on the same data dir, each page once after ``/readyz``.

Times are client-side on 127.0.0.1 (the server time plus a loopback round trip).

    .venv/bin/python benchmarks/console.py --data-dir DIR [--fresh] [--json benchmarks/results/console.json]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx  # noqa: E402
import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.rest import Server  # noqa: E402
from skillpath_cli.serve import serve_command  # noqa: E402

__all__ = ["main"]

LEAD = "bench-lead-key-0123456789"
TARGETS = {"warm_ms": 300.0, "cold_ms": 2000.0}


class DemoServer(Server):
    """``skillpath serve`` on a demo data dir (its champion from the MLflow registry there), 1 worker."""

    def __init__(self, root: Path, log_path: Path) -> None:
        import subprocess

        from benchmarks.rest import _free_port

        self.kind, self.port, self.log_path = "bentoml1", _free_port(), log_path
        argv, env = serve_command(root, host="127.0.0.1", port=self.port, workers=1, model_dir=None)
        with open(log_path, "wb") as out:
            self.proc = subprocess.Popen(argv, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"


def _pages(root: Path) -> list[str]:
    import pandas as pd

    users = pd.read_csv(root / "mentees.csv", usecols=["user_id"])["user_id"].tolist()
    mentors = pd.read_csv(root / "mentors.csv", usecols=["mentor_id"])["mentor_id"].tolist()
    return ["/ui/programme", "/ui/content", f"/ui/mentees/{users[0]}", f"/ui/mentors/{mentors[0]}", "/ui/models"]


def _time(c: httpx.Client, path: str) -> float:
    t = time.perf_counter()
    r = c.get(path)
    ms = (time.perf_counter() - t) * 1e3
    if r.status_code != 200:
        raise RuntimeError(f"{path}: {r.status_code} {r.text[:300]}")
    return ms


def _recommend_loop(url: str, users: list[str], seconds: float) -> list[float]:
    out = []
    with httpx.Client(base_url=url, timeout=30) as c:
        end = time.perf_counter() + seconds
        k = 0
        while time.perf_counter() < end:
            t = time.perf_counter()
            r = c.post("/recommend", json={"user_id": users[k % len(users)], "k": 10})
            out.append((time.perf_counter() - t) * 1e3)
            if r.status_code != 200:
                raise RuntimeError(r.text[:300])
            k += 1
    return out


def _cold(server: DemoServer, pages: list[str]) -> dict[str, float]:
    with httpx.Client(base_url=server.url, timeout=300, headers={"authorization": f"Bearer {LEAD}"}) as c:
        return {p: _time(c, p) for p in pages}


def _post_events(url: str, users: list[str], items: list[str], n: int, tag: str) -> None:
    now = datetime.now(timezone.utc).isoformat()
    events = [{"event_id": f"bench-{tag}-{uuid.uuid4().hex}", "user_id": users[k % len(users)],
               "item_id": items[(7 * k + 11) % len(items)], "event_type": "view", "timestamp": now}
              for k in range(n)]
    r = httpx.post(f"{url}/events", json={"events": events}, timeout=60,
                   headers={"authorization": "Bearer bench-admin-key-0123456789"})
    if r.status_code != 200:
        raise RuntimeError(r.text[:300])


def _after_write(server: DemoServer, pages: list[str], users: list[str], items: list[str]) -> dict:
    """Pages right after a write, and how long until the tables show it (the latest week's events)."""
    with httpx.Client(base_url=server.url, timeout=300, headers={"authorization": f"Bearer {LEAD}"}) as c:
        def events() -> int:
            return sum(c.get("/analytics/programme/active-weekly").json()["rows"][-1][2:3])
        before = events()
        t0 = time.perf_counter()
        _post_events(server.url, users, items, 50, "write")
        out: dict = {"pages": {p: _time(c, p) for p in pages}}
        while time.perf_counter() - t0 < 120:
            if events() != before:
                out["shown_after_s"] = time.perf_counter() - t0
                break
            time.sleep(0.5)
        else:
            out["shown_after_s"] = None
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--fresh", action="store_true", help="remove DIR/console (snapshot, saved tables) first")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    root = a.data_dir.resolve()
    import shutil

    import pandas as pd

    if a.fresh:
        shutil.rmtree(root / "console", ignore_errors=True)
    users = pd.read_csv(root / "mentees.csv", usecols=["user_id"])["user_id"].tolist()[:500]
    items = pd.read_csv(root / "resources.csv", usecols=["item_id"])["item_id"].tolist()
    os.environ["SKILLPATH_API_KEYS"] = f"{LEAD}:lead,bench-admin-key-0123456789"
    log_path = Path("/tmp") / f"console-bench-{os.getpid()}.log"
    server = DemoServer(root, log_path)
    out: dict = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "repo": str(REPO),
                 "fresh": a.fresh, "load_average": os.getloadavg(), "pages": {}}
    pages = _pages(root)
    try:
        out["ready_s"] = server.wait_ready()
        ready_at = time.perf_counter()
        for p, ms in _cold(server, pages).items():
            out["pages"][p] = {"cold_ms": ms}
        with httpx.Client(base_url=server.url, timeout=300, headers={"authorization": f"Bearer {LEAD}"}) as c:
            _time(c, "/analytics/content/stale")  # waits for the first build's last table
        out["all_tables_after_ready_s"] = time.perf_counter() - ready_at
        with httpx.Client(base_url=server.url, timeout=120, headers={"authorization": f"Bearer {LEAD}"}) as c:
            for p in pages:
                ts = [_time(c, p) for _ in range(a.repeat)]
                out["pages"][p].update(warm_p50_ms=float(np.percentile(ts, 50)),
                                       warm_p95_ms=float(np.percentile(ts, 95)))
        out["after_write"] = _after_write(server, pages, users, items)
        out["recommend"] = _side_by_side(server, pages, users, items, a.seconds)
    finally:
        server.stop()
    server = DemoServer(root, log_path)
    try:
        out["restart_ready_s"] = server.wait_ready()
        out["restart_cold_ms"] = _cold(server, pages)
    finally:
        server.stop()
    out["load_average_end"] = os.getloadavg()
    print(json.dumps(out, indent=2))
    if a.json:
        a.json.write_text(json.dumps(out, indent=2) + "\n")
    return out


def _side_by_side(server: DemoServer, pages: list[str], users: list[str], items: list[str], seconds: float) -> dict:
    alone = _recommend_loop(server.url, users, seconds)
    stop = threading.Event()
    console_ms: list[float] = []

    def browse() -> None:
        with httpx.Client(base_url=server.url, timeout=120, headers={"authorization": f"Bearer {LEAD}"}) as c:
            k = 0
            while not stop.is_set():
                console_ms.append(_time(c, pages[k % len(pages)]))
                k += 1

    def write() -> None:
        k = 0
        while not stop.wait(1.0):
            _post_events(server.url, users[k % len(users):], items, 1, "loop")
            k += 1
    threads = [threading.Thread(target=browse), threading.Thread(target=write)]
    for t in threads:
        t.start()
    together = _recommend_loop(server.url, users, seconds)
    stop.set()
    for t in threads:
        t.join()
    def stats(ts: list[float]) -> dict[str, float]:
        return {"n": len(ts), **{f"p{q}_ms": float(np.percentile(ts, q)) for q in (50, 95, 99)}, "max_ms": max(ts)}
    return {"alone": stats(alone),
            "with_console": {**stats(together), "console_pages": len(console_ms),
                             "console_p50_ms": float(np.percentile(console_ms, 50)) if console_ms else None}}


if __name__ == "__main__":
    main()
