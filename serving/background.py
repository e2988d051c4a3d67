"""The threads a running app owns: started by name, told to stop by one event, joined on close.

Invariant: when :meth:`Background.close` returns, no thread it started is running. Reason: Python 3.11
ends a daemon thread that is still running at interpreter exit with ``pthread_exit`` as soon as it
touches the interpreter again; inside C++ code that catches ``(...)`` without rethrowing (duckdb,
numba, scikit-learn's OpenMP, ...) that forced unwind aborts the whole process ("FATAL: exception not
rethrown", exit 134) after every request was answered. Finite work (the start-up build) and
loops that end once the main thread has (the console's refresher) run in non-daemon threads, so an
exit without ``close`` waits for them rather than aborting; other loops (the reload timer, the
webhook sender) are daemons, so an exit without ``close`` is never held up by them. Every loop waits
on :attr:`Background.stop`, so ``close`` ends it promptly. A thread inherits ``daemon`` from the
thread that starts it (BentoML's test client starts the service in a daemon thread), so every thread
here says which it is.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

__all__ = ["Background"]

log = logging.getLogger("skillpath.serving")


class Background:
    """Threads of one app; ``work(stop)`` should return soon after ``stop`` is set."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self, name: str, work: Callable[[threading.Event], object], *, daemon: bool = False) -> bool:
        """Run ``work(stop)`` in a thread named ``name``; False (nothing started) once closing."""
        with self._lock:
            if self.stop.is_set():
                return False
            self._threads = [t for t in self._threads if t.is_alive()]
            t = threading.Thread(target=self._run, args=(name, work), name=name, daemon=daemon)
            self._threads.append(t)
            t.start()
        return True

    def _run(self, name: str, work: Callable[[threading.Event], object]) -> None:
        try:
            work(self.stop)
        except Exception:  # background work is best effort: what needs it reports the failure itself
            log.exception("background work %r failed", name)

    def close(self, timeout_s: float = 60.0) -> None:
        """Set :attr:`stop` and join every thread (work in native code cannot be interrupted: it finishes)."""
        with self._lock:
            self.stop.set()
            threads, self._threads = self._threads, []
        for t in threads:
            if t is not threading.current_thread():
                t.join(timeout_s)
                if t.is_alive():
                    log.warning("background thread %s still running %.0f s after close", t.name, timeout_s)
