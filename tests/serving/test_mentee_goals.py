"""The set_goal seam: one row's goals rewritten in the mentees table, whatever its format, and in memory."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from catalog.datadir import DataDir
from catalog.errors import UnknownUserError
from catalog.eventlog import EventLog
from catalog.loaders import load_world
from catalog.schema import Goal
from catalog.tables import read_table
from catalog.writers import atomic_write_jsonl, atomic_write_parquet, mentees_frame, save_world
from serving.mentee_goals import save_goal, with_goal
from serving.userstate import MenteeContexts

NOW = datetime(2026, 11, 15, tzinfo=timezone.utc)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_save_goal_rewrites_one_row(tiny_world, tmp_path, suffix):
    dd = DataDir(tmp_path).ensure()
    save_world(tiny_world, dd)
    if suffix != ".csv":
        frame = mentees_frame(tiny_world.mentees.values()).astype(object)
        frame = frame.where(frame.notna(), None)
        dd.mentees.unlink()
        path = tmp_path / f"mentees{suffix}"
        if suffix == ".jsonl":
            atomic_write_jsonl(frame.to_dict("records"), path)
        else:
            atomic_write_parquet(frame.astype(str).replace("None", ""), path)
    world = load_world(dd)
    before = {u: m for u, m in world.mentees.items()}
    user = sorted(world.mentees)[0]
    with EventLog(dd.events_db) as log:
        contexts = MenteeContexts(log, world)
        old = contexts.get(user, now=NOW)
        saved = save_goal(dd.root, world, contexts, user, Goal("sql", 3, date(2027, 6, 30)))
        assert contexts.get(user, now=NOW) is not old  # the cached context was dropped
        assert [g.skill_id for g in contexts.get(user, now=NOW).goals] == [g.skill_id for g in saved.goals]
    assert saved.goals[-1] == Goal("sql", 3, date(2027, 6, 30)) and world.mentees[user] == saved
    reread = load_world(dd)
    assert reread.mentees[user].goals == saved.goals
    assert {u: m for u, m in reread.mentees.items() if u != user} == {u: m for u, m in before.items() if u != user}
    assert len(read_table(next(tmp_path.glob("mentees.*")))) == len(before)
    with pytest.raises(UnknownUserError):
        save_goal(dd.root, world, contexts, "nobody", Goal("sql", 3))


def test_with_goal_replaces_the_same_skill(tiny_world):
    m = next(iter(tiny_world.mentees.values()))
    first = m.goals[0]
    changed = with_goal(m, Goal(first.skill_id, 5))
    assert changed.goals[0] == Goal(first.skill_id, 5) and len(changed.goals) == len(m.goals)
