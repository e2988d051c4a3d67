"""Shared CLI plumbing: error handling, output formats, progress bars."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from catalog.errors import DataValidationError, SkillPathError

if TYPE_CHECKING:
    from catalog.settings import Settings

__all__ = ["DateType", "run_cli", "click_error_line", "FORMAT", "format_option", "settings", "data_dir", "emit_table", "progress", "UsageFailure"]

EXIT_USAGE = 2


class UsageFailure(SkillPathError):
    """A user error detected in the CLI layer itself."""


class DateType(click.ParamType):
    """An ISO-8601 date or datetime (naive = UTC), as a click parameter type."""

    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        from catalog.schema import parse_timestamp  # pandas: loaded only when a date is given

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
        click.echo(click_error_line(e), err=True)
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


def click_error_line(e: click.ClickException) -> str:
    """Click's own usage errors in the house style: one ``error:`` line naming the command's --help."""
    msg = " ".join(e.format_message().split())
    ctx = getattr(e, "ctx", None)
    if isinstance(e, click.UsageError) and ctx is not None:
        msg = f"{msg} (see `{ctx.command_path} --help`)"
    return f"error: {msg}"


def settings(ctx: click.Context) -> Settings:
    """The settings of this invocation, loaded once, on first use (``--help`` never loads them)."""
    obj = ctx.find_root().obj
    if obj.get("settings") is None:
        from catalog.settings import load_settings

        obj["settings"] = load_settings(obj.get("config"), data_dir=obj.get("data_dir"))
    return obj["settings"]


def data_dir(ctx: click.Context) -> Path:
    return Path(settings(ctx).data_dir)


FORMAT = ("table", "csv", "json")


def format_option(default: str = "table"):
    """The one ``--format`` option every listing command takes (table, csv, JSON Lines)."""
    return click.option("--format", "fmt", type=click.Choice(FORMAT), default=default, show_default=True,
                        help="table: aligned, long text wrapped; csv and json (JSON Lines): full values.")


def _plain(v: Any) -> Any:
    """numpy scalars as Python values; NaN as None."""
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            v = v.item()
        except (ValueError, TypeError):
            return v
    if isinstance(v, float) and v != v:
        return None
    return v


def _integral_columns(rows: list[dict[str, Any]], columns: list[str]) -> set[str]:
    """Columns whose numbers are all whole (counts that went through a float column): printed as ints."""
    out = set()
    for c in columns:
        vals = [r.get(c) for r in rows if r.get(c) is not None]
        if vals and all(isinstance(v, float) and v.is_integer() and abs(v) < 2**53 for v in vals):
            out.add(c)
    return out


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes (emoji and CJK take two). Printable ASCII is one column a character
    without asking wcwidth, whose tables take 0.2 s to import: most tables never need them."""
    if text.isascii() and text.isprintable():
        return len(text)
    from wcwidth import wcswidth

    w = wcswidth(text)
    return w if w >= 0 else len(text)


def _wcwidth(ch: str) -> int:
    from wcwidth import wcwidth

    return int(wcwidth(ch))


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` terminal columns, broken at spaces where possible."""
    lines: list[str] = []
    for para in text.splitlines() or [""]:
        line, lw = "", 0
        for word in para.split(" "):
            ww = display_width(word)
            if line and lw + 1 + ww <= width:
                line, lw = f"{line} {word}", lw + 1 + ww
                continue
            if line:
                lines.append(line)
            line, lw = "", 0
            for ch in word:  # a word longer than the column: cut it by characters
                cw = 1 if ch.isascii() and ch.isprintable() else max(_wcwidth(ch), 0)
                if lw + cw > width:
                    lines.append(line)
                    line, lw = "", 0
                line, lw = line + ch, lw + cw
        lines.append(line)
    return lines


def emit_table(rows: list[dict[str, Any]], fmt: str = "table", *, columns: list[str] | None = None,
               out=None, max_width: int = 60) -> None:
    """Print rows as an aligned table (long text wrapped, never cut), CSV or JSON Lines (full values).

    Whole-number float columns (counts read through pandas) print as integers in every format.
    """
    out = out or sys.stdout
    columns = columns or (list(rows[0]) if rows else [])
    rows = [{c: _plain(r.get(c)) for c in columns} for r in rows]
    for c in _integral_columns(rows, columns):
        for r in rows:
            if r[c] is not None:
                r[c] = int(r[c])
    if fmt == "json":
        for r in rows:
            out.write(json.dumps(r, default=str, ensure_ascii=False) + "\n")
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

    cells = [[cell(r[c]) for c in columns] for r in rows]
    widths = [min(max_width, max(display_width(c), *(display_width(row[i]) for row in cells)))
              for i, c in enumerate(columns)]

    def line(parts: list[str]) -> str:
        return "  ".join(p + " " * (w - display_width(p)) for p, w in zip(parts, widths)).rstrip() + "\n"

    out.write(line(columns))
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        wrapped = [_wrap(v, w) for v, w in zip(row, widths)]
        for i in range(max(len(x) for x in wrapped)):
            out.write(line([x[i] if i < len(x) else "" for x in wrapped]))


def progress(iterable=None, *, total: int | None = None, desc: str = "", unit: str = "it"):
    """A tqdm progress bar on stderr, silent when stderr is not a terminal (unless ``settings.progress``)."""
    from tqdm.auto import tqdm

    ctx = click.get_current_context(silent=True)
    forced = bool(ctx and isinstance(ctx.find_root().obj, dict) and settings(ctx).progress)
    disable = not sys.stderr.isatty() and not forced
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, leave=False,
                file=sys.stderr, dynamic_ncols=True)
