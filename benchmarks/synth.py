"""Time `catalog.synth.generate` on the default world (6,000 mentees, 5,000 items, 365 days).

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/synth.py [--repeat 2]

Prints one Markdown table row per run: wall and CPU time of generation (world +
simulation), event count and events per second. One core; nothing is written to disk.
"""

from __future__ import annotations

import argparse
import os
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from catalog.synth import SynthConfig, generate  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    print("| run | wall s | CPU s | events | events/s (wall) | mentees with events |")
    print("| --- | --- | --- | --- | --- | --- |")
    for run in range(1, args.repeat + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        sw = generate(SynthConfig(seed=args.seed))
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        n = len(sw.events)
        print(f"| {run} | {dt:.1f} | {cpu:.1f} | {n:,} | {n / dt:,.0f} | {sw.events['user_id'].nunique():,} |")


if __name__ == "__main__":
    main()
