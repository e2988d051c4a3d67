"""``skillpath serve``: run the BentoML recommendation service on this data dir."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from catalog.datadir import DataDir
from catalog.errors import NotReadyError
from skillpath_cli.common import data_dir

__all__ = ["serve", "serve_command"]

SERVICE = "serving.service:SkillPathService"


def serve_command(root: Path, *, host: str, port: int, workers: int, model_dir: str | None,
                  env: dict[str, str] | None = None) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that start the service (the CLI execs them; tests start them)."""
    dd = DataDir(root)
    if not dd.has_world():
        raise NotReadyError(f"no world in {dd.root}; run `skillpath data synth` or `skillpath data import` first")
    out = dict(os.environ if env is None else env)
    out["SKILLPATH_DATA_DIR"] = str(dd.root)
    out["SKILLPATH_WORKERS"] = str(workers)
    out.setdefault("OPENBLAS_NUM_THREADS", "1")
    if model_dir:
        out["SKILLPATH_MODEL_DIR"] = str(Path(model_dir).expanduser().resolve())
    repo = Path(__file__).resolve().parent.parent  # where `serving` is importable from
    argv = [sys.executable, "-m", "bentoml", "serve", SERVICE, "--host", host, "--port", str(port),
            "--working-dir", str(repo)]
    return argv, out


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on (127.0.0.1: this machine only).")
@click.option("--port", default=3000, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes; they share the event log, so any worker answers consistently.")
@click.option("--model-dir", type=click.Path(file_okay=False), default=None, envvar="SKILLPATH_MODEL_DIR",
              help="Serve this saved model directory instead of the MLflow registry's @champion.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int, model_dir: str | None) -> None:
    """Serve recommendations over HTTP (POST /recommend, POST /events, ...; see docs/serving.md).

    The model is the registry's skillpath-recommender@champion (embedded MLflow store in
    the data dir, or MLFLOW_TRACKING_URI), or --model-dir. Write endpoints need an API key:
    set SKILLPATH_API_KEYS=key1,key2 and send `Authorization: Bearer key1`.
    """
    argv, env = serve_command(data_dir(ctx), host=host, port=port, workers=workers, model_dir=model_dir)
    click.echo(f"serving {env['SKILLPATH_DATA_DIR']} on http://{host}:{port} (docs at /docs)", err=True)
    os.execve(argv[0], argv, env)  # bentoml owns the process (signals, workers) from here
