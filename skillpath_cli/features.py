"""``skillpath features``: build the feature tables, register them with Feast, materialise, inspect.

Typical order: ``features build`` -> ``features apply`` -> ``features materialize`` ->
``features show USER_ID``. The online store is SQLite under the data dir unless
``--online redis://HOST:PORT`` (or ``features.online_store``: ``$SKILLPATH_ONLINE_STORE``) says otherwise.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import click

from catalog.errors import NotReadyError
from skillpath_cli.common import data_dir, emit_table, progress, settings

__all__ = ["features"]


def _online(ctx: click.Context) -> str:
    return (ctx.find_object(dict) or {}).get("online") or settings(ctx).features.online_store


@contextlib.contextmanager
def _feast_errors(what: str) -> Iterator[None]:
    """Feast's own errors (nothing applied yet, ...) become one readable line."""
    from feast.errors import FeastError

    try:
        yield
    except FeastError as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise NotReadyError(f"{what}: {first} (did you run `skillpath features apply`?)") from None


def _load_inputs(root: Path):
    """The world and the event log of a data dir (the loaders live in catalog/)."""
    from catalog.datadir import DataDir

    dd = DataDir(root)
    if not dd.has_world():
        raise NotReadyError(f"no world in {dd.root}; run `skillpath data synth` or `skillpath data import` first")
    if not dd.events_db.exists():
        raise NotReadyError(f"no event log at {dd.events_db}; ingest events first (`skillpath events ...`)")
    from catalog.eventlog import EventLog
    from catalog.loaders import load_world

    return EventLog(dd.events_db).read(), load_world(dd)


@click.group("features")
@click.option("--online", default=None, metavar="STORE",
              help="Online store: 'sqlite' (<data-dir>/features/online.db) or "
                   "'redis://HOST:PORT[/DB][?socket_timeout=S]' [default: features.online_store, "
                   "$SKILLPATH_ONLINE_STORE, else sqlite].")
@click.pass_context
def features(ctx: click.Context, online: str | None) -> None:
    """Feast feature store: point-in-time feature tables for training, fresh values for serving.

    Tables live in <data-dir>/features/*.parquet (mentee_engagement, mentee_skill_state,
    resource_stats); the registry and the SQLite online store live next to them.
    """
    ctx.ensure_object(dict)["online"] = online


@features.command("build")
@click.option("--freq", default="1D", show_default=True,
              help="Snapshot spacing (pandas offset, e.g. 1D, 12h). Feature views expire rows after 2 days, "
                   "so keep it at most 1D.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.pass_context
def build(ctx: click.Context, freq: str, fmt: str) -> None:
    """Compute the feature tables from the event log and the catalog and write them as Parquet.

    Each row is a snapshot stamped T that counts only events strictly before T, so
    training rows never see their own future.
    """
    from training.features import compute_feature_frames, write_feature_frames

    root = data_dir(ctx)
    with progress(total=3, desc="features build", unit="step") as bar:
        events, world = _load_inputs(root)
        bar.update(1)
        frames = compute_feature_frames(events, world, freq=freq)
        bar.update(1)
        paths = write_feature_frames(frames, root)
        bar.update(1)
    rows = []
    for spec, df in frames.items():
        ts = df["event_timestamp"]
        rows.append({"table": spec.name, "rows": len(df), "entities": df[list(spec.keys)].drop_duplicates().shape[0],
                     "first": ts.min() if len(ts) else None, "last": ts.max() if len(ts) else None,
                     "path": str(paths[spec.name])})
    emit_table(rows, fmt)


@features.command("apply")
@click.pass_context
def apply_cmd(ctx: click.Context) -> None:
    """Register entities, sources and feature views in the registry (idempotent)."""
    from training.feature_store import apply, open_store

    with progress(total=1, desc="features apply", unit="step") as bar, _feast_errors("apply"):
        views = apply(open_store(data_dir(ctx), online=_online(ctx)))
        bar.update(1)
    click.echo(f"applied: {', '.join(views)}")


@features.command("materialize")
@click.option("--start", default=None, help="Window start (ISO-8601, UTC). Default: the first row of the built tables.")
@click.option("--end", default=None, help="Window end (inclusive). Default: the last row of the built tables.")
@click.option("--view", "views", multiple=True, help="Only these feature views (repeatable). Default: all.")
@click.pass_context
def materialize_cmd(ctx: click.Context, start: str | None, end: str | None, views: tuple[str, ...]) -> None:
    """Load the latest feature row per entity within [START, END] into the online store.

    An explicit backfill window, by default the full range of the built tables (which
    covers the whole event log): never Feast's incremental mode, which silently loads
    only the last TTL the first time.
    """
    from features.tables import TABLES
    from training.feature_store import materialize, open_store, tables_time_range

    root = data_dir(ctx)
    names = list(views) or None
    window: tuple[str | datetime, str | datetime]
    if start is None or end is None:
        lo, hi = tables_time_range(root, names)
        window = (start or lo, end or hi)
    else:
        window = (start, end)
    store = open_store(root, online=_online(ctx))
    todo = names or list(TABLES)
    with _feast_errors("materialize"):
        for name in progress(todo, desc="materialize", unit="view"):
            materialize(store, *window, views=[name], quiet=True)
    click.echo(f"materialized {', '.join(todo)} for [{window[0]}, {window[1]}] into {store.config.online_store.type}")


@features.command("show")
@click.argument("user_ids", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.pass_context
def show(ctx: click.Context, user_ids: tuple[str, ...], fmt: str) -> None:
    """Print the online engagement features of one or more mentees.

    A mentee the store knows nothing about shows empty values (and a note on stderr).
    """
    from features.store import read_online
    from features.tables import MENTEE_ENGAGEMENT
    from training.feature_store import open_store

    with _feast_errors("show"):
        got = read_online(open_store(data_dir(ctx), online=_online(ctx)), MENTEE_ENGAGEMENT, list(user_ids))
    missing = [u for u, row in got.items() if all(v is None for v in row.values())]
    if missing:
        click.echo(f"note: no online features for {', '.join(missing)} (not materialised, or no activity)", err=True)
    emit_table([{"user_id": u, **row} for u, row in got.items()], fmt,
               columns=["user_id", *MENTEE_ENGAGEMENT.feature_names])
