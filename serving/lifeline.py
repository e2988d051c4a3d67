"""Worker processes die with the process that started them.

BentoML's supervisor (circus) starts each worker in a session of its own, so a ``kill -9``
of ``skillpath serve`` (or of its process group) used to leave the workers serving the old
model and holding the port: the next start failed with "Address already in use".
:func:`die_with_parent` asks the Linux kernel to SIGKILL this process when its parent
dies (``prctl(PR_SET_PDEATHSIG)``) and, where that is unavailable, watches the parent from a
daemon thread. Acknowledged events are fsynced before their answer, so a kill loses nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import threading

__all__ = ["die_with_parent"]

log = logging.getLogger("skillpath.serving")
_PR_SET_PDEATHSIG = 1
_WATCH_INTERVAL_S = 0.2


def _prctl_pdeathsig(sig: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    stop = threading.Event()
    while not stop.wait(_WATCH_INTERVAL_S):
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)


def die_with_parent() -> str:
    """Make this process end when its parent does; returns how (``prctl`` or ``watch``).

    The parent may already be gone when this runs (the worker was still importing): then
    this process is an orphan (its parent is init) and ends now.
    """
    parent = os.getppid()
    if parent == 1:
        log.error("the process that started this worker is gone; exiting")
        os.kill(os.getpid(), signal.SIGKILL)
    if _prctl_pdeathsig(signal.SIGKILL):
        if os.getppid() != parent:  # died between the two calls
            os.kill(os.getpid(), signal.SIGKILL)
        return "prctl"
    threading.Thread(target=_watch, args=(parent,), name="skillpath-lifeline", daemon=True).start()
    return "watch"
