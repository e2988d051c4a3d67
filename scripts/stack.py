"""The production set-up on one machine: PostgreSQL + Redis + an MLflow server + two replicas.

    .venv/bin/python scripts/stack.py up   [--data-dir DIR]   # `make stack`
    .venv/bin/python scripts/stack.py down [--data-dir DIR]   # `make stop`
    .venv/bin/python scripts/stack.py status [--data-dir DIR]

Ports: ``STACK_PORT_BASE`` (default 5440) for PostgreSQL, then Redis, MLflow and the two
replicas on the next four.

Everything listens on 127.0.0.1 and keeps its state in ``<data dir>/stack/`` (PostgreSQL's
cluster, Redis's append-only file, MLflow's artifacts, logs, pid files), so ``up`` after
``down`` finds the same data. ``up`` needs a world in the data dir (``make demo`` or
``skillpath data synth``); it then: starts PostgreSQL (``initdb`` on first use, databases
``skillpath`` and ``mlflow``), Redis with persistence, the MLflow tracking server on
PostgreSQL; copies the data dir's event log into PostgreSQL (``skillpath db export``,
idempotent); trains and registers a champion on the MLflow server if it has none; fills
the Redis online store (Feast); and starts two service replicas that share all of it
(docs/deploy.md). Each step prints one line; a failure prints the log's last lines, exit 1.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
PORT_BASE = int(os.environ.get("STACK_PORT_BASE", "5440"))  # postgres, redis, mlflow, replica 1, replica 2
PORTS = dict(zip(("postgres", "redis", "mlflow", "replica-1", "replica-2"), range(PORT_BASE, PORT_BASE + 5)))
KEY = os.environ.get("SKILLPATH_API_KEYS", "stack-key")


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    return found[-1] if found else (shutil.which(name) or name)


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait(what: str, ok, log: Path | None, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ok():
            return
        time.sleep(0.5)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:]) if log and log.exists() else ""
    sys.exit(f"{what} did not come up within {timeout_s:.0f} s\n{tail}")


def _urls(stack: Path) -> dict[str, str]:
    pg = f"postgresql://postgres@127.0.0.1:{PORTS['postgres']}"
    return {"database": f"{pg}/skillpath", "mlflow_db": f"postgresql+psycopg://postgres@127.0.0.1:"
            f"{PORTS['postgres']}/mlflow", "redis": f"redis://127.0.0.1:{PORTS['redis']}",
            "mlflow": f"http://127.0.0.1:{PORTS['mlflow']}",
            **{r: f"http://127.0.0.1:{PORTS[r]}" for r in ("replica-1", "replica-2")}}


def _env(data_dir: Path, stack: Path) -> dict[str, str]:
    u = _urls(stack)
    return {**os.environ, "SKILLPATH_DATA_DIR": str(data_dir), "SKILLPATH_DATABASE_URL": u["database"],
            "MLFLOW_TRACKING_URI": u["mlflow"], "SKILLPATH_ONLINE_STORE": u["redis"],
            "SKILLPATH_ONLINE_FEATURES": "true", "SKILLPATH_API_KEYS": KEY, "OPENBLAS_NUM_THREADS": "1",
            "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}


def _daemon(argv: list[str], log: Path, pidfile: Path, env: dict[str, str] | None = None) -> None:
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=env, cwd=REPO)
    pidfile.write_text(str(proc.pid))


def _skillpath(env: dict[str, str], *args: str, log: Path) -> None:
    with open(log, "ab") as out:
        rc = subprocess.run([PY, "-m", "skillpath_cli.main", *args], env=env, stdout=out, stderr=subprocess.STDOUT,
                            cwd=REPO).returncode
    if rc != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        sys.exit(f"`skillpath {' '.join(args)}` failed (exit {rc}); {log}:\n{tail}")


def up(data_dir: Path) -> None:
    if not (data_dir / "resources.csv").is_file():
        sys.exit(f"no world in {data_dir}: run `make demo` or `skillpath --data-dir {data_dir} data synth` first")
    stack = data_dir / "stack"
    logs = stack / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    u, env = _urls(stack), _env(data_dir, stack)

    pgdata = stack / "postgres"
    if not (pgdata / "PG_VERSION").exists():
        pgdata.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(pgdata, "postgres", "postgres")
            shutil.chown(logs, "postgres", "postgres")
            os.chmod(stack, 0o755)
        subprocess.run([*_as_postgres(), _bin("initdb"), "-D", str(pgdata), "-U", "postgres", "-A", "trust",
                        "-E", "UTF8", "--no-instructions"], check=True, capture_output=True)
    if not _open(PORTS["postgres"]):
        subprocess.run([*_as_postgres(), _bin("pg_ctl"), "-D", str(pgdata), "-l", str(logs / "postgres.log"), "-w",
                        "-o", f"-p {PORTS['postgres']} -h 127.0.0.1 -k {pgdata}", "start"], check=True,
                       capture_output=True)
    import psycopg

    with psycopg.connect(u["database"].rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        have = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
        for name in ("skillpath", "mlflow"):
            if name not in have:
                conn.execute(f"CREATE DATABASE {name}")
    print(f"postgres    {u['database']}")

    if not _open(PORTS["redis"]):
        (stack / "redis").mkdir(exist_ok=True)
        _daemon(["redis-server", "--port", str(PORTS["redis"]), "--bind", "127.0.0.1", "--appendonly", "yes",
                 "--dir", str(stack / "redis")], logs / "redis.log", stack / "redis.pid")
        _wait("redis", lambda: _open(PORTS["redis"]), logs / "redis.log", 20)
    print(f"redis       {u['redis']}")

    if not _open(PORTS["mlflow"]):
        _daemon([str(Path(PY).parent / "mlflow"), "server", "--backend-store-uri", u["mlflow_db"],
                 "--default-artifact-root", str(stack / "mlartifacts"), "--host", "127.0.0.1",
                 "--port", str(PORTS["mlflow"]), "--workers", "1"], logs / "mlflow.log", stack / "mlflow.pid")
        _wait("the MLflow server", lambda: _open(PORTS["mlflow"]), logs / "mlflow.log", 420)
    print(f"mlflow      {u['mlflow']}")

    _skillpath(env, "db", "export", log=logs / "setup.log")
    print("events      copied into PostgreSQL")
    import mlflow

    client = mlflow.MlflowClient(u["mlflow"])
    try:
        has_champion = client.get_model_version_by_alias("skillpath-recommender", "champion") is not None
    except Exception:
        has_champion = False
    if not has_champion:
        _skillpath(env, "train", log=logs / "setup.log")
    print("model       champion registered on the MLflow server")
    for step in (("features", "build"), ("features", "apply"), ("features", "materialize")):
        _skillpath(env, *step, log=logs / "setup.log")
    print("features    Redis online store filled")

    for name in ("replica-1", "replica-2"):
        if not _open(PORTS[name]):
            _daemon([PY, "-m", "skillpath_cli.main", "serve", "--port", str(PORTS[name])], logs / f"{name}.log",
                    stack / f"{name}.pid", env=env)
    for name in ("replica-1", "replica-2"):
        _wait(name, lambda n=name: _ready(u[n]), logs / f"{name}.log", 420)
        print(f"{name:<11} {u[name]}  (API key: {KEY})")
    (stack / "urls.json").write_text(json.dumps(u, indent=2))
    print(f"stack up; state in {stack}; stop it with: make stop (or scripts/stack.py down)")


def _ready(base: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _kill(pidfile: Path) -> None:
    if not pidfile.exists():
        return
    pid = int(pidfile.read_text())
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            continue
        break
    pidfile.unlink(missing_ok=True)


def down(data_dir: Path) -> None:
    stack = data_dir / "stack"
    if not stack.exists():
        print("no stack here")
        return
    for name in ("replica-1", "replica-2", "mlflow", "redis"):
        _kill(stack / f"{name}.pid")
    pgdata = stack / "postgres"
    if (pgdata / "postmaster.pid").exists():
        subprocess.run([*_as_postgres(), _bin("pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"],
                       capture_output=True)
    print("stack stopped")


def status(data_dir: Path) -> None:
    for name, port in PORTS.items():
        print(f"{name:<11} 127.0.0.1:{port}  {'up' if _open(port) else 'down'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=["up", "down", "status"])
    ap.add_argument("--data-dir", type=Path, default=Path(os.environ.get("SKILLPATH_DATA_DIR", "skillpath-data")))
    args = ap.parse_args()
    {"up": up, "down": down, "status": status}[args.action](args.data_dir.resolve())


if __name__ == "__main__":
    main()
