"""``skillpath path`` (a mentee's learning path) and ``skillpath skills show`` (one skill).

Thin wrappers around :mod:`recommender.paths.answers`: load the world and the mentee's events,
build their context (:func:`recommender.context.mentee_context`, as the service does), get a
score vector (the registry's champion or a saved model if there is one, else the cold-start
popularity from the event log), call the core, print.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from catalog.datadir import DataDir
from catalog.errors import NotReadyError
from catalog.schema import empty_events
from skillpath_cli.catalog_cmd import _today_utc
from skillpath_cli.common import DateType
from catalog.settings import Settings
from skillpath_cli.common import data_dir, emit_table, format_option, progress, settings

if TYPE_CHECKING:  # pragma: no cover
    from recommender.context import MenteeContext

__all__ = ["path", "skills", "find_local_model", "load_events"]

MODEL_FILE = "model.json"  # what Recommender.save writes into a model directory


def find_local_model(dd: DataDir) -> Path | None:
    """A saved model directory under ``DATA_DIR/models``: ``models/champion`` if present, else
    the most recently written directory holding a ``model.json`` (any depth up to four, so
    a registry download, ``models/registry/v<N>/artifacts/model/``, counts)."""
    root = dd.models
    if not root.is_dir():
        return None
    if (root / "champion" / MODEL_FILE).is_file():
        return root / "champion"
    found = [p for depth in range(1, 5) for p in root.glob("*/" * depth + MODEL_FILE)]
    if not found:
        return None
    return max(found, key=lambda p: (p.stat().st_mtime, str(p))).parent


def _registry_champion(dd: DataDir, settings: Settings):
    """``(model, description)`` of the MLflow registry's ``@champion`` (the training
    pipeline's ``training.registry.load_champion``, checksums verified), or None when there
    is no tracking store or no champion."""
    if not (dd.mlflow / "mlflow.db").is_file():
        return None
    from training.registry import load_champion  # lazy: imports mlflow

    try:
        model, version, _, local = load_champion(settings, dd.root)
    except NotReadyError:
        return None
    return model, f"{model.name} model, registry champion v{version}"


def load_events(dd: DataDir, *, user_id: str | None = None) -> pd.DataFrame:
    """Events from the log (one user's, or all of them with a progress bar); empty without a log."""
    if not dd.events_db.exists():
        parquet = dd.root / "events.parquet"
        if parquet.is_file():
            ev = pd.read_parquet(parquet)
            return ev[ev["user_id"] == user_id] if user_id is not None else ev
        return empty_events()
    from catalog.eventlog import EventLog

    with EventLog(dd.events_db) as log:
        if user_id is not None:
            return log.user_events(user_id)
        total = log.count()
        batches = list(progress(log.iter_batches(100_000), total=max(1, -(-total // 100_000)),
                                desc="reading events", unit="batch"))
    return pd.concat(batches, ignore_index=True) if batches else empty_events()


def _scores(dd: DataDir, ctx: MenteeContext, model_path: Path | None, *, settings: Settings
            ) -> tuple[NDArray[np.float64], str]:
    """(scores over the catalog for the mentee of ``ctx``, where they came from).

    In order: ``--model DIR``; the registry champion; the newest model under
    ``DATA_DIR/models``; popularity computed from the event log up to ``ctx.now``.
    """
    from recommender.item_scores import model_scores, popularity_scores
    from recommender.models import load_model

    found = None
    if model_path is not None:
        model = load_model(model_path)
        found = model, f"{model.name} model at {model_path}"
    else:
        found = _registry_champion(dd, settings)
        local = find_local_model(dd) if found is None else None
        if local is not None:
            model = load_model(local)
            found = model, f"{model.name} model at {local}"
    if found is not None:
        return model_scores(found[0], ctx), found[1]
    return (popularity_scores(load_events(dd), ctx.catalog, now=ctx.now),
            "popularity from the event log (no trained model)")


def _why(reasons: list[str]) -> str:
    return "; ".join(reasons)


@click.command()
@click.argument("user_id")
@click.option("--goal", "goal_specs", multiple=True, metavar="SKILL[:LEVEL]",
              help="Plan toward this goal instead of the mentee's own (repeatable). Without a level: the "
                   "mentee's level for that goal, else 3.")
@click.option("--max-steps", type=click.IntRange(1, 50), default=10, show_default=True,
              help="At most this many resources in the path.")
@click.option("--minutes-per-week", type=click.IntRange(1, 10080), default=None,
              help="Study time per week for the time budget and ETAs (default: the mentee's, else 120).")
@click.option("--horizon-weeks", type=click.IntRange(1, 520), default=12, show_default=True,
              help="The time budget is minutes-per-week x this many weeks.")
@click.option("--no-prerequisites", is_flag=True,
              help="Plan the goal skills only, ignoring the prerequisite graph (the ablation).")
@click.option("--model", "--model-dir", "model_path", metavar="DIR", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="A saved model directory to score with (default: the MLflow registry's @champion, else the "
                   "newest model under DATA_DIR/models, else popularity from the event log).")
@click.option("--as-of", type=DateType(), default=None,
              help="Plan as of this date (ISO-8601; default: today, UTC): freshness, ETAs, events up to it.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def path(ctx: click.Context, user_id: str, goal_specs: tuple[str, ...], max_steps: int,
         minutes_per_week: int | None, horizon_weeks: int, no_prerequisites: bool, model_path: Path | None,
         as_of: datetime | None, fmt: str) -> None:
    """Plan USER_ID's learning path: which resources, in which order, to reach their goals.

    Mastery comes from the mentee's events (Bayesian Knowledge Tracing); completed and
    dismissed resources are never planned; prerequisites come before what needs them;
    every step says why. Scores from a trained model break ties between fitting
    resources. Unknown mentee or goal skill: one line on stderr, exit code 2.
    """
    from catalog.freshness import catalog_freshness
    from recommender.context import mentee_context
    from recommender.inferred import goals_from_history
    from skillpath_cli.entities import store_world
    from recommender.goals import parse_goal_spec
    from recommender.paths.answers import path_view

    dd = DataDir(data_dir(ctx))
    now = as_of or _today_utc()
    goals = [parse_goal_spec(g) for g in goal_specs] or None
    world = store_world(dd, settings(ctx).database_url)  # the entity store, as the service reads it
    mine = load_events(dd, user_id=user_id)
    mine = mine[pd.to_datetime(mine["timestamp"], utc=True) <= pd.Timestamp(now)]  # --as-of: nothing after it
    if user_id not in world.mentees and goals is None and mine.empty:
        world.mentee(user_id)  # no profile, no goals, no history: nothing to plan for
    context = mentee_context(world, user_id, now=now, events=mine, goals=goals)  # validates the goals
    if goals is None and not context.has_profile:  # known only from events: their next steps, as the service does
        inferred = goals_from_history(world.catalog, context.history)
        if not inferred:
            world.mentee(user_id)
        context = mentee_context(world, user_id, now=now, events=mine, goals=inferred)
    scores, source = _scores(dd, context, model_path, settings=settings(ctx))
    view = path_view(context, scores=scores, freshness=catalog_freshness(world.catalog, now), max_steps=max_steps,
                     minutes_per_week=minutes_per_week, horizon_weeks=horizon_weeks,
                     prerequisites=not no_prerequisites)
    view["scores"] = source
    if fmt == "json":
        click.echo(json.dumps(view, indent=2))
        return
    _print_table(view)


def _print_table(view: dict[str, Any]) -> None:
    goals = ", ".join(f"{g['skill_name']} ({g['skill']}) level {g['level']}"
                      + (f" by {g['deadline'][:10]}" if g.get("deadline") else "")
                      + (" [met]" if g["met"] else " [OVERDUE]" if g.get("overdue") else "")
                      for g in view["goals"])
    click.echo(f"Learning path for {view['user_id']} toward {goals}")
    click.echo(f"as of {view['as_of'][:10]}, {view['minutes_per_week']} min/week for {view['horizon_weeks']} weeks"
               f"{'' if view['prerequisites'] else ', prerequisites ignored'}; scores: {view['scores']}")
    rows = [{"step": s["step"], "skill": s["skill"], "level": s["level"], "resource": f"{s['item_id']} {s['title']}",
             "type": s["type"], "minutes": s["minutes"], "eta": s["eta"], "why": _why(s["reasons"])}
            for s in view["steps"]]
    emit_table(rows, "table", columns=["step", "skill", "level", "resource", "type", "minutes", "eta", "why"])
    if view["steps"]:
        click.echo(f"{view['total_steps']} step(s), {view['total_minutes']} minutes")
    for u in view["unreachable"]:
        click.echo(f"not reached: {u['skill_name']} ({u['skill']}): {u['reason']}")
    if view["already_met"]:
        click.echo("already met: " + ", ".join(view["already_met"]))
    click.echo("mastery: " + ", ".join(f"{s} {p:.2f}" for s, p in view["mastery"].items()))


@click.group()
def skills() -> None:
    """The skill graph: a skill, what it needs first, and what builds on it."""


@skills.command("list")
@click.option("--domain", default=None, help="Only skills of this domain.")
@format_option()
@click.pass_context
def list_cmd(ctx: click.Context, domain: str | None, fmt: str) -> None:
    """Every skill in prerequisite order: domain, half-life (empty = evergreen), prerequisites, active resources."""
    from catalog.loaders import load_world

    dd = DataDir(data_dir(ctx))
    if not dd.root.is_dir():
        raise NotReadyError(f"no data dir at {dd.root}")
    cat = load_world(dd).catalog
    teach = cat.item_skill_levels[cat.active].getnnz(axis=0)  # active resources per skill
    rows = []
    for j, sid in enumerate(cat.skill_ids):
        sk = cat.skill(sid)
        if domain is not None and sk.domain != domain:
            continue
        rows.append({"skill_id": sid, "name": sk.name, "domain": sk.domain,
                     "half_life_days": sk.half_life_days,
                     "prerequisites": ";".join(f"{p.skill_id}:{p.level}" for p in sk.prerequisites),
                     "resources": int(teach[j])})
    emit_table(rows, fmt, columns=["skill_id", "name", "domain", "half_life_days", "prerequisites", "resources"])


@skills.command()
@click.argument("skill_id")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def show(ctx: click.Context, skill_id: str, fmt: str) -> None:
    """SKILL_ID with its direct prerequisites (the level each must reach first), the skills
    that depend on it (and the level they need), and how many active resources teach it."""
    from catalog.loaders import load_world
    from recommender.paths.answers import skill_view

    dd = DataDir(data_dir(ctx))
    if not dd.root.is_dir():
        raise NotReadyError(f"no data dir at {dd.root}")
    view = skill_view(load_world(dd).catalog, skill_id)
    if fmt == "json":
        click.echo(json.dumps(view, indent=2))
        return
    hl = view["half_life_days"]
    click.echo(f"{view['name']} ({view['skill_id']}), domain {view['domain'] or '-'}, "
               f"half-life {'evergreen' if hl is None else f'{hl:g} days'}")
    by = ", ".join(f"L{k} {v}" for k, v in view["resources_by_level"].items())
    click.echo(f"{view['resources']} active resource(s): {by}")
    click.echo("\nPrerequisites (reach this level first):")
    emit_table([{"skill_id": p["skill_id"], "name": p["name"], "level": p["level"]} for p in view["prerequisites"]],
               "table", columns=["skill_id", "name", "level"])
    click.echo("\nDependents (need this skill at level):")
    emit_table([{"skill_id": d["skill_id"], "name": d["name"], "level": d["level"]} for d in view["dependents"]],
               "table", columns=["skill_id", "name", "level"])


def _add_store_commands() -> None:
    from skillpath_cli.entities import skill_commands

    for cmd in skill_commands:
        skills.add_command(cmd)


_add_store_commands()
