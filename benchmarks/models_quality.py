"""Quality sanity check: every model on a block-structured synthetic world, temporal split.

Run: ``OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/models_quality.py`` (about 20 s
on one core). Prints a Markdown table; figures are in benchmarks/models_quality.md.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from datetime import timedelta  # noqa: E402

from recommender.features import build_features  # noqa: E402
from recommender.interactions import build_id_maps, build_interactions  # noqa: E402
from recommender.metrics import evaluate_model  # noqa: E402
from recommender.models import MODELS, make_model  # noqa: E402
from recommender.split import temporal_split  # noqa: E402
from recommender.synthetic import block_world  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--blocks", type=int, default=8)
    ap.add_argument("--items-per-block", type=int, default=40)
    ap.add_argument("--events-per-user", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--k", type=int, default=10)
    args = ap.parse_args()
    data = block_world(n_users=args.users, n_blocks=args.blocks, items_per_block=args.items_per_block,
                       events_per_user=args.events_per_user, staggered=True, seed=args.seed)
    users, items = build_id_maps(data.events, catalog=data.world.catalog, mentees=data.world.mentees.values())
    split = temporal_split(data.events, data.start + timedelta(days=45))
    train = build_interactions(split.train, users=users, items=items)
    test = build_interactions(split.test, users=users, items=items)
    feats = build_features(data.world.catalog, data.world.mentees, users)
    k = args.k
    print(f"{len(users)} users, {len(items)} items, {train.matrix.nnz} train pairs, {test.matrix.nnz} test pairs, "
          f"{len(split.warm_users)} warm / {len(split.cold_users)} cold test users\n")
    print(f"| model | ndcg@{k} | warm ndcg@{k} | cold ndcg@{k} | recall@{k} | map@{k} | coverage@{k} "
          f"| novelty@{k} | fit s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in MODELS:
        model = make_model(name)
        itf, uf = feats.for_model(model)
        t0 = time.perf_counter()
        model.fit(train, item_features=itf, user_features=uf)
        fit_s = time.perf_counter() - t0
        r = evaluate_model(model, train, test, k=k)
        print(f"| {name} | {r[f'ndcg_at_{k}']:.3f} | {r[f'warm/ndcg_at_{k}']:.3f} | {r[f'cold/ndcg_at_{k}']:.3f} "
              f"| {r[f'recall_at_{k}']:.3f} | {r[f'map_at_{k}']:.3f} | "
              f"{r[f'coverage_at_{k}']:.2f} | {r[f'novelty_at_{k}']:.2f} | {fit_s:.2f} |")


if __name__ == "__main__":
    main()
