"""Why coverage@10 stays low, measured on VALIDATION only (a split of TRAIN; never TEST).

    python benchmarks/hybrid_coverage.py --data-dir DIR [--split temporal] [--users N] [--model bpr]

For the hybrid's lists (weights ``--weights``, default the shipped ones) over ``--users`` validation
mentees it prints NDCG@10 and coverage@10 of:

- the ceiling: coverage if every list held exactly the items the mentee took next, and the share
  of those items that were ready (readiness is a rule, so the rest can never be listed);
- novelty: the CF part minus ``lambda`` times the item's popularity percentile in TRAIN;
- a calibrated pool near the top: the last ``m`` slots drawn at random (per mentee, fixed seed)
  from the next ``pool`` ready items by relevance;
- MMR over skills among ready candidates (``diversity``);
- an exposure cap (aggregate diversity, the upper bound of any coverage-aware re-ranking): mentees
  in a fixed random order each take their best ``k`` of the next ``pool`` ready items by relevance,
  skipping an item already shown in ``cap`` lists (an oracle the service could only approximate
  with live impression counts: it sees every list at once).

Each row is a ratio to the champion's own validation NDCG (the 2 % budget) beside its coverage.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import numpy as np  # noqa: E402

from benchmarks.hybrid import _pure, _users  # noqa: E402
from recommender.hybrid import DEFAULT_WEIGHTS, PARTS, HybridInputs, HybridWeights, mmr_select  # noqa: E402
from recommender.metrics import catalog_coverage  # noqa: E402
from training.data import load_training_data  # noqa: E402
from training.defaults import model_params  # noqa: E402
from training.evaluate import fit_resolved  # noqa: E402
from training.hybrid_eval import eval_case, hybrid_inputs_for, ndcg_per_user, rank_hybrid  # noqa: E402
from training.splits import split_for, validation_for  # noqa: E402


def _pool_lists(world, inputs, weights: HybridWeights, k: int, m: int, pool: int) -> np.ndarray:
    ranked = np.full((len(inputs), k), -1, dtype=np.int64)
    for r, x in enumerate(inputs):
        top = mmr_select(world.catalog, x.parts, x.candidates, k - m + pool, replace(weights, diversity=0.0)).items
        head, tail = top[:k - m], top[k - m:]
        rng = np.random.default_rng(r)
        pick = tail[np.sort(rng.choice(len(tail), size=min(m, len(tail)), replace=False))] if len(tail) else tail
        items = np.concatenate([head, pick])
        ranked[r, :len(items)] = items
    return ranked


def _capped_lists(world, inputs, weights: HybridWeights, k: int, cap: int, pool: int) -> np.ndarray:
    ranked = np.full((len(inputs), k), -1, dtype=np.int64)
    shown = np.zeros(world.catalog.n_items, dtype=np.int64)
    for r in np.random.default_rng(0).permutation(len(inputs)):
        top = mmr_select(world.catalog, inputs[r].parts, inputs[r].candidates, pool,
                         replace(weights, diversity=0.0)).items
        free = top[shown[top] < cap]
        items = np.concatenate([free, top[shown[top] >= cap]])[:k]  # capped items only when nothing else is left
        shown[items] += 1
        ranked[r, :len(items)] = items
    return ranked


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--split", default="temporal", choices=["temporal", "user-holdout"])
    ap.add_argument("--users", type=int, default=400, help="validation mentees (0 = all)")
    ap.add_argument("--model", default="bpr", help="the family the hybrid rides on (the validation champion)")
    ap.add_argument("--k", type=int, default=10)
    args = ap.parse_args(argv)
    t0, k = time.perf_counter(), args.k
    data = load_training_data(args.data_dir)
    world = data.world
    train, _, _ = split_for(data.events, args.split)
    vtrain, vtest, vnow = validation_for(train, args.split)
    vcase = eval_case(world, vtrain, vtest, now=vnow, id_events=[train])
    vp, vtruth = vcase.prepared, vcase.truth
    users = _users(vtruth, args.users, 1)
    model = fit_resolved(args.model, vp, model_params(args.model), k=k, split=args.split)[0]
    cf = float(_pure(model, vp, vtruth, users, k)[0].mean())
    inputs = hybrid_inputs_for(model, vp, world, users, now=vnow)
    n = world.catalog.n_items
    taken = np.unique(vtruth[users].indices)
    was_ready = [bool(inputs[r].candidates[i]) for r, u in enumerate(users) for i in vtruth[u].indices]
    ready = float(np.mean(was_ready)) if was_ready else 0.0
    print(f"# {args.data_dir} {args.split}: {len(users)} validation mentees; {args.model} ndcg@{k} {cf:.4f}; "
          f"median ready candidates {int(np.median([x.candidates.sum() for x in inputs]))} of {n}")
    print(f"- ceiling: items taken next {len(taken)} (coverage {len(taken) / n:.3f} if every list were perfect); "
          f"{ready:.0%} of them were ready for the mentee who took them")
    w0 = DEFAULT_WEIGHTS
    pop = np.asarray(vp.train.matrix.sum(axis=0)).ravel()
    pop_pct = (np.argsort(np.argsort(pop, kind="stable"), kind="stable") / max(n - 1, 1)).astype(np.float64)
    ci = PARTS.index("cf")
    print(f"\n| variant | ndcg ratio to {args.model} | coverage@{k} |\n| --- | ---: | ---: |")

    def row(label: str, ranked: np.ndarray) -> None:
        nd = float(ndcg_per_user(ranked, vtruth, users, k).mean())
        print(f"| {label} | x{nd / max(cf, 1e-12):.3f} | {catalog_coverage(ranked, n):.3f} |", flush=True)

    row(f"shipped weights {w0.to_dict()}", rank_hybrid(world, inputs, w0, k))
    for lam in (0.1, 0.3, 0.6, 1.0, 2.0):
        nov = []
        for x in inputs:
            p = x.parts.copy()
            p[:, ci] = np.clip(p[:, ci] - lam * pop_pct, 0.0, None)
            nov.append(HybridInputs(p, x.candidates, x.path, x.levels))
        row(f"novelty: cf - {lam} x popularity percentile", rank_hybrid(world, nov, w0, k))
    for m, pool in ((2, 20), (3, 30), (3, 100), (5, 200)):
        row(f"last {m} slots from the next {pool} ready items", _pool_lists(world, inputs, w0, k, m, pool))
    for div in (0.3, 1.0):
        row(f"MMR over skills, diversity {div}", rank_hybrid(world, inputs, replace(w0, diversity=div), k))
    for cap in (100, 50, 25, 10):
        row(f"exposure cap: an item in at most {cap} lists (next 100 ready items)",
            _capped_lists(world, inputs, w0, k, cap, 100))
    print(f"\ntotal {time.perf_counter() - t0:.0f} s; load average {os.getloadavg()[0]:.1f} (2 cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
