"""Entry point of the ``skillpath`` command.

Each command group lives in its own module under ``skillpath_cli/`` and is imported
only when used, so ``skillpath --help`` stays fast and heavy frameworks (feast, mlflow,
bentoml) load only for the commands that need them.
"""

from __future__ import annotations

import importlib
import os
import sys

# Must be set before numpy is imported anywhere (see ../shared/NOTES.md).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# Third-party progress bars (MLflow's "Downloading artifacts") are noise in a CLI and in serve.log.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

import warnings  # noqa: E402

# Third-party deprecation chatter (feast/ibis/mlflow) is noise for a CLI user.
warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", category=FutureWarning)

import click  # noqa: E402

from skillpath_cli.common import run_cli  # noqa: E402

# name -> (module, attribute, one-line help). Each module defines a click command/group.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "data": ("skillpath_cli.data", "data", "Generate, import and validate data (synthetic world, OULAD, CSV)."),
    "catalog": ("skillpath_cli.catalog_cmd", "catalog", "Inspect the catalog: summary, stale-content report."),
    "events": ("skillpath_cli.events", "events", "The durable event log: ingest, count, export to Parquet."),
    "db": ("skillpath_cli.db", "db", "The event log's database: schema upgrade, SQLite <-> PostgreSQL export/import."),
    "features": ("skillpath_cli.features", "features", "Feature store (Feast): build tables, apply, materialize, show."),
    "bench": ("skillpath_cli.bench", "bench", "Measure the hot paths (top-k scoring vs implicit, numpy, bandwidth)."),
    "mentors": ("skillpath_cli.mentors", "mentors", "Match mentees with mentors by skill gap, within capacities."),
    "serve": ("skillpath_cli.serve", "serve", "Serve recommendations over HTTP (BentoML)."),
    "recommend": ("skillpath_cli.recommend_cmd", "recommend", "Recommend to one mentee in-process, with reasons."),
    "sessions": ("skillpath_cli.sessions", "sessions", "Mentoring sessions: add, list, import CSV/JSONL, feedback for a mentor."),
    "ask": ("skillpath_cli.ask", "ask", "Ask the virtual mentor a question as a mentee (in-process, like POST /assistant)."),
    "train": ("skillpath_cli.train", "train", "Fit and compare models, log to MLflow, register, promote by a gate."),
    "evaluate": ("skillpath_cli.train", "evaluate", "Compare models on your own catalog + train/test event files."),
    "models": ("skillpath_cli.models_cmd", "models", "Registered model versions: list, promote, rollback."),
    "path": ("skillpath_cli.path", "path", "A mentee's learning path: what to learn next, in which order, and why."),
    "skills": ("skillpath_cli.path", "skills", "The skill graph: a skill with its prerequisites and dependents."),
    "resources": ("skillpath_cli.entities", "resources", "Catalog resources in the entity store: add, show, list, retire."),
    "mentees": ("skillpath_cli.entities", "mentees", "Mentee profiles in the entity store: add, show, list, forget."),
    "audit": ("skillpath_cli.entities", "audit", "The change log of entity writes (which key, when, what)."),
    "monitor": ("skillpath_cli.monitor", "monitor", "Mentee monitor: statuses, alerts with reasons and next actions, acknowledgements."),
    "evaluate-paths": ("skillpath_cli.evaluate_paths", "evaluate_paths", "Do learning paths make people learn? Simulated against a synthetic world's hidden truth."),
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when it is invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where SkillPath keeps its data, event log, models and tracking store "
         "[default: $SKILLPATH_DATA_DIR, the config's data_dir, else skillpath-data].",
)
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    default=None,
    help="A settings file (YAML; see skillpath.example.yaml) [default: $SKILLPATH_CONFIG]. "
         "Environment variables override it.",
)
@click.pass_context
def cli(ctx: click.Context, data_dir: str | None, config: str | None) -> None:
    """SkillPath: tells each mentee what to learn next, and keeps that advice fresh.

    Start with `skillpath data synth` (a demo world) or `skillpath data import`
    (your own CSVs); every command works on --data-dir (default ./skillpath-data).
    """
    # Loaded once, on first use (common.settings): every command reads that object, never the environment.
    ctx.obj = {"config": config, "data_dir": data_dir, "settings": None}


def main(argv: list[str] | None = None) -> None:
    sys.exit(run_cli(cli, argv))


if __name__ == "__main__":
    main()
