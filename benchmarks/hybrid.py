"""The hybrid default against the pure models, side by side on one split with one metric code.

    python benchmarks/hybrid.py --data-dir DIR [--split temporal|user-holdout] [--users N] [--tune-users N]

Protocol: TRAIN/TEST by ``--split`` (temporal: the 80% time quantile; user-holdout: 20% of each
mentee's events at random, :func:`training.splits.user_holdout`). The hybrid's weights are tuned
on a validation window cut from TRAIN the same way (training/hybrid_eval.py), never on TEST.
The hybrid rides on the validation champion (``--default-model champion``: the family with the
best validation NDCG, as the service rides on its champion). Every model is fitted on TRAIN with
its defaults (recency ``auto``, and with the prior off); the same TEST mentees (``--users``,
sampled with a fixed seed) are ranked by each pure model and by the hybrid over the champion's
``auto`` fit. Prints NDCG@k and coverage@k per list and the
hybrid's margin over the best pure model with a paired bootstrap 95% CI.
"""

from __future__ import annotations

import argparse
import json
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

from recommender.hybrid import DEFAULT_WEIGHTS  # noqa: E402
from recommender.metrics import catalog_coverage  # noqa: E402
from training.autoprior import paired_bootstrap  # noqa: E402
from training.data import load_training_data  # noqa: E402
from training.defaults import model_params  # noqa: E402
from training.evaluate import fit_resolved, rank_users  # noqa: E402
from training.hybrid_eval import champion_on_validation, eval_case, hybrid_inputs_for, ndcg_per_user, \
    rank_hybrid, tune_weights  # noqa: E402
from training.splits import split_for, validation_for  # noqa: E402



def _users(truth, n: int, seed: int) -> np.ndarray:
    users = np.flatnonzero(np.diff(truth.indptr) > 0)
    if n and len(users) > n:
        users = np.sort(np.random.default_rng(seed).choice(users, size=n, replace=False))
    return users


def _pure(model, prepared, truth, users, k):
    """Per-user NDCG@k and the lists of a pure model on ``users`` (rank_users' rules)."""
    u_all, ranked, tr = rank_users(model, prepared.train, truth, k, user_features=prepared.features.for_model(model)[1])
    pos = pd.Index(u_all).get_indexer(pd.Index(users))
    return ndcg_per_user(ranked[pos], tr, users, k), ranked[pos]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--split", default="temporal", choices=["temporal", "user-holdout", "leave-last-out"])
    ap.add_argument("--models", default="bpr,als,ease,popularity")
    ap.add_argument("--default-model", default="champion",
                    help="the family the hybrid rides on: 'champion' (the best on validation, as the service "
                         "rides on its champion) or a family name")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--users", type=int, default=600, help="TEST mentees (0 = all)")
    ap.add_argument("--tune-users", type=int, default=300, help="validation mentees the weights are tuned on")
    ap.add_argument("--no-tune", action="store_true", help="use the shipped weights (recommender/hybrid)")
    ap.add_argument("--grid", default=None,
                    help='weight grid as JSON, e.g. {"plan": [0, 1], "goal": [1], "gap": [0], "explore": [0], '
                         '"diversity": [0]} (default: training.hybrid_eval.WEIGHT_GRID)')
    ap.add_argument("--tune-only", action="store_true",
                    help="tune on the validation split and stop (TEST is not read)")
    ap.add_argument("--out", default=None, help="write the figures as JSON")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    data = load_training_data(args.data_dir)
    world, k = data.world, args.k
    train, test, now = split_for(data.events, args.split)
    print(f"# {args.data_dir}: {len(data.events):,} events; split {args.split}: TRAIN {len(train):,}, "
          f"TEST {len(test):,}; as of {now}")
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    weights = DEFAULT_WEIGHTS
    tuned = None
    ride = args.default_model
    if not args.no_tune or ride == "champion":
        vtrain, vtest, vnow = validation_for(train, args.split)
        vcase = eval_case(world, vtrain, vtest, now=vnow, id_events=[train])  # TEST's builder, on TRAIN
        vp, vtruth = vcase.prepared, vcase.truth
        vusers = _users(vtruth, args.tune_users, 1)
        vfits, vscores = {}, {}
        for name in (names if ride == "champion" else [ride]):
            vfits[name] = fit_resolved(name, vp, model_params(name), k=k, split=args.split)[0]
            vscores[name] = _pure(vfits[name], vp, vtruth, vusers, k)[0]
        if ride == "champion":
            ride = champion_on_validation(vscores)
            print("\n## Validation champion (TRAIN only; " + ", ".join(
                f"{n} {v.mean():.4f}" for n, v in vscores.items()) + f"): the hybrid rides on {ride}")
    if not args.no_tune:
        vmodel, cf_v = vfits[ride], vscores[ride]
        vin = hybrid_inputs_for(vmodel, vp, world, vusers, now=vcase.now)
        grid = json.loads(args.grid) if args.grid else None
        tuned = tune_weights(world, vin, vtruth, vusers, cf_ndcg=float(cf_v.mean()), k=k, grid=grid)
        weights = tuned.chosen
        print(f"\n## Weights tuned on validation (TRAIN only; {len(vusers)} mentees): {weights.to_dict()}; "
              f"validation ndcg@{k} of {ride} {tuned.cf_ndcg:.4f}; coverage floor {tuned.coverage_floor} "
              f"{'met' if tuned.floor_met else 'NOT met by any setting within the NDCG budget'}")
        for w, nd, cov in sorted(tuned.trials, key=lambda t: -t[1]):
            note = f"; dropped, {tuned.dropped[w]}" if w in tuned.dropped else ""
            print(f"  {w.to_dict()}: ndcg {nd:.4f} (x{nd / max(tuned.cf_ndcg, 1e-12):.3f}) coverage {cov:.3f}{note}")
    if args.tune_only:
        return 0
    case = eval_case(world, train, test, now=now, id_events=[data.events])
    prepared, truth = case.prepared, case.truth
    users = _users(truth, args.users, 2)
    per_user, lists = {}, {}
    fitted = {}
    for name in names:
        for prior in (("auto", {}), ("off", {"recency_weight": 0.0, "recency_half_life_days": None})):
            label, over = prior
            if name == "popularity":
                over = {} if label == "auto" else {"half_life_days": None}
            params = model_params(name, over)
            model = fit_resolved(name, prepared, params, k=k, split=args.split)[0]
            nd, rk = _pure(model, prepared, truth, users, k)
            key = f"{name} (prior {label})"
            per_user[key], lists[key] = nd, rk
            fitted[key] = model
    base_key = f"{ride} (prior auto)"
    hin = hybrid_inputs_for(fitted[base_key], prepared, world, users, now=case.now)
    for label, w in (("hybrid (default)", weights),):
        rk = rank_hybrid(world, hin, w, k)
        per_user[label], lists[label] = ndcg_per_user(rk, truth, users, k), rk
    print(f"\n## TEST ({len(users)} mentees; same mentees, same metric code)\n")
    print(f"| list | ndcg@{k} | coverage@{k} |")
    print("| --- | ---: | ---: |")
    out = {"split": args.split, "n_users": int(len(users)), "weights": weights.to_dict(), "rides_on": ride,
           "lists": {},
           "command": "python benchmarks/hybrid.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "tuning": None if tuned is None else {
               "validation_users": int(len(vusers)), "cf_ndcg": tuned.cf_ndcg,
               "validation_ndcg_by_family": {n: float(v.mean()) for n, v in vscores.items()},
               "coverage_floor": tuned.coverage_floor, "floor_met": tuned.floor_met,
               "trials": [{**w.to_dict(), "ndcg": nd, "coverage": cov,
                           **({"dropped": tuned.dropped[w]} if w in tuned.dropped else {})}
                          for w, nd, cov in tuned.trials]}}
    for key in per_user:
        cov = catalog_coverage(lists[key], world.catalog.n_items)
        print(f"| {key} | {per_user[key].mean():.4f} | {cov:.3f} |")
        out["lists"][key] = {"ndcg": float(per_user[key].mean()), "coverage": cov}
    pure = [key for key in per_user if not key.startswith("hybrid")]
    best = max(pure, key=lambda key: per_user[key].mean())
    best_off = max([key for key in pure if "prior off" in key] or pure, key=lambda key: per_user[key].mean())
    for ref in dict.fromkeys([best, best_off, *(key for key in pure if key.startswith("popularity"))]):
        m, lo, hi = paired_bootstrap(per_user["hybrid (default)"], per_user[ref])
        ratio = per_user["hybrid (default)"].mean() / max(per_user[ref].mean(), 1e-12)
        print(f"- hybrid vs {ref}: {m:+.4f} (x{ratio:.3f}), 95% CI {lo:+.4f} to {hi:+.4f}")
        out["lists"][f"margin vs {ref}"] = {"mean": m, "lo": lo, "hi": hi, "ratio": ratio}
    print(f"\ntotal {time.perf_counter() - t0:.0f} s; load average {os.getloadavg()[0]:.1f} (2 cores)")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
