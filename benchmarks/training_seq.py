"""Validation-only experiment: sequence and pace-aware scorers against recency popularity (OULAD).

    python benchmarks/training_seq.py DATA_DIR [--cuts val 2013-10-05:2014-07-01 ...]

Can a learner's own order through a running course beat "what the cohort opened in the last
day" (recency popularity, half-life 1 day)? Three scorers, each added to the recency prior
``w * log(1e-3 + pop_1d)`` exactly as the models take it (:mod:`recommender.models.recency`),
``w`` swept with the rest of each grid:

- ``transition``: ``C[a, b]`` = number of (learner, day t) with ``a`` opened on day t and ``b``
  first opened in ``(t, t + D]`` days, divided by ``(user-days on a) + shrink``; a learner's
  vector is their opens decayed by age (half-life ``hd``); score = vector @ C. ``add`` uses the
  raw score, ``log`` uses ``log(1e-3 + score / max)``.
- ``peers (events)``: pace-aware user-kNN. Profiles = every active day's opens decayed
  (half-life ``hs``), cosine similarity to every other learner raised to ``a``; score = the
  peers' opens decayed with half-life ``hr`` (what they opened in the last day or so),
  weighted by similarity. Needs every event's day, which :class:`Interactions` does not carry.
- ``peers (last open)``: the same from ``Interactions.age_days`` only (each pair's last
  positive event), i.e. what a model behind the current ``fit`` contract would see.

Windows: TRAIN = events before the 80% time quantile (TEST is dropped before anything else);
``val`` = TRAIN's last 20% (the standard validation window, about half of its learners cold);
``A:B`` = fit on TRAIN before A, validate on TRAIN in [A, B). Prints, per scorer, the best
setting per window, the setting whose *smallest* gain over popularity across windows is
largest, and how the best-on-``val`` setting (what a validation search would ship) does on the
other windows. ``--test`` scores the one candidate taken to TEST (peers from every active day,
hs 7, hr 0.5, a 8, log; its prior weight and half-life chosen on TRAIN's last 20% from the
train-time tuner's grids) against popularity (half-life chosen the same way), once, with a
paired bootstrap. Results: benchmarks/training_seq.md.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_v, "1")
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from recommender.metrics import ndcg_at_k, truth_matrix  # noqa: E402
from recommender.models.recency import log_prior, recency_popularity  # noqa: E402
from recommender.split import positive_events  # noqa: E402
from recommender.topk import topk  # noqa: E402
from training.data import Prepared, load_training_data, prepare, time_quantile, validation_split  # noqa: E402
from training.evaluate import split_events  # noqa: E402

WEIGHTS = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
DAY_US = 86_400 * 10**6


class Window:
    """One (fit, validation) pair: truth, exclusions and every learner's active days."""

    def __init__(self, world: Any, train: pd.DataFrame, fit: pd.DataFrame, val: pd.DataFrame) -> None:
        self.p: Prepared = prepare(world, fit, val, id_events=[train])  # train: every event the ids come from
        tr = self.p.train
        pos = positive_events(val)
        truth = sp.csr_matrix(truth_matrix(pos[["user_id", "item_id"]], tr), dtype=bool)
        seen = sp.csr_matrix(tr.seen, dtype=bool)
        self.truth = sp.csr_matrix(truth > seen)
        self.users = np.flatnonzero(np.diff(self.truth.indptr) > 0)
        self.banned = sp.csr_matrix(sp.csr_matrix(tr.dismissed, dtype=bool) + seen)[self.users]
        self.now_day = int(pd.Timestamp(val["timestamp"].min()).value // (DAY_US * 1000))
        f = positive_events(fit)[["user_id", "item_id", "timestamp"]]
        uid = {u: i for i, u in enumerate(self.p.users.to_list())}
        iid = {x: i for i, x in enumerate(self.p.items.to_list())}
        f = f[f["item_id"].isin(iid)]
        self.days = pd.DataFrame({"u": f["user_id"].map(uid).to_numpy(), "i": f["item_id"].map(iid).to_numpy(),
                                  "day": pd.to_datetime(f["timestamp"], utc=True).array.asi8 // DAY_US}
                                 ).drop_duplicates().reset_index(drop=True)
        self.prior = log_prior(recency_popularity(tr, half_life_days=1.0, binary=True), weight=1.0, epsilon=1e-3)
        self.popularity = self.ndcg(np.zeros((len(self.users), tr.shape[1]), np.float32) + self.prior)

    def per_user(self, scores: NDArray[np.floating], k: int = 10) -> NDArray[np.float64]:
        ranked = topk(np.asarray(scores, np.float32), k, exclude=self.banned)[0]
        return np.array([ndcg_at_k(ranked[r], self.truth[u].indices, k) for r, u in enumerate(self.users)])

    def ndcg(self, scores: NDArray[np.floating], k: int = 10) -> float:
        return float(self.per_user(scores, k).mean())

    def popularity_scores(self, half_life: float | None) -> NDArray[np.float32]:
        pop = recency_popularity(self.p.train, half_life_days=half_life, binary=True).astype(np.float32)
        return np.zeros((len(self.users), len(pop)), np.float32) + pop

    def decayed_days(self, half_life: float) -> sp.csr_matrix:
        """Learners x items: sum over active days of 0.5 ** (age / half_life)."""
        d = self.days
        w = np.exp2(-(self.now_day - d["day"].to_numpy()) / half_life)
        return sp.csr_matrix((w, (d["u"].to_numpy(), d["i"].to_numpy())), shape=self.p.train.shape)

    def decayed_last(self, half_life: float) -> sp.csr_matrix:
        """Learners x items: 0.5 ** (age of the pair's last positive event / half_life)."""
        m = sp.csr_matrix(self.p.train.age_days, dtype=np.float64, copy=True)
        m.data = np.exp2(-m.data / half_life)
        return m


def transitions(w: Window, horizon: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(C, user-days per item)``: opens of a on day t followed by a first open of b in (t, t + horizon]."""
    n = w.p.train.shape[1]
    d = w.days.sort_values(["u", "day"])
    first = d.groupby(["u", "i"], as_index=False)["day"].min().sort_values(["u", "day"])
    su, si, sd = d["u"].to_numpy(), d["i"].to_numpy(), d["day"].to_numpy()
    fu, fi, fd = first["u"].to_numpy(), first["i"].to_numpy(), first["day"].to_numpy()
    n_users = w.p.train.shape[0]
    s0, f0 = np.searchsorted(su, np.arange(n_users + 1)), np.searchsorted(fu, np.arange(n_users + 1))
    flat = np.zeros(n * n)
    for u in range(n_users):
        a, b = slice(s0[u], s0[u + 1]), slice(f0[u], f0[u + 1])
        if s0[u] == s0[u + 1] or f0[u] == f0[u + 1]:
            continue
        gap = fd[b][None, :] - sd[a][:, None]
        ai, bi = np.nonzero((gap > 0) & (gap <= horizon))
        flat += np.bincount(si[a][ai] * n + fi[b][bi], minlength=n * n)
    return flat.reshape(n, n), np.bincount(si, minlength=n).astype(np.float64)


def with_prior(w: Window, base: NDArray[np.floating], key: tuple[Any, ...], *, scale: bool = True,
               ) -> Iterator[tuple[tuple[Any, ...], float]]:
    """Gains over popularity of ``base + w * prior`` (``add``) and ``log(1e-3 + base) + w * prior``
    (``log``; ``base`` scaled to max 1 first when ``scale``), for every weight."""
    for mode in ("add", "log"):
        b = base if mode == "add" else np.log(1e-3 + (base / max(float(base.max()), 1e-12) if scale else base))
        b = np.asarray(b, dtype=np.float32)
        for wt in WEIGHTS:
            yield (*key, mode, wt), w.ndcg(b + wt * w.prior[None, :]) - w.popularity


def run_transition(w: Window) -> Iterator[tuple[tuple[Any, ...], float]]:
    for horizon in (1, 3, 7):
        C, cnt = transitions(w, horizon)
        for shrink in (10.0, 100.0):
            Cn = C / (cnt[:, None] + shrink)
            for hd in (1.0, 3.0, 7.0):
                H = w.decayed_days(hd)[w.users]
                yield from with_prior(w, np.asarray(H @ Cn), (f"D={horizon}", f"shrink={shrink:g}", f"hd={hd:g}"))


def peer_scores(w: Window, source: str, hs: float, hr: float, a: float) -> NDArray[np.float64]:
    """Scored learners x items: the similarity-weighted mean of the peers' recent opens."""
    decay = w.decayed_days if source == "events" else w.decayed_last
    P = decay(hs)
    norms = np.sqrt(np.asarray(P.multiply(P).sum(axis=1)).ravel()) + 1e-12
    Pn = sp.csr_matrix(sp.diags(1.0 / norms) @ P)
    sim = np.asarray((Pn[w.users] @ Pn.T).todense())
    sim[np.arange(len(w.users)), w.users] = 0.0  # not one's own opens
    sa = sim ** a
    return np.asarray(decay(hr).T @ sa.T).T / np.maximum(sa.sum(axis=1, keepdims=True), 1e-12)


def run_peers(w: Window, source: str) -> Iterator[tuple[tuple[Any, ...], float]]:
    for hs in (3.0, 7.0):
        for hr in (0.5, 1.0):
            for a in (1.0, 3.0, 5.0, 8.0):
                yield from with_prior(w, peer_scores(w, source, hs, hr, a), (f"hs={hs:g}", f"hr={hr:g}", f"a={a:g}"),
                                     scale=False)


def report(name: str, gains: dict[tuple[Any, ...], dict[str, float]], windows: list[str]) -> None:
    full = {k: v for k, v in gains.items() if len(v) == len(windows)}
    fmt = lambda v: " | ".join(f"{v[c]:+.4f}" for c in windows)  # noqa: E731
    print(f"\n### {name}\n\n| choice | setting | " + " | ".join(f"gain on {c}" for c in windows) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in windows) + " |")
    for c in windows:
        best = max(full, key=lambda k: full[k][c])
        print(f"| best on {c} | `{' '.join(map(str, best))}` | {fmt(full[best])} |")
    robust = max(full, key=lambda k: min(full[k].values()))
    print(f"| best worst case | `{' '.join(map(str, robust))}` | {fmt(full[robust])} |")


def candidate(w: Window, weight: float, prior_half_life: float | None) -> NDArray[np.float32]:
    """The one setting taken to TEST: peers from every active day, hs 7, hr 0.5, a 8, log."""
    prior = log_prior(recency_popularity(w.p.train, half_life_days=prior_half_life, binary=True),
                      weight=weight, epsilon=1e-3)
    return (np.log(1e-3 + peer_scores(w, "events", 7.0, 0.5, 8.0)) + prior[None, :]).astype(np.float32)


def test_once(data: Any, train: pd.DataFrame, test: pd.DataFrame) -> None:
    """The candidate's prior weight and half-life, and popularity's half-life, chosen on TRAIN's last
    20% (the grids of training.autoprior), then one TEST score with a paired bootstrap."""
    from training.autoprior import POPULARITY_AUTO_GRID, PRIOR_AUTO_GRID, paired_bootstrap  # noqa: PLC0415

    v = validation_split(train)
    inner = Window(data.world, train, v.train, v.test)
    pop_h = max(POPULARITY_AUTO_GRID["half_life_days"], key=lambda h: inner.ndcg(inner.popularity_scores(h)))
    settings = [(wt, h) for wt in PRIOR_AUTO_GRID["recency_weight"] if wt > 0
                for h in PRIOR_AUTO_GRID["recency_half_life_days"]] + [(0.0, None)]
    chosen = max(settings, key=lambda s: inner.ndcg(candidate(inner, *s)))
    print(f"\n## TEST, once: inner choice popularity half-life {pop_h}, candidate prior (w, half-life) {chosen}\n")
    outer = Window(data.world, data.events, train, test)
    ours, theirs = outer.per_user(candidate(outer, *chosen)), outer.per_user(outer.popularity_scores(pop_h))
    diff, lo, hi = paired_bootstrap(ours, theirs)
    print("| learners | popularity ndcg@10 | peers ndcg@10 | margin | 95% CI (paired bootstrap) |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| {len(ours):,} | {theirs.mean():.4f} | {ours.mean():.4f} | {diff:+.4f} | [{lo:+.4f}, {hi:+.4f}] |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir")
    ap.add_argument("--cuts", nargs="+", default=["val", "2013-10-05:2014-07-01", "2014-02-01:2014-07-01"])
    ap.add_argument("--scorers", nargs="+", default=["transition", "peers (events)", "peers (last open)"],
                    help="which scorers (transition is O(items^2) per learner: OULAD-sized catalogs only)")
    ap.add_argument("--test", action="store_true", help="score the single candidate on TEST (once) and stop")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    data = load_training_data(args.data_dir)
    train, test = split_events(data.events, cutoff=time_quantile(data.events, 0.8))
    if args.test:
        test_once(data, train, test)
        print(f"\ntotal {time.perf_counter() - t0:.0f} s")
        return 0
    del test  # validation only from here
    ts = pd.to_datetime(train["timestamp"], utc=True)
    scorers = {"transition": run_transition, "peers (events)": lambda w: run_peers(w, "events"),
               "peers (last open)": lambda w: run_peers(w, "last")}
    scorers = {k: f for k, f in scorers.items() if k in args.scorers}
    gains: dict[str, dict[tuple[Any, ...], dict[str, float]]] = {s: collections.defaultdict(dict) for s in scorers}
    print("| window | fit events | validation events | learners scored | popularity (1 d) ndcg@10 |")
    print("| --- | --- | --- | --- | --- |")
    for cut in args.cuts:
        if cut == "val":
            v = validation_split(train)
            fit, val = v.train, v.test
        else:
            a, b = (pd.Timestamp(x, tz="UTC") for x in cut.split(":"))
            fit, val = train[(ts < a).to_numpy()], train[((ts >= a) & (ts < b)).to_numpy()]
        w = Window(data.world, train, fit, val)
        print(f"| {cut} | {len(fit):,} | {len(val):,} | {len(w.users):,} | {w.popularity:.4f} |", flush=True)
        for name, fn in scorers.items():
            for key, g in fn(w):
                gains[name][key][cut] = g
    for name in scorers:
        report(name, gains[name], args.cuts)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
