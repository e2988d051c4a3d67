"""``skillpath data import`` and ``skillpath data oulad``: bring real data into a data dir.

Both build everything in a hidden staging folder next to the output and only then move
it into place, so a bad input (exit 2, one line per bad row) never leaves half-written
files behind.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

import click
import pandas as pd

from catalog.catalog import World
from catalog.datadir import DataDir
from catalog.eventlog import EventLog
from catalog.tables import read_table
from catalog.writers import atomic_write_csv, atomic_write_parquet, save_world
from skillpath_cli.common import UsageFailure, data_dir, emit_table, format_option, progress, settings

__all__ = ["import_cmd", "oulad_cmd", "default_oulad_dir", "write_outputs"]

EVENT_BATCH = 100_000
_REPO_ROOT = Path(__file__).resolve().parents[1]


def default_oulad_dir() -> Path:
    """``../shared/datasets/oulad`` relative to the repository root; from a git worktree
    nested deeper (``../wt/NAME``), the nearest ``shared/datasets/oulad`` up the tree."""
    for parent in _REPO_ROOT.parents:
        candidate = parent / "shared" / "datasets" / "oulad"
        if candidate.is_dir():
            return candidate
    return _REPO_ROOT.parent / "shared" / "datasets" / "oulad"


# ---------------------------------------------------------------- output staging


def _has_data(d: DataDir) -> bool:
    return d.has_world() or d.events_db.exists() or (d.root / "events.parquet").exists()


def write_outputs(out: Path, world: World, events: pd.DataFrame, *, force: bool,
                  extra: Callable[[Path], None] | None = None) -> dict[str, str]:
    """Write the world CSVs, ``events.parquet`` and the event log into ``out``, all or nothing.

    Returns notes for the summary (where the event log is).
    """
    target = DataDir(out)
    if _has_data(target) and not force:
        raise UsageFailure(f"{target.root} already holds a world or events; pass --force to replace them")
    target.root.parent.mkdir(parents=True, exist_ok=True)
    # mkdir (not mkdtemp, which is 0700) so the renamed output dir gets the usual permissions.
    stage = target.root.parent / f".{target.root.name}.import-{os.getpid()}-{secrets.token_hex(4)}"
    stage.mkdir()
    notes: dict[str, str] = {}
    try:
        staged = DataDir(stage)
        save_world(world, staged)
        atomic_write_parquet(events, stage / "events.parquet")
        _write_event_log(staged.events_db, events)
        if extra is not None:
            extra(stage)
        _commit(stage, target.root)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    notes["event_log"] = str(target.events_db)  # where it is now, not the staging folder it was written in
    return notes


def _write_event_log(path: Path, events: pd.DataFrame) -> None:
    with EventLog(path) as log, progress(total=len(events), desc="event log", unit="ev") as bar:
        for i in range(0, len(events), EVENT_BATCH):
            batch = events.iloc[i:i + EVENT_BATCH]
            log.append(batch)
            bar.update(len(batch))


def _commit(stage: Path, out: Path) -> None:
    if not out.exists():
        os.rename(stage, out)
        return
    # Replacing: an old event log (and its WAL files) belongs to the old world.
    for name in ("events.db", "events.db-wal", "events.db-shm"):
        (out / name).unlink(missing_ok=True)
    for entry in sorted(stage.iterdir()):
        dest = out / entry.name
        if entry.is_dir():
            if dest.exists():
                shutil.rmtree(dest)
            os.rename(entry, dest)
        else:
            os.replace(entry, dest)


# ---------------------------------------------------------------- readers


def _read_table(path: str) -> tuple[pd.DataFrame, int]:
    """A CSV, Parquet or JSON Lines table (:func:`catalog.tables.read_table`; undecodable
    files are a ConfigError naming the file) and its first row's line."""
    p = Path(path)
    if not p.is_file():
        raise UsageFailure(f"{p}: no such file")
    df = read_table(p)
    return df, (int(df.index[0]) if len(df) else (2 if p.suffix.lower() == ".csv" else 1))


def _out_dir(ctx: click.Context, out: str | None) -> Path:
    return Path(out) if out else data_dir(ctx)


# ---------------------------------------------------------------- commands


@click.command("import")
@click.option("--catalog", "catalog_path", required=True, type=click.Path(dir_okay=False),
              help="Catalog table (CSV, .parquet or .jsonl); only item_id is required.")
@click.option("--events", "events_path", required=True, type=click.Path(dir_okay=False),
              help="Events table; only user_id, item_id, timestamp are required.")
@click.option("--skills", "skills_path", type=click.Path(dir_okay=False),
              help="Optional skills table (skill_id, name, domain, half_life_days, prerequisites). "
                   "Skills named only in the catalog are created, evergreen.")
@click.option("--source", default="import", show_default=True,
              help="Value of the events' source column where the file has none.")
@click.option("--out", type=click.Path(file_okay=False), help="Data dir to write (default: --data-dir).")
@click.option("--force", is_flag=True, help="Replace an existing world and event log in the output dir.")
@click.option("--dry-run", is_flag=True, help="Read and validate everything, report what would be imported, "
                                              "write nothing.")
@format_option()
@click.pass_context
def import_cmd(ctx: click.Context, catalog_path: str, events_path: str, skills_path: str | None, source: str,
               out: str | None, force: bool, dry_run: bool, fmt: str) -> None:
    """Import any platform's catalog and events (see docs/data.md for the formats).

    Every bad row is reported with its line number and nothing is written. Event ids
    missing from the file are derived from the event's content, so re-importing the
    same file gives the same ids.
    """
    from catalog.imports import import_world

    target = _out_dir(ctx, out)
    if _has_data(DataDir(target)) and not force and not dry_run:
        raise UsageFailure(f"{DataDir(target).root} already holds a world or events; pass --force to replace them")
    cat, cat_line = _read_table(catalog_path)
    ev, ev_line = _read_table(events_path)
    sk, sk_line = _read_table(skills_path) if skills_path else (None, 2)
    imported = import_world(cat, ev, skills=sk, source=source,
                            names=(Path(skills_path or "skills").name, Path(catalog_path).name,
                                   Path(events_path).name),
                            first_lines=(sk_line, cat_line, ev_line))
    info = dict(imported.info)
    undeclared = info.pop("undeclared_skills")
    if undeclared:
        click.echo(f"{len(undeclared)} skill(s) named only in the catalog, created evergreen (half-life: none, "
                   f"never stale; declare them with --skills to set one): {', '.join(undeclared)}", err=True)
    rows = [{"what": k, "value": v} for k, v in info.items()]
    rows.append({"what": "undeclared_skills (evergreen)", "value": ";".join(undeclared)})
    if dry_run:
        rows.append({"what": "dry_run", "value": f"nothing written; {DataDir(target).root} would receive it"})
    else:
        notes = write_outputs(target, imported.world, imported.events, force=force)
        rows += [{"what": "out", "value": str(DataDir(target).root)},
                 {"what": "event_log", "value": notes["event_log"]}]
    emit_table(rows, fmt)


@click.command("oulad")
@click.option("--source", "source_dir", type=click.Path(file_okay=False),
              help="Folder with the OULAD CSVs [default: $SKILLPATH_OULAD_DIR, else ../shared/datasets/oulad "
                   "next to the repo].")
@click.option("--presentation", "presentations", multiple=True, metavar="AAA-2013J",
              help="Load only these module presentations (repeatable; default: those with clicks).")
@click.option("--min-clicks", default=1, show_default=True, type=click.IntRange(min=1),
              help="Skip click-log rows with fewer clicks.")
@click.option("--levels", "level_from", type=click.Choice(["usage", "plan"]), default="usage", show_default=True,
              help="Resource levels from when learners first open a site (usage) or only from the "
                   "planned week (plan; no information from the click log, for strict time splits).")
@click.option("--out", type=click.Path(file_okay=False), help="Data dir to write (default: --data-dir).")
@click.option("--force", is_flag=True, help="Replace an existing world and event log in the output dir.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.pass_context
def oulad_cmd(ctx: click.Context, source_dir: str | None, presentations: tuple[str, ...], min_clicks: int,
              level_from: str, out: str | None, force: bool, fmt: str) -> None:
    """Load the real Open University Learning Analytics Dataset (OULAD, CC-BY 4.0).

    Modules become skills, VLE sites and assessments become resources, clicks become
    views and assessment scores become assess events (mapping: docs/data.md). Also
    writes oulad/clicks.parquet (event_id, sum_click), oulad/sites.csv and oulad/info.json.
    """
    from catalog.oulad import OULAD_ATTRIBUTION, load_oulad

    target = _out_dir(ctx, out)
    if _has_data(DataDir(target)) and not force:
        raise UsageFailure(f"{DataDir(target).root} already holds a world or events; pass --force to replace them")
    src = Path(source_dir) if source_dir else (settings(ctx).oulad_dir or default_oulad_dir())
    bars: dict[str, object] = {}

    def report(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = progress(total=total, desc=f"oulad {stage}", unit="rows")
        bar.update(done - bar.n)  # type: ignore[attr-defined]
        if done >= total:  # one bar at a time: close a finished stage
            bars.pop(stage).close()  # type: ignore[attr-defined]

    try:
        loaded = load_oulad(src, presentations=presentations or None, min_clicks=min_clicks,
                            level_from=level_from, progress=report)  # type: ignore[arg-type]
    finally:
        for bar in bars.values():
            bar.close()  # type: ignore[attr-defined]

    def extra(stage: Path) -> None:
        folder = stage / "oulad"
        atomic_write_parquet(pd.DataFrame({"event_id": loaded.events.event_id, "sum_click": loaded.clicks}),
                             folder / "clicks.parquet")
        sites = loaded.sites.assign(published_at=loaded.sites.published_at.map(lambda t: t.isoformat()))
        atomic_write_csv(sites, folder / "sites.csv")
        (folder / "info.json").write_text(json.dumps(loaded.info, indent=2, default=str) + "\n")

    notes = write_outputs(target, loaded.world, loaded.events, force=force, extra=extra)
    info = loaded.info
    rows = [{"what": k, "value": info[k]} for k in
            ("presentations", "skills", "sites", "assessments", "mentees", "views", "assess_events", "seconds")]
    rows += [{"what": f"skipped {k}", "value": v} for k, v in info["skipped"].items()]
    rows += [{"what": "out", "value": str(DataDir(target).root)}, {"what": "event_log", "value": notes["event_log"]}]
    for r in rows:
        if isinstance(r["value"], list):
            r["value"] = ",".join(r["value"])
    emit_table(rows, fmt)
    click.echo(f"Data: {OULAD_ATTRIBUTION}", err=fmt != "table")
