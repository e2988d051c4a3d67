"""Choose the planner's completion credit by simulation on TUNING seeds (never the reported ones).

Runs ``skillpath evaluate-paths``'s simulator (``training.path_eval``) on the default
synthetic world with seeds disjoint from the evaluation's default seeds (0-4), once per
candidate :class:`recommender.paths.credit.CompletionCredit` and planning threshold
(:data:`recommender.paths.replan.PLANNING_THRESHOLD`), plus the baselines for scale (with the
defaults), and
prints E (goal skills) and E_req (goals + unmet prerequisites), mean and sd over seeds.

    .venv/bin/python benchmarks/path_tuning.py                     # the grid in path_tuning.md
    .venv/bin/python benchmarks/path_tuning.py --grid 1:60:0.99 0.5:120:none inf:none:0.95 --seeds 100 101
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import pandas as pd  # noqa: E402

from catalog.synth import SynthConfig  # noqa: E402
from recommender.paths.credit import CompletionCredit  # noqa: E402
from recommender.paths.replan import PLANNING_THRESHOLD  # noqa: E402
from training.path_eval import PathEvalConfig, run_evaluation, runs_frame  # noqa: E402
from training.path_eval_report import summarize, synth_world  # noqa: E402

TUNING_SEEDS = (100, 101, 102, 103, 104)
GRID = ("0.5:60:0.95", "0.5:60:0.99", "1:60:0.99", "inf:none:0.99")


def parse(spec: str) -> tuple[CompletionCredit, float | None]:
    """``"LEVELS:MINUTES:THRESHOLD"``, e.g. ``1:60:0.99``: the credit (``inf`` levels = all-or-nothing,
    ``none`` minutes = ignore duration) and the planning threshold (``none`` = BKT's own 0.95)."""
    lv, mins, thr = (spec.split(":") + ["", ""])[:3]
    credit = CompletionCredit(levels_per_completion=math.inf if lv == "inf" else float(lv),
                              effort_minutes=None if mins in ("", "none") else float(mins))
    return credit, PLANNING_THRESHOLD if thr == "" else None if thr == "none" else float(thr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", nargs="+", default=list(GRID), help="credits as LEVELS:MINUTES")
    ap.add_argument("--seeds", nargs="+", type=int, default=list(TUNING_SEEDS))
    ap.add_argument("--mentees", type=int, default=30)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--baselines", nargs="*", default=["planner-nocredit", "planner-fullcredit", "goal-topk"])
    args = ap.parse_args()
    if set(args.seeds) & set(PathEvalConfig().seeds):
        raise SystemExit("tuning seeds must be disjoint from the reported seeds")
    ew = synth_world(SynthConfig(seed=7))
    rows = []
    jobs: list[tuple[str, dict, tuple[str, ...]]] = [("defaults", {}, tuple(args.baselines))] if args.baselines else []
    for spec in args.grid:
        credit, thr = parse(spec)
        jobs.append((spec, {"credit": credit, "planning_threshold": thr}, ("planner",)))
    for label, kw, policies in jobs:
        cfg = PathEvalConfig(seeds=tuple(args.seeds), n_mentees=args.mentees, steps=args.steps, policies=policies,
                             **kw)
        t0 = time.perf_counter()
        s = summarize(runs_frame(run_evaluation(ew, cfg)), policies)
        s.insert(0, "credit", label)
        rows.append(s)
        print(f"{label}: {time.perf_counter() - t0:.0f} s", flush=True)
    out = pd.concat(rows, ignore_index=True)
    cols = ["credit", "slice", "policy", "E", "E_sd", "E_req", "E_req_sd", "goals_reached", "minutes"]
    print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for _, r in out[cols].iterrows():
        print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) and c != "minutes" else
                                f"{v:.0f}" if isinstance(v, float) else str(v) for c, v in r.items()) + " |")


if __name__ == "__main__":
    main()
