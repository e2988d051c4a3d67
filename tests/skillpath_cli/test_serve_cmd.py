"""`skillpath serve` (the command it execs) and `skillpath recommend` (in-process)."""

from __future__ import annotations

import json
import sys

from skillpath_cli.main import cli, run_cli
from skillpath_cli.serve import SERVICE, serve_command
from tests.serving.world import make_served


def test_serve_command(tmp_path):
    served = make_served(tmp_path / "data")
    argv, env = serve_command(served.root, host="127.0.0.1", port=3123, workers=2, model_dir=str(served.model_dir),
                              env={})
    assert argv[:4] == [sys.executable, "-m", "bentoml", "serve"] and SERVICE in argv
    assert argv[argv.index("--host") + 1] == "127.0.0.1" and argv[argv.index("--port") + 1] == "3123"
    assert env["SKILLPATH_DATA_DIR"] == str(served.root) and env["SKILLPATH_WORKERS"] == "2"
    assert env["SKILLPATH_MODEL_DIR"] == str(served.model_dir.resolve())


def test_serve_without_a_world_is_a_one_line_error(tmp_path, capsys):
    code = run_cli(cli, ["--data-dir", str(tmp_path / "empty"), "serve"])
    assert code == 2 and "no world" in capsys.readouterr().err


def test_recommend_cli(tmp_path, capsys):
    served = make_served(tmp_path / "data")
    code = run_cli(cli, ["--data-dir", str(served.root), "recommend", "u000", "--k", "3", "--model-dir",
                         str(served.model_dir), "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 3 and all(r["reasons"] for r in rows)
    assert "personalised" in err


def test_recommend_cli_says_when_a_goal_is_not_ready(tmp_path, capsys):
    """A goal whose items all need a prerequisite the mentee lacks (block 3 needs block 2): the CLI prints the
    service's note and the next steps, each naming the goal, instead of an unexplained empty table."""
    served = make_served(tmp_path / "data")
    user = next(u for u, b in sorted(served.user_block.items()) if b == 0)
    code = run_cli(cli, ["--data-dir", str(served.root), "recommend", user, "--k", "3", "--goal", "block3",
                         "--model-dir", str(served.model_dir), "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows and all(r["reasons"].startswith("prerequisite of block3") for r in rows)
    assert "nothing teaching block3 is ready for you yet" in err
