"""`skillpath ask`: the virtual mentor in-process, conversations continued across invocations."""

from __future__ import annotations

import json

import pytest

from catalog.datadir import DataDir
from skillpath_cli.entities import store_world
from skillpath_cli.main import cli, run_cli
from tests.serving.world import make_served


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    return make_served(tmp_path_factory.mktemp("ask") / "data")


def _ask(served, capsys, *args: str) -> tuple[int, str, str]:
    code = run_cli(cli, ["--data-dir", str(served.root), "ask", *args, "--model-dir", str(served.model_dir)])
    out, err = capsys.readouterr()
    return code, out, err


def test_ask_text_then_continue_the_conversation(served, capsys):
    code, out, err = _ask(served, capsys, "u003", "find me resources on Block 2")
    assert code == 0, err
    assert out.startswith("I found 5 resources on Block 2") and "conversation " in err
    cid = err.split("conversation ")[1].split()[0]
    code, out, err = _ask(served, capsys, "u003", "what about videos?", "--conversation", cid, "--format", "json")
    assert code == 0, err
    resp = json.loads(out)
    assert resp["conversation_id"] == cid and resp["intent"] == "search"
    assert resp["entities"]["skills"] == ["block2"] and resp["entities"]["types"] == ["video"]
    assert {c["item_id"] for c in resp["cards"]} == {"b2-i01", "b2-i06", "b2-i11"}


def test_ask_sets_a_goal_after_yes(served, capsys):
    code, out, err = _ask(served, capsys, "u005", "set my goal to Block 2 level 3")
    assert code == 0 and out.startswith("Shall I set your goal to Block 2 at level 3?")
    cid = err.split("conversation ")[1].split()[0]
    code, out, err = _ask(served, capsys, "u005", "yes", "--conversation", cid)
    assert code == 0 and out.startswith("Done: your goal is now Block 2 at level 3")
    world = store_world(DataDir(served.root))  # the entity store holds the profile now
    assert ("block2", 3) in [(g.skill_id, g.level) for g in world.mentees["u005"].goals]


@pytest.mark.parametrize("args, msg", [
    (["u003", ""], "error: message:"),
    (["u003", "x" * 2001], "error: message:"),
    (["u003", "and shorter?", "--conversation", "bad"], "error: --conversation:"),
    (["u003", "and shorter?", "--conversation", "A" * 22], "error: conversation_id: unknown or expired"),
])
def test_bad_input_is_one_line_and_exit_2(served, capsys, args, msg):
    code, out, err = _ask(served, capsys, *args)
    assert code == 2 and err.startswith(msg) and len(err.strip().splitlines()) == 1 and out == ""
