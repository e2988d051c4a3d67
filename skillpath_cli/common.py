"""Shared CLI plumbing: error handling, output formats, progress bars."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from catalog.errors import DataValidationError, SkillPathError
from catalog.schema import parse_timestamp
from catalog.settings import Settings

__all__ = ["DateType", "run_cli", "settings", "data_dir", "emit_table", "progress", "UsageFailure"]

EXIT_USAGE = 2


class UsageFailure(SkillPathError):
    """A user error detected in the CLI layer itself."""


class DateType(click.ParamType):
    """An ISO-8601 date or datetime (naive = UTC), as a click parameter type."""

    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_timestamp(value)
        except ValueError as e:
            self.fail(str(e), param, ctx)


def run_cli(cli: click.Command, argv: list[str] | None = None) -> int:
    """Run ``cli``; user errors become one readable line on stderr and exit code 2."""
    try:
        rc = cli.main(args=argv, prog_name="skillpath", standalone_mode=False)
        # with standalone_mode=False click returns ctx.exit(n) codes instead of raising
        return rc if isinstance(rc, int) else 0
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.ClickException as e:
        e.show()
        return EXIT_USAGE
    except DataValidationError as e:
        # Several lines by nature: one per bad row, after a one-line summary.
        click.echo(f"error: {e}", err=True)
        return EXIT_USAGE
    except (SkillPathError, FileNotFoundError, PermissionError, IsADirectoryError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        click.echo(f"error: {msg}", err=True)
        return EXIT_USAGE
    except UnicodeDecodeError as e:  # a reader that did not name its file
        click.echo(f"error: a file is not UTF-8 text (byte {e.start}); save it as UTF-8", err=True)
        return EXIT_USAGE
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130


def settings(ctx: click.Context) -> Settings:
    """The settings the ``skillpath`` group loaded once for this invocation."""
    return ctx.find_root().obj["settings"]


def data_dir(ctx: click.Context) -> Path:
    return Path(settings(ctx).data_dir)


def emit_table(rows: list[dict[str, Any]], fmt: str = "table", *, columns: list[str] | None = None,
               out=None) -> None:
    """Print rows as an aligned table, CSV or JSON Lines."""
    out = out or sys.stdout
    columns = columns or (list(rows[0]) if rows else [])
    if fmt == "json":
        for r in rows:
            out.write(json.dumps({c: r.get(c) for c in columns}, default=str) + "\n")
        return
    if fmt == "csv":
        import csv

        w = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        return
    if not rows:
        out.write("(none)\n")
        return

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3f}"
        return "" if v is None else str(v)

    cells = [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [min(60, max(len(c), *(len(row[i]) for row in cells))) for i, c in enumerate(columns)]
    out.write("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip() + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write("  ".join(v[:w].ljust(w) for v, w in zip(row, widths)).rstrip() + "\n")


def progress(iterable=None, *, total: int | None = None, desc: str = "", unit: str = "it"):
    """A tqdm progress bar on stderr, silent when stderr is not a terminal (unless ``settings.progress``)."""
    from tqdm.auto import tqdm

    ctx = click.get_current_context(silent=True)
    forced = bool(ctx and (ctx.find_root().obj or {}).get("settings") and settings(ctx).progress)
    disable = not sys.stderr.isatty() and not forced
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, leave=False,
                file=sys.stderr, dynamic_ncols=True)
