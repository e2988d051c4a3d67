"""`skillpath bench`: performance harnesses, run the same way the README quotes them."""

from __future__ import annotations

import json

import click

from skillpath_cli.common import UsageFailure, emit_table, progress

__all__ = ["bench"]


@click.group()
def bench() -> None:
    """Measure the hot paths on this machine (one thread, synthetic data).

    Ratios measured side by side in one run are what to compare: absolute times
    depend on the machine and on whatever else it is doing.
    """


@bench.command("topk")
@click.option("--items", type=int, default=1_000_000, show_default=True, help="Number of items (rows).")
@click.option("--factors", type=int, default=64, show_default=True, help="Factors per item (2 more columns hold bias and log-freshness).")
@click.option("--k", "k", type=int, default=20, show_default=True, help="How many items to return per user.")
@click.option("--repeats", type=int, default=21, show_default=True, help="Rounds per single-user method (p50 is reported).")
@click.option("--batches", default="16,256", show_default=True, help="Comma-separated batch sizes to time ('' for none).")
@click.option("--format", "fmt", type=click.Choice(["json", "table"]), default="json", show_default=True,
              help="json: one JSON object (all p50s, ratios, targets met); table: key figures.")
def topk_cmd(items: int, factors: int, k: int, repeats: int, batches: str, fmt: str) -> None:
    """Top-k scoring: ours vs implicit's topk vs faiss vs numpy vs the memory-bandwidth limit.

    Prints ours_ms, implicit_ms, faiss_ms, numpy_ms and limit_ms (p50s of this run), the batch
    GFLOP/s against this machine's sgemm rate, reduced-precision recall, and the ratios
    checked against the targets (>= 1.3x implicit, <= 1.25x the limit, filters <= 5%,
    batches >= 70% of sgemm, recall@k >= 0.995). 1M items x 64 factors uses ~700 MB.
    """
    if items < k or items < 1 or factors < 1 or k < 1 or repeats < 1:
        raise UsageFailure("need items >= k >= 1, factors >= 1 and repeats >= 1")
    try:
        sizes = tuple(int(b) for b in batches.split(",") if b.strip())
    except ValueError as e:
        raise UsageFailure(f"--batches must be comma-separated integers, got {batches!r}") from e
    from benchmarks.topk import run

    total = repeats + max(5, repeats // 3) + 1 + 3 * len(sizes)
    with progress(total=total, desc="bench topk", unit="round") as bar:
        report = run([items], factors, k, repeats=repeats, batches=sizes, progress=lambda: bar.update(1))
    result = {**report["results"][0], "machine": report["machine"]}
    if fmt == "json":
        click.echo(json.dumps(result))
        return
    keys = ["limit_ms", "implicit_ms", "faiss_ms", "numpy_ms", "ours_ms", "ours_filtered_ms", "ours_bf16_exact_ms",
            "bf16_approx_ms", "bf16_approx_recall", "speedup_vs_implicit", "ours_vs_limit", "ours_vs_limit_warm",
            "filter_overhead_pct", "filter_overhead_us",
            *(f"batch{b}_vs_sgemm" for b in sizes)]
    emit_table([{"metric": key, "value": result[key]} for key in keys], "table")
