"""Start and stop a throwaway PostgreSQL server on loopback for tests and benchmarks.

Debian's ``postgresql`` package (``make postgres`` installs it): ``initdb`` into a temporary
folder, ``postgres`` listening on 127.0.0.1 and a free port, trust authentication for the
loopback only, fsync on (the durability tests kill it). PostgreSQL refuses to run as root,
so under root the server runs as the unprivileged ``postgres`` user (``runuser``). A missing
server is an error, not a skip.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["PostgresServer", "pg_bin"]


def pg_bin(name: str) -> str:
    """The newest installed PostgreSQL's ``name`` binary (initdb and postgres are not on PATH in Debian)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed: run `make postgres` (apt-get install postgresql)")
    return on_path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """``with PostgresServer() as pg: pg.url`` -- or ``start()``/``stop()`` to kill and revive it."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or _free_port()
        self._tmp = tempfile.TemporaryDirectory(prefix="skillpath-pg-")
        self.root = Path(self._tmp.name)
        self.data = self.root / "data"
        self.proc: subprocess.Popen | None = None
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            os.chmod(self.root, 0o777)
        self._initdb()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _initdb(self) -> None:
        out = subprocess.run([*self._as, pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                              "-E", "UTF8", "--no-instructions"], capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"initdb failed: {out.stderr.strip()[-500:]}")

    def ready(self, timeout_s: float = 0.5) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=timeout_s):
                pass
        except OSError:
            return False
        out = subprocess.run([pg_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"],
                             capture_output=True)
        return out.returncode == 0

    def start(self, wait_s: float = 20.0) -> "PostgresServer":
        log = open(self.root / "postgres.log", "ab")
        self.proc = subprocess.Popen(
            [*self._as, pg_bin("postgres"), "-D", str(self.data), "-p", str(self.port), "-h", "127.0.0.1",
             "-k", str(self.root), "-c", "max_connections=200", "-c", "shared_buffers=64MB"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.proc.returncode}; see {self.root}/postgres.log")
            if self.ready():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"postgres on port {self.port} was not ready within {wait_s} s")

    def _postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server (``kill``: SIGKILL to the postmaster, as a crash would; the next start recovers)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        pid = self._postmaster_pid()  # runuser's child, so signal it directly
        if pid is not None:
            try:
                os.kill(pid, signal.SIGKILL if kill else signal.SIGINT)  # SIGINT: fast shutdown
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        if kill:  # backends notice their postmaster died and exit; then the data dir is free again
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and subprocess.run(
                    ["pgrep", "-f", f"-D {self.data}"], capture_output=True).returncode == 0:
                time.sleep(0.1)

    def close(self) -> None:
        self.stop()
        self._tmp.cleanup()

    def __enter__(self) -> "PostgresServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
