"""Pair-health weights on validation worlds only: does re-fitting them beat the shipped weights on a world left out?

    .venv/bin/python benchmarks/sessions.py --seeds 100 101 102 103 --skip-speed --json /tmp/val.json
    .venv/bin/python benchmarks/sessions_weights.py /tmp/val.json

Reads the per-pair signal scores and hidden labels (``signal_rows``) that ``sessions.py`` writes,
scores each world with the shipped weights (``HealthConfig``), then, leaving one world out at a
time, fits the weights on the others by coordinate ascent of the mean AUC over a 0.05 grid (as the
shipped weights were fitted on seeds 3 and 5) and scores the world left out. The test seeds (7, 11,
13) are never read here.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from analysis.sessions.config import HealthConfig
from benchmarks.sessions import SIGNALS, auc


def _score(rows: list[list], w: dict[str, float]) -> list[float]:
    """The weighted mean over the signals present, as ``pair_health`` combines them."""
    out = []
    for r in rows:
        have = [(r[k], w[n]) for k, n in enumerate(SIGNALS) if r[k] is not None and w[n] > 0]
        den = sum(x for _, x in have)
        out.append(sum(s * x for s, x in have) / den if den else 0.5)
    return out


def _auc(rows: list[list], w: dict[str, float]) -> float:
    return auc(_score(rows, w), [r[-1] for r in rows])


def _fit(worlds: list[list[list]], start: dict[str, float]) -> dict[str, float]:
    w = dict(start)
    best = float(np.mean([_auc(rows, w) for rows in worlds]))
    improved = True
    while improved:
        improved = False
        for n in SIGNALS:
            for d in (-0.05, 0.05):
                t = {**w, n: round(max(0.0, w[n] + d), 2)}
                if sum(t.values()) == 0:
                    continue
                a = float(np.mean([_auc(rows, t) for rows in worlds]))
                if a > best + 1e-4:
                    best, w, improved = a, t, True
    return w


def main() -> None:
    worlds = {}
    for path in sys.argv[1:]:
        for r in json.loads(open(path).read())["health"]:
            worlds[r["seed"]] = r["signal_rows"]
    if {7, 11, 13} & set(worlds):
        sys.exit("error: the test seeds 7, 11 and 13 are not for fitting weights")
    shipped = dict(HealthConfig().weights)
    print("| world left out | pairs | shipped weights AUC | re-fitted on the others | re-fitted weights |\n"
          "| --- | --- | --- | --- | --- |")
    for held in sorted(worlds):
        w = _fit([rows for s, rows in worlds.items() if s != held], shipped)
        print(f"| {held} | {len(worlds[held])} | {_auc(worlds[held], shipped):.3f} | {_auc(worlds[held], w):.3f} | "
              + ", ".join(f"{n} {w[n]:.2f}" for n in SIGNALS) + " |")


if __name__ == "__main__":
    main()
