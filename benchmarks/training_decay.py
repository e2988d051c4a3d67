"""Validation-only experiment: models fitted and scored on recency-decayed histories.

    python benchmarks/training_decay.py DATA_DIR

TRAIN = events before the 80% time quantile (TEST is never read), validation = TRAIN's last
20%. For each user-history half-life h (None = undecayed, 1, 3, 7 days) the fit window's
confidences are decayed to the validation cut (``build_interactions(..., now=cut,
half_life_days=h)``), each model is fitted once with the prior off and scored with every
prior setting re-scored on top (``refit_prior``); prints the best validation NDCG@10 per
(h, model) next to recency popularity (half-life 1 day). Results: docs/training.md (OULAD).
"""

from __future__ import annotations

import os
import sys
import time

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_v, "1")
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dataclasses import replace  # noqa: E402

from recommender.interactions import build_interactions  # noqa: E402
from training.data import load_training_data, prepare, time_quantile, validation_split  # noqa: E402
from training.evaluate import fit_model, score_prepared, split_events  # noqa: E402

MODELS = {"ease": ("ease", {"regularization": 500.0, "binary": False}), "ease_binary": ("ease", {"regularization": 500.0}),
          "bpr": ("bpr", {}), "als": ("als", {})}
PRIOR_WEIGHTS, PRIOR_HALF_LIVES = (0.0, 0.3, 1.0, 3.0, 10.0, 30.0), (1.0, 3.0)


def main(data_dir: str) -> int:
    data = load_training_data(data_dir)
    train, _ = split_events(data.events, cutoff=time_quantile(data.events, 0.8))  # TEST is dropped here
    v = validation_split(train)
    base = prepare(data.world, v.train, v.test, id_events=[train])
    print("| history half-life | model | best validation ndcg@10 | prior (w, half-life) | s |")
    print("| --- | --- | --- | --- | --- |")
    for hu in (None, 1.0, 3.0, 7.0):
        tr = base.train if hu is None else build_interactions(v.train, users=base.users, items=base.items,
                                                              now=v.cutoff, half_life_days=hu, on_unknown="drop")
        p = replace(base, train=tr)
        pop, _ = fit_model("popularity", p, {"half_life_days": 1.0})
        print(f"| {hu} | popularity (1 d) | {score_prepared(pop, p, 10, freshness=None)[0]['ndcg@10']:.4f} | | |",
              flush=True)
        for label, (name, params) in MODELS.items():
            t0 = time.time()
            m, _ = fit_model(name, p, {**params, "recency_weight": 0.0, "recency_half_life_days": None})
            best = (-1.0, (0.0, None))
            for w in PRIOR_WEIGHTS:
                for h in PRIOR_HALF_LIVES:
                    m.set_params(recency_weight=w, recency_half_life_days=h)
                    m.refit_prior(p.train)
                    best = max(best, (score_prepared(m, p, 10, freshness=None)[0]["ndcg@10"], (w, h)))
            print(f"| {hu} | {label} | {best[0]:.4f} | {best[1]} | {time.time() - t0:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
