"""Is BKT mastery calibrated? Its estimates against the synthetic world's hidden true mastery.

    python benchmarks/mastery_calibration.py --data-dir DIR [--users 1000]

For a sample of mentees (fixed seed) the mastery state after all their events (as of the
world's end) is compared, per skill with at least one assess/complete event, with the
hidden true mastery at the end (``truth/mastery.parquet``, ``mastery_end``). Both are on the
same scale (level L is mastery L/5). Brier score = mean squared error of the estimate
against the truth; ECE = the count-weighted mean |mean estimate - mean truth| over 10 bins
of the estimate; the reliability table lists the bins. Side by side: the former defaults
(``BKTParams()``), the shipped calibrated defaults (``CALIBRATED_PARAMS``, chosen on a world of
another seed) and per-skill parameters fitted on the world's own events (``MasteryModel().fit``:
assessment likelihood only, no truth).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from catalog.synth.store import truth_path  # noqa: E402
from catalog.datadir import DataDir  # noqa: E402
from recommender.mastery import MasteryModel  # noqa: E402
from recommender.mastery.bkt import BKTParams  # noqa: E402
from training.data import load_training_data  # noqa: E402


def calibration(p: np.ndarray, m: np.ndarray, bins: int = 10) -> tuple[float, float, pd.DataFrame]:
    """``(brier, ece, reliability table)`` of estimates ``p`` against truths ``m``."""
    brier = float(np.mean((p - m) ** 2))
    b = np.minimum((p * bins).astype(int), bins - 1)
    rows = []
    ece = 0.0
    for k in range(bins):
        sel = b == k
        if sel.any():
            rows.append({"bin": f"{k / bins:.1f}-{(k + 1) / bins:.1f}", "n": int(sel.sum()),
                         "mean estimate": float(p[sel].mean()), "mean truth": float(m[sel].mean())})
            ece += sel.mean() * abs(p[sel].mean() - m[sel].mean())
    return brier, float(ece), pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--users", type=int, default=1000)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    data = load_training_data(args.data_dir)
    cat, events = data.world.catalog, data.events
    truth = pd.read_parquet(truth_path(DataDir(args.data_dir)))
    now = (pd.Timestamp(pd.to_datetime(events["timestamp"], utc=True).max()).floor("D")
           + pd.Timedelta(days=1)).to_pydatetime()
    users = sorted(set(events["user_id"].astype(str)) & set(data.world.mentees))
    rng = np.random.default_rng(0)
    users = sorted(rng.choice(users, size=min(args.users, len(users)), replace=False).tolist())
    wide = truth.pivot(index="user_id", columns="skill_id", values="mastery_end").reindex(
        index=users, columns=cat.skill_ids.to_list())
    models = {"before: BKTParams() (prior 0.1, learn 0.1)": MasteryModel(BKTParams()),
              "after: CALIBRATED_PARAMS (shipped; tuned on seed 100)": MasteryModel(),
              "per-skill fit on the events (no truth)": MasteryModel().fit(events, cat)}
    by_user = {u: g for u, g in events[events["user_id"].isin(users)].groupby("user_id")}
    print(f"# {args.data_dir}: {len(users)} mentees, as of {now}\n")
    print("| mastery model | pairs | Brier | ECE | mean estimate | mean truth |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    tables = {}
    for name, mm in models.items():
        ps, ms = [], []
        for u in users:
            mentee = data.world.mentee(u)
            st = mm.update(mm.initial_state(cat, user_id=u, self_levels=mentee.self_levels), by_user[u], cat, now=now)
            ev = st.n_evidence > 0
            ps.append(st.p[ev])
            ms.append(wide.loc[u].to_numpy()[ev])
        p, m = np.concatenate(ps), np.concatenate(ms)
        ok = np.isfinite(m)
        brier, ece, table = calibration(p[ok], m[ok])
        tables[name] = table
        print(f"| {name} | {ok.sum():,} | {brier:.4f} | {ece:.4f} | {p[ok].mean():.3f} | {m[ok].mean():.3f} |")
    for name, table in tables.items():
        print(f"\nReliability, {name}:\n")
        print(table.to_markdown(index=False, floatfmt=".3f"))
    print(f"\ntotal {time.perf_counter() - t0:.0f} s (loaded 2-core machine)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
