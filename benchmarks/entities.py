"""The entity store under load: batch upserts, /recommend while the catalog changes, forgetting.

    .venv/bin/python benchmarks/entities.py                 # 5,000 items, 2,000 mentees (the demo's size)
    .venv/bin/python benchmarks/entities.py --items 20000
    .venv/bin/python benchmarks/entities.py --cache /tmp/world   # prepare once, run on a copy each time

In-process through :class:`serving.app.SkillPathApp` (the code every route calls; no
HTTP), on the synthetic world of ``benchmarks/rest.py``'s ``prepare`` with a 64-factor ALS
model:

- **batch upserts**: ``PUT /resources`` batches of 1,000 new resources, each applied to
  what requests read before it returns (validation, the store's fsynced transaction, the
  catalog view and the re-aligned model);
- **/recommend under catalog writes**: p50/p99 of ``/recommend`` (each of ``--modes``:
  ``model``, the ranked list, and ``hybrid``, the default) in quiet segments and, side by
  side in the same run, segments where another thread patches a resource every
  ``--write-every-ms`` (alternating A/B/A/B so machine load hits both);
- **one write's CPU** (``write_profile``): ``--profile-writes`` patches back to back, each followed by
  one ``/recommend``; per patch the writing thread's CPU and, on the SQLite store, how its time splits
  into the store's statements and the Python between them. Each statement releases the GIL and the
  Python between two holds it, so the longest such stretch is the longest a request beside the write
  can wait for it (on a loaded machine CPU figures inflate, but both sides of a run alike);
- **after a write** (``after_write``, per mode): the request thread's extra CPU in the requests right
  after one patch, against the same requests answered again without it: what a write leaves the
  requests to rebuild (a filter's mask, remembered answers);
- **forget**: ``DELETE /mentees/{id}`` of a mentee with 1,000 events.

``--repo DIR`` measures another checkout's code with this harness (e.g. the commit before, side by
side in one sitting: ``--repo /path/to/base``); the world is prepared by that checkout's
``benchmarks/rest.py``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import itertools
import json
import platform as _platform
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

HERE = Path(__file__).parent
RESULT = HERE / "results" / "entities.json"
TARGETS = {"upserts_per_s": 1000.0, "p99_ratio": 1.5, "forget_1000_s": 1.0}
_DURATIONS = itertools.count(10_000)  # the profiling phases' patches: each value new, so each is a real write


def _resource(item_id: str, skill: str, n: int) -> dict[str, Any]:
    return {"item_id": item_id, "title": f"Bench {item_id}", "type": ["article", "video", "book"][n % 3],
            "skills": [f"{skill}:{1 + n % 5}"], "published_at": "2024-01-01", "duration_minutes": 10 + n % 50}


class _TimedConnection:
    """The store's SQLite connection, noting the writing thread's CPU clock around each statement."""

    def __init__(self, conn: Any, marks: list[tuple[str, float]]) -> None:
        self._conn, self._marks = conn, marks

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def _timed(self, name: str, *a: Any, **k: Any) -> Any:
        self._marks.append(("sql", time.thread_time()))
        try:
            return getattr(self._conn, name)(*a, **k)
        finally:
            self._marks.append(("py", time.thread_time()))

    def execute(self, *a: Any, **k: Any) -> Any:
        return self._timed("execute", *a, **k)

    def executemany(self, *a: Any, **k: Any) -> Any:
        return self._timed("executemany", *a, **k)


def _write_profile(app: Any, reqs: list[Any], targets: list[str], n: int) -> dict[str, Any]:
    """``n`` patches back to back (each followed by one /recommend): the writer's CPU per patch and, on the
    SQLite store, its statements and the longest stretch of Python between them (what holds the GIL)."""
    import numpy as np

    from serving.schemas_entities import PATCH_MODELS

    store = app.entities.store
    marks: list[tuple[str, float]] = []
    timed = getattr(store, "_conn", None) is not None
    if timed:
        store._conn = _TimedConnection(store._conn, marks)
    cpu, longest, sql_n, sql_cpu = [], [], [], []
    try:
        for k in range(n):
            body = PATCH_MODELS["resources"](duration_minutes=next(_DURATIONS))
            marks.clear()
            c0 = time.thread_time()
            marks.append(("py", c0))
            app.entity("patch", "resources", targets[k % len(targets)], body, if_match=None, actor="bench")
            c1 = time.thread_time()
            marks.append(("sql", c1))
            cpu.append(c1 - c0)
            spans = [(a[0], b[1] - a[1]) for a, b in zip(marks, marks[1:])]
            longest.append(max(d for kind, d in spans if kind == "py"))
            sql_n.append(sum(kind == "sql" for kind, _ in spans))
            sql_cpu.append(sum(d for kind, d in spans if kind == "sql"))
            app.recommend(reqs[k % len(reqs)])
    finally:
        if timed:
            store._conn = store._conn._conn

    def ms(xs: list[float], q: float) -> float:
        return round(float(np.percentile(xs, q)) * 1e3, 3)

    out: dict[str, Any] = {"writes": n, "cpu_ms": {"mean": round(float(np.mean(cpu)) * 1e3, 3), "p50": ms(cpu, 50),
                                                   "p90": ms(cpu, 90)}}
    if timed:
        out.update(statements_per_write=round(float(np.mean(sql_n)), 1),
                   statements_cpu_ms_mean=round(float(np.mean(sql_cpu)) * 1e3, 3),
                   python_cpu_ms_mean=round(float(np.mean(np.subtract(cpu, sql_cpu))) * 1e3, 3),
                   longest_gil_hold_ms={"p50": ms(longest, 50), "p90": ms(longest, 90), "max": ms(longest, 100)})
    return out


def _after_write(app: Any, reqs: list[Any], targets: list[str], rounds: int, per_round: int) -> dict[str, Any]:
    """What a write costs the requests after it, in their own thread: ``per_round`` requests are answered
    once (all they need is then remembered), again (quiet), then after one patch (after a write); the CPU
    difference is the work the write left to the requests (masks, texts, remembered answers rebuilt)."""
    from serving.schemas_entities import PATCH_MODELS

    quiet = after = 0.0
    for k in range(rounds):
        batch = [reqs[(k * per_round + j) % len(reqs)] for j in range(per_round)]
        for r in batch:
            app.recommend(r)
        c = time.thread_time()
        for r in batch:
            app.recommend(r)
        quiet += time.thread_time() - c
        body = PATCH_MODELS["resources"](duration_minutes=next(_DURATIONS))  # never a replay: a real write
        app.entity("patch", "resources", targets[k % len(targets)], body, if_match=None, actor="bench")
        c = time.thread_time()
        for r in batch:
            app.recommend(r)
        after += time.thread_time() - c
    return {"rounds": rounds, "requests_per_round": per_round,
            "quiet_cpu_ms_per_round": round(quiet / rounds * 1e3, 2),
            "after_write_cpu_ms_per_round": round(after / rounds * 1e3, 2),
            "extra_request_cpu_ms_per_write": round((after - quiet) / rounds * 1e3, 2)}


def _side_by_side(app: Any, reqs: list[Any], targets: list[str], *, segments: int, segment_s: float,
                  write_every_ms: float) -> dict[str, Any]:
    """/recommend latencies in quiet segments and, alternating with them, segments where another thread
    patches a resource every ``write_every_ms`` (each patch applied to the next answer before it returns).
    Segments last ``segment_s`` each, whatever a request costs, so both modes see the same write rate."""
    from serving.schemas_entities import PATCH_MODELS

    for r in reqs[:200]:
        app.recommend(r)
    quiet: list[float] = []
    loaded: list[float] = []
    writes = {"n": 0, "s": 0.0, "cpu": 0.0}

    def writer(stop: threading.Event) -> None:
        n = 0
        while not stop.is_set():
            body = PATCH_MODELS["resources"](duration_minutes=100 + writes["n"])  # always a change: a real write
            t, c = time.perf_counter(), time.thread_time()
            app.entity("patch", "resources", targets[n % len(targets)], body, if_match=None, actor="bench")
            writes["s"] += time.perf_counter() - t
            writes["cpu"] += time.thread_time() - c  # the writer's own CPU: what can hold the GIL
            writes["n"] += 1
            n += 1
            stop.wait(write_every_ms / 1e3)

    i = 0
    for seg in range(segments):
        stop = threading.Event()
        t = threading.Thread(target=writer, args=(stop,)) if seg % 2 else None
        if t is not None:
            t.start()
            time.sleep(0.05)
        sink = loaded if t is not None else quiet
        end = time.perf_counter() + segment_s
        while time.perf_counter() < end:
            r = reqs[i % len(reqs)]
            i += 1
            t0 = time.perf_counter()
            app.recommend(r)
            sink.append((time.perf_counter() - t0) * 1e3)
        if t is not None:
            stop.set()
            t.join()
    from benchmarks.rest_load import summarize

    q, lo = summarize(quiet), summarize(loaded)
    return {"quiet_ms": q, "during_writes_ms": lo, "p99_ratio": round(lo["p99"] / q["p99"], 2),
            "p50_ratio": round(lo["p50"] / q["p50"], 2), "writes": writes["n"],
            "write_ms_mean": round(writes["s"] / max(writes["n"], 1) * 1e3, 2),
            "write_cpu_ms_mean": round(writes["cpu"] / max(writes["n"], 1) * 1e3, 3), "write_every_ms": write_every_ms,
            "segments": segments, "segment_s": segment_s, "load_avg_after": [round(x, 2) for x in os.getloadavg()]}


def run(root: Path, *, n_items: int, n_mentees: int, batches: int, segments: int, segment_s: float,
        write_every_ms: float, modes: list[str], cache: Path | None = None,
        switch_interval_ms: float | None = None, profile_writes: int = 200) -> dict[str, Any]:
    from benchmarks.rest import prepare, request_mix
    from catalog.settings import load_settings
    from serving.app import SkillPathApp
    from serving.schemas import RecommendRequest
    from serving.schemas_entities import BATCH_MODELS

    if cache is not None:  # the prepared world is kept; every run writes to a fresh copy of it
        import shutil

        info = prepare(cache, n_items=n_items, n_mentees=n_mentees, days=90)
        shutil.copytree(cache, root)
    else:
        info = prepare(root, n_items=n_items, n_mentees=n_mentees, days=90)
    settings = load_settings(data_dir=root)
    app = SkillPathApp.from_settings(settings, model_dir=root / "models" / "als")
    out: dict[str, Any] = {"world": info, "load_avg_start": [round(x, 2) for x in os.getloadavg()]}
    try:
        # What the service does before it measures as warm: its switch interval, and the build after
        # readiness (popularity, monitor, assistant) done, so neither that build nor a first use is measured.
        interval_ms = switch_interval_ms if switch_interval_ms is not None else getattr(
            settings.serving, "switch_interval_ms", None)
        if interval_ms:
            sys.setswitchinterval(interval_ms / 1e3)
        out["switch_interval_ms"] = round(sys.getswitchinterval() * 1e3, 3)
        t = time.perf_counter()
        app.warm_background()
        out["warm_s"] = round(time.perf_counter() - t, 2)
        skills = list(app.world.catalog.skills)
        # ---------------------------------------------------------- batch upserts
        times = []
        for b in range(batches):
            items = [_resource(f"bench-{b}-{n}", skills[(b * 1000 + n) % len(skills)], n) for n in range(1000)]
            body = BATCH_MODELS["resources"](items=items)
            t = time.perf_counter()
            app.entity("batch", "resources", body, actor="bench")
            times.append(time.perf_counter() - t)
        out["upserts"] = {"batches": batches, "batch_size": 1000, "seconds_per_batch": [round(x, 3) for x in times],
                          "per_s": round(1000 * batches / sum(times), 1),
                          "catalog_items_after": app.world.catalog.n_items}
        # ---------------------------------------------------------- /recommend, quiet vs writes
        users = list(app.world.mentees)[:500]
        targets = [f"bench-0-{n}" for n in range(1000)]
        if profile_writes:
            reqs = [RecommendRequest(**b, mode=modes[0] if modes else "model")
                    for b in request_mix(users, 500, seed=5)]
            out["write_profile"] = _write_profile(app, reqs, targets, profile_writes)
            out["after_write"] = {}
            for mode in modes or ["model"]:
                mreqs = [RecommendRequest(**b, mode=mode) for b in request_mix(users, 2000, seed=7)]
                out["after_write"][mode] = _after_write(app, mreqs, targets, rounds=20,
                                                        per_round=200 if mode == "model" else 60)
        out["recommend"] = {}
        for mode in modes:
            reqs = [RecommendRequest(**b, mode=mode) for b in request_mix(users, 5000, seed=3)]
            out["recommend"][mode] = _side_by_side(app, reqs, targets, segments=segments, segment_s=segment_s,
                                                   write_every_ms=write_every_ms)
        # ---------------------------------------------------------- forget a mentee with 1,000 events
        from serving.schemas import EventsRequest

        now = datetime.now(timezone.utc)
        items = app.world.catalog.items.ids.tolist()
        ev = [{"event_id": f"fg-{n}", "user_id": "forget-me", "item_id": items[n % len(items)],
               "event_type": "view", "timestamp": (now - timedelta(minutes=n)).isoformat()} for n in range(1000)]
        app.ingest(EventsRequest(events=ev))
        t = time.perf_counter()
        resp = app.forget("forget-me", actor="bench")
        out["forget"] = {"events": resp.removed["events"], "seconds": round(time.perf_counter() - t, 3)}
    finally:
        app.close()
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", type=int, default=5000)
    p.add_argument("--mentees", type=int, default=2000)
    p.add_argument("--batches", type=int, default=5)
    p.add_argument("--segments", type=int, default=16,
                   help="alternating quiet / during-writes segments (short ones: load drifting on a shared machine "
                        "then hits both alike)")
    p.add_argument("--segment-s", type=float, default=4.0, help="seconds per segment")
    p.add_argument("--write-every-ms", type=float, default=200.0)
    p.add_argument("--modes", default="model,hybrid", help="/recommend modes measured, comma-separated")
    p.add_argument("--switch-interval-ms", type=float, default=None,
                   help="sys.setswitchinterval for the run (default: the service's setting, serving.switch_interval_ms)")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--cache", type=Path, default=None, help="keep the prepared world here and run on a copy")
    p.add_argument("--profile-writes", type=int, default=200,
                   help="patches timed back to back for the write's CPU and GIL holds (0: skip)")
    p.add_argument("--repo", type=Path, default=None,
                   help="another checkout whose code is measured with this harness (default: this one)")
    p.add_argument("--json", type=Path, default=RESULT)
    a = p.parse_args(argv)
    if a.repo is not None:
        sys.path.insert(0, str(a.repo.resolve()))
    with tempfile.TemporaryDirectory() as tmp:
        root = a.data_dir or Path(tmp) / "world"
        res = run(root, n_items=a.items, n_mentees=a.mentees, batches=a.batches, segments=a.segments,
                  segment_s=a.segment_s, write_every_ms=a.write_every_ms,
                  modes=[m.strip() for m in a.modes.split(",") if m.strip()], cache=a.cache,
                  switch_interval_ms=a.switch_interval_ms, profile_writes=a.profile_writes)
    res["targets"] = TARGETS
    res["repo"] = str((a.repo or Path(__file__).resolve().parents[1]).resolve())
    res["machine"] = {"python": _platform.python_version(), "cpus": os.cpu_count(),
                      "load_avg": [round(x, 2) for x in os.getloadavg()], "when": datetime.now(timezone.utc).isoformat()}
    a.json.parent.mkdir(parents=True, exist_ok=True)
    a.json.write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
