"""``skillpath catalog``: summary, stale-content report and validation of the world files."""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timezone
from typing import Any

import click

from catalog.datadir import DataDir
from catalog.errors import DataValidationError
from catalog.eventlog import EventLog
from catalog.freshness import DEFAULT_FLOOR, TYPE_HALF_LIFE_DAYS
from skillpath_cli.common import DateType, data_dir, emit_table

__all__ = ["catalog"]

_FORMATS = click.Choice(["table", "csv", "json"])


def _today_utc() -> datetime:
    """Midnight UTC today: the CLI edge decides the clock, so a report is stable within a day."""
    now = datetime.now(timezone.utc)
    return datetime(now.year, now.month, now.day, tzinfo=timezone.utc)


def _load(ctx: click.Context):
    from catalog.loaders import load_world

    return load_world(DataDir(data_dir(ctx)))


def _plain(v: Any, digits: int | None = None) -> Any:
    """JSON/CSV-friendly scalar: NaN and inf become None, numpy scalars Python ones."""
    if v is None:
        return None
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float):
        if not math.isfinite(v):
            return None
        return round(v, digits) if digits is not None else v
    return v


_AS_OF = click.option("--as-of", type=DateType(), default=None,
                      help="Date the freshness is computed at (ISO-8601; default: today, UTC).")


@click.group()
def catalog() -> None:
    """Inspect the catalog: what it holds, what has gone stale, whether its files are valid."""


@catalog.command()
@_AS_OF
@click.option("--threshold", type=click.FloatRange(0.0, 1.0, min_open=True), default=0.5, show_default=True,
              help="Freshness below which an active item counts as stale.")
@click.option("--format", "fmt", type=_FORMATS, default="table", show_default=True)
@click.pass_context
def summary(ctx: click.Context, as_of: datetime | None, threshold: float, fmt: str) -> None:
    """Counts of skills, resources, mentees and mentors, the depth of the prerequisite
    graph, the share of stale items, and the event count if an event log exists."""
    from catalog.stale import stale_report

    dd = DataDir(data_dir(ctx))
    world = _load(ctx)
    cat = world.catalog
    as_of = as_of or _today_utc()
    domains = Counter(s.domain or "(none)" for s in cat.skills.values())
    types = Counter(str(t) for t in cat.types)
    n_active = int(cat.active.sum())
    depth = max(cat.graph.depth().values(), default=0)
    report = stale_report(cat, as_of, threshold=threshold)
    rows: list[dict[str, Any]] = [{"metric": "skills", "value": cat.n_skills, "detail": "in the skills file"}]
    rows += [{"metric": f"skills.{d}", "value": n, "detail": "skills in this domain"} for d, n in _by_count(domains)]
    rows += [
        {"metric": "resources", "value": cat.n_items, "detail": "in the resources file"},
        {"metric": "resources.active", "value": n_active, "detail": "recommendable"},
        {"metric": "resources.inactive", "value": cat.n_items - n_active, "detail": "retired (active=false)"},
    ]
    rows += [{"metric": f"resources.{t}", "value": n, "detail": "resources of this type"} for t, n in _by_count(types)]
    rows += [
        {"metric": "mentees", "value": len(world.mentees), "detail": ""},
        {"metric": "mentors", "value": len(world.mentors), "detail": ""},
        {"metric": "graph_depth", "value": depth, "detail": "longest prerequisite chain"},
        {"metric": "stale_items", "value": len(report.items),
         "detail": f"active, freshness < {threshold:g} on {as_of.date().isoformat()}"},
        {"metric": "stale_share", "value": round(report.stale_share, 4), "detail": "stale_items / resources.active"},
        {"metric": "coverage_gaps", "value": len(report.gaps), "detail": "skills with no fresh active content"},
    ]
    events = _event_count(dd)
    if events is not None:
        rows.append({"metric": "events", "value": events, "detail": str(dd.events_db)})
    emit_table(rows, fmt, columns=["metric", "value", "detail"])


def _by_count(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _event_count(dd: DataDir) -> int | None:
    """Events in ``data_dir/events.db``; None if there is no log."""
    if not dd.events_db.exists():
        return None
    with EventLog(dd.events_db) as log:
        return int(log.count())


_STALE_HELP = f"""List stale active items, stalest first, then the coverage gaps: skills
whose active content is all stale (or that have none), where new content is needed most.

\b
Freshness of an item at DATE:
  freshness = max(floor, 0.5 ** (age_days / half_life_days))
  age_days runs from updated_at (else published_at) to DATE; floor = {DEFAULT_FLOOR}.
\b
Half-life resolution, first that applies:
  1. the item's own half_life_days (resources file);
  2. the shortest half_life_days among the skills it teaches (skills file);
  3. a default for perishable types ({", ".join(f"{t} {d:g}" for t, d in TYPE_HALF_LIFE_DAYS.items())} days);
  4. otherwise the item is evergreen (freshness 1.0, never stale).
\b
An item is stale when its freshness is below --threshold (0.5: older than one
half-life). Items are ordered by half-lives elapsed, so items at the floor still
sort by how stale they really are. In json, each line is one object with
"kind": "item" or "gap"; in csv, one table with a kind column.
"""


@catalog.command(help=_STALE_HELP)
@_AS_OF
@click.option("--threshold", type=click.FloatRange(0.0, 1.0, min_open=True), default=0.5, show_default=True,
              help=f"Freshness below which an active item is stale; must exceed the floor ({DEFAULT_FLOOR}).")
@click.option("--format", "fmt", type=_FORMATS, default="table", show_default=True,
              help="table for people; csv or json (one object per line) for tools.")
@click.option("--limit", type=click.IntRange(min=0), default=None,
              help="Show at most N stale items (the gaps table is never cut).")
@click.option("--gaps-only", is_flag=True, help="Show only the coverage gaps.")
@click.pass_context
def stale(ctx: click.Context, as_of: datetime | None, threshold: float, fmt: str, limit: int | None,
          gaps_only: bool) -> None:
    from catalog.stale import GAP_COLUMNS, ITEM_COLUMNS, stale_report

    world = _load(ctx)
    as_of = as_of or _today_utc()
    report = stale_report(world.catalog, as_of, threshold=threshold)
    items = [] if gaps_only else _records(report.items, "item")
    n_items = len(items)
    if limit is not None:
        items = items[:limit]
    gaps = _records(report.gaps, "gap")
    if fmt in ("json", "csv"):
        columns = ["kind"] + ([] if gaps_only else ITEM_COLUMNS)
        columns += [c for c in GAP_COLUMNS if c not in columns]
        emit_table(items + gaps, fmt, columns=columns)
        return
    day = report.as_of.date().isoformat()
    if not gaps_only:
        cut = f", showing {len(items)}" if len(items) < n_items else ""
        click.echo(f"Stale items (freshness < {threshold:g} on {day}): {n_items} of {report.n_active} "
                   f"active{cut}")
        emit_table(_for_people(items), "table", columns=ITEM_COLUMNS)
        click.echo("")
    click.echo(f"Coverage gaps (skills with no fresh active content on {day}): {len(gaps)}")
    emit_table(_for_people(gaps), "table", columns=GAP_COLUMNS)


def _records(df, kind: str) -> list[dict[str, Any]]:
    rounding = {"age_days": 1, "freshness": 4, "best_freshness": 4, "half_life_days": 1}
    return [{"kind": kind, **{c: _plain(v, rounding.get(c)) for c, v in rec.items()}}
            for rec in df.to_dict("records")]


def _for_people(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Whole days, compact half-lives (blank = evergreen), three-digit freshness."""
    def fmt(c: str, v: Any) -> Any:
        if v is None or not isinstance(v, float):
            return v
        if c == "age_days":
            return f"{v:.0f}"
        if c == "half_life_days":
            return f"{v:g}"
        return f"{v:.3f}"
    return [{c: fmt(c, v) for c, v in r.items()} for r in rows]


@catalog.command()
@click.pass_context
def validate(ctx: click.Context) -> None:
    """Load and check every world file of the data dir; list every bad row (exit code 2).

    Checks required columns and values, ids (format, duplicates), skill references,
    levels (1-5), dates, resource types, numbers and the prerequisite graph (no cycles).
    """
    dd = DataDir(data_dir(ctx))
    try:
        world = _load(ctx)
    except DataValidationError as e:
        # The entry point prints the summary line and the rows; here, all of them.
        raise DataValidationError(e.errors, source=e.source, max_shown=len(e.errors)) from None
    cat = world.catalog
    click.echo(f"OK: {cat.n_skills} skills, {cat.n_items} resources ({int(cat.active.sum())} active), "
               f"{len(world.mentees)} mentees, {len(world.mentors)} mentors in {dd.root}")
