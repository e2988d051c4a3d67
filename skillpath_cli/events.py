"""``skillpath events``: ingest event files into the durable log, count, export, tail."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from catalog.datadir import DataDir
from catalog.errors import DataValidationError, NotReadyError, RowError
from catalog.eventlog import EventLog
from catalog.events import read_events_file_with_lines
from catalog.schema import parse_timestamp
from skillpath_cli.common import data_dir, emit_table, progress

__all__ = ["events"]

_FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
                       show_default=True, help="Output format.")


def _when(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        parse_timestamp(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    return value


def _open_existing(ctx: click.Context) -> EventLog:
    path = DataDir(data_dir(ctx)).events_db
    if not path.exists():
        raise NotReadyError(f"no event log at {path}; run `skillpath events ingest FILE` first")
    return EventLog(path)


def _known_ids(path: Path, column: str) -> set[str] | None:
    if not path.exists():
        return None
    return set(pd.read_csv(path, usecols=[column], dtype=str, keep_default_na=False)[column].str.strip())


@click.group()
def events() -> None:
    """The durable event log (DATA_DIR/events.db): ingest, count, export, tail.

    Every acknowledged event is on disk (SQLite WAL, synchronous=FULL). Ingesting a
    file twice stores it once: event_id is the idempotency key.
    """


@events.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=500, show_default=True,
              help="Events per transaction (each batch is committed, fsynced, then acknowledged).")
@click.option("--check-ids/--no-check-ids", default=True, show_default=True,
              help="Reject events whose item is not in resources.csv or whose user is not in "
                   "mentees.csv (each check applies only when that file exists).")
@click.option("--dry-run", is_flag=True, help="Validate FILE (and its ids against the log) and report; store nothing.")
@click.pass_context
def ingest(ctx: click.Context, file: Path, batch_size: int, check_ids: bool, dry_run: bool) -> None:
    """Validate FILE (.csv, .parquet or .jsonl) and append its events to the log.

    The whole file is validated first, including event_ids already stored with other
    content: if any event is bad, every bad row is listed, nothing is stored and the
    exit code is 2. Events without an event_id column get deterministic ids (a hash of
    their content), so re-importing the same file adds nothing.
    """
    dd = DataDir(data_dir(ctx))
    known_items = _known_ids(dd.resources, "item_id") if check_ids else None
    known_users = _known_ids(dd.mentees, "user_id") if check_ids else None
    try:
        canon, lines = read_events_file_with_lines(file, known_items=known_items, known_users=known_users)
    except DataValidationError as e:
        raise DataValidationError(e.errors, source=e.source, max_shown=len(e.errors)) from None
    if dry_run:
        if dd.events_db.exists():
            with EventLog(dd.events_db) as log:
                conflicts = log.check_conflicts(canon, lines=lines, source=str(file))
            if conflicts:
                raise DataValidationError(conflicts, source=str(file), max_shown=len(conflicts))
        users, items = canon["user_id"].nunique(), canon["item_id"].nunique()
        click.echo(f"{file}: {len(canon)} valid events ({users} mentees, {items} items); dry run: nothing stored "
                   f"(events already in {dd.events_db} would count as duplicates)")
        return
    dd.ensure()
    accepted = duplicates = 0
    with EventLog(dd.events_db) as log:
        conflicts = log.check_conflicts(canon, lines=lines, source=str(file))
        if conflicts:
            raise DataValidationError(conflicts, source=str(file), max_shown=len(conflicts))
        with progress(total=len(canon), desc="ingest", unit="ev") as bar:
            for start in range(0, len(canon), batch_size):
                chunk = canon.iloc[start:start + batch_size]
                try:
                    res = log.append(chunk, source=str(file))
                except DataValidationError as e:  # another writer raced us: name file lines
                    click.echo(f"note: {accepted + duplicates} events of earlier batches were stored", err=True)
                    errs = [RowError(int(lines[start + r.line - 1]), r.column, r.reason, r.source) for r in e.errors]
                    raise DataValidationError(errs, source=str(file), max_shown=len(errs)) from None
                accepted += res.accepted
                duplicates += res.duplicates
                bar.update(len(chunk))
        total = log.count()
    click.echo(f"{file}: {accepted} accepted, {duplicates} duplicates (already stored); "
               f"{total} events in {dd.events_db}")


@events.command()
@_FORMAT
@click.pass_context
def count(ctx: click.Context, fmt: str) -> None:
    """How many events the log holds, and the time span they cover."""
    with _open_existing(ctx) as log:
        n, span = log.count(), log.time_range()
    first, last = (span[0].isoformat(), span[1].isoformat()) if span else ("", "")
    emit_table([{"events": n, "first": first, "last": last}], fmt)


@events.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Parquet file to write [default: DATA_DIR/exports/events.parquet].")
@click.option("--since", callback=_when, help="Only events at or after this ISO-8601 time (naive = UTC).")
@click.option("--until", callback=_when, help="Only events before this ISO-8601 time (naive = UTC).")
@click.pass_context
def export(ctx: click.Context, out: Path | None, since: str | None, until: str | None) -> None:
    """Write the log (timestamp order) to Parquet with microsecond UTC timestamps.

    The file is written atomically (temp file + rename), so readers such as the
    feature pipeline never see a half-written export.
    """
    out = out or DataDir(data_dir(ctx)).exports / "events.parquet"
    with _open_existing(ctx) as log:
        n = log.export_parquet(out, since=since, until=until)
    click.echo(f"exported {n} events to {out}")


@events.command()
@click.option("-n", "n", type=click.IntRange(1, 100_000), default=20, show_default=True,
              help="How many events to show.")
@click.option("--user", default=None, help="Only this user's events.")
@_FORMAT
@click.pass_context
def tail(ctx: click.Context, n: int, user: str | None, fmt: str) -> None:
    """The latest events by timestamp (oldest of them first)."""
    with _open_existing(ctx) as log:
        df = log.tail(n, user_id=user)
    rows = [
        {**r, "value": None if pd.isna(r["value"]) else r["value"], "timestamp": r["timestamp"].isoformat()}
        for r in df.to_dict("records")
    ]
    emit_table(rows, fmt, columns=list(df.columns))
