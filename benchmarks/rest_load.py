"""The load generator of ``benchmarks/rest.py``: its own process, so it never shares a GIL with a server.

    python benchmarks/rest_load.py PLAN.json   # prints one JSON object with the results

``PLAN.json`` names the base URL (loopback only), the request bodies and the phases:

- ``warm``: closed loop with a few concurrent connections (so every worker of a
  multi-worker server gets traffic), untimed;
- ``floor``: ``GET /livez`` round trips (the smallest request there is);
- ``closed``: sequential requests on one keep-alive connection, each timed from send to
  the last byte of the answer (the response is not parsed: that is client work), with a
  raw socket client (the headline), or ``httpx.Client`` with ``"client": "httpx"``;
- ``open``: an open loop at ``rate`` requests/s for ``duration`` s. Send times are fixed
  in advance (``t0 + i / rate``) and latency is measured from the *intended* send time,
  so a server that stalls is charged for every request that should have been sent
  meanwhile (no coordinated omission). Requests go over ``max_connections`` keep-alive
  connections of a minimal HTTP/1.1 client (wrk2-like; waiting for a free connection
  counts in the latency); whatever is still unanswered ``drain_s`` after the last
  send counts as an error. Everything is bounded: the run stops by itself. With ``"mix"``
  (a list of ``{"path", "body"}``, sent in turn) and ``"auth"`` the loop sends several
  routes and reports latency per path (``by_path_ms``) beside the overall figures.
  ``send_lag_ms`` is how late each request left (waiting for a free connection included: all
  ``max_connections`` busy means the server is behind), ``schedule_lag_ms`` how late the generator
  itself queued it (its own event loop running late: the generator is the bottleneck).
"""

from __future__ import annotations

import asyncio
import json
import resource
import socket
import sys
import time
from typing import Any

import httpx
import numpy as np

__all__ = ["summarize", "closed_loop", "floor", "open_loop", "warm", "run", "main"]

HEADERS = {"content-type": "application/json"}


def summarize(ms: list[float] | np.ndarray) -> dict[str, float]:
    """Count, mean and p50/p90/p99/max in milliseconds (NaN when empty)."""
    a = np.asarray(ms, dtype=np.float64)
    if not len(a):
        return {"n": 0, "mean": float("nan"), "p50": float("nan"), "p90": float("nan"), "p99": float("nan"),
                "max": float("nan")}
    p50, p90, p99 = np.percentile(a, [50, 90, 99])
    return {"n": int(len(a)), "mean": float(a.mean()), "p50": float(p50), "p90": float(p90), "p99": float(p99),
            "max": float(a.max())}


def _check_loopback(url: str) -> None:
    host = httpx.URL(url).host
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing to send load to {host!r}: loopback only")


async def warm(url: str, bodies: list[bytes], *, concurrency: int, timeout: float) -> int:
    """Send every body once over ``concurrency`` connections; the number of non-200 answers."""
    errors = 0
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as c:
        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                body = queue.get_nowait()
                try:
                    r = await c.post("/recommend", content=body, headers=HEADERS)
                    errors += r.status_code != 200
                except httpx.HTTPError:
                    errors += 1
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return errors


class _SyncConn:
    """The blocking twin of :class:`_Conn` for sequential requests: one socket, pre-encoded bytes.

    Costs the client ~20 us per request where ``httpx.Client`` costs ~0.3 ms, so a closed
    loop measures the server's HTTP layer rather than the client library.
    """

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def request(self, raw: bytes) -> int:
        self.sock.sendall(raw)
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
        if "content-length" in headers:
            self._take(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            while (size := int(self._line().strip(), 16)) > 0:
                self._take(size + 2)
            self._line()
        return int(lines[0].split(" ", 2)[1])

    def close(self) -> None:
        self.sock.close()


def closed_loop(url: str, bodies: list[bytes], *, timeout: float, client: str = "raw") -> dict[str, Any]:
    """Sequential requests on one connection: the latency of one request with nothing else in flight.

    ``client="raw"`` (the headline figure) uses :class:`_SyncConn`; ``"httpx"`` the
    ``httpx.Client`` a Python platform would typically call with (its own cost included).
    """
    if client == "raw":
        u = httpx.URL(url)
        host, port = u.host, int(u.port or 80)
        conn = _SyncConn(host, port, timeout)
        ms, errors = [], 0
        try:
            for body in bodies:
                raw = _raw_post(host, port, "/recommend", body)
                t = time.perf_counter()
                try:
                    ok = conn.request(raw) == 200
                except OSError:
                    conn.close()
                    conn, ok = _SyncConn(host, port, timeout), False
                if ok:
                    ms.append((time.perf_counter() - t) * 1e3)
                else:
                    errors += 1
        finally:
            conn.close()
        return {"latency_ms": summarize(ms), "errors": errors, "client": "raw"}
    ms, errors = [], 0
    with httpx.Client(base_url=url, timeout=timeout) as c:
        for body in bodies:
            t = time.perf_counter()
            try:
                r = c.post("/recommend", content=body, headers=HEADERS)
                ok = r.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                ms.append((time.perf_counter() - t) * 1e3)
            else:
                errors += 1
    return {"latency_ms": summarize(ms), "errors": errors, "client": "httpx"}


def floor(url: str, n: int, *, timeout: float) -> dict[str, float]:
    """``GET /livez`` round trips with the raw client: the smallest request this server can answer."""
    u = httpx.URL(url)
    host, port = u.host, int(u.port or 80)
    raw = f"GET /livez HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    conn, ms = _SyncConn(host, port, timeout), []
    try:
        for i in range(n + 20):  # the first 20 settle the connection
            t = time.perf_counter()
            conn.request(raw)
            if i >= 20:
                ms.append((time.perf_counter() - t) * 1e3)
    finally:
        conn.close()
    return summarize(ms)


class _Conn:
    """One keep-alive HTTP/1.1 connection speaking just enough of the protocol for this benchmark.

    Requests are pre-encoded bytes; a response is read as status line + headers +
    ``content-length`` bytes (or chunks). About 20x less client CPU per request than an
    httpx pool, which matters when the client shares 2 cores with the server under test.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(self, raw: bytes, timeout: float) -> int:
        if self.stream is None or self.stream[1].is_closing():
            self.stream = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.stream
        writer.write(raw)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
        headers = {k.strip().lower(): v.strip() for k, v in headers.items()}
        if "content-length" in headers:
            await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), timeout)
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                await reader.readexactly(size + 2)
                if size == 0:
                    break
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status

    def close(self) -> None:
        if self.stream is not None:
            self.stream[1].close()
        self.stream = None


def _raw_post(host: str, port: int, path: str, body: bytes, auth: str = "") -> bytes:
    extra = f"Authorization: {auth}\r\n" if auth else ""
    return (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n{extra}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def open_loop(url: str, bodies: list[bytes], *, rate: float, duration: float, max_connections: int,
                    timeout: float, drain_s: float, mix: list[tuple[str, bytes]] | None = None,
                    auth: str = "") -> dict[str, Any]:
    """Fixed-rate sends; latency from the intended send time (see the module docstring).

    A request waits for a free connection when all ``max_connections`` are busy; that
    wait counts in its latency, as it would for a real client.
    """
    u = httpx.URL(url)
    host, port = u.host, int(u.port or 80)
    raws = ([(path, _raw_post(host, port, path, b, auth)) for path, b in mix] if mix
            else [("/recommend", _raw_post(host, port, "/recommend", b)) for b in bodies])
    n = int(rate * duration)
    latency: list[float] = []
    by_path: dict[str, list[float]] = {}
    lag: list[float] = []
    sched: list[float] = []  # the generator's own lateness: queued this long after the intended send time
    errors: dict[str, int] = {}
    jobs: asyncio.Queue[tuple[tuple[str, bytes], float] | None] = asyncio.Queue()

    async def connection() -> None:
        conn = _Conn(host, port)
        while (job := await jobs.get()) is not None:
            (path, raw), intended = job
            lag.append((time.perf_counter() - intended) * 1e3)
            try:
                status = await conn.request(raw, timeout)
                if status == 200:
                    ms = (time.perf_counter() - intended) * 1e3
                    latency.append(ms)
                    by_path.setdefault(path, []).append(ms)
                    continue
                key = f"{path} http {status}"
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError,
                    ValueError) as e:
                key = type(e).__name__
                conn.close()
            errors[key] = errors.get(key, 0) + 1
        conn.close()

    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    workers = [asyncio.create_task(connection()) for _ in range(max_connections)]
    t0 = time.perf_counter() + 0.05
    for i in range(n):
        intended = t0 + i / rate
        delay = intended - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sched.append((time.perf_counter() - intended) * 1e3)
        jobs.put_nowait((raws[i % len(raws)], intended))
    sent_s = time.perf_counter() - t0
    for _ in workers:
        jobs.put_nowait(None)
    done, pending = await asyncio.wait(workers, timeout=drain_s)
    for t in pending:
        t.cancel()
    unanswered = n - len(latency) - sum(errors.values())
    if unanswered > 0:
        errors["unanswered at the end"] = unanswered
    wall = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return {"target_rps": rate, "duration_s": duration, "sent": n, "ok": len(latency),
            "achieved_rps": len(latency) / wall if wall > 0 else 0.0, "send_window_s": sent_s, "wall_s": wall,
            "latency_ms": summarize(latency), "send_lag_ms": summarize(lag),
            "schedule_lag_ms": summarize(sched),
            "by_path_ms": {p: summarize(v) for p, v in by_path.items()},
            "errors": errors, "n_errors": int(sum(errors.values())), "client_cpu_share": cpu / wall if wall else 0.0}


def run(plan: dict[str, Any]) -> dict[str, Any]:
    url = plan["url"]
    _check_loopback(url)
    enc = lambda bs: [json.dumps(b).encode() for b in bs]  # noqa: E731  (encoded once, outside timing)
    out: dict[str, Any] = {}
    timeout = float(plan.get("timeout_s", 10.0))
    if plan.get("warm"):
        out["warm_errors"] = asyncio.run(warm(url, enc(plan["warm"]), concurrency=4, timeout=timeout))
    if plan.get("floor"):
        out["livez_ms"] = floor(url, int(plan["floor"]), timeout=timeout)
    if plan.get("closed"):
        out["closed"] = closed_loop(url, enc(plan["closed"]), timeout=timeout, client=plan.get("client", "raw"))
    if plan.get("open"):
        o = plan["open"]
        out["open"] = asyncio.run(open_loop(url, enc(o["bodies"]), rate=float(o["rate"]),
                                            duration=float(o["duration_s"]),
                                            max_connections=int(o.get("max_connections", 64)),
                                            timeout=timeout, drain_s=float(o.get("drain_s", 15.0)),
                                            mix=[(m["path"], json.dumps(m["body"]).encode()) for m in o["mix"]]
                                            if o.get("mix") else None, auth=o.get("auth", "")))
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    with open(args[0]) as f:
        plan = json.load(f)
    json.dump(run(plan), sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
