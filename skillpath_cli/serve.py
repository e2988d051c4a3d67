"""``skillpath serve``: run the BentoML recommendation service on this data dir."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from catalog.datadir import DataDir
from catalog.errors import NotReadyError
from skillpath_cli.common import data_dir, settings

__all__ = ["serve", "serve_command"]

SERVICE = "serving.service:SkillPathService"


def serve_command(root: Path, *, host: str, port: int, workers: int, model_dir: str | Path | None,
                  config: str | Path | None = None, env: dict[str, str] | None = None,
                  ) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that start the service (the CLI execs them; tests start them).

    The service loads its settings from this environment (each worker, at start), so what
    the command line chose is written into it as the documented ``SKILLPATH_*`` variables.
    """
    dd = DataDir(root)
    if not dd.has_world():
        raise NotReadyError(f"no world in {dd.root}; run `skillpath data synth` or `skillpath data import` first")
    out = dict(os.environ if env is None else env)
    out["SKILLPATH_DATA_DIR"] = str(dd.root)
    out["SKILLPATH_WORKERS"] = str(workers)
    out.setdefault("OPENBLAS_NUM_THREADS", "1")
    if model_dir:
        out["SKILLPATH_MODEL_DIR"] = str(Path(model_dir).expanduser().resolve())
    if config:
        out["SKILLPATH_CONFIG"] = str(Path(config).expanduser().resolve())
    repo = Path(__file__).resolve().parent.parent  # where `serving` is importable from
    argv = [sys.executable, "-m", "bentoml", "serve", SERVICE, "--host", host, "--port", str(port),
            "--working-dir", str(repo)]
    return argv, out


@click.command("serve")
@click.option("--host", default=None, help="Interface to listen on [default: serving.host, 127.0.0.1: this "
                                           "machine only].")
@click.option("--port", default=None, type=click.IntRange(1, 65535), help="TCP port [default: serving.port, 3000].")
@click.option("--workers", default=None, type=click.IntRange(1, 64),
              help="Worker processes; they share the event log, so any worker answers consistently "
                   "[default: serving.workers, $SKILLPATH_WORKERS, 1].")
@click.option("--model", "--model-dir", "model_dir", type=click.Path(file_okay=False), default=None,
              metavar="DIR",
              help="Serve this saved model directory instead of the MLflow registry's @champion "
                   "[default: $SKILLPATH_MODEL_DIR].")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, workers: int | None, model_dir: str | None) -> None:
    """Serve recommendations over HTTP (POST /recommend, POST /events, ...; see docs/serving.md).

    The model is the registry's skillpath-recommender@champion (embedded MLflow store in
    the data dir, or MLFLOW_TRACKING_URI), or --model-dir. Write endpoints need an API key:
    set SKILLPATH_API_KEYS=key1,key2 and send `Authorization: Bearer key1`.
    """
    s = settings(ctx)
    host, port = host or s.serving.host, port or s.serving.port
    argv, env = serve_command(data_dir(ctx), host=host, port=port, workers=workers or s.serving.workers,
                              model_dir=model_dir or s.model_dir, config=s.config)
    click.echo(f"serving {env['SKILLPATH_DATA_DIR']} on http://{host}:{port} (docs at /docs)", err=True)
    os.execve(argv[0], argv, env)  # bentoml owns the process (signals, workers) from here
