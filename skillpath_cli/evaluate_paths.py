"""``skillpath evaluate-paths``: do learning paths make people learn? (simulated, hidden truth)."""

from __future__ import annotations

from pathlib import Path

import click

from catalog.datadir import DataDir
from skillpath_cli.common import data_dir, emit_table, progress
from skillpath_cli.common import settings as cli_settings

__all__ = ["evaluate_paths"]

# --quick: a small world and few mentees, for tests and a first look (seconds, not minutes).
QUICK = {"world_mentees": 300, "world_items": 400, "world_days": 60, "seeds": 2, "mentees": 6, "steps": 6}


@click.command("evaluate-paths")
@click.option("--quick", is_flag=True, help="A small world, 2 seeds, 6 mentees, 6 steps: a smoke run in seconds.")
@click.option("--seeds", type=click.IntRange(1, 100), default=5, show_default=True,
              help="Simulation seeds (0..N-1); each draws its own mentees and noise.")
@click.option("--mentees", type=click.IntRange(1, 10_000), default=30, show_default=True,
              help="Simulated mentees per seed (half near their goals, half far).")
@click.option("--steps", type=click.IntRange(1, 500), default=20, show_default=True,
              help="Resources each simulated mentee studies.")
@click.option("--model", type=click.Choice(["als", "ease", "bpr", "popularity"]), default="als", show_default=True,
              help="The trained model behind top-k and the planners' tie-break scores.")
@click.option("--from-data-dir", is_flag=True,
              help="Use the synthetic world in --data-dir (with truth/mastery.parquet) instead of generating one.")
@click.option("--world-seed", type=int, default=7, show_default=True, help="Seed of the generated world.")
@click.option("--world-mentees", type=click.IntRange(10), default=6000, show_default=True)
@click.option("--world-items", type=click.IntRange(10), default=5000, show_default=True)
@click.option("--world-days", type=click.IntRange(7), default=365, show_default=True)
@click.option("--mlflow/--no-mlflow", "use_mlflow", default=True, show_default=True,
              help="Log the tables to MLflow: the training runs' store and experiment (embedded in "
                   "DATA_DIR/mlflow unless --tracking-uri), as a run tagged with the latest training run.")
@click.option("--tracking-uri", default=None, envvar="MLFLOW_TRACKING_URI",
              help="An MLflow tracking server (default: SQLite inside the data dir).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the Markdown tables here (default: DATA_DIR/reports/paths_eval.md).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.pass_context
def evaluate_paths(ctx: click.Context, quick: bool, seeds: int, mentees: int, steps: int, model: str,
                   from_data_dir: bool, world_seed: int, world_mentees: int, world_items: int, world_days: int,
                   use_mlflow: bool, tracking_uri: str | None, out: Path | None, fmt: str) -> None:
    """Simulate mentees following each policy and measure how much they really learn.

    Each simulated mentee starts at their hidden TRUE mastery in a synthetic world and
    studies STEPS resources, one per recommendation; true mastery moves by the world's
    learning model, and the policy sees start/complete events and noisy assessment scores
    and re-plans. Learning effectiveness E = (score_end - score_start) / (score_max -
    score_start) on the goal skills (score = mean true mastery capped at each goal's
    target level/5); E_req is the same over the goals plus their unmet prerequisites.
    Policies: planner, planner-fullcredit, planner-nocredit, planner-noprereq, goal-topk,
    topk, popularity, random, on the same mentees and seeds. See docs/paths_eval.md.
    """
    from catalog.synth import SynthConfig
    from training.path_eval import PathEvalConfig
    from training.path_eval_report import data_dir_world, evaluate_paths as run, log_to_mlflow, synth_world, \
        to_markdown

    dd = DataDir(data_dir(ctx))
    if quick:
        world_mentees, world_items, world_days = QUICK["world_mentees"], QUICK["world_items"], QUICK["world_days"]
        seeds, mentees, steps = QUICK["seeds"], QUICK["mentees"], QUICK["steps"]
    cfg = PathEvalConfig(seeds=tuple(range(seeds)), n_mentees=mentees, steps=steps, model=model)
    info: dict[str, object]
    if from_data_dir:
        info = {"source": str(dd.root)}
        ew = data_dir_world(dd.root, model=model)
    else:
        sc = SynthConfig(seed=world_seed, n_mentees=world_mentees, n_items=world_items, days=world_days)
        info = {"source": "synth", "seed": world_seed, "mentees": world_mentees, "items": world_items,
                "days": world_days}
        click.echo(f"generating a synthetic world (seed {world_seed}, {world_mentees} mentees, {world_items} items, "
                   f"{world_days} days) and training {model} ...", err=True)
        ew = synth_world(sc, model=model)
    with progress(total=len(cfg.seeds) * cfg.n_mentees, desc="simulating mentees", unit="mentee") as bar:
        report = run(ew, cfg, world_info=info, progress=bar.update)
    rows = [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
            for r in report.summary.to_dict("records")]
    emit_table(rows, fmt)
    if fmt == "table":
        click.echo("")
        emit_table([{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
                    for r in report.gaps.to_dict("records")], "table")
        click.echo(f"\n{len(report.runs)} simulated runs in {report.seconds:.1f} s")
    md_path = out or dd.reports / "paths_eval.md"
    md_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text(to_markdown(report))
    click.echo(f"tables written to {md_path}", err=True)
    if use_mlflow:
        import logging

        import mlflow  # noqa: F401  (imported first: it configures its own loggers on import)

        logging.getLogger("mlflow").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        settings = cli_settings(ctx)
        run_id = log_to_mlflow(report, dd.ensure().root, tracking_uri=tracking_uri, settings=settings)
        where = tracking_uri or settings.tracking.uri or str(dd.mlflow / "mlflow.db")
        click.echo(f"logged to MLflow ({where}), experiment {settings.tracking.experiment!r}, run {run_id} "
                   "(tag skillpath.run_kind=path-eval)", err=True)
