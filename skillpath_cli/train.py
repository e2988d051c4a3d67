"""``skillpath train`` (fit, compare, log to MLflow, register, gate) and ``skillpath evaluate``
(compare models on your own train/test files, no tracking)."""

from __future__ import annotations

import logging
import math
from datetime import datetime
from typing import Any

import click

from catalog.errors import DataValidationError
from skillpath_cli.common import DateType, UsageFailure, data_dir, emit_table, progress
from skillpath_cli.common import settings as cli_settings

__all__ = ["train", "evaluate"]

_MODEL_HELP = "A model (popularity, content, als, bpr, ease, lightfm), a comma list, or 'all'."


def _plain(v: Any) -> Any:
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _rows(table) -> list[dict[str, Any]]:
    return [{c: _plain(v) for c, v in row.items()} for row in table.to_dict("records")]


def _quiet_mlflow() -> None:
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("mlflow.utils.environment").setLevel(logging.ERROR)  # "pip version not resolved"


@click.command()
@click.option("--model", "model", default=None, metavar="NAME", help=_MODEL_HELP + " Default: settings default_model.")
@click.option("--tracking-uri", default=None, envvar="MLFLOW_TRACKING_URI",
              help="An MLflow tracking server (default: SQLite inside the data dir, mlflow/mlflow.db).")
@click.option("--force", is_flag=True, help="Make the new version @champion even if it does not beat the current one.")
@click.option("--cutoff", type=DateType(), default=None,
              help="Train only on events before this date (default: all events).")
@click.option("--k", "k", type=click.IntRange(1, 100), default=None, help="List length for metrics (default 10).")
@click.option("--val-fraction", type=click.FloatRange(0.01, 0.9), default=0.2, show_default=True,
              help="Share of the training events (the latest) held out as the validation window.")
@click.option("--events", "events_path", type=click.Path(dir_okay=False), default=None,
              help="Read events from this Parquet/CSV file instead of the data dir's event log.")
@click.option("--feast-features", is_flag=True,
              help="Add Feast mentee engagement (point in time at the validation cut, binned) to LightFM's user "
                   "features and active/inactive slices to the table. Needs `skillpath features build` and "
                   "`skillpath features apply` first.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.pass_context
def train(ctx: click.Context, model: str | None, tracking_uri: str | None, force: bool, cutoff: datetime | None,
          k: int | None, val_fraction: float, events_path: str | None, feast_features: bool, fmt: str) -> None:
    """Fit models, compare them on a validation window, log the run to MLflow and register the model.

    The latest --val-fraction of the training events is the validation window; every
    requested model is fitted on the events before it and scored on it. The candidate
    (the one model asked for, or the best NDCG@k of several) is logged as an MLflow
    pyfunc and registered as a new version of skillpath-recommender. It becomes
    @champion only if it beats the current champion's NDCG@k on the same validation
    data (or with --force). Prints the comparison table, the recency settings chosen
    at training time for parameters set to "auto" (on the last 20% of the fit window;
    see docs/training.md) and the decision.
    """
    from training.defaults import parse_model_names
    from training.pipeline import train as run_training

    _quiet_mlflow()
    settings = cli_settings(ctx)
    names = parse_model_names(model, settings.default_model)
    stages = ["loading data", *[f"fitting {n}" for n in names], "logging to MLflow", "logging the model",
              "promotion gate"]
    with progress(total=len(stages), desc="training", unit="step") as bar:
        def on_stage(stage: str) -> None:
            bar.set_description(stage)
            bar.update(1)

        report = run_training(settings, data_dir(ctx), models=names, cutoff=cutoff, k=k, force=force,
                              tracking_uri=tracking_uri, events_path=events_path, val_fraction=val_fraction,
                              on_stage=on_stage, feast_features=feast_features)
    emit_table(_rows(report.comparison.table), fmt)
    if fmt != "table":
        return
    g = report.gate
    champ = "" if g.champion_score is None else f" vs champion v{g.champion_version} {g.champion_score:.4f} ({g.champion_scored})"
    verdict = {"first": "promoted to @champion (first version)", "promoted": "promoted to @champion",
               "forced": "promoted to @champion (--force)", "rejected": "not promoted: it does not beat the champion",
               "refused": f"not promoted: degenerate ({g.why})"}
    click.echo(f"\nvalidation window from {report.split['validation_cut']} "
               f"({report.split['fit_events']:,} fit / {report.split['validation_events']:,} validation events)")
    for name, r in report.comparison.results.items():
        if r.auto is not None:  # the recency settings chosen on an inner split of the fit window
            click.echo(f"auto ({name}): {r.auto.summary()}")
    click.echo(f"registered {report.candidate} as version {report.version} (run {report.run_id}); "
               f"{g.metric} {g.candidate_score:.4f}{champ}: {verdict[g.decision]}")
    click.echo(f"tracking: {report.tracking_uri}")


@click.command()
@click.option("--catalog", "catalog_path", required=True, metavar="CAT",
              help="Catalog table (CSV/Parquet/JSONL); only item_id is required, skills optional.")
@click.option("--train", "train_path", required=True, metavar="EVENTS",
              help="Training events: user_id, item_id, timestamp (event_type defaults to view).")
@click.option("--test", "test_path", required=True, metavar="EVENTS", help="Held-out events, same columns.")
@click.option("--model", "model", default="all", show_default=True, metavar="NAME", help=_MODEL_HELP)
@click.option("--k", "k", type=click.IntRange(1, 100), default=10, show_default=True, help="List length.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
              help="json: one object per line and model, keys like ndcg@10.")
@click.option("--split", "split", type=click.Choice(["auto", "temporal", "user-holdout", "leave-last-out"]),
              default="auto", show_default=True,
              help="How --test relates to --train; 'auto' recency settings tune on an inner split of --train "
                   "cut the same way. auto: temporal if every test event follows the training events, "
                   "else user-holdout.")
def evaluate(catalog_path: str, train_path: str, test_path: str, model: str, k: int, fmt: str,
             split: str = "auto") -> None:
    """Compare models on your own data: fit on --train, score the top-k lists on --test.

    Training-seen items are excluded from lists and truth; dismissed items never count.
    Metrics: precision, recall, NDCG, MAP and hit rate at k, catalog coverage, novelty,
    the cold-start slices, and fit seconds. Nothing is logged or registered.
    """
    from training.defaults import parse_model_names
    from training.evaluate import detect_split, run_comparison
    from training.lenient import read_catalog_file, read_events_table

    names = parse_model_names(model, "als")
    try:
        world = read_catalog_file(catalog_path)
        train_events = read_events_table(train_path, world)
        test_events = read_events_table(test_path, world)
    except DataValidationError as e:  # one line: the count and the first bad row
        first = f"; first: {e.errors[0]}" if e.errors else ""
        raise UsageFailure(f"{e.source or 'input'}: {len(e.errors)} bad row(s), nothing evaluated{first}") from None
    with progress(total=len(names), desc="models", unit="model") as bar:
        def on_model(name: str) -> None:
            bar.set_description(name)
            bar.update(1)

        if split == "auto":
            split = detect_split(train_events, test_events)
        comparison = run_comparison(names, train_events, test_events, world, k=k, on_model=on_model, split=split)
    click.echo(f"split: {split} ('auto' recency settings tuned on an inner {split} split of --train)", err=True)
    # Without publication dates every item looks decades old: a stale share would say nothing.
    undated = all(r.published_at.year <= 1970 for r in world.catalog.resources)
    table = comparison.table.drop(columns=[f"stale_share@{k}"]) if undated else comparison.table
    emit_table(_rows(table), fmt)
