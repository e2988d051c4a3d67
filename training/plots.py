"""Figures logged with each training run (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from typing import Any

import numpy as np

from training.evaluate import Comparison

__all__ = ["ndcg_curve_figure", "freshness_figure", "comparison_markdown"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def ndcg_curve_figure(comparison: Comparison) -> Any:
    """NDCG@k for k = 1..20, one line per model."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, r in comparison.results.items():
        ks = np.arange(1, len(r.ndcg_curve) + 1)
        ax.plot(ks, r.ndcg_curve, marker="o", markersize=3, label=name)
    ax.set_xlabel("k (list length)")
    ax.set_ylabel("NDCG@k")
    ax.set_title(f"NDCG@k by model ({comparison.split} split)")
    ax.set_xticks(range(1, 21, 2))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def freshness_figure(comparison: Comparison, stale_threshold: float = 0.5) -> Any:
    """Histogram of the freshness of every recommended slot, per model, with the stale line."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    bins = np.linspace(0.0, 1.0, 21)
    for name, r in comparison.results.items():
        if len(r.recommended_freshness):
            ax.hist(r.recommended_freshness, bins=bins, histtype="step", linewidth=1.5, label=name)
    ax.axvline(stale_threshold, color="grey", linestyle="--", label=f"stale below {stale_threshold}")
    ax.set_xlabel("freshness of recommended items (1 = new)")
    ax.set_ylabel(f"recommended slots (top {comparison.k})")
    ax.set_title("What gets recommended: freshness")
    ax.legend()
    fig.tight_layout()
    return fig


def comparison_markdown(comparison: Comparison, digits: int = 4) -> str:
    """The comparison table as a GitHub-flavoured markdown table."""
    t = comparison.table
    header = "| " + " | ".join(t.columns) + " |"
    rule = "| " + " | ".join("---" for _ in t.columns) + " |"

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return "" if np.isnan(v) else f"{v:.{digits}f}"
        return str(v)

    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in t.itertuples(index=False)]
    return "\n".join([header, rule, *rows]) + "\n"
