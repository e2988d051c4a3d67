"""``skillpath path``, ``skillpath skills show`` and ``skillpath evaluate-paths``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from catalog.datadir import DataDir
from catalog.eventlog import EventLog
from catalog.schema import EVENT_COLUMNS
from catalog.writers import save_world
from recommender.interactions import build_id_maps, build_interactions
from recommender.models import make_model
from skillpath_cli.common import run_cli
from skillpath_cli.main import COMMANDS, cli
from skillpath_cli.path import find_local_model

AS_OF = "2026-11-01"


def _events(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["user_id", "item_id", "event_type", "timestamp"])
    df["event_id"] = [f"e{i}" for i in range(len(df))]
    df["value"] = np.nan
    df["source"] = "test"
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True).astype("datetime64[us, UTC]")
    return df.loc[:, list(EVENT_COLUMNS)]


EVENTS = [("u1", "pr-101", "complete", "2026-10-01"), ("u2", "sql-101", "view", "2026-10-01"),
          ("u2", "pd-101", "view", "2026-10-02"), ("u9", "sql-101", "view", "2026-10-03")]


@pytest.fixture
def data(tmp_path, tiny_world) -> DataDir:
    dd = DataDir(tmp_path / "data")
    save_world(tiny_world, dd)
    with EventLog(dd.events_db) as log:
        log.append(_events(EVENTS))
    return dd


def run(capsys, dd: DataDir, *args: str) -> tuple[int, str, str]:
    code = run_cli(cli, ["--data-dir", str(dd.root), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_commands_are_registered():
    assert {"path", "skills", "evaluate-paths"} <= set(COMMANDS)


def test_path_table_without_a_model_uses_popularity(capsys, data):
    code, out, err = run(capsys, data, "path", "u1", "--as-of", AS_OF)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "Learning path for u1 toward LLM applications (llm-apps) level 3"
    assert "180 min/week for 12 weeks; scores: popularity from the event log (no trained model)" in lines[1]
    assert lines[2].split() == ["step", "skill", "level", "resource", "type", "minutes", "eta", "why"]
    body = [ln for ln in lines[4:] if ln[:1].isdigit()]
    assert body[0].split()[:4] == ["1", "sql", "2", "sql-101"]          # pr-101 is completed: not planned
    assert all("pr-101" not in ln for ln in body)
    assert any(ln.startswith("not reached: pandas (pandas)") for ln in lines)
    assert lines[-1].startswith("mastery: prompting 0.06, python 0.60")  # BKT prior 0.05 (calibrated, #17)


def test_path_json_with_goals_and_options(capsys, data):
    code, out, _ = run(capsys, data, "path", "u2", "--goal", "prompting:3", "--goal", "sql", "--max-steps", "2",
                       "--minutes-per-week", "60", "--no-prerequisites", "--as-of", AS_OF, "--format", "json")
    assert code == 0
    v = json.loads(out)
    assert [(g["skill"], g["level"]) for g in v["goals"]] == [("prompting", 3), ("sql", 3)]
    assert v["minutes_per_week"] == 60 and v["prerequisites"] is False and len(v["steps"]) == 2
    assert v["steps"][0]["eta"] >= AS_OF


@pytest.mark.parametrize("args, message", [
    (["path", "nobody"], "error: unknown mentee: 'nobody'"),
    (["path", "u1", "--goal", "rust:2", "--goal", "ml:3", "--goal", "go"], "error: unknown skill: 'rust', 'go'"),
    (["path", "u1", "--goal", "ml:9"], "error: goal ml: level 9 must be 1-5"),
    (["skills", "show", "nope"], "error: unknown skill: 'nope'"),
])
def test_user_errors_are_one_line_and_exit_2(capsys, data, args, message):
    code, out, err = run(capsys, data, *args)
    assert code == 2 and out == ""
    assert err.splitlines()[0].startswith(message) and len(err.splitlines()) == 1


def test_path_scores_with_the_newest_saved_model(capsys, data, tiny_world):
    cat = tiny_world.catalog
    ev = _events(EVENTS)
    users, items = build_id_maps(ev, catalog=cat, mentees=tiny_world.mentees.values())
    model = make_model("ease", regularization=1.0).fit(build_interactions(ev, users=users, items=items))
    model.save(data.models / "run-1" / "model", id_maps={"users": users, "items": items})
    assert find_local_model(data) == data.models / "run-1" / "model"
    code, out, _ = run(capsys, data, "path", "u1", "--as-of", AS_OF)
    assert code == 0 and f"scores: ease model at {data.models / 'run-1' / 'model'}" in out


def test_skills_show(capsys, data):
    code, out, _ = run(capsys, data, "skills", "show", "pandas")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "pandas (pandas), domain data, half-life 730 days"
    assert lines[1] == "1 active resource(s): L1 0, L2 1, L3 0, L4 0, L5 0"
    i = lines.index("Prerequisites (reach this level first):")
    assert [ln.split() for ln in lines[i + 3:i + 5]] == [["python", "Python", "3"], ["sql", "SQL", "2"]]
    assert lines[-1].split() == ["ml", "Machine", "learning", "3"]
    code, out, _ = run(capsys, data, "skills", "show", "sql", "--format", "json")
    assert json.loads(out)["dependents"] == [{"skill_id": "pandas", "name": "pandas", "level": 2}]


def test_evaluate_paths_quick_writes_the_tables(capsys, data, tmp_path):
    out_md = tmp_path / "eval.md"
    code, out, err = run(capsys, data, "evaluate-paths", "--quick", "--no-mlflow", "--out", str(out_md),
                         "--format", "json")
    assert code == 0, err
    rows = [json.loads(ln) for ln in out.splitlines()]
    policies = {r["policy"] for r in rows}
    assert policies == {"planner", "planner-fullcredit", "planner-nocredit", "planner-noprereq", "goal-topk", "topk",
                        "hybrid", "popularity", "random"}
    assert all(-1.0 <= r["E"] <= 1.0 for r in rows)
    assert out_md.read_text().startswith("| slice | policy | E |")


def test_skills_list_every_skill_with_half_life_and_resources(data, capsys):
    code = run_cli(cli, ["--data-dir", str(data.root), "skills", "list", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    cat_skills = {r["skill_id"] for r in rows}
    from catalog.loaders import load_world
    world = load_world(data)
    assert cat_skills == set(world.catalog.skill_ids)
    assert all(isinstance(r["resources"], int) for r in rows)


def test_overdue_goal_is_flagged(tmp_path, tiny_world, capsys):
    import dataclasses
    from datetime import date

    from catalog.schema import Goal

    late = dataclasses.replace(tiny_world.mentees["u1"], goals=(Goal("ml", 3, date(2026, 1, 1)),))
    world = dataclasses.replace(tiny_world, mentees={**tiny_world.mentees, "u1": late})
    dd = DataDir(tmp_path / "late")
    save_world(world, dd)
    code = run_cli(cli, ["--data-dir", str(dd.root), "path", "u1", "--as-of", AS_OF, "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    goal = json.loads(out)["goals"][0]
    assert goal["overdue"] is True and goal["met"] is False
    code = run_cli(cli, ["--data-dir", str(dd.root), "path", "u1", "--as-of", AS_OF])
    assert "by 2026-01-01 [OVERDUE]" in capsys.readouterr().out
