"""A mentee's goal: :func:`with_goal` (one goal replaced or added), and :func:`save_goal`, which
writes it into the data dir's mentees file (the import format).

The service saves goals through the entity store (``SkillPathApp._save_goal`` uses
:func:`with_goal`), so every worker sees them; :func:`save_goal` edits the file itself:
it rewrites that one row's ``goals`` cell in place (other rows, columns and the file's
format untouched; atomic temp-file-and-rename under an exclusive lock).
"""

from __future__ import annotations

import dataclasses
import fcntl
import threading
from pathlib import Path

from catalog.catalog import World
from catalog.datadir import DataDir
from catalog.errors import UnknownUserError
from catalog.loaders import find_table
from catalog.schema import Goal, Mentee, format_goals, parse_goals
from catalog.tables import is_missing, read_table
from catalog.writers import atomic_write_csv, atomic_write_jsonl, atomic_write_parquet
from serving.userstate import MenteeContexts

__all__ = ["save_goal", "with_goal"]

_LOCK = threading.Lock()


def with_goal(mentee: Mentee, goal: Goal) -> Mentee:
    """``mentee`` with ``goal`` replacing their goal on the same skill, else added last."""
    goals = [goal if g.skill_id == goal.skill_id else g for g in mentee.goals]
    if all(g.skill_id != goal.skill_id for g in mentee.goals):
        goals.append(goal)
    return dataclasses.replace(mentee, goals=tuple(goals))


def save_goal(data_dir: str | Path, world: World, contexts: MenteeContexts, user_id: str, goal: Goal) -> Mentee:
    """Record ``goal`` for ``user_id`` in the data dir's mentees table and in this process; returns the mentee.

    Raises :class:`UnknownUserError` when the mentee has no row (a profile is created by
    importing it, not by a chat message).
    """
    dd = DataDir(data_dir)
    path = find_table(dd, "mentees")
    if path is None or user_id not in world.mentees:
        raise UnknownUserError(user_id, "no profile in the mentees file of the data dir")
    with _LOCK, open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        df = read_table(path)
        rows = df.index[df["user_id"].astype(str).str.strip() == user_id]
        if len(rows) == 0:
            raise UnknownUserError(user_id, f"no row in {path.name}")
        cell = df.at[rows[0], "goals"] if "goals" in df.columns else None
        on_file = () if cell is None or (not isinstance(cell, list) and is_missing(cell)) else parse_goals(cell)
        # the file's goals, not this process's copy: another worker may have changed them since it loaded
        mentee = with_goal(dataclasses.replace(world.mentees[user_id], goals=on_file), goal)
        value: object = [format_goals((g,)) for g in mentee.goals] if isinstance(cell, list) \
            else format_goals(mentee.goals)
        df["goals"] = df["goals"].astype(object) if "goals" in df.columns else ""
        df.at[rows[0], "goals"] = value
        suffix = path.suffix.lower()
        if suffix == ".csv":
            atomic_write_csv(df, path)
        elif suffix == ".parquet":
            atomic_write_parquet(df.reset_index(drop=True), path)
        else:
            atomic_write_jsonl(df.to_dict("records"), path)
        world.mentees[user_id] = mentee
    contexts.forget(user_id)
    return mentee
