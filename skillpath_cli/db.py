"""``skillpath db``: the event log's database: upgrade its schema, move it between SQLite and PostgreSQL."""

from __future__ import annotations

import click

from catalog.datadir import DataDir
from catalog.errors import ConfigError
from skillpath_cli.common import data_dir, progress, settings

__all__ = ["db"]

_URL = click.option("--url", default=None, metavar="postgresql://...",
                    help="The PostgreSQL database (default: SKILLPATH_DATABASE_URL / database_url).")


def _url(ctx: click.Context, url: str | None) -> str:
    url = url or settings(ctx).database_url
    if not url:
        raise ConfigError("no PostgreSQL database: pass --url postgresql://... or set SKILLPATH_DATABASE_URL")
    if not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(f"--url must be a postgresql:// URL, got {url.split('://')[0]!r}://...")
    return url


@click.group()
def db() -> None:
    """The event log's database. SQLite (`events.db` in the data dir) is the default;
    `SKILLPATH_DATABASE_URL=postgresql://...` puts it in PostgreSQL for several replicas
    (docs/deploy.md)."""


@db.command()
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Apply pending schema migrations to the configured database (the service also does on start)."""
    from catalog.logs import open_event_log

    s = settings(ctx)
    with open_event_log(data_dir(ctx), s.database_url) as log:
        click.echo(f"{log!r}: schema up to date, {log.count()} events")


def _copy(src, dst) -> tuple[int, int]:
    from catalog.logs import copy_events

    with src, dst, progress(total=src.count(), desc="events", unit="ev") as bar:
        return copy_events(src, dst, on_batch=bar.update)


@db.command("export")
@_URL
@click.pass_context
def export_(ctx: click.Context, url: str | None) -> None:
    """Copy the data dir's SQLite event log into PostgreSQL (idempotent: run it again to resume)."""
    from catalog.eventlog import EventLog
    from catalog.pg_eventlog import PgEventLog

    target = _url(ctx, url)
    dd = DataDir(data_dir(ctx))
    if not dd.events_db.is_file():
        raise ConfigError(f"no event log at {dd.events_db}; nothing to export")
    dst = PgEventLog(target)
    accepted, dup = _copy(EventLog(dd.events_db), dst)
    click.echo(f"exported {accepted} events to {dst!r} ({dup} already there)")


@db.command("import")
@_URL
@click.pass_context
def import_(ctx: click.Context, url: str | None) -> None:
    """Copy the PostgreSQL event log into the data dir's SQLite log (idempotent)."""
    from catalog.eventlog import EventLog
    from catalog.pg_eventlog import PgEventLog

    source = _url(ctx, url)
    dd = DataDir(data_dir(ctx))
    dd.ensure()
    accepted, dup = _copy(PgEventLog(source), EventLog(dd.events_db))
    click.echo(f"imported {accepted} events into {dd.events_db} ({dup} already there)")
