"""What one hybrid ``/recommend`` costs in-process, by what the service already knows.

On the ``benchmarks/rest.py`` world (100k items, 64-factor ALS; built by its ``prepare``),
``SkillPathApp.recommend`` is timed for mentees with goals in three situations:

- ``hit``: the same request again (a remembered answer);
- ``filter``: a filter the mentee has not sent before (types, max_minutes), context warm;
- ``event``: the first request after one new event of the mentee (a new context).

Each figure is CPU (``process_time``) and wall p50/p99 per request. ``--repo DIR`` runs the
same harness against another checkout (e.g. ``git archive main | tar -x -C /tmp/base``), so
the old and new code are measured side by side on one machine; ``--profile PHASE`` prints the
cProfile of that phase instead.

    .venv/bin/python benchmarks/hybrid_request.py [--repo DIR] [--mentees 60] [--json out.json]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

FILTERS: list[dict[str, Any]] = [{"types": ["video"]}, {"types": ["article", "course"]}, {"max_minutes": 30},
                                 {"types": ["exercise", "tutorial"]}, {"max_minutes": 15}, {"types": ["course"]}]


def _summary(xs: list[float]) -> dict[str, float]:
    a = np.asarray(xs)
    return {"p50": float(np.percentile(a, 50)), "p99": float(np.percentile(a, 99)), "mean": float(a.mean()), "n": len(a)}


def run(root: Path, *, n_mentees: int, profile: str | None = None) -> dict[str, Any]:
    from catalog.settings import load_settings
    from serving.app import SkillPathApp
    from serving.schemas import EventsRequest, RecommendRequest

    app = SkillPathApp.from_settings(load_settings(data_dir=root), model_dir=root / "models" / "als")
    try:
        world = app.world
        users = [u for u, m in world.mentees.items() if m.goals][:n_mentees]
        items = world.catalog.items.ids
        rng = np.random.default_rng(3)
        for u in users:  # warm: every mentee's context and unfiltered answer
            app.recommend(RecommendRequest(user_id=u, k=10))
        out: dict[str, Any] = {"n_items": world.catalog.n_items, "mentees": len(users)}
        prof = None
        if profile:
            import cProfile

            prof = cProfile.Profile()

        def timed(phase: str, calls: list[Any]) -> None:
            cpu, wall = [], []
            if prof is not None and phase == profile:
                prof.enable()
            for f in calls:
                c, w = time.process_time(), time.perf_counter()
                f()
                cpu.append((time.process_time() - c) * 1e3)
                wall.append((time.perf_counter() - w) * 1e3)
            if prof is not None and phase == profile:
                prof.disable()
            out[phase] = {"cpu_ms": _summary(cpu), "wall_ms": _summary(wall)}

        timed("hit", [lambda u=u: app.recommend(RecommendRequest(user_id=u, k=10)) for u in users for _ in range(3)])
        timed("filter", [lambda u=u, f=f: app.recommend(RecommendRequest(user_id=u, k=10, **f))
                         for f in FILTERS for u in users])
        ts = (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat()
        calls = []
        for n, u in enumerate(users):
            item = str(items[int(rng.integers(len(items)))])
            app.ingest(EventsRequest(events=[{"user_id": u, "item_id": item, "event_type": "view",
                                              "timestamp": ts, "event_id": f"bench-{time.time_ns()}-{n}"}]))
            calls.append(lambda u=u: app.recommend(RecommendRequest(user_id=u, k=10)))
        timed("event", calls)
        if prof is not None:
            import pstats

            pstats.Stats(prof).sort_stats(os.environ.get("PROF_SORT", "cumulative")).print_stats(int(os.environ.get("PROF_N", "45")))
    finally:
        app.close()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent,
                   help="the checkout whose code is measured (default: this one)")
    p.add_argument("--world", type=Path, default=Path(tempfile.gettempdir()) / "skillpath-restbench-100000",
                   help="a benchmarks/rest.py world (copied: the run appends events)")
    p.add_argument("--mentees", type=int, default=60)
    p.add_argument("--profile", choices=["hit", "filter", "event"], default=None)
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args(argv)
    sys.path.insert(0, str(a.repo.resolve()))
    with tempfile.TemporaryDirectory(prefix="hybridbench-") as tmp:
        root = Path(tmp) / "world"
        shutil.copytree(a.world, root, ignore=shutil.ignore_patterns("console", "assistant.db"))
        out = run(root, n_mentees=a.mentees, profile=a.profile)
    out["repo"], out["loadavg"] = str(a.repo), os.getloadavg()
    for ph in ("hit", "filter", "event"):
        c, w = out[ph]["cpu_ms"], out[ph]["wall_ms"]
        print(f"{ph:7s} cpu p50 {c['p50']:.2f} p99 {c['p99']:.2f} mean {c['mean']:.2f} ms | "
              f"wall p50 {w['p50']:.2f} p99 {w['p99']:.2f} ms (n={c['n']})")
    print(f"load average {out['loadavg'][0]:.2f}")
    if a.json:
        a.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
