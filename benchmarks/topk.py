"""Top-k scoring benchmark: ours vs implicit vs numpy vs the memory-bandwidth limit.

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

import numpy as np  # noqa: E402

from recommender import _kernels as K  # noqa: E402
from recommender.scoring import ScoringIndex  # noqa: E402

__all__ = ["run", "run_single", "main"]

TARGETS = {
    "speedup_vs_implicit": 1.3,      # implicit_ms / ours_ms >=
    "ours_vs_limit": 1.25,           # ours_ms / limit_ms <=
    "filter_overhead_pct": 5.0,      # <=
    "batch_vs_sgemm": 0.70,          # achieved / machine sgemm rate >=
    "reduced_recall": 0.995,         # recall@k of reduced precision >=
}


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


def _sgemm_gflops(repeats: int = 3, size: int = 1024) -> float:
    """The machine's float32 matmul rate (GFLOP/s, best of N) on one plain large product."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    out = np.empty((size, size), np.float32)
    np.matmul(a, b, out=out)
    best = min(_timed(lambda: np.matmul(a, b, out=out)) for _ in range(repeats))
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
    ix = ScoringIndex(v, item_bias=bias, log_freshness=lf, freshness_weight=0.5)
    del v
    return ix, rng


def _with_active(index: ScoringIndex, active: np.ndarray) -> ScoringIndex:
    """The same index (shared arrays) with an ``active`` mask, as a catalog would give."""
    new = ScoringIndex.__new__(ScoringIndex)
    new.__dict__.update(index.__dict__)
    new.active_ = active
    return new


def _recall(approx: ScoringIndex, users: np.ndarray, ref: np.ndarray, k: int) -> float:
    hits = sum(np.intersect1d(approx.recommend(u, k, decay=False)[0], ref[r]).size for r, u in enumerate(users))
    return hits / (k * len(users))


def run_single(n: int, d: int, k: int, *, repeats: int = 21, batches: tuple[int, ...] = (16, 256),
               batch_repeats: int = 3, recall_users: int = 200, seed: int = 0,
               sgemm_gflops: float | None = None, progress: Callable[[], None] | None = None,
               ) -> dict[str, Any]:
    """Measure one (items, factors) size; returns a flat dict of p50s, bests and ratios."""
    from implicit.cpu.topk import topk as implicit_topk

    ix, rng = _data(n, d, seed)
    m = ix.matrix_
    flat = m.reshape(-1)
    u = rng.standard_normal(d, dtype=np.float32)
    q = ix.query(u, decay=False)
    q2 = q[None, :].copy()
    allow = rng.random(n) < 0.9
    exclude = rng.integers(0, n, 50)
    active = rng.random(n) < 0.95
    bf16 = ix.with_dtype("bfloat16")
    fp16 = ix.with_dtype("float16")
    ix_filtered, bf16_filtered = _with_active(ix, active), _with_active(bf16, active)

    def numpy_baseline():
        s = m @ q
        top = np.argpartition(s, -k)[-k:]
        return top[np.argsort(-s[top], kind="stable")]

    single = _interleaved({
        "limit": lambda: K.stream_sum(flat),
        "implicit": lambda: implicit_topk(m, q2, k, num_threads=1),
        "numpy": numpy_baseline,
        "ours": lambda: ix.recommend(u, k, decay=False),
        "ours_filtered": lambda: ix_filtered.recommend(u, k, allow=allow, exclude=exclude, decay=True),
        "ours_bf16_exact": lambda: bf16.recommend(u, k, decay=False),
        "ours_bf16_filtered": lambda: bf16_filtered.recommend(u, k, allow=allow, exclude=exclude),
    }, repeats, progress)
    reduced_fns = {}
    for name, base in (("bf16", bf16), ("fp16", fp16)):
        reduced_fns[f"{name}_approx"] = base.with_dtype(base.dtype, exact=False)
        reduced_fns[f"{name}_exact"] = base
    reduced = _interleaved({name: (lambda r=r: r.recommend(u, k, decay=False)) for name, r in reduced_fns.items()},
                           max(5, repeats // 3), progress)
    numpy_sum = min(_timed(lambda: flat.sum()) for _ in range(3)) * 1e3  # second calibration

    out: dict[str, Any] = {"items": n, "factors": d, "k": k, "matrix_mb": round(m.nbytes / 2**20, 1)}
    limit = min(single["limit"]["p50"], numpy_sum)
    for name, t in single.items():
        out[f"{name}_ms"] = round(t["p50"], 3)
        out[f"{name}_best_ms"] = round(t["best"], 3)
    out["limit_ms"] = round(limit, 3)
    out["limit_gbs"] = round(m.nbytes / limit / 1e6, 1)
    out["speedup_vs_implicit"] = round(single["implicit"]["p50"] / single["ours"]["p50"], 3)
    out["speedup_vs_numpy"] = round(single["numpy"]["p50"] / single["ours"]["p50"], 3)
    out["ours_vs_limit"] = round(single["ours"]["p50"] / limit, 3)
    out["filter_overhead_pct"] = round(100 * (single["ours_filtered"]["p50"] / single["ours"]["p50"] - 1), 2)
    out["bf16_exact_speedup_vs_implicit"] = round(single["implicit"]["p50"] / single["ours_bf16_exact"]["p50"], 3)
    out["bf16_exact_vs_limit"] = round(single["ours_bf16_exact"]["p50"] / limit, 3)
    out["bf16_filter_overhead_pct"] = round(
        100 * (single["ours_bf16_filtered"]["p50"] / single["ours_bf16_exact"]["p50"] - 1), 2)

    # (g) reduced precision: time and recall@k against the exact answer over many users.
    users = rng.standard_normal((recall_users, d), dtype=np.float32)
    ref, _ = ix.recommend_batch(users, k, decay=False)
    for name, r in reduced_fns.items():
        out[f"{name}_ms"] = round(reduced[name]["p50"], 3)
        out[f"{name}_recall"] = round(_recall(r, users, ref, k), 5)

    # (f) batches: achieved GFLOP/s against the machine's sgemm rate.
    rate = sgemm_gflops if sgemm_gflops is not None else _sgemm_gflops()
    out["sgemm_gflops"] = round(rate, 1)
    for b in batches:
        ub = rng.standard_normal((b, d), dtype=np.float32)
        qb = np.hstack([ub, np.ones((b, 1), np.float32), np.zeros((b, 1), np.float32)])
        t = _interleaved({"ours": lambda: ix.recommend_batch(ub, k, decay=False),
                          "implicit": lambda: implicit_topk(m, qb, k, num_threads=1)}, batch_repeats, progress)
        gflops = 2 * n * m.shape[1] * b / (t["ours"]["p50"] / 1e3) / 1e9
        out[f"batch{b}_ms"] = round(t["ours"]["p50"], 2)
        out[f"batch{b}_implicit_ms"] = round(t["implicit"]["p50"], 2)
        out[f"batch{b}_gflops"] = round(gflops, 1)
        out[f"batch{b}_vs_sgemm"] = round(gflops / rate, 3)
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
    rate = _sgemm_gflops()
    results = [run_single(n, d, k, repeats=repeats, batches=batches, sgemm_gflops=rate, progress=progress, **kw)
               for n in items]
    return {"machine": {"python": platform.python_version(), "numpy": np.__version__,
                        "cpu": platform.processor() or platform.machine(), "threads": 1,
                        "sgemm_gflops": round(rate, 1)},
            "results": results}


ROWS = [
    ("bandwidth limit (stream read)", "limit_ms", None),
    ("implicit topk", "implicit_ms", None),
    ("numpy matvec + argpartition", "numpy_ms", None),
    ("ours exact, float32", "ours_ms", None),
    ("ours + filters + decay + 50 exclusions", "ours_filtered_ms", None),
    ("ours exact, bf16 scan + fp32 re-score", "ours_bf16_exact_ms", None),
    ("ours exact bf16 + filters + decay + excl.", "ours_bf16_filtered_ms", None),
    ("bf16 approximate (recall)", "bf16_approx_ms", "bf16_approx_recall"),
    ("fp16 approximate (recall)", "fp16_approx_ms", "fp16_approx_recall"),
    ("fp16 exact (fp32 re-score)", "fp16_exact_ms", "fp16_exact_recall"),
]


def table(report: dict[str, Any]) -> str:
    """Markdown table of p50s (ms) per size, then the ratios against the targets."""
    res = report["results"]
    head = "| method | " + " | ".join(f"{r['items']:,} x {r['factors']}" for r in res) + " |"
    lines = [head, "|" + " --- |" * (len(res) + 1)]
    for label, key, extra in ROWS:
        cells = [f"{r[key]:.2f} ms" + (f" (recall {r[extra]:.4f})" if extra else "") for r in res]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for b in sorted({int(k[5:-3]) for r in res for k in r if k.startswith("batch") and k.endswith("_ms")
                     and "implicit" not in k}):
        cells = [f"{r[f'batch{b}_ms']:.1f} ms, {r[f'batch{b}_gflops']:.0f} GFLOP/s "
                 f"({100 * r[f'batch{b}_vs_sgemm']:.0f}% of sgemm); implicit {r[f'batch{b}_implicit_ms']:.1f} ms"
                 for r in res]
        lines.append(f"| batch of {b} | " + " | ".join(cells) + " |")
    lines += ["", "| ratio (target) | " + " | ".join(f"{r['items']:,}" for r in res) + " |",
              "|" + " --- |" * (len(res) + 1)]
    for label, key in [("implicit / ours (>= 1.3)", "speedup_vs_implicit"),
                       ("implicit / ours-bf16-exact", "bf16_exact_speedup_vs_implicit"),
                       ("ours / limit (<= 1.25)", "ours_vs_limit"),
                       ("ours-bf16-exact / fp32 limit", "bf16_exact_vs_limit"),
                       ("filters+decay+excl. overhead % (<= 5)", "filter_overhead_pct"),
                       ("same, bf16 exact path %", "bf16_filter_overhead_pct")]:
        lines.append(f"| {label} | " + " | ".join(f"{r[key]}" for r in res) + " |")
    lines.append(f"\nmachine sgemm rate: {report['machine']['sgemm_gflops']} GFLOP/s (one thread)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--factors", type=int, default=64)
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--batches", type=int, nargs="*", default=[16, 256])
    ap.add_argument("--json", help="also write the full report to this JSON file")
    a = ap.parse_args(argv)
    report = run(a.items, a.factors, a.k, repeats=a.repeats, batches=tuple(a.batches))
    print(table(report))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
