"""``skillpath mentors``: match mentees with mentors by skill gap, within mentor capacities."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from catalog.datadir import DataDir
from catalog.errors import NotReadyError, UnknownMentorError
from skillpath_cli.common import UsageFailure, data_dir, emit_table, progress

__all__ = ["mentors"]

_FORMATS = click.Choice(["table", "csv", "json"])
_FORMAT = click.option("--format", "fmt", type=_FORMATS, default="table", show_default=True,
                       help="table for people; csv or json (one object per line) for tools.")
ASSIGNMENT_FILE = "mentor_assignment.csv"
PAIR_COLUMNS = ["user_id", "mentor_id", "mentor", "score", "coverage", "needs", "method"]
QUALITY_COLUMNS = ["method", "matched", "unmatched", "total_score", "mean_score", "worst_score",
                   "needs_covered", "needs_total", "uncovered_mentees", "utilisation"]


def _matcher(ctx: click.Context):
    from catalog.loaders import load_world
    from recommender.matching import MentorMatcher

    return MentorMatcher(load_world(DataDir(data_dir(ctx))))


def _read_table_ids(path: Path, column: str) -> "Any":
    """A table with ``column`` (cells as strings), or None when the file is one id per line.

    Tables go through :func:`catalog.tables.read_table`, so an undecodable file is a
    ConfigError naming it rather than a traceback.
    """
    import pandas as pd

    from catalog.tables import read_table, unreadable_as_config_error

    suffix = path.suffix.lower()
    if suffix in (".parquet", ".jsonl", ".ndjson"):
        df = read_table(path)
    else:
        with unreadable_as_config_error(path):
            lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
        if not lines:
            raise UsageFailure(f"{path}: the file is empty")
        if not (suffix == ".csv" or "," in lines[0] or lines[0].lower() == column):
            return None
        if suffix == ".csv":
            df = read_table(path)
        else:
            with unreadable_as_config_error(path):
                df = pd.read_csv(path, dtype=str, keep_default_na=False)
    if column not in df.columns:
        raise UsageFailure(f"{path}: no {column} column (found: {', '.join(map(str, df.columns))})")
    return df.map(lambda v: "" if v is None else str(v))


def read_cohort(path: Path) -> list[str]:
    """Mentee ids from a CSV with a ``user_id`` column or a text file with one id per line."""
    df = _read_table_ids(path, "user_id")
    ids = ([s.strip() for s in df["user_id"]] if df is not None
           else [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()])
    return list(dict.fromkeys(i for i in ids if i))


def read_assignment(path: Path) -> dict[str, str | None]:
    """``user_id -> mentor_id`` (None if empty) from a CSV as written by ``assign --out``."""
    if not path.exists():
        raise NotReadyError(f"no assignment file at {path}; run `skillpath mentors assign --out {path}` first")
    df = _read_table_ids(path, "user_id")
    if df is None or "mentor_id" not in df.columns:
        raise UsageFailure(f"{path}: needs user_id and mentor_id columns")
    return {u.strip(): (m.strip() or None) for u, m in zip(df["user_id"], df["mentor_id"]) if u.strip()}


@click.group()
def mentors() -> None:
    """Match mentees with mentors by skill gap, within mentor capacities.

    \b
    A mentee's needs are their unmet goals and the unmet prerequisites below them,
    soonest first (self-assessed levels decide what is met). A mentor covers a need
    at or above its target level (half credit one level below). The match score
    (0-1) weighs need coverage, urgency-weighted coverage, goal alignment, free
    places, language, time zone and format; see docs/mentors.md.
    """


def _add_store_commands() -> None:
    from skillpath_cli.entities import mentor_commands

    for cmd in mentor_commands:
        mentors.add_command(cmd)


_add_store_commands()


@mentors.command()
@click.argument("user_id")
@click.option("--k", type=click.IntRange(min=1), default=5, show_default=True, help="How many mentors to show.")
@click.option("--include-full", is_flag=True, help="Also show mentors with no free place.")
@click.option("--assignment", "assignment_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Count the mentees each mentor already has from this assignment file (user_id,mentor_id); "
                   "default: every mentor has all places free.")
@_FORMAT
@click.pass_context
def match(ctx: click.Context, user_id: str, k: int, include_full: bool, assignment_file: Path | None,
          fmt: str) -> None:
    """Rank mentors for mentee USER_ID, best first, with the reasons in skill names."""
    from collections import Counter

    from recommender.matching.scoring import name_list

    matcher = _matcher(ctx)
    needs = matcher.needs(user_id)
    loads = None
    if assignment_file is not None:
        pairs = read_assignment(assignment_file)
        loads = dict(Counter(m for u, m in pairs.items() if m is not None and u != user_id))
        unknown = sorted(m for m in loads if m not in matcher.world.mentors)
        if unknown:
            raise UnknownMentorError(unknown, f"{assignment_file} names mentors that are not in the mentors file")
    ranked = matcher.rank(user_id, k, needs=needs, loads=loads, include_full=include_full)
    rows = [{"rank": r.rank, "mentor_id": r.mentor_id, "name": r.name, "score": round(r.match.score, 3),
             "coverage": round(r.match.coverage, 3), "free_places": r.free_places,
             "covers": ";".join(r.match.covered_skills), "reasons": "; ".join(r.match.reasons)} for r in ranked]
    if fmt != "table":
        emit_table(rows, fmt)
        return
    nexts = name_list([n.skill_id for n in needs], matcher.skill_names, 8) if needs else "none (goals met)"
    click.echo(f"Mentors for {user_id}; next skills: {nexts}")
    emit_table(rows, "table", columns=["rank", "mentor_id", "name", "score", "coverage", "free_places"])
    if ranked:
        click.echo("\nWhy:")
        for r in ranked:
            click.echo(f"  {r.rank}. {r.name or r.mentor_id}: {'; '.join(r.match.reasons)}")


@mentors.command()
@click.option("--cohort", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Mentees to assign: a CSV with a user_id column, or one id per line. Default: all mentees.")
@click.option("--method", type=click.Choice(["optimal", "greedy", "random"]), default="optimal", show_default=True,
              help="optimal: most mentees matched, then the highest total score (linear assignment); "
                   "greedy: best remaining pair first; random: random free places (--seed).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random method.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=f"Also write the assignment as CSV (user_id,mentor_id,score,coverage); "
                   f"`rematch` reads <data-dir>/reports/{ASSIGNMENT_FILE} by default.")
@click.option("--compare/--no-compare", default=True, show_default=True,
              help="Also run the other methods and compare their quality.")
@_FORMAT
@click.pass_context
def assign(ctx: click.Context, cohort: Path | None, method: str, seed: int, out: Path | None, compare: bool,
           fmt: str) -> None:
    """Assign a cohort of mentees to mentors without exceeding any mentor's capacity.

    \b
    Prints each mentee's mentor (score, share of next skills covered), then the
    quality of the assignment: mentees matched and left unmatched, total and
    worst-off score among matched mentees, needs covered, mentor utilisation;
    with --compare, the same figures for the other methods.
    """
    from catalog.writers import atomic_write_csv
    from recommender.matching import METHODS, assign as run_method

    matcher = _matcher(ctx)
    user_ids = read_cohort(cohort) if cohort is not None else None
    mentees = matcher.mentees(user_ids)  # unknown ids fail here, before any work
    bar = progress(total=len(mentees), desc="needs", unit="mentee")
    try:
        mat = matcher.matrix([m.user_id for m in mentees],
                             progress=lambda done, total: bar.update(done - bar.n))
    finally:
        bar.close()
    methods = [method] + ([m for m in METHODS if m != method] if compare else [])
    results = {}
    for m in progress(methods, desc="assign", unit="method"):
        a = run_method(mat, m, seed=seed)
        results[m] = (a, matcher.quality(a, mat))
    chosen, _ = results[method]
    names = {mid: matcher.world.mentors[mid].name for mid in mat.mentor_ids}
    pair_rows = _pair_rows(chosen, mat, names)
    q_rows = [_quality_row(q) for _, q in results.values()]
    if out is not None:
        atomic_write_csv(_frame(pair_rows), out)
    if fmt != "table":
        emit_table([{"kind": "pair", **r, "method": method} for r in pair_rows] + [{"kind": "quality", **r} for r in q_rows], fmt,
                   columns=["kind", *PAIR_COLUMNS, *QUALITY_COLUMNS[1:]])
        return
    click.echo(f"Assignment ({method}) of {len(mentees)} mentees to {len(mat.mentor_ids)} mentors "
               f"({int(mat.free_places.sum())} places):")
    emit_table(pair_rows, "table")
    click.echo("\nQuality" + (" (compared with the other methods):" if compare else ":"))
    emit_table(q_rows, "table", columns=QUALITY_COLUMNS)
    if out is not None:
        click.echo(f"\nwrote {len(pair_rows)} rows to {out}")


def _pair_rows(a, mat, names: dict[str, str]) -> list[dict[str, Any]]:
    cov = mat.part("coverage")
    rows = []
    for u, (uid, j) in enumerate(zip(a.mentee_ids, a.mentor_of.tolist())):
        matched = j >= 0
        rows.append({"user_id": uid, "mentor_id": a.mentor_ids[j] if matched else "",
                     "mentor": names[a.mentor_ids[j]] if matched else "",
                     "score": round(float(mat.score[u, j]), 4) if matched else None,
                     "coverage": round(float(cov[u, j]), 4) if matched else None,
                     "needs": int(mat.n_needs[u])})
    return rows


def _frame(rows: list[dict[str, Any]]):
    import pandas as pd

    return pd.DataFrame(rows, columns=PAIR_COLUMNS[:-1])


def _quality_row(q) -> dict[str, Any]:
    r = q.as_row()
    r["needs_covered"] = round(r["needs_covered"], 1)
    for c in ("total_score", "mean_score", "worst_score", "utilisation"):
        r[c] = round(r[c], 3)
    return r


@mentors.command()
@click.option("--assignment", "assignment_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=f"Current assignment (user_id,mentor_id), as written by `assign --out`. "
                   f"Default: <data-dir>/reports/{ASSIGNMENT_FILE}.")
@click.option("--k", type=click.IntRange(min=1), default=3, show_default=True,
              help="Alternatives to propose per mentee.")
@click.option("--horizon", type=click.IntRange(min=1), default=5, show_default=True,
              help="How many of the mentee's next skills to compare (the ones they will work on soon).")
@click.option("--min-coverage", type=click.FloatRange(0.0, 1.0), default=1 / 3, show_default="0.33",
              help="Flag a mentee whose mentor covers less than this share of those next skills.")
@click.option("--min-gain", type=click.FloatRange(0.0, 1.0), default=0.25, show_default=True,
              help="An alternative must cover at least this much more of the mentee's next skills.")
@_FORMAT
@click.pass_context
def rematch(ctx: click.Context, assignment_file: Path | None, k: int, horizon: int, min_coverage: float,
            min_gain: float, fmt: str) -> None:
    """Find mentees who have moved past what their mentor covers and propose better mentors.

    Needs are recomputed from the mentees file now, so mentees whose self-assessed
    levels have grown since the assignment are compared with their mentor afresh.
    Alternatives have a free place (loads counted from the assignment).
    """
    path = assignment_file or DataDir(data_dir(ctx)).reports / ASSIGNMENT_FILE
    pairs = read_assignment(path)
    matcher = _matcher(ctx)
    suggestions = matcher.rematch(pairs, k=k, min_coverage=min_coverage, min_gain=min_gain, horizon=horizon)
    rows = [{"user_id": s.user_id, "mentor_id": s.mentor_id, "coverage": round(s.coverage, 3),
             "alt_rank": a.rank, "alt_mentor_id": a.mentor_id, "alt_name": a.name,
             "alt_score": round(a.match.score, 3), "alt_coverage": round(a.match.coverage, 3),
             "alt_free_places": a.free_places, "why": s.reason, "alt_reasons": "; ".join(a.match.reasons)}
            for s in suggestions for a in (s.alternatives or (None,)) if a is not None]
    rows += [{"user_id": s.user_id, "mentor_id": s.mentor_id, "coverage": round(s.coverage, 3), "why": s.reason}
             for s in suggestions if not s.alternatives]
    if fmt != "table":
        cols = ["user_id", "mentor_id", "coverage", "alt_rank", "alt_mentor_id", "alt_name", "alt_score",
                "alt_coverage", "alt_free_places", "why", "alt_reasons"]
        emit_table(sorted(rows, key=lambda r: (r["user_id"], r.get("alt_rank") or 0)), fmt, columns=cols)
        return
    matched = sum(m is not None for m in pairs.values())
    click.echo(f"{len(suggestions)} of {matched} matched mentees have a mentor who covers less than "
               f"{min_coverage:.0%} of their next {horizon} skills.")
    for s in suggestions:
        click.echo(f"\n{s.user_id} (mentor {s.mentor_id}, covers {s.coverage:.0%}): {s.reason}")
        for a in s.alternatives:
            click.echo(f"  {a.rank}. {a.mentor_id} {a.name} (score {a.match.score:.3f}): "
                       f"{'; '.join(a.match.reasons)}")
