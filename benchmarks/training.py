"""Model quality and training time on a data dir, with an optional tuning search.

    python benchmarks/training.py --data-dir DIR [--cutoff DATE] [--tune [--grids JSON]] [--models all]

Protocol: events before ``--cutoff`` (default: the 80% time quantile) are TRAIN, the rest
TEST. With ``--tune`` each model's grid (training/tuning.py: base grid, then the recency
prior) is searched on a validation window cut from TRAIN (its last 20%), never on TEST.
Every model is then fitted on TRAIN with its defaults (training/defaults.py) -- or the
tuned winners with ``--use-tuned`` -- and scored on TEST. The baseline is popularity with
*this dataset's* tuned half-life when ``--tune`` is given (the strongest honest baseline),
else its default (``half_life_days="auto"``: tuned at training time on the fit window, like
the models' recency prior). ``--baseline JSON`` adds a second popularity with fixed params
(e.g. the half-life tuned on this dataset's validation window). Prints markdown tables: the
trials, the comparison, what the train-time tuner chose, and the margins of the default
model over each baseline with a paired bootstrap 95% CI over the test mentees.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# This file is named like the `training` package: run as a script, its own folder would be
# sys.path[0] and `import training` would import this file. Put the repository root there.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import numpy as np  # noqa: E402

from catalog.schema import parse_timestamp  # noqa: E402
from recommender.metrics import ndcg_at_k  # noqa: E402
from training.autoprior import paired_bootstrap  # noqa: E402
from training.data import load_training_data, time_quantile, validation_split  # noqa: E402
from training.defaults import model_params, parse_model_names  # noqa: E402
from training.evaluate import fit_resolved, rank_users, run_comparison, split_events, truth_of  # noqa: E402
from training.plots import comparison_markdown  # noqa: E402
from training.tuning import GRIDS, best_params, tune  # noqa: E402


def per_user_ndcg(model, prepared, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(users, ndcg@k per user)`` on ``prepared`` (the same users for every model: paired)."""
    users, ranked, truth = rank_users(model, prepared.train, truth_of(prepared), k,
                                      user_features=prepared.features.for_model(model)[1])
    return users, np.array([ndcg_at_k(ranked[r], truth[u].indices, k) for r, u in enumerate(users)])



def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--cutoff", default=None, help="TRAIN/TEST cut (default: 80%% time quantile)")
    ap.add_argument("--models", default="all")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--tune", action="store_true", help="search GRIDS on a validation split of TRAIN")
    ap.add_argument("--use-tuned", action="store_true", help="score the tuned winners on TEST (not the defaults)")
    ap.add_argument("--trials-out", default=None, metavar="FILE", help="write the tuning trials as JSON lines")
    ap.add_argument("--params", default=None, metavar="JSON",
                    help='parameter overrides per model for the TEST run, e.g. the baseline tuned on this dataset: '
                         '\'{"popularity": {"binary": true, "half_life_days": 1}}\'')
    ap.add_argument("--baseline", default=None, metavar="JSON",
                    help='a second popularity baseline with fixed params, e.g. \'{"binary": true, "half_life_days": 90}\'')
    ap.add_argument("--default-model", default="bpr", help="the shipped default model (margins are its)")
    ap.add_argument("--tune-only", action="store_true", help="stop after the validation search (TEST is not scored)")
    ap.add_argument("--grids", default=None, metavar="JSON",
                    help='replace some models\' base grids, e.g. \'{"als": {"factors": [64]}}\' (a second pass '
                         "that sweeps the recency prior on one shared base setting)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    data = load_training_data(args.data_dir)
    names = parse_model_names(args.models, "als")
    cutoff = parse_timestamp(args.cutoff) if args.cutoff else time_quantile(data.events, 0.8)
    train, test = split_events(data.events, cutoff=cutoff)
    print(f"# {args.data_dir}: {len(data.events):,} events; TRAIN < {cutoff} ({len(train):,}), TEST ({len(test):,})")
    overrides = json.loads(args.params) if args.params else {}
    params = {n: model_params(n, overrides.get(n)) for n in names}
    if args.tune:
        v = validation_split(train)
        print(f"\n## Tuning on a validation window cut from TRAIN at {v.cutoff} "
              f"({len(v.train):,} fit / {len(v.test):,} validation events)\n")
        grids = {**GRIDS, **(json.loads(args.grids) if args.grids else {})}
        trials = tune(names, v.train, v.test, data.world, k=args.k, id_events=[train], grids=grids,
                      on_trial=lambda n, p, s: print(f"  {n} {p} ndcg@{args.k}={s:.4f}", file=sys.stderr))
        print("| model | stage | params | ndcg@%d (val) | recall@%d (val) | fit s |" % (args.k, args.k))
        print("| --- | --- | --- | --- | --- | --- |")
        for r in trials.itertuples(index=False):
            print(f"| {r.model} | {r.stage} | `{json.dumps(r.params)}` | {r[3]:.4f} | {r[4]:.4f} "
                  f"| {r.fit_seconds:.2f} |")
        best = best_params(trials, args.k)
        print("\nBest on validation:", json.dumps(best, sort_keys=True))
        if args.trials_out:
            trials.to_json(args.trials_out, orient="records", lines=True)
        if args.tune_only:
            print(f"\ntotal {time.perf_counter() - t0:.0f} s")
            return 0
        if args.use_tuned:
            params = {n: model_params(n, best[n]) for n in names if n in best}
        elif "popularity" in best:
            params["popularity"] = model_params("popularity", best["popularity"])
    comp = run_comparison(names, train, test, data.world, k=args.k, params=params, id_events=[data.events],
                          keep_models=True)
    print("\nParams:", json.dumps(params, sort_keys=True, default=str))
    print("\nChosen at training time ('auto', inner validation split of TRAIN):")
    for n, r in comp.results.items():
        if r.auto is not None:
            print(f"- {n}: {r.auto.summary()}")
    print(f"\n## TEST (fitted on TRAIN, scored on TEST; as of {cutoff})\n")
    print(comparison_markdown(comp))
    ndcg = comp.table.set_index("model")[f"ndcg@{args.k}"]
    if "popularity" in ndcg:
        for n in ndcg.index:
            if n != "popularity":
                base = ndcg["popularity"]
                ratio = f"x{ndcg[n] / base:.2f}, " if base > 0 else ""
                print(f"- {n}: ndcg@{args.k} {ndcg[n]:.4f} vs popularity {base:.4f} ({ratio}{ndcg[n] - base:+.4f})")
    prepared = comp.prepared
    if args.default_model in comp.results and prepared is not None:
        users, ours = per_user_ndcg(comp.results[args.default_model].model, prepared, args.k)
        baselines = {}
        if "popularity" in comp.results:
            baselines["popularity " + json.dumps(comp.results["popularity"].params)] = comp.results["popularity"].model
        if args.baseline:
            fixed = model_params("popularity", json.loads(args.baseline))
            baselines["popularity " + json.dumps(fixed)] = fit_resolved("popularity", prepared, fixed)[0]
        print(f"\n## {args.default_model} (default) vs baselines on TEST: paired bootstrap over {len(users):,} "
              "mentees (2,000 resamples)\n")
        print(f"| baseline | baseline ndcg@{args.k} | default ndcg@{args.k} | margin | 95% CI |")
        print("| --- | --- | --- | --- | --- |")
        for label, model in baselines.items():
            u2, theirs = per_user_ndcg(model, prepared, args.k)
            if not np.array_equal(users, u2):
                raise RuntimeError("baseline scored other users")
            diff, lo, hi = paired_bootstrap(ours, theirs)
            print(f"| {label} | {theirs.mean():.4f} | {ours.mean():.4f} | {diff:+.4f} | [{lo:+.4f}, {hi:+.4f}] |")
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
