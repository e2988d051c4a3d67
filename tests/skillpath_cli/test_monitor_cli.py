"""`skillpath monitor status|alerts|ack`: the monitor in-process over the data dir's event log."""

from __future__ import annotations

import json

import pytest

from skillpath_cli.main import cli, run_cli
from tests.serving.world import make_served


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    return make_served(tmp_path_factory.mktemp("monitor") / "data")


def _run(served, capsys, *args: str) -> tuple[int, str, str]:
    code = run_cli(cli, ["--data-dir", str(served.root), "monitor", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_status_text_and_json(served, capsys):
    code, out, err = _run(served, capsys, "status", "u000")
    assert code == 0, err
    assert out.startswith("u000 at ") and "goal block" in out
    code, out, _ = _run(served, capsys, "status", "u000", "--format", "json")
    assert json.loads(out)["user_id"] == "u000"
    code, out, err = _run(served, capsys, "status", "ghost")
    assert code == 2 and err.startswith("error: unknown mentee: 'ghost'")


def test_alerts_then_ack_and_snooze(served, capsys):
    code, out, err = _run(served, capsys, "alerts", "--format", "json", "--limit", "100000")
    assert code == 0, err
    alerts = json.loads(out)["alerts"]
    assert alerts and all(a["state"] == "open" for a in alerts)
    first, second = alerts[0]["alert_id"], alerts[1]["alert_id"]
    code, out, err = _run(served, capsys, "ack", first, "--note", "called")
    assert code == 0 and "acknowledged" in out, err
    code, out, err = _run(served, capsys, "ack", second, "--snooze-until", "2099-01-01")
    assert code == 0 and "snoozed until 2099-01-01" in out, err
    code, out, err = _run(served, capsys, "alerts", "--limit", "100000")
    assert code == 0 and first not in out and second not in out and "alert(s)" in err
    code, out, _ = _run(served, capsys, "alerts", "--all", "--limit", "100000")
    assert first in out and second in out


@pytest.mark.parametrize(("args", "message"), [
    (("alerts", "--cohort", "spring"), "cohort"), (("alerts", "--min-risk", "0.5"), "--min-risk"),
    (("ack", "al-000000000000000000000000"), "unknown alert"), (("ack", "x", "--snooze-until", "2001-01-01"), "")])
def test_bad_input_is_one_line_and_exit_2(served, capsys, args, message):
    code, out, err = _run(served, capsys, *args)
    assert code == 2 and err.startswith("error") and len(err.strip().splitlines()) == 1
    assert message in err


def test_train_on_synthetic_outcomes_then_the_service_scores(tmp_path, capsys):
    from catalog.datadir import DataDir
    from catalog.synth import SynthConfig, generate
    from catalog.synth.store import save_synth

    dd = DataDir(tmp_path / "synth")
    save_synth(generate(SynthConfig(seed=3, n_mentees=600, n_mentors=20, days=150, sessions=False)), dd)
    code = run_cli(cli, ["--data-dir", str(dd.root), "monitor", "train", "--min-auc", "0"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "validation" in out and "gate passed" in out and "(run " in out
    assert (dd.models / "at_risk" / "model.npz").exists()
    code = run_cli(cli, ["--data-dir", str(dd.root), "monitor", "alerts", "--min-risk", "0", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    page = json.loads(out)
    assert page["model"] is True and all(0 <= a["risk"] <= 1 for a in page["alerts"])
    code = run_cli(cli, ["--data-dir", str(dd.root), "monitor", "train", "--min-auc", "1", "--no-track"])
    assert code == 1 and "gate failed" in capsys.readouterr().err
