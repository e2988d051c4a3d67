"""``skillpath models``: the registered versions of skillpath-recommender and its @champion."""

from __future__ import annotations

import click

from skillpath_cli.common import data_dir, emit_table, settings

__all__ = ["models"]

_TRACKING = click.option("--tracking-uri", default=None, envvar="MLFLOW_TRACKING_URI",
                         help="An MLflow tracking server (default: SQLite inside the data dir).")


def _connect(ctx: click.Context, tracking_uri: str | None):
    import logging

    from training.tracking import connect

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return connect(settings(ctx), data_dir(ctx), tracking_uri=tracking_uri)


@click.group()
def models() -> None:
    """List registered model versions, promote one to @champion, or roll back."""


@models.command("list")
@_TRACKING
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.pass_context
def list_cmd(ctx: click.Context, tracking_uri: str | None, fmt: str) -> None:
    """Every version, newest first: aliases, model, validation metrics, gate decision, created."""
    from training.promotion import list_versions

    rows = list_versions(_connect(ctx, tracking_uri))
    emit_table(rows, fmt)


@models.command("promote")
@click.argument("version")
@_TRACKING
@click.pass_context
def promote_cmd(ctx: click.Context, version: str, tracking_uri: str | None) -> None:
    """Make VERSION the @champion (no gate: you decide). `models rollback` undoes it."""
    from training.promotion import promote

    previous = promote(_connect(ctx, tracking_uri), version, reason="manual")
    click.echo(f"version {version} is @champion" + (f" (was version {previous})" if previous else ""))


@models.command("rollback")
@_TRACKING
@click.pass_context
def rollback_cmd(ctx: click.Context, tracking_uri: str | None) -> None:
    """Give @champion back to the version that held it before the current one."""
    from training.promotion import rollback

    old, new = rollback(_connect(ctx, tracking_uri))
    click.echo(f"rolled back: version {new} is @champion again (was version {old})")
