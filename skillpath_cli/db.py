"""``skillpath db``: the event log's and entity store's database: upgrade its schema, move it between SQLite
and PostgreSQL (every table: entities, change log, tombstones, events, sessions, monitor alerts, acknowledgements
and the webhook outbox)."""

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
    """The event log's and entity store's database. SQLite (`events.db` in the data dir) is the
    default; `SKILLPATH_DATABASE_URL=postgresql://...` puts both in PostgreSQL for several
    replicas (docs/deploy.md)."""


@db.command()
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Apply pending schema migrations to the configured database (the service also does on start)."""
    from catalog.logs import open_event_log
    from catalog.store.seed import open_store

    s = settings(ctx)
    dd = DataDir(data_dir(ctx))
    with open_event_log(dd.root, s.database_url) as log:
        click.echo(f"{log!r}: schema up to date, {log.count()} events")
    store = open_store(dd.events_db, s.database_url)
    try:
        click.echo(f"{store!r}: schema up to date, {store.revision()} entity changes")
    finally:
        store.close()
    from catalog.alert_store import AlertStore
    from catalog.session_store import SessionStore

    with SessionStore(dd.events_db, database_url=s.database_url) as sessions:
        click.echo(f"{sessions!r}: schema up to date, {sessions.count()} sessions")
    with AlertStore(dd.events_db, database_url=s.database_url) as alerts:
        click.echo(f"{alerts!r}: schema up to date, {alerts.count()} alerts")


def _copy(src, dst, src_store, dst_store) -> tuple[int, int, dict[str, int]]:
    """Entities first (their tombstones keep forgotten mentees' events out), then events; both idempotent.
    The side tables follow (:func:`catalog.side_copy.copy_side_tables`), after the tombstones too."""
    from catalog.logs import copy_events

    try:
        entities = dst_store.restore(src_store.snapshot())
    finally:
        src_store.close()
        dst_store.close()
    with src, dst, progress(total=src.count(), desc="events", unit="ev") as bar:
        return (*copy_events(src, dst, on_batch=bar.update), entities)


def _said(entities: dict[str, int], sides: dict[str, int]) -> str:
    return (f"{entities['entities']} entities, {entities['entity_changes']} new change-log lines, "
            f"{sides['sessions']} sessions, {sides['monitor_alerts']} alerts, {sides['monitor_acks']} "
            f"acknowledgements, {sides['monitor_outbox']} webhook deliveries")


@db.command("export")
@_URL
@click.pass_context
def export_(ctx: click.Context, url: str | None) -> None:
    """Copy the data dir's SQLite database (events, entities, sessions, alerts, webhook outbox) into PostgreSQL
    (idempotent: run it again to resume)."""
    from catalog.eventlog import EventLog
    from catalog.pg_eventlog import PgEventLog
    from catalog.side_copy import copy_side_tables
    from catalog.store.pg import PgEntityStore
    from catalog.store.sqlite import SQLiteEntityStore

    target = _url(ctx, url)
    dd = DataDir(data_dir(ctx))
    if not dd.events_db.is_file():
        raise ConfigError(f"no event log at {dd.events_db}; nothing to export")
    dst = PgEventLog(target)
    accepted, dup, ents = _copy(EventLog(dd.events_db), dst, SQLiteEntityStore(dd.events_db),
                                PgEntityStore(target, listen=False))
    sides = copy_side_tables(dd.events_db, None, dd.events_db, target)
    click.echo(f"exported {accepted} events to {dst!r} ({dup} already there) and {_said(ents, sides)}")


@db.command("import")
@_URL
@click.pass_context
def import_(ctx: click.Context, url: str | None) -> None:
    """Copy the PostgreSQL database (events, entities, sessions, alerts, webhook outbox) into the data dir's
    SQLite file (idempotent)."""
    from catalog.eventlog import EventLog
    from catalog.pg_eventlog import PgEventLog
    from catalog.side_copy import copy_side_tables
    from catalog.store.pg import PgEntityStore
    from catalog.store.sqlite import SQLiteEntityStore

    source = _url(ctx, url)
    dd = DataDir(data_dir(ctx))
    dd.ensure()
    dst = EventLog(dd.events_db)  # creates the file's event table before the store's
    accepted, dup, ents = _copy(PgEventLog(source), dst, PgEntityStore(source, listen=False),
                                SQLiteEntityStore(dd.events_db))
    sides = copy_side_tables(dd.events_db, source, dd.events_db, None)
    click.echo(f"imported {accepted} events into {dd.events_db} ({dup} already there) and {_said(ents, sides)}")
