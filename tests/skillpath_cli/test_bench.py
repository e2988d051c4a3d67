"""`skillpath bench topk` prints one JSON object with the agreed keys (not timings)."""

from __future__ import annotations

import json

from skillpath_cli.main import cli
from skillpath_cli.common import run_cli


def test_bench_topk_json_has_p50s_and_ratios(capsys):
    code = run_cli(cli, ["bench", "topk", "--items", "3000", "--factors", "8", "--k", "5",
                         "--repeats", "2", "--batches", "4"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("ours_ms", "implicit_ms", "limit_ms", "numpy_ms", "speedup_vs_implicit", "ours_vs_limit",
                "filter_overhead_pct", "batch4_vs_sgemm", "bf16_approx_recall", "targets_met"):
        assert key in out, key
    assert out["items"] == 3000 and out["factors"] == 8 and out["k"] == 5
    assert out["bf16_exact_recall"] == 1.0 and out["fp16_exact_recall"] == 1.0  # exact paths are exact
    assert out["ours_ms"] > 0 and out["limit_ms"] > 0


def test_bench_topk_rejects_bad_sizes(capsys):
    assert run_cli(cli, ["bench", "topk", "--items", "3", "--k", "5"]) == 2
    assert "items >= k" in capsys.readouterr().err
