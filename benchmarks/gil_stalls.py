"""How long the service's own work keeps other threads from the GIL: a probe thread's stalls.

    .venv/bin/python benchmarks/gil_stalls.py --data-dir benchmarks/data/resilience --switch-interval-ms 5
    .venv/bin/python benchmarks/gil_stalls.py --data-dir benchmarks/data/resilience     # the service's setting

In-process through :class:`serving.app.SkillPathApp` on a prepared world (``benchmarks/resilience.py``
or ``rest.py`` prepare one). A probe thread sleeps 1 ms in a loop and records how much later than
that it wakes: on an idle machine the excess is the time it waited for the GIL, i.e. what a request
arriving then would wait. Each step (the build after readiness, part by part; single-event ingests;
resource patches; a console rebuild after events) runs in the main thread while the probe samples;
its p99 and maximum stall are reported. Machine load adds to every figure alike (compare steps and
settings within one run, and note the load average).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from typing import Any  # noqa: E402


def _probed(step: Callable[[], object]) -> dict[str, float]:
    """Run ``step`` while a thread sleeps 1 ms in a loop; its oversleeps (ms) summarised."""
    stalls: list[float] = []
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            t = time.perf_counter()
            time.sleep(0.001)
            stalls.append((time.perf_counter() - t - 0.001) * 1e3)

    th = threading.Thread(target=probe, name="gil-probe")
    th.start()
    time.sleep(0.1)
    t = time.perf_counter()
    step()
    took = time.perf_counter() - t
    time.sleep(0.05)
    stop.set()
    th.join()
    s = sorted(stalls)
    return {"step_ms": round(took * 1e3, 1), "stall_p99_ms": round(s[int(len(s) * 0.99)], 2),
            "stall_max_ms": round(s[-1], 2), "samples": len(s)}


def run(root: Path, *, switch_interval_ms: float | None) -> dict[str, Any]:
    from catalog.settings import load_settings
    from serving.app import SkillPathApp
    from serving.routes.analytics import start as console
    from serving.schemas import EventsRequest
    from serving.schemas_entities import PATCH_MODELS

    settings = load_settings(data_dir=root)
    sys.setswitchinterval((switch_interval_ms or settings.serving.switch_interval_ms) / 1e3)
    app = SkillPathApp.from_settings(settings, model_dir=root / "models" / "als")
    out: dict[str, Any] = {"switch_interval_ms": round(sys.getswitchinterval() * 1e3, 3)}
    try:
        ids = app.world.catalog.items.ids.tolist()[:200]
        users = list(app.world.mentees)[:200]
        now = datetime.now(timezone.utc).isoformat()

        def ingest(n: int) -> None:
            app.ingest(EventsRequest(events=[{"event_id": f"gil-{os.getpid()}-{n}", "user_id": users[n % len(users)],
                                              "item_id": ids[n % len(ids)], "event_type": "view", "timestamp": now}]))

        def patch(n: int) -> None:
            app.entity("patch", "resources", ids[n % len(ids)], PATCH_MODELS["resources"](duration_minutes=200 + n),
                       if_match=None, actor="bench")

        data: list[Any] = []
        steps: list[tuple[str, Callable[[], object]]] = [
            ("idle", lambda: time.sleep(0.5)),
            ("build: popularity, co-completion", lambda: app.warm_background(("model extras",))),
            ("build: monitor", lambda: app.warm_background(("monitor",))),
            ("build: assistant", lambda: app.warm_background(("assistant",))),
            ("build: console tables", lambda: (data.append(console(app)), data[0].first_pass.wait(600))),
            ("20 single-event /events", lambda: [ingest(n) for n in range(20)]),
            ("20 resource patches", lambda: [patch(n) for n in range(20)]),
            ("console rebuild after events", lambda: data[0].rebuild()),
        ]
        out["steps"] = {name: _probed(step) for name, step in steps}
    finally:
        app.close()
    out["load_avg"] = [round(x, 2) for x in os.getloadavg()]
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", type=Path, required=True, help="a prepared world (copied; the original is not written)")
    p.add_argument("--switch-interval-ms", type=float, default=None,
                   help="sys.setswitchinterval for the run (default: the service's, serving.switch_interval_ms)")
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "world"
        shutil.copytree(a.data_dir, root)
        res = run(root, switch_interval_ms=a.switch_interval_ms)
    for name, r in res["steps"].items():
        print(f"{name:34s} {r['step_ms']:8.1f} ms   stall p99 {r['stall_p99_ms']:6.2f}   max {r['stall_max_ms']:7.2f} ms")
    print(f"switch interval {res['switch_interval_ms']} ms, load average {res['load_avg']}")
    if a.json:
        a.json.write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
