from __future__ import annotations

import json

import pandas as pd
import pytest

from skillpath_cli.main import cli
from skillpath_cli.common import run_cli
from tests.training.conftest import write_data_dir


def _files(tmp_path, block):
    ev = block.events
    cut = ev.timestamp.quantile(0.8)
    cat = tmp_path / "cat.csv"
    pd.DataFrame({"item_id": block.world.catalog.items.to_list()}).to_csv(cat, index=False)  # item_id only
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    ev[ev.timestamp < cut][["user_id", "item_id", "timestamp", "event_type"]].to_csv(train, index=False)
    ev[ev.timestamp >= cut][["user_id", "item_id", "timestamp"]].to_csv(test, index=False)  # no event_type
    return cat, train, test


def test_evaluate_json_has_one_object_per_model_with_k_in_the_keys(tmp_path, block, capsys):
    cat, train, test = _files(tmp_path, block)
    rc = run_cli(cli, ["evaluate", "--catalog", str(cat), "--train", str(train), "--test", str(test),
                       "--model", "popularity,ease", "--k", "5", "--format", "json"])
    assert rc == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["model"] for r in lines] == ["popularity", "ease"]
    for r in lines:
        for key in ("precision@5", "recall@5", "ndcg@5", "map@5", "hit_rate@5", "fit_seconds"):
            assert key in r
        assert 0.0 <= r["ndcg@5"] <= 1.0
    assert lines[1]["ndcg@5"] > lines[0]["ndcg@5"]


@pytest.mark.parametrize("problem", ["missing", "bad_row", "no_column", "unknown_model"])
def test_evaluate_bad_input_exits_2_with_one_line(tmp_path, block, capsys, problem):
    cat, train, test = _files(tmp_path, block)
    model = "als"
    if problem == "missing":
        train = tmp_path / "nope.csv"
    elif problem == "bad_row":
        train.write_text("user_id,item_id,timestamp\nu1,not-in-catalog,2026-01-01\nu1,b0-i01,yesterday\n")
    elif problem == "no_column":
        train.write_text("user,item_id,timestamp\nu1,b0-i01,2026-01-01\n")
    else:
        model = "magic"
    rc = run_cli(cli, ["evaluate", "--catalog", str(cat), "--train", str(train), "--test", str(test),
                       "--model", model, "--format", "json"])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and err.startswith("error:")


def test_train_then_models_list_promote_rollback(tmp_path, block, capsys):
    dd = write_data_dir(tmp_path / "data", block)
    base = ["--data-dir", str(dd.root)]
    assert run_cli(cli, [*base, "train", "--model", "ease"]) == 0
    out = capsys.readouterr().out
    assert "ndcg@10" in out and "registered ease as version 1" in out and "promoted to @champion" in out
    assert "auto (ease): recency_weight=" in out  # the recency settings chosen at training time
    assert run_cli(cli, [*base, "train", "--model", "popularity"]) == 0
    assert "not promoted" in capsys.readouterr().out
    assert run_cli(cli, [*base, "models", "list", "--format", "json"]) == 0
    rows = {r["version"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["1"]["aliases"] == "champion" and rows["2"]["gate"] == "rejected"
    assert run_cli(cli, [*base, "models", "promote", "2"]) == 0
    assert "version 2 is @champion (was version 1)" in capsys.readouterr().out
    assert run_cli(cli, [*base, "models", "rollback"]) == 0
    assert "version 1 is @champion again" in capsys.readouterr().out
    assert run_cli(cli, [*base, "models", "rollback"]) == 2  # nothing before version 1
    assert run_cli(cli, [*base, "models", "promote", "9"]) == 2
    assert "no version 9" in capsys.readouterr().err
