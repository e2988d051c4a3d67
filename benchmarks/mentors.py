"""Mentor matching on a synthetic world: optimal vs greedy vs random assignment, and speed.

    .venv/bin/python benchmarks/mentors.py                       # default world, seed 7
    .venv/bin/python benchmarks/mentors.py --mentees 2000 --cohort 200

Uses ``catalog.synth.generate(SynthConfig(...))``. Prints markdown tables: the
quality of each assignment method on two cohorts (one that fits mentor capacity, and
every mentee, which does not), and timings of needs, the score matrix and assignment.
Random is the mean of 5 seeds. Run it once or twice; it is bounded (about a minute).
"""

from __future__ import annotations

import argparse
import os
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from catalog.catalog import World  # noqa: E402
from catalog.synth import SynthConfig, generate  # noqa: E402
from recommender.matching import MentorMatcher, assign, assignment_quality, score_matrix  # noqa: E402

RANDOM_SEEDS = range(5)


def synthetic_world(seed: int, n_mentees: int, n_mentors: int) -> tuple[World, str]:
    cfg = SynthConfig(seed=seed, n_mentees=n_mentees, n_mentors=n_mentors, n_items=2000, days=30)
    return generate(cfg).world, (f"catalog.synth.generate(SynthConfig(seed={seed}, n_mentees={n_mentees}, "
                                 f"n_mentors={n_mentors}, n_items=2000, days=30))")


def _best_of(fn, repeat: int = 3) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def quality_table(matcher: MentorMatcher, user_ids: list[str], needs: dict) -> list[str]:
    mat = matcher.matrix(user_ids, needs=needs)
    rows = []
    for method in ("optimal", "greedy", "random"):
        seeds = RANDOM_SEEDS if method == "random" else [0]
        qs, secs = [], []
        for s in seeds:
            t0 = time.perf_counter()
            a = assign(mat, method, seed=s)
            secs.append(time.perf_counter() - t0)
            qs.append(assignment_quality(a, mat))

        def mean(attr: str) -> float:
            return float(np.mean([getattr(q, attr) for q in qs]))

        rows.append(f"| {method}{' (5 seeds)' if method == 'random' else ''} | {mean('matched'):.0f} | "
                    f"{mean('unmatched'):.0f} | {mean('needs_covered'):.1f} of {qs[0].needs_total} | "
                    f"{mean('uncovered_mentees'):.1f} | {mean('total_score'):.2f} | {mean('mean_score'):.3f} | "
                    f"{mean('worst_score'):.3f} | {np.mean(secs) * 1000:.0f} ms |")
    head = ["| method | matched | unmatched | needs covered | matched mentees with no need covered | total score "
            "| mean score | worst-off score | time |", "|---|---|---|---|---|---|---|---|---|"]
    return head + rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--mentees", type=int, default=6000)
    ap.add_argument("--mentors", type=int, default=150)
    ap.add_argument("--cohort", type=int, default=300, help="size of the cohort that fits capacity")
    args = ap.parse_args()

    t0 = time.perf_counter()
    world, source = synthetic_world(args.seed, args.mentees, args.mentors)
    t_world = time.perf_counter() - t0
    matcher = MentorMatcher(world)
    ids = sorted(world.mentees)
    t_needs, needs = _best_of(lambda: {u: matcher.needs(u) for u in ids}, 1)
    mentees = [world.mentees[u] for u in ids]
    t_matrix, mat = _best_of(lambda: score_matrix([needs[u] for u in ids], mentees, matcher.mentors))
    places = int(mat.free_places.sum())
    n_needs = np.array([len(needs[u]) for u in ids])
    cohort = sorted(np.random.default_rng(args.seed).choice(ids, size=min(args.cohort, len(ids)),
                                                            replace=False).tolist())

    print(f"World: {source} (built in {t_world:.1f} s): {len(ids)} mentees, {len(matcher.mentors)} mentors, "
          f"{places} mentor places, {world.catalog.n_skills} skills; needs per mentee: "
          f"mean {n_needs.mean():.1f}, median {np.median(n_needs):.0f}, none for {(n_needs == 0).sum()}.\n")
    print(f"### Cohort of {len(cohort)} mentees (fits the {places} places)\n")
    print("\n".join(quality_table(matcher, cohort, needs)) + "\n")
    print(f"### All {len(ids)} mentees ({places} places: capacity-bound)\n")
    print("\n".join(quality_table(matcher, ids, needs)) + "\n")
    print("### Speed (one core)\n")
    print("| step | size | time |\n|---|---|---|")
    print(f"| needs_from_goals, every mentee | {len(ids)} mentees | {t_needs * 1000:.0f} ms |")
    print(f"| score_matrix (best of 3) | {len(ids)} x {len(matcher.mentors)} | {t_matrix * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
