"""Top-k scoring benchmark: ours vs implicit vs faiss vs numpy vs the memory-bandwidth limit.

Everything is measured in the same run, interleaved round by round so that a noisy,
shared machine slows every method alike; the ratios are what to read. One thread.

    python benchmarks/topk.py --items 100000 1000000 --json benchmarks/results/topk.json
    skillpath bench topk --items 1000000 --factors 64 --k 20
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numba as nb  # noqa: E402
import numpy as np  # noqa: E402

from recommender.topk import ItemMask, ScoringIndex  # noqa: E402

__all__ = ["run", "run_single", "main", "table"]

TARGETS = {
    "speedup_vs_implicit": 1.3,      # implicit_ms / ours_ms >=
    "ours_vs_limit": 1.25,           # ours_ms / limit_ms <=
    "filter_overhead_pct": 5.0,      # <=
    "batch_vs_sgemm": 0.70,          # achieved / machine sgemm rate >=
    "reduced_recall": 0.995,         # recall@k of reduced precision >=
}


@nb.njit(fastmath={"reassoc", "contract"}, nogil=True, cache=True)
def stream_sum(flat: np.ndarray) -> float:
    """Read every element once: the memory-bandwidth calibration (what a scan cannot beat)."""
    s = np.float32(0.0)
    for i in range(flat.shape[0]):
        s += flat[i]
    return s


def _interleaved(fns: dict[str, Callable[[], Any]], repeats: int, tick: Callable[[], None] | None = None,
                 ) -> dict[str, dict[str, float]]:
    """p50 and best (ms) of each function, rounds interleaved so noise hits all alike."""
    for f in fns.values():
        f()  # warm-up (JIT compile, page faults)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, f in fns.items():
            t0 = time.perf_counter()
            f()
            times[name].append((time.perf_counter() - t0) * 1e3)
        if tick:
            tick()
    return {name: {"p50": float(np.median(t)), "best": float(np.min(t))} for name, t in times.items()}


def _paired(base: Callable[[], Any], other: Callable[[], Any], rounds: int) -> dict[str, float]:
    """Extra cost of ``other`` over ``base``: p50 of back-to-back paired differences (ms).

    The two run next to each other in every round, in alternating order, so slow phases
    of a shared machine hit both; the median of the differences is far steadier than a
    difference (or ratio) of two separately taken medians.
    """
    base(), other()
    tb, to = [], []
    for r in range(rounds):
        for f in ((base, other) if r % 2 == 0 else (other, base)):
            t0 = time.perf_counter()
            f()
            (tb if f is base else to).append((time.perf_counter() - t0) * 1e3)
    tb_a, to_a = np.array(tb), np.array(to)
    return {"base": float(np.median(tb_a)), "other": float(np.median(to_a)), "diff": float(np.median(to_a - tb_a))}


SGEMM_SIZE = 1024


def _square_sgemm(size: int = SGEMM_SIZE) -> Callable[[], Any]:
    """One plain large square float32 product (the machine's sgemm rate reference)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    out = np.empty((size, size), np.float32)
    return lambda: np.matmul(a, b, out=out)


def _sgemm_gflops(repeats: int = 3, size: int = SGEMM_SIZE) -> float:
    """The machine's float32 matmul rate (GFLOP/s, best of N) on one plain large product."""
    f = _square_sgemm(size)
    f()
    best = min(_timed(f) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def _timed(f: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def _data(n: int, d: int, seed: int) -> tuple[ScoringIndex, np.random.Generator]:
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((n, d), dtype=np.float32)
    v *= 0.1
    bias = (rng.standard_normal(n) * 0.1).astype(np.float32)
    lf = np.log(rng.uniform(0.1, 1.0, n)).astype(np.float32)
    return ScoringIndex(v, item_bias=bias, log_freshness=lf, freshness_weight=0.5), rng


def _reference(ix: ScoringIndex) -> ScoringIndex:
    """The same index answering by the numpy reference path (what every request gets
    when the compiled loops are unavailable)."""
    ref = ix.with_active(ix.active_)
    ref._panel = ref._scans = None
    return ref


def _recall(search: Callable[[np.ndarray], np.ndarray], users: np.ndarray, ref: np.ndarray, k: int) -> float:
    hits = sum(np.intersect1d(search(u), ref[r]).size for r, u in enumerate(users))
    return hits / (k * len(users))


def run_single(n: int, d: int, k: int, *, repeats: int = 21, batches: tuple[int, ...] = (16, 256),
               batch_repeats: int = 3, recall_users: int = 200, seed: int = 0,
               sgemm_gflops: float | None = None, progress: Callable[[], None] | None = None,
               ) -> dict[str, Any]:
    """Measure one (items, factors) size; returns a flat dict of p50s, bests and ratios."""
    import faiss
    from implicit.cpu.topk import topk as implicit_topk

    faiss.omp_set_num_threads(1)
    ix, rng = _data(n, d, seed)
    m = ix.matrix_
    flat = m.reshape(-1)
    u = rng.standard_normal(d, dtype=np.float32)
    q2 = ix.query(u, decay=False)[None, :].copy()
    allow = ItemMask(rng.random(n) < 0.9)  # a request filter as the service caches it
    exclude = rng.integers(0, n, 50)
    bf16, fp16, ref = ix.with_dtype("bfloat16"), ix.with_dtype("float16"), _reference(ix)
    active = rng.random(n) < 0.95
    ix_filtered, bf16_filtered = ix.with_active(active), bf16.with_active(active)
    panel_flat, bf16_flat = ix._panel.reshape(-1), bf16._panel.reshape(-1).view(np.float32)
    faiss_flat = faiss.IndexFlatIP(m.shape[1])
    faiss_flat.add(m)
    faiss_sq = faiss.IndexScalarQuantizer(m.shape[1], faiss.ScalarQuantizer.QT_bf16, faiss.METRIC_INNER_PRODUCT)
    faiss_sq.train(m[: min(n, 10_000)])
    faiss_sq.add(m)

    def numpy_baseline() -> np.ndarray:
        s = m @ q2[0]
        top = np.argpartition(s, -k)[-k:]
        return top[np.argsort(-s[top], kind="stable")]

    single = _interleaved({
        "limit": lambda: stream_sum(flat),
        "implicit": lambda: implicit_topk(m, q2, k, num_threads=1),
        "faiss": lambda: faiss_flat.search(q2, k),
        "numpy": numpy_baseline,
        "ours": lambda: ix.recommend(u, k, decay=False),
        "ours_filtered": lambda: ix_filtered.recommend(u, k, allow=allow, exclude=exclude, decay=True),
        "ours_bf16_exact": lambda: bf16.recommend(u, k, decay=False),
        "ours_bf16_filtered": lambda: bf16_filtered.recommend(u, k, allow=allow, exclude=exclude),
        "reference": lambda: ref.recommend(u, k, decay=False),
        "limit_panel": lambda: stream_sum(panel_flat),
    }, repeats, progress)
    approx = {"bf16_approx": bf16.with_dtype("bfloat16", exact=False), "bf16_exact": bf16,
              "fp16_approx": fp16.with_dtype("float16", exact=False), "fp16_exact": fp16}
    reduced = _interleaved({**{name: (lambda r=r: r.recommend(u, k, decay=False)) for name, r in approx.items()},
                            "faiss_sq_bf16": lambda: faiss_sq.search(q2, k)}, max(5, repeats // 3), progress)
    numpy_sum = min(_timed(lambda: flat.sum()) for _ in range(3)) * 1e3  # second calibration

    out: dict[str, Any] = {"items": n, "factors": d, "k": k, "matrix_mb": round(m.nbytes / 2**20, 1)}
    limit = min(single["limit"]["p50"], numpy_sum)
    for name, t in single.items():
        out[f"{name}_ms"] = round(t["p50"], 3)
        out[f"{name}_best_ms"] = round(t["best"], 3)
    out["limit_ms"] = round(limit, 3)
    out["limit_gbs"] = round(m.nbytes / limit / 1e6, 1)
    for name, key in (("ours", "speedup_vs_implicit"), ("ours_bf16_exact", "bf16_exact_speedup_vs_implicit"),
                      ("faiss", "faiss_speedup_vs_implicit"), ("reference", "reference_speedup_vs_implicit")):
        out[key] = round(single["implicit"]["p50"] / single[name]["p50"], 3)
    out["speedup_vs_faiss"] = round(single["faiss"]["p50"] / single["ours"]["p50"], 3)
    out["bf16_exact_speedup_vs_faiss"] = round(single["faiss"]["p50"] / single["ours_bf16_exact"]["p50"], 3)
    for name in ("ours", "ours_bf16_exact", "implicit", "faiss", "numpy", "reference"):
        out[f"{'bf16_exact' if name == 'ours_bf16_exact' else name}_vs_limit"] = round(single[name]["p50"] / limit, 3)
    # Filters + decay + exclusions: p50 of paired back-to-back differences, relative to
    # the unfiltered p50 (far steadier than a ratio of two round-robin medians).
    rounds = min(1001, max(3 * repeats, int(2000 / max(single["ours"]["p50"], 1e-3)) // 2 * 2 + 1))
    for key, base, other in (
            ("filter_overhead_pct", lambda: ix.recommend(u, k, decay=False),
             lambda: ix_filtered.recommend(u, k, allow=allow, exclude=exclude, decay=True)),
            ("bf16_filter_overhead_pct", lambda: bf16.recommend(u, k, decay=False),
             lambda: bf16_filtered.recommend(u, k, allow=allow, exclude=exclude))):
        p = _paired(base, other, rounds)
        out[key] = round(100 * p["diff"] / p["base"], 2)
        out[key.replace("_pct", "_us")] = round(1e3 * p["diff"], 1)
    p = _paired(lambda: ix.recommend(u, k, decay=False), lambda: ix.recommend(u, k, decay=False), rounds)
    out["filter_aa_noise_pct"] = round(100 * p["diff"] / p["base"], 2)
    out["filter_pair_rounds"] = rounds
    # Steady state: each scan paired with a streaming read of the very array it scans, so
    # both find the caches as the other left them, as in serving where every request scans
    # the same copy (at 100k the round-robin runs each method after others that read other
    # arrays, and two 26 MB copies do not both fit the 32 MB L3).
    for key, lim, fn in (("ours", lambda: stream_sum(panel_flat), lambda: ix.recommend(u, k, decay=False)),
                         ("bf16", lambda: stream_sum(bf16_flat), lambda: bf16.recommend(u, k, decay=False))):
        p = _paired(lim, fn, rounds)
        out[f"{key}_vs_limit_warm"] = round(p["other"] / p["base"], 3)
    if progress:
        progress()

    # Reduced precision: time and recall@k against the exact answer over many users.
    users = rng.standard_normal((recall_users, d), dtype=np.float32)
    exact, _ = ix.recommend_batch(users, k, decay=False)
    qs = ix._queries(users, False)
    for name, r in approx.items():
        out[f"{name}_ms"] = round(reduced[name]["p50"], 3)
        out[f"{name}_recall"] = round(_recall(lambda x, r=r: r.recommend(x, k, decay=False)[0], users, exact, k), 5)
    out["faiss_sq_bf16_ms"] = round(reduced["faiss_sq_bf16"]["p50"], 3)
    out["faiss_sq_bf16_recall"] = round(_recall(lambda x: faiss_sq.search(x[None, :], k)[1][0], qs, exact, k), 5)

    # Batches: achieved GFLOP/s against the machine's sgemm rate, the square sgemm timed
    # in the same round-robin as the batch methods, so load hits both alike.
    rate = sgemm_gflops if sgemm_gflops is not None else _sgemm_gflops()
    out["sgemm_gflops"] = round(rate, 1)
    sq = _square_sgemm()
    for b in batches:
        ub = rng.standard_normal((b, d), dtype=np.float32)
        qb = ix._queries(ub, False)
        t = _interleaved({"sgemm": sq, "ours": lambda: ix.recommend_batch(ub, k, decay=False),
                          "reference": lambda: ref.recommend_batch(ub, k, decay=False),
                          "implicit": lambda: implicit_topk(m, qb, k, num_threads=1),
                          "faiss": lambda: faiss_flat.search(qb, k)}, batch_repeats, progress)
        flops = 2 * n * m.shape[1] * b
        rate_b = 2 * SGEMM_SIZE**3 / (t["sgemm"]["p50"] / 1e3) / 1e9
        for name in ("ours", "reference", "implicit", "faiss"):
            prefix = f"batch{b}" if name == "ours" else f"batch{b}_{name}"
            out[f"{prefix}_ms"] = round(t[name]["p50"], 2)
            out[f"{prefix}_vs_sgemm"] = round(flops / (t[name]["p50"] / 1e3) / 1e9 / rate_b, 3)
        out[f"batch{b}_gflops"] = round(flops / (t["ours"]["p50"] / 1e3) / 1e9, 1)
        out[f"batch{b}_sgemm_gflops"] = round(rate_b, 1)
    out["targets_met"] = _targets_met(out, batches)
    return out


def _targets_met(r: dict[str, Any], batches: tuple[int, ...]) -> dict[str, bool]:
    met = {
        "speedup_vs_implicit": r["speedup_vs_implicit"] >= TARGETS["speedup_vs_implicit"],
        "ours_vs_limit": r["ours_vs_limit"] <= TARGETS["ours_vs_limit"],
        "filter_overhead_pct": r["filter_overhead_pct"] <= TARGETS["filter_overhead_pct"],
        "reduced_recall": min(r["bf16_approx_recall"], r["fp16_approx_recall"]) >= TARGETS["reduced_recall"],
    }
    for b in batches:
        met[f"batch{b}_vs_sgemm"] = r[f"batch{b}_vs_sgemm"] >= TARGETS["batch_vs_sgemm"]
    return met


def run(items: list[int], d: int = 64, k: int = 20, *, repeats: int = 21, batches: tuple[int, ...] = (16, 256),
        progress: Callable[[], None] | None = None, **kw: Any) -> dict[str, Any]:
    """Every size in one run, with the machine's sgemm rate measured once."""
    import faiss
    import numba

    load = os.getloadavg()[0]
    rate = _sgemm_gflops()
    results = [run_single(n, d, k, repeats=repeats, batches=batches, sgemm_gflops=rate, progress=progress, **kw)
               for n in items]
    return {"machine": {"python": platform.python_version(), "numpy": np.__version__, "numba": numba.__version__,
                        "faiss": faiss.__version__, "cpu": platform.processor() or platform.machine(),
                        "threads": 1, "sgemm_gflops": round(rate, 1), "load_avg": [load, os.getloadavg()[0]]},
            "results": results}


ROWS = [
    ("bandwidth limit (stream read of the float32 matrix)", "limit_ms", None),
    ("implicit `topk`", "implicit_ms", None),
    ("faiss `IndexFlatIP`", "faiss_ms", None),
    ("numpy matvec + argpartition", "numpy_ms", None),
    ("ours exact, float32 panel scan", "ours_ms", None),
    ("ours + filters + decay + 50 exclusions", "ours_filtered_ms", None),
    ("ours exact, bf16 scan + float32 re-score (serving default)", "ours_bf16_exact_ms", None),
    ("ours exact bf16 + filters + decay + 50 excl.", "ours_bf16_filtered_ms", None),
    ("ours, reference path (BLAS blocks; the fallback)", "reference_ms", None),
    ("bf16 approximate (recall)", "bf16_approx_ms", "bf16_approx_recall"),
    ("fp16 approximate (recall)", "fp16_approx_ms", "fp16_approx_recall"),
    ("fp16 exact (float32 re-score)", "fp16_exact_ms", "fp16_exact_recall"),
    ("faiss `IndexScalarQuantizer` bf16 (recall)", "faiss_sq_bf16_ms", "faiss_sq_bf16_recall"),
]


def table(report: dict[str, Any]) -> str:
    """Markdown tables: p50s (ms) per size, then the ratios against the targets."""
    res = report["results"]
    head = "| method | " + " | ".join(f"{r['items']:,} x {r['factors']}" for r in res) + " |"
    lines = [head, "|" + " --- |" * (len(res) + 1)]
    for label, key, extra in ROWS:
        cells = [f"{r[key]:.2f} ms" + (f" (recall {r[extra]:.4f})" if extra else "") for r in res]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    sizes = sorted({int(key[5:-3]) for r in res for key in r if key.startswith("batch") and key[5:-3].isdigit()})
    for b in sizes:
        cells = [f"ours {r[f'batch{b}_ms']:.1f} ms ({100 * r[f'batch{b}_vs_sgemm']:.0f}% of sgemm); reference "
                 f"{r[f'batch{b}_reference_ms']:.1f}; implicit {r[f'batch{b}_implicit_ms']:.1f}; "
                 f"faiss {r[f'batch{b}_faiss_ms']:.1f}" for r in res]
        lines.append(f"| batch of {b} | " + " | ".join(cells) + " |")
    lines += ["", "| ratio (target) | " + " | ".join(f"{r['items']:,}" for r in res) + " |",
              "|" + " --- |" * (len(res) + 1)]
    for label, key in [("implicit / ours (>= 1.3)", "speedup_vs_implicit"),
                       ("implicit / ours bf16-exact", "bf16_exact_speedup_vs_implicit"),
                       ("implicit / faiss", "faiss_speedup_vs_implicit"),
                       ("faiss / ours", "speedup_vs_faiss"),
                       ("faiss / ours bf16-exact", "bf16_exact_speedup_vs_faiss"),
                       ("ours / limit (<= 1.25)", "ours_vs_limit"),
                       ("ours / limit, warm pairs", "ours_vs_limit_warm"),
                       ("ours bf16-exact / limit", "bf16_exact_vs_limit"),
                       ("ours bf16-exact / bf16 stream, warm pairs", "bf16_vs_limit_warm"),
                       ("implicit / limit", "implicit_vs_limit"),
                       ("faiss / limit", "faiss_vs_limit"),
                       ("reference path / limit", "reference_vs_limit"),
                       ("filters+decay+excl. %, paired p50 (<= 5)", "filter_overhead_pct"),
                       ("  same in us", "filter_overhead_us"),
                       ("  noise floor: plain vs plain (A/A) %", "filter_aa_noise_pct"),
                       ("same, bf16-exact %, paired p50", "bf16_filter_overhead_pct"),
                       *[(f"batch {b}: ours / sgemm (>= 0.70)", f"batch{b}_vs_sgemm") for b in sizes],
                       *[(f"batch {b}: reference path / sgemm", f"batch{b}_reference_vs_sgemm") for b in sizes],
                       *[(f"batch {b}: implicit / sgemm", f"batch{b}_implicit_vs_sgemm") for b in sizes],
                       *[(f"batch {b}: faiss / sgemm", f"batch{b}_faiss_vs_sgemm") for b in sizes]]:
        lines.append(f"| {label} | " + " | ".join(f"{r[key]}" for r in res) + " |")
    m = report["machine"]
    lines.append(f"\nmachine sgemm rate: {m['sgemm_gflops']} GFLOP/s (one thread); numba {m['numba']}, "
                 f"faiss {m['faiss']}, load average {m['load_avg'][0]:.2f} at start, {m['load_avg'][1]:.2f} at the end")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--factors", type=int, default=64)
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--batches", type=int, nargs="*", default=[16, 256])
    ap.add_argument("--batch-repeats", type=int, default=3, help="rounds per batch method (p50 is reported)")
    ap.add_argument("--json", help="also write the full report to this JSON file")
    a = ap.parse_args(argv)
    report = run(a.items, a.factors, a.k, repeats=a.repeats, batches=tuple(a.batches), batch_repeats=a.batch_repeats)
    print(table(report))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
