"""Start and stop the real service (`python -m bentoml serve`) for the integration and fault tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from skillpath_cli.serve import serve_command
from tests.serving.conftest import API_KEY

START_TIMEOUT_S = 180


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Whether a server could listen on ``port`` now (with SO_REUSEADDR, as servers bind: closed
    connections in TIME_WAIT do not count, a live listener does)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_ready(base: str, proc: subprocess.Popen, log_path: Path, timeout_s: float = START_TIMEOUT_S) -> None:
    """Until ``base/readyz`` answers 200; the server's log tail in the error if it exits or times out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"server not ready in {timeout_s}s:\n{log_path.read_text()[-3000:]}")


@dataclass
class Live:
    proc: subprocess.Popen
    base: str
    port: int
    log_path: Path

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> None:
        wait_ready(self.base, self.proc, self.log_path, timeout_s)

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it if it lingers."""
        stop_group(self.proc)


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM a server's process group (BentoML stops its workers), SIGKILL it if it lingers."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(10)


def start(root: Path, tmp: Path, *, port: int | None = None, workers: int = 1, config: str = "",
          env: dict[str, str] | None = None, name: str = "server") -> Live:
    """The service on ``root``'s registry champion (no model dir), in a new session, on a loopback port."""
    port = port or free_port()
    cfg = tmp / f"{name}.yaml"
    cfg.write_text(config or "serving:\n  reload_interval_s: 1\n")
    argv, full_env = serve_command(root, host="127.0.0.1", port=port, workers=workers, model_dir=None)
    full_env.pop("SKILLPATH_MODEL_DIR", None)
    full_env.update(SKILLPATH_API_KEYS=API_KEY, SKILLPATH_CONFIG=str(cfg), **(env or {}))
    log_path = tmp / f"{name}.log"
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(argv, env=full_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return Live(proc, f"http://127.0.0.1:{port}", port, log_path)
