"""``skillpath data``: generate, import and validate data. One function per command."""

from __future__ import annotations

import time
from pathlib import Path

import click

from skillpath_cli.common import UsageFailure, data_dir, progress
from skillpath_cli.data_import import import_cmd, oulad_cmd

__all__ = ["data", "synth"]


@click.group()
def data() -> None:
    """Generate, import and validate data (synthetic world, OULAD, CSV)."""


data.add_command(import_cmd)
data.add_command(oulad_cmd)


@data.command("synth")
@click.option("--seed", type=int, default=7, show_default=True, help="Random seed: same seed, same world.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Data dir to write into (default: the global --data-dir).")
@click.option("--mentees", type=click.IntRange(min=1), default=6000, show_default=True, help="Number of mentees.")
@click.option("--items", type=click.IntRange(min=1), default=5000, show_default=True,
              help="Number of learning resources.")
@click.option("--mentors", type=click.IntRange(min=0), default=150, show_default=True, help="Number of mentors.")
@click.option("--days", type=click.IntRange(min=1), default=365, show_default=True,
              help="Days of simulated learner events, ending 2026-11-01T00:00Z.")
@click.option("--force", is_flag=True, help="Replace a world (and its event log) already in the data dir.")
@click.pass_context
def synth(ctx: click.Context, seed: int, out: str | None, mentees: int, items: int, mentors: int,
          days: int, force: bool) -> None:
    """Generate a realistic synthetic mentorship world with a hidden truth.

    Writes skills.csv, resources.csv, mentees.csv and mentors.csv, the learner events
    (into the event log events.db, in batches) and the true mastery of every mentee
    in every skill at the start and end of the period (truth/mastery.parquet; for
    evaluation only). Deterministic: the same options give the same world.
    """
    from catalog.datadir import DataDir
    from catalog.synth import SynthConfig, generate
    from catalog.synth.store import existing_outputs, save_synth

    dd = DataDir(Path(out) if out else data_dir(ctx))
    old = existing_outputs(dd)
    if old and not force:
        raise UsageFailure(f"{dd.root} already holds a world ({old[0].name}); pass --force to replace it")
    config = SynthConfig(seed=seed, n_mentees=mentees, n_items=items, n_mentors=mentors, days=days)
    t0 = time.perf_counter()
    with progress(total=days, desc="simulating", unit="day") as bar:
        def on_progress(stage: str, done: int, total: int) -> None:
            if stage == "simulate":
                bar.update(done - bar.n)

        sw = generate(config, progress=on_progress)
    t_gen = time.perf_counter() - t0
    with progress(total=len(sw.events), desc="writing events", unit="event") as bar:
        report = save_synth(sw, dd, replace=force, on_batch=lambda done, total: bar.update(done - bar.n))
    click.echo(_summary(sw, dd, report, t_gen, time.perf_counter() - t0 - t_gen))


def _summary(sw, dd, report, t_gen: float, t_write: float) -> str:
    """One paragraph: what was written, how many of each thing, when, how long it took."""
    cat = sw.world.catalog
    ev = sw.events
    by_type = ev["event_type"].value_counts()
    types = ", ".join(f"{t} {n:,}" for t, n in by_type.items())
    span = (f"from {ev['timestamp'].min():%Y-%m-%d %H:%M} to {ev['timestamp'].max():%Y-%m-%d %H:%M} UTC"
            if len(ev) else "(no events)")
    where = (f"appended to the event log {report.events_path.name} ({report.accepted:,} new, "
             f"{report.duplicates:,} duplicates)")
    n_inactive = int((~cat.active).sum())
    return (
        f"Wrote a synthetic world (seed {sw.config.seed}) to {dd.root}: {cat.n_skills} skills, "
        f"{cat.n_items:,} resources ({n_inactive:,} inactive), {len(sw.world.mentees):,} mentees and "
        f"{len(sw.world.mentors):,} mentors. {len(ev):,} events by {ev['user_id'].nunique():,} mentees "
        f"{span}, {where}: {types}. Hidden true mastery for {len(sw.truth):,} mentee-skill pairs "
        f"in truth/mastery.parquet (evaluation only). Generated in {t_gen:.1f} s, written in {t_write:.1f} s."
    )
