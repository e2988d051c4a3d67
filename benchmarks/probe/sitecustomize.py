"""A GIL-hold watchdog (and optional tracemalloc snapshots) for any Python process started with this
folder on ``PYTHONPATH`` (``benchmarks/resilience.py --watchdog-ms``).

A thread sleeps 2 ms in a loop and logs each wake later than the threshold. With
``SKILLPATH_WATCHDOG_STACKS=1`` it also re-arms ``faulthandler.dump_traceback_later(threshold)`` every
2 ms: it needs the GIL to re-arm, so the dump fires only when some thread (or the collector) kept the GIL, or the machine kept
this process off the CPU, for longer than the threshold; the dump shows every thread's stack at that
moment (the holder is the one not parked in a wait; a collection shows whatever frame allocated,
so collections over half the threshold are logged apart, ``<pid>-gc.txt``). The dump reads other
threads' frames without the GIL: at hundreds of dumps a minute it crashed workers (segfault in
libpython, in the code before and after alike), so stacks are for short looks only. After each late wake the thread appends one line
``LATE <ms> ms at <unix time>`` to the same file, so holds can be counted and sized.

Environment: ``SKILLPATH_WATCHDOG_MS`` (threshold; unset: off), ``SKILLPATH_PROBE_DIR`` (one file per
process, ``<pid>.txt``), ``SKILLPATH_TRACEMALLOC_EVERY_S`` (write a tracemalloc snapshot this often,
``<pid>-<n>.snap``; costs allocation speed, use it in its own runs), ``SKILLPATH_GC_CENSUS_EVERY_S``
(the most common types in the collector's oldest generation, ``<pid>-census.txt``),
``SKILLPATH_GC_SCANNED=1`` (count what each full collection scans; slows it), ``SKILLPATH_TRIM_EVERY_S``
(glibc ``malloc_trim(0)`` this often, logging anonymous resident memory before and after, ``<pid>-trim.txt``).
"""

import faulthandler
import os
import threading
import time


def _watchdog(threshold_s: float, path: str, stacks: bool) -> None:
    out = open(path, "a", buffering=1)
    period = 0.002
    while True:
        if stacks:
            faulthandler.dump_traceback_later(threshold_s, exit=False, file=out)
        t = time.perf_counter()
        time.sleep(period)
        late = time.perf_counter() - t - period
        if stacks:
            faulthandler.cancel_dump_traceback_later()
        if late > threshold_s:
            out.write(f"LATE {late * 1e3:.1f} ms at {time.time():.3f}\n")


def _gc_log(threshold_s: float, path: str, count: bool) -> None:
    """One line per collection longer than half the threshold: generation, wall and CPU ms, objects collected
    and (``count``: costs a walk of every generation per full collection) how many it scanned."""
    import gc

    out = open(path, "a", buffering=1)
    started = [0.0, 0.0, 0]

    def callback(phase: str, info: dict) -> None:
        if phase == "start":
            n = sum(len(gc.get_objects(g)) for g in range(3)) if count and info["generation"] == 2 else 0
            started[:] = time.perf_counter(), time.thread_time(), n
            return
        ms = (time.perf_counter() - started[0]) * 1e3
        if ms > threshold_s * 500:
            cpu = (time.thread_time() - started[1]) * 1e3
            out.write(f"GC gen {info['generation']} {ms:.1f} ms cpu {cpu:.1f} ms collected {info['collected']} "
                      f"frozen {gc.get_freeze_count()} scanned {started[2]} in {threading.current_thread().name} "
                      f"at {time.time():.3f}\n")

    gc.callbacks.append(callback)


def _census(every_s: float, path: str) -> None:
    """Every ``every_s``: the 30 most common types among the collector's oldest generation (unfrozen)."""
    import collections
    import gc

    while True:
        time.sleep(every_s)
        objs = gc.get_objects(generation=2)
        kinds = collections.Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in objs)
        refs = collections.Counter()
        for o in objs:
            refs[f"{type(o).__module__}.{type(o).__qualname__}"] += len(gc.get_referents(o))
        big = sorted(objs, key=lambda o: len(gc.get_referents(o)), reverse=True)[:8]
        with open(path, "a") as out:
            out.write(f"CENSUS at {time.time():.3f}: {len(objs)} objects in generation 2, "
                      f"{gc.get_freeze_count()} frozen, counts {gc.get_count()}\n")
            out.writelines(f"  {n:9d} {k}\n" for k, n in kinds.most_common(30))
            out.write(f"  referents: {sum(refs.values())} in all; by type:\n")
            out.writelines(f"  {n:9d} {k}\n" for k, n in refs.most_common(10))
            out.write("  largest containers:\n")
            out.writelines(f"  {len(gc.get_referents(o)):9d} {type(o).__qualname__} {repr(o)[:100]!r}\n" for o in big)
        del objs, big


def _rss_anon_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _trims(every_s: float, path: str) -> None:
    """Every ``every_s``: glibc's ``malloc_trim(0)``, with the anonymous resident memory before and after
    (how much of the process's growth is memory the allocator holds free rather than live objects)."""
    import ctypes

    libc = ctypes.CDLL("libc.so.6")
    while True:
        time.sleep(every_s)
        before = _rss_anon_mb()
        t = time.perf_counter()
        libc.malloc_trim(0)
        ms = (time.perf_counter() - t) * 1e3
        with open(path, "a") as out:
            out.write(f"TRIM anon {before:.1f} -> {_rss_anon_mb():.1f} MB in {ms:.1f} ms at {time.time():.3f}\n")


def _snapshots(every_s: float, stem: str) -> None:
    import tracemalloc

    tracemalloc.start(8)
    n = 0
    while True:
        time.sleep(every_s)
        tracemalloc.take_snapshot().dump(f"{stem}-{n}.snap")
        n += 1


_dir = os.environ.get("SKILLPATH_PROBE_DIR")
if _dir and os.environ.get("SKILLPATH_WATCHDOG_MS"):
    _ms = float(os.environ["SKILLPATH_WATCHDOG_MS"])
    _stacks = os.environ.get("SKILLPATH_WATCHDOG_STACKS") == "1"
    threading.Thread(target=_watchdog, args=(_ms / 1e3, os.path.join(_dir, f"{os.getpid()}.txt"), _stacks),
                     name="gil-watchdog", daemon=True).start()
    _gc_log(_ms / 1e3, os.path.join(_dir, f"{os.getpid()}-gc.txt"), os.environ.get("SKILLPATH_GC_SCANNED") == "1")
if _dir and os.environ.get("SKILLPATH_GC_CENSUS_EVERY_S"):
    threading.Thread(target=_census, args=(float(os.environ["SKILLPATH_GC_CENSUS_EVERY_S"]),
                                           os.path.join(_dir, f"{os.getpid()}-census.txt")),
                     name="gc-census", daemon=True).start()
if _dir and os.environ.get("SKILLPATH_TRIM_EVERY_S"):
    threading.Thread(target=_trims, args=(float(os.environ["SKILLPATH_TRIM_EVERY_S"]),
                                          os.path.join(_dir, f"{os.getpid()}-trim.txt")),
                     name="malloc-trim", daemon=True).start()
if _dir and os.environ.get("SKILLPATH_TRACEMALLOC_EVERY_S"):
    threading.Thread(target=_snapshots, args=(float(os.environ["SKILLPATH_TRACEMALLOC_EVERY_S"]),
                                              os.path.join(_dir, str(os.getpid()))),
                     name="tracemalloc-snapshots", daemon=True).start()
