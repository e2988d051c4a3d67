"""Load the Open University Learning Analytics Dataset (OULAD) as a SkillPath world.

OULAD is real: learners of the Open University (UK) clicking on the online resources
("VLE sites") of their module, with assessment scores. The mapping (details and the
reasons in ``docs/data.md``):

- one evergreen **skill** per module (``AAA``, ``BBB``, ...), no prerequisites (the data
  records no dependency between modules);
- one **resource** per VLE site (``vle-<id_site>``) and per assessment
  (``assess-<id_assessment>``, type ``quiz``), teaching its module at a level 1-5 that is
  its stage in the course (planned week, else when learners first open it, see
  ``level_from``);
- one **mentee** per student (``s<id_student>``) with the goal ``<module>:5`` due at the
  end of the presentation; demographics (studentInfo) are never read;
- every click-log row becomes one ``view`` event (value NaN; the click count is kept
  beside the log in :attr:`OuladWorld.clicks`), every scored submission an ``assess``
  event with the score (0-100) as value. Days are mapped onto the calendar from each
  presentation's start (``B`` = 1 February, ``J`` = 1 October of its year), at 00:00 UTC.

This module is a loader (the package's I/O edge): it reads files, nothing else.
"""

from __future__ import annotations

import gzip
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from catalog.catalog import World
from catalog.errors import ConfigError
from catalog.oulad_mapping import (
    ACTIVITY_TYPES, assess_events, assessment_table, mentees_from_registrations, presentation_keys,
    presentation_start, site_table, stack_sorted, stage_level, to_us, view_events,
)
from catalog.schema import Resource, Skill, SkillLevel

__all__ = [
    "OULAD_ATTRIBUTION",
    "OULAD_LICENSE",
    "ACTIVITY_TYPES",
    "OuladWorld",
    "ProgressFn",
    "load_oulad",
    "presentation_start",
    "stage_level",
]

OULAD_LICENSE = "CC-BY 4.0"
OULAD_ATTRIBUTION = (
    "Open University Learning Analytics Dataset (OULAD): Kuzilek J., Hlosta M., Zdrahal Z., "
    "\"Open University Learning Analytics dataset\", Scientific Data 4:170171 (2017), "
    "doi:10.1038/sdata.2017.171. Licensed under CC-BY 4.0."
)
PROVIDER = "Open University (OULAD)"

_PRESENTATION = re.compile(r"^([A-Z]{3})[-_ /]?(\d{4}[BJ])$")
_CHUNK_ROWS = 100_000

ProgressFn = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: rows processed so far in ``stage`` out of ``total``."""


@dataclass
class OuladWorld:
    """The loaded dataset.

    ``events`` has exactly :data:`catalog.schema.EVENT_COLUMNS`, sorted by timestamp.
    ``clicks`` is ``sum_click`` for each event (same index as ``events``; 0 for assess
    events). ``sites`` has one row per resource with the raw OULAD fields and where its
    level came from. ``info`` holds counts, skipped rows (by reason), timings and the
    attribution.
    """

    world: World
    events: pd.DataFrame
    info: dict[str, Any]
    clicks: pd.Series = field(default_factory=lambda: pd.Series(dtype="int32"))
    sites: pd.DataFrame = field(default_factory=pd.DataFrame)


def load_oulad(
    source_dir: str | Path,
    *,
    presentations: Iterable[str] | None = None,
    min_clicks: int = 1,
    level_from: Literal["usage", "plan"] = "usage",
    progress: ProgressFn | None = None,
) -> OuladWorld:
    """Read OULAD from ``source_dir`` into a :class:`World` and a canonical events frame.

    Parameters
    ----------
    presentations
        ``["AAA-2013J", ...]``; default: the presentations present in the click log.
        A presentation without clicks still brings its sites, assessments and learners.
    min_clicks
        Click-log rows with fewer clicks are skipped (counted in ``info["skipped"]``).
    level_from
        ``"usage"``: a site's level is the stage at which learners first open it (median
        over learners), where the course plans no week; this reads the whole click log, so
        a strict time-split evaluation of curriculum-aware models should use ``"plan"``
        (planned week, else level 3). Assessments always use their due date.
    progress
        Called as ``progress(stage, done, total)`` while reading.
    """
    t0 = time.perf_counter()
    src = Path(source_dir)
    report = progress or (lambda stage, done, total: None)
    if min_clicks < 1:
        raise ConfigError(f"min_clicks must be >= 1, got {min_clicks}")
    if level_from not in ("usage", "plan"):
        raise ConfigError(f"level_from must be 'usage' or 'plan', got {level_from!r}")
    for name in ("courses.csv", "vle.csv", "assessments.csv", "studentAssessment.csv.gz",
                 "studentRegistration.csv.gz", "studentVle_complete.csv.gz"):
        if not (src / name).is_file():
            raise ConfigError(f"OULAD file {src / name} not found; pass the folder holding "
                              "the OULAD CSVs (see docs/data.md)")

    courses = pd.read_csv(src / "courses.csv", na_values="?")
    courses["key"] = courses.code_module + "-" + courses.code_presentation
    known = dict(zip(courses.key, courses.module_presentation_length.astype(int)))
    wanted = None if presentations is None else _parse_presentations(presentations, known)

    clicks_raw, n_click_rows = _read_clicks(src / "studentVle_complete.csv.gz", wanted, report)
    if wanted is None:
        wanted = sorted(set(clicks_raw.code_module + "-" + clicks_raw.code_presentation))
    length = {k: known[k] for k in wanted}
    start_us = {k: to_us(presentation_start(k.split("-")[1])) for k in wanted}

    sites = _read_sites(src / "vle.csv", wanted, report)
    assessments = _read_assessments(src / "assessments.csv", wanted)
    scores, n_score_rows = _read_scores(src / "studentAssessment.csv.gz", assessments, report)
    regs = _read_registrations(src / "studentRegistration.csv.gz", wanted, report)

    # ---- events
    below = clicks_raw.sum_click < min_clicks
    clicks_df = clicks_raw[~below]
    views = view_events(clicks_df, start_us)
    no_score = scores.score.isna()
    assess = assess_events(scores[~no_score], start_us)
    counts = np.concatenate([clicks_df.sum_click.to_numpy(np.int32), np.zeros(len(assess), np.int32)])
    events, order = stack_sorted([views, assess])
    click_counts = pd.Series(counts[order], name="sum_click")
    report("events", len(events), len(events))

    # ---- catalog: levels and publication dates
    first_ts = events.groupby("item_id", sort=False).timestamp.min()
    sites_part = site_table(sites, clicks_df, length, start_us, level_from, first_ts)
    assess_table = assessment_table(assessments, length, start_us, first_ts)
    table = pd.concat([sites_part, assess_table], ignore_index=True)
    modules = sorted({k.split("-")[0] for k in wanted})
    skills = [Skill(m, f"OU module {m}", "oulad") for m in modules]
    resources = [
        Resource(item_id=r.item_id, title=r.title, type=r.type, skills=(SkillLevel(r.module, int(r.level)),),
                 published_at=pd.Timestamp(r.published_at).to_pydatetime(), difficulty=int(r.level),
                 provider=PROVIDER, language="en")
        for r in table.itertuples(index=False)
    ]
    mentees = mentees_from_registrations(regs, length, start_us)
    world = World.build(skills, resources, mentees)

    n_views, n_assess = len(views), len(assess)
    info: dict[str, Any] = {
        "attribution": OULAD_ATTRIBUTION,
        "license": OULAD_LICENSE,
        "source_dir": str(src),
        "presentations": list(wanted),
        "level_from": level_from,
        "skills": len(skills),
        "resources": len(resources),
        "sites": len(sites_part),
        "assessments": len(assess_table),
        "mentees": len(mentees),
        "events": len(events),
        "views": n_views,
        "assess_events": n_assess,
        "rows_in": {"clicks": n_click_rows, "clicks_selected": len(clicks_raw),
                    "scores": n_score_rows, "scores_selected": len(scores)},
        "skipped": {"clicks_below_min_clicks": int(below.sum()),
                    "scores_missing": int(no_score.sum())},
        "banked_scores": int(assess.source.str.endswith(":banked").sum()),
        "level_sources": table.level_source.value_counts().to_dict(),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    return OuladWorld(world=world, events=events, info=info, clicks=click_counts, sites=table)


# ---------------------------------------------------------------- readers


def _parse_presentations(values: Iterable[str], known: dict[str, int]) -> list[str]:
    out: list[str] = []
    for v in values:
        m = _PRESENTATION.match(str(v).strip().upper())
        key = f"{m[1]}-{m[2]}" if m else str(v)
        if key not in known:
            raise ConfigError(f"unknown OULAD presentation {v!r}; known: {', '.join(sorted(known))}")
        if key not in out:
            out.append(key)
    if not out:
        raise ConfigError("no OULAD presentation selected")
    return sorted(out)


def _read_clicks(path: Path, wanted: list[str] | None, report: ProgressFn) -> tuple[pd.DataFrame, int]:
    """The click log in chunks (for progress), keeping file order and the wanted presentations."""
    total = _count_lines(path) - 1
    parts, done = [], 0
    dtypes = {"code_module": "category", "code_presentation": "category", "id_student": "int64",
              "id_site": "int64", "date": "int32", "sum_click": "int32"}
    with pd.read_csv(path, dtype=dtypes, chunksize=_CHUNK_ROWS) as reader:
        for chunk in reader:
            chunk.index = pd.RangeIndex(done, done + len(chunk))  # row number in the file
            done += len(chunk)
            if wanted is not None:  # compare categoricals before paying for strings
                keep = np.zeros(len(chunk), dtype=bool)
                for key in wanted:
                    module, pres = key.split("-")
                    keep |= ((chunk.code_module == module) & (chunk.code_presentation == pres)).to_numpy()
                chunk = chunk[keep]
            chunk = chunk.astype({"code_module": str, "code_presentation": str})
            parts.append(chunk)
            report("clicks", done, total)
    df = pd.concat(parts) if parts else pd.DataFrame(columns=list(dtypes))
    return df, done


def _count_lines(path: Path) -> int:
    n = 0
    with gzip.open(path, "rb") as f:
        while block := f.read(1 << 22):
            n += block.count(b"\n")
    return n


def _read_sites(path: Path, wanted: list[str], report: ProgressFn) -> pd.DataFrame:
    df = pd.read_csv(path, na_values="?")
    df = df[presentation_keys(df).isin(wanted)].copy()
    report("sites", len(df), len(df))
    return df


def _read_assessments(path: Path, wanted: list[str]) -> pd.DataFrame:
    df = pd.read_csv(path, na_values="?")
    return df[presentation_keys(df).isin(wanted)].copy()


def _read_scores(path: Path, assessments: pd.DataFrame, report: ProgressFn) -> tuple[pd.DataFrame, int]:
    df = pd.read_csv(path, na_values="?")
    n = len(df)
    df = df.merge(assessments[["id_assessment", "code_module", "code_presentation"]], on="id_assessment")
    report("scores", n, n)
    return df, n


def _read_registrations(path: Path, wanted: list[str], report: ProgressFn) -> pd.DataFrame:
    # studentRegistration has no demographic column; studentInfo (which has) is never read.
    df = pd.read_csv(path, na_values="?", usecols=["code_module", "code_presentation", "id_student"])
    df = df[presentation_keys(df).isin(wanted)]
    report("registrations", len(df), len(df))
    return df
