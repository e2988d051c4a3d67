"""The monitor wired into the service: ingestion with monitoring on vs off, status and alert-list latency.

Two service apps (``serving.app.SkillPathApp``, no model loaded) over two copies of one
synthetic world, one with ``monitoring.enabled`` and one without, receive the same
``POST /events`` batches (``app.ingest``: validation, durable append with fsync, and for
the first also the fold of the new events and the re-evaluation of the mentees they
touched) alternately, batch by batch, so both see the same machine load. Then the rest of
the history is stored directly, folded, swept, and the reads are timed:
``MonitorView.status`` (what ``GET /mentees/{id}/status`` answers) and
``MonitorView.alerts_json`` (the body of ``GET /monitor/alerts`` for every mentee in one call).

    .venv/bin/python benchmarks/monitoring_service.py            # 10,000 mentees, 120 days
    # result: benchmarks/results/monitoring_service.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from catalog.datadir import DataDir  # noqa: E402
from catalog.eventlog import EventLog  # noqa: E402
from catalog.settings import load_settings  # noqa: E402
from catalog.synth import SynthConfig, generate  # noqa: E402
from catalog.writers import save_world  # noqa: E402
from serving.app import SkillPathApp  # noqa: E402
from serving.schemas import EventsRequest  # noqa: E402


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mentees", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=120)
    ap.add_argument("--live-events", type=int, default=60_000, help="events sent through both ingest paths")
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--json", default="benchmarks/results/monitoring_service.json")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    sw = generate(SynthConfig(seed=7, n_mentees=args.mentees, days=args.days, sessions=False))
    events = sw.events.sort_values("timestamp", kind="stable").reset_index(drop=True)
    print(f"world: {len(sw.world.mentees):,} mentees, {len(events):,} events ({time.perf_counter() - t0:.0f} s)")
    end = events["timestamp"].max().to_pydatetime() + timedelta(hours=1)
    tmp = Path(tempfile.mkdtemp(prefix="skillpath-monbench-"))
    apps = {}
    for name, on in (("off", False), ("on", True)):
        dd = DataDir(tmp / name).ensure()
        save_world(sw.world, dd)
        s = load_settings(data_dir=str(dd.root), monitoring__enabled=on, monitoring__sweep_interval_s=0)
        apps[name] = SkillPathApp(s, world=sw.world, log_=EventLog(dd.events_db), source=None, clock=lambda: end)

    live = events.iloc[: args.live_events]
    cols = ["event_id", "user_id", "item_id", "event_type", "value", "timestamp"]
    records = live[cols].to_dict("records")
    for r in records:
        r["value"] = None if r["value"] != r["value"] else r["value"]
    batches = [EventsRequest.model_validate({"events": records[k:k + args.batch]})
               for k in range(0, len(records), args.batch)]
    spent = {"off": 0.0, "on": 0.0}
    for k, req in enumerate(batches):
        order = ("off", "on") if k % 2 == 0 else ("on", "off")  # alternate who goes first
        for name in order:
            t = time.perf_counter()
            apps[name].ingest(req)
            spent[name] += time.perf_counter() - t
    rate = {n: len(records) / v for n, v in spent.items()}
    print(f"ingest, batches of {args.batch}: off {rate['off']:,.0f} ev/s, on {rate['on']:,.0f} ev/s "
          f"(monitoring costs {spent['on'] / spent['off'] - 1:+.1%} of the ingest time)")

    app = apps["on"]
    mon = app.monitor
    rest = events.iloc[args.live_events:]
    t = time.perf_counter()
    for k in range(0, len(rest), 50_000):
        app.log.append(rest.iloc[k:k + 50_000])
    t_store = time.perf_counter() - t
    t = time.perf_counter()
    mon.catch_up()
    t_fold = time.perf_counter() - t
    t = time.perf_counter()
    mon.sweep(end)
    t_sweep = time.perf_counter() - t
    print(f"rest of the history: stored {len(rest):,} in {t_store:.1f} s, folded in {t_fold:.2f} s "
          f"({len(rest) / t_fold:,.0f} ev/s), sweep of every mentee {t_sweep:.2f} s")

    users = sorted(sw.world.mentees, key=lambda u: -(mon.book.states[u].n_events if u in mon.book.states else 0))
    sample = users[:50] + users[len(users) // 2: len(users) // 2 + 50]
    times = []
    for _ in range(5):
        for u in sample:
            t = time.perf_counter()
            mon.status(u, end)
            times.append((time.perf_counter() - t) * 1e3)
    print(f"status: p50 {statistics.median(times):.3f} ms, p99 {_pct(times, 0.99):.3f} ms")

    alert_ms, n_alerts, n_users = [], 0, 0
    for _ in range(7):
        t = time.perf_counter()
        body = mon.alerts_json(now=end, cohort=None, min_risk=None, cursor=None, limit=1_000_000,
                               include_acknowledged=False, visible=None)
        alert_ms.append((time.perf_counter() - t) * 1e3)
    page = json.loads(body)
    n_alerts, n_users = len(page["alerts"]), len({a["user_id"] for a in page["alerts"]})
    print(f"alerts for {len(sw.world.mentees):,} mentees in one call: {n_alerts:,} alerts of {n_users:,} mentees, "
          f"{len(body) / 1e6:.1f} MB, p50 {statistics.median(alert_ms):.0f} ms (best {min(alert_ms):.0f})")

    result = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "load": os.getloadavg(),
        "mentees": len(sw.world.mentees), "events": len(events), "live_events": len(records), "batch": args.batch,
        "ingest_events_per_s": rate, "monitoring_ingest_overhead": spent["on"] / spent["off"] - 1,
        "fold_rest_events_per_s": len(rest) / t_fold, "sweep_s": t_sweep,
        "status_ms": {"p50": statistics.median(times), "p99": _pct(times, 0.99)},
        "alerts_ms": {"p50": statistics.median(alert_ms), "best": min(alert_ms)}, "alerts": n_alerts,
        "alerted_mentees": n_users,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2))
    for a in apps.values():
        a.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
