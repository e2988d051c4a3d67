"""The first ten minutes, timed: ``make demo`` stage by stage, service readiness, first
versus later ``/recommend``, ``skillpath --help`` and ``skillpath recommend``.

Each tree (a checkout with its own ``.venv``) is measured in the same run, so the
figures compare side by side on the same (loaded) machine::

    .venv/bin/python benchmarks/startup.py --tree before=/tmp/before --tree after=. \
        --out benchmarks/results/startup.json

``--skip-demo`` reuses each tree's data dir from an earlier run (the CLI and service
figures need a trained model, which the demo leaves behind).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

__all__ = ["main"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for var in ("PYTHONPATH", "VIRTUAL_ENV"):
        env.pop(var, None)
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


def run_demo(tree: Path, data_dir: Path, port: int) -> dict:
    """``make demo`` with a timestamp on every output line; stages begin at ``== n/m`` lines."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(["make", "demo", f"DATA_DIR={data_dir}", f"PORT={port}"], cwd=tree, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    stages: list[tuple[str, float]] = []
    commands: list[tuple[str, float]] = []
    log: list[str] = []
    first_answer = None  # when the sample request's answer starts printing: what a new user waits for
    assert proc.stdout is not None
    for line in proc.stdout:
        now = time.perf_counter() - t0
        log.append(f"{now:8.1f} {line.rstrip()}")
        if first_answer is None and line.startswith("$ curl"):
            first_answer = now
        if line.startswith("== "):
            stages.append((line[3:].strip(), now))
        elif line.startswith(".venv/bin/skillpath") or line.startswith("$(VENV)"):
            commands.append((line.split(" ", 3)[-1].strip(), now))
    rc = proc.wait()
    total = time.perf_counter() - t0
    subprocess.run(["make", "stop", f"DATA_DIR={data_dir}"], cwd=tree, env=_env(), capture_output=True)
    bounds = [t for _, t in stages] + [total]
    cbounds = [t for _, t in commands] + [bounds[-2] if len(bounds) > 1 else total]
    return {
        "rc": rc, "total_s": round(total, 1),
        "first_answer_s": None if first_answer is None else round(first_answer, 1),
        "stages_s": {name: round(bounds[i + 1] - t, 1) for i, (name, t) in enumerate(stages)},
        "commands_s": {name: round(max(0.0, cbounds[i + 1] - t), 1) for i, (name, t) in enumerate(commands)},
        "log_tail": log[-12:],
    }


def _post(url: str, body: dict, timeout: float = 120.0) -> float:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=timeout) as r:
        r.read()
    return time.perf_counter() - t


def run_service(tree: Path, data_dir: Path, user: str, *, later: int = 20, settle_s: float = 30.0) -> dict:
    """Start ``skillpath serve``; time until /readyz answers, the first /recommend and the next ones."""
    port = _free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(tree / ".venv/bin/skillpath"), "--data-dir", str(data_dir), "serve", "--port",
                             str(port)], cwd=tree, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    ready = None
    try:
        while time.perf_counter() - t0 < 300:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    if r.status == 200:
                        ready = time.perf_counter() - t0
                        break
            except OSError:
                pass
            if proc.poll() is not None:
                break
            time.sleep(0.1)
        if ready is None:
            return {"ready_s": None}
        url = f"http://127.0.0.1:{port}/recommend"
        first = _post(url, {"user_id": user, "k": 5})
        rest = [_post(url, {"user_id": user, "k": 5}) for _ in range(later)]
        # the whole-log work built right after readiness competes with those; again once it is done
        time.sleep(settle_s)
        settled = [_post(url, {"user_id": user, "k": 5}) for _ in range(later)]
        return {"ready_s": round(ready, 2), "first_recommend_ms": round(first * 1000, 1),
                "later_recommend_p50_ms": round(statistics.median(rest) * 1000, 1),
                f"after_{settle_s:.0f}s_recommend_p50_ms": round(statistics.median(settled) * 1000, 1)}
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _time_cmd(argv: list[str], cwd: Path, repeat: int) -> dict:
    times = []
    rc = 0
    for _ in range(repeat):
        t = time.perf_counter()
        rc = subprocess.run(argv, cwd=cwd, env=_env(), capture_output=True).returncode
        times.append(time.perf_counter() - t)
    return {"rc": rc, "median_s": round(statistics.median(times), 2), "min_s": round(min(times), 2)}


def import_top(tree: Path, argv_tail: list[str], n: int = 8) -> list[tuple[str, float]]:
    """The slowest cumulative imports of one command (``python -X importtime``)."""
    r = subprocess.run([str(tree / ".venv/bin/python"), "-X", "importtime", "-m", "skillpath_cli.main", *argv_tail],
                       cwd=tree, env=_env(), capture_output=True, text=True)
    rows = []
    for line in r.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _, cum, name = line[len("import time:"):].split("|")
            if not name.startswith("  "):  # top level: " name"
                rows.append((name.strip(), int(cum) / 1e6))
    return sorted(rows, key=lambda r: -r[1])[:n]


def run_cli_figures(tree: Path, data_dir: Path, user: str, repeat: int) -> dict:
    sp = str(tree / ".venv/bin/skillpath")
    return {
        "help": _time_cmd([sp, "--help"], tree, repeat),
        "recommend": _time_cmd([sp, "--data-dir", str(data_dir), "recommend", user, "--k", "5"], tree, repeat),
        "help_imports_s": import_top(tree, ["--help"]),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", action="append", required=True, help="label=path of a checkout with its .venv")
    ap.add_argument("--skip-demo", action="store_true", help="reuse each tree's data dir from an earlier run")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--user", default="u00042")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    trees = [(label, Path(path).resolve()) for label, path in (t.split("=", 1) for t in args.tree)]
    result: dict = {"machine": {"cpus": os.cpu_count(), "load1": os.getloadavg()[0]}, "trees": {}}
    for label, tree in trees:
        data_dir = Path(f"/tmp/skillpath-startup-{label}")
        res: dict = {}
        if not args.skip_demo:
            print(f"[{label}] make demo ...", file=sys.stderr, flush=True)
            res["demo"] = run_demo(tree, data_dir, _free_port())
            print(json.dumps(res["demo"], indent=1), file=sys.stderr, flush=True)
        result["trees"][label] = res
    for label, tree in trees:  # interleaved after the demos: same machine state for each tree
        data_dir = Path(f"/tmp/skillpath-startup-{label}")
        res = result["trees"][label]
        print(f"[{label}] service and CLI ...", file=sys.stderr, flush=True)
        res["service"] = run_service(tree, data_dir, args.user)
        res["cli"] = run_cli_figures(tree, data_dir, args.user, args.repeat)
        print(json.dumps({k: res[k] for k in ("service", "cli")}, indent=1), file=sys.stderr, flush=True)
    result["machine"]["load1_end"] = os.getloadavg()[0]
    text = json.dumps(result, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
