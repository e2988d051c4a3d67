"""``skillpath features``: build -> apply -> materialize -> show, on a temp data dir."""

from __future__ import annotations

import json

import pytest

import skillpath_cli.features as features_cli
from skillpath_cli.main import cli
from skillpath_cli.common import run_cli
from tests.features.data import make_events, make_world

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _run(capsys, *argv):
    code = run_cli(cli, list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_build_apply_materialize_show(tmp_path, capsys, monkeypatch):
    events, world = make_events(), make_world()
    monkeypatch.setattr(features_cli, "_load_inputs", lambda root: (events, world))
    monkeypatch.delenv("SKILLPATH_ONLINE_STORE", raising=False)
    d = str(tmp_path)

    code, out, err = _run(capsys, "--data-dir", d, "features", "build", "--format", "json")
    assert code == 0, err
    built = {r["table"]: r for r in map(json.loads, out.splitlines())}
    assert set(built) == {"mentee_engagement", "mentee_skill_state", "resource_stats", "mentee_status"}
    assert built["mentee_engagement"]["entities"] == events.user_id.nunique()

    code, out, err = _run(capsys, "--data-dir", d, "features", "show", "u1")
    assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1

    assert _run(capsys, "--data-dir", d, "features", "apply")[0] == 0
    code, out, err = _run(capsys, "--data-dir", d, "features", "materialize")
    assert code == 0, err
    assert "materialized mentee_engagement, mentee_skill_state, resource_stats" in out

    code, out, err = _run(capsys, "--data-dir", d, "features", "show", "u1", "ghost", "--format", "json")
    assert code == 0, err
    rows = {r["user_id"]: r for r in map(json.loads, out.splitlines())}
    from training.features import compute_feature_frames

    last = compute_feature_frames(events, world).mentee_engagement.query("user_id == 'u1'").iloc[-1]
    assert rows["u1"]["events_30d"] == last.events_30d and rows["u1"]["completions_7d"] == last.completions_7d
    assert rows["ghost"]["events_30d"] is None and "ghost" in err


def test_user_errors_are_one_line_exit_2(tmp_path, capsys):
    code, _, err = _run(capsys, "--data-dir", str(tmp_path), "features", "build")
    assert code == 2 and "no world" in err
    code, _, err = _run(capsys, "--data-dir", str(tmp_path), "features", "--online", "memcached://x", "apply")
    assert code == 2 and "not supported" in err
    code, _, err = _run(capsys, "--data-dir", str(tmp_path), "features", "materialize")
    assert code == 2 and "features build" in err
