"""CPU of the service's ASGI stack per ``/recommend``, without sockets: where the HTTP layer's cost goes.

Drives the apps in-process (lifespan, then ``POST /recommend`` messages) on the REST
benchmark's world, in alternating rounds of:

- ``service``: ``SkillPathService.to_asgi()``, as ``bentoml serve`` runs it (BentoML's
  middlewares: metrics, tracing check, timeout, concurrency; then the mounted FastAPI app);
- ``api``: the FastAPI app alone (:data:`serving.api.api`: security middleware,
  validation, the route), the same routes without BentoML around them;
- ``core``: ``SkillPathApp.recommend`` on the service's own app object (the baseline).

Reports CPU ms per request (``process_time``) per round and the medians; the two stacks'
answers are checked to be the same bytes first.

    .venv/bin/python benchmarks/rest_asgi.py [--data-dir /tmp/skillpath-restbench-100000] [--rounds 6]

The world is the one ``benchmarks/rest.py`` builds (run it once first).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BENCH_KEY = "bench"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


async def _call(app: Any, body: bytes, path: str = "/recommend") -> dict[str, Any]:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode()),
                         (b"authorization", f"Bearer {BENCH_KEY}".encode())],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 3000)}
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)  # the client never disconnects
        return {"type": "http.disconnect"}

    out: dict[str, Any] = {"body": b""}

    async def send(m: dict[str, Any]) -> None:
        if m["type"] == "http.response.start":
            out["status"] = m["status"]
        elif m["type"] == "http.response.body":
            out["body"] += m.get("body", b"")

    await app(scope, receive, send)
    return out


async def _lifespan(app: Any, to_app: asyncio.Queue, from_app: asyncio.Queue) -> asyncio.Task:
    to_app.put_nowait({"type": "lifespan.startup"})
    life = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, to_app.get, from_app.put))
    started = await from_app.get()
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"service did not start: {started}")
    return life


async def _run(root: Path, rounds: int) -> dict[str, list[float]]:
    import pandas as pd

    import serving.api as A
    import serving.service as S
    from benchmarks.rest import request_mix
    from serving.schemas import RecommendRequest

    users = pd.read_csv(root / "mentees.csv", usecols=["user_id"])["user_id"].astype(str).tolist()
    warm = [json.dumps({"user_id": u, "k": 10}).encode() for u in users]
    timed = [json.dumps(b).encode() for b in request_mix(users, 600, seed=2)]
    service = S.SkillPathService.to_asgi()
    to_app: asyncio.Queue = asyncio.Queue()
    from_app: asyncio.Queue = asyncio.Queue()
    life = await _lifespan(service, to_app, from_app)
    try:
        for b in warm:
            r = await _call(service, b)
            if r["status"] != 200:
                raise RuntimeError(f"warm-up answered {r['status']}: {r['body'][:300]!r}")
        core = A.api.state.core
        reqs = [RecommendRequest.model_validate_json(b) for b in timed]
        stacks = {"service": service, "api": A.api}
        first = {name: [(await _call(app, b))["body"] for b in timed[:50]] for name, app in stacks.items()}
        if first["service"] != first["api"]:
            raise RuntimeError("the service and the bare FastAPI app answered differently")
        res: dict[str, list[float]] = {"service": [], "api": [], "core": []}
        for rnd in range(rounds):
            for mode in (["service", "api", "core"] if rnd % 2 == 0 else ["core", "api", "service"]):
                c0 = time.process_time()
                if mode == "core":
                    for q in reqs:
                        core.recommend(q)
                else:
                    for b in timed:
                        await _call(stacks[mode], b)
                res[mode].append((time.process_time() - c0) / len(timed) * 1e3)
            print(f"[rest_asgi] round {rnd + 1}/{rounds}", file=sys.stderr, flush=True)
    finally:
        to_app.put_nowait({"type": "lifespan.shutdown"})
        await from_app.get()
        await life
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "skillpath-restbench-100000",
                   help="the world benchmarks/rest.py built (default: its 100k-item cache)")
    p.add_argument("--rounds", type=int, default=6, help="alternating rounds of 600 requests per mode (default 6)")
    a = p.parse_args(argv)
    root = a.data_dir
    if not (root / "models" / "als").is_dir() or not (root / "mentees.csv").is_file():
        print(f"error: no REST benchmark world in {root}; run benchmarks/rest.py first", file=sys.stderr)
        return 2
    os.environ["SKILLPATH_DATA_DIR"] = str(root)
    os.environ["SKILLPATH_MODEL_DIR"] = str(root / "models" / "als")
    os.environ["SKILLPATH_API_KEYS"] = BENCH_KEY  # sent with every request (reads may be protected)
    res = asyncio.run(_run(root, a.rounds))
    med = {k: statistics.median(v) for k, v in res.items()}
    print("| mode | CPU ms/request, per round | median | over the plain call |")
    print("| --- | --- | ---: | ---: |")
    for mode in ("core", "api", "service"):
        over = "—" if mode == "core" else f"+{med[mode] - med['core']:.2f}"
        print(f"| {mode} | {' '.join(f'{x:.2f}' for x in res[mode])} | {med[mode]:.2f} | {over} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
