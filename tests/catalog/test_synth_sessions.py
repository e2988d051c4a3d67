"""Synthetic mentoring sessions: deterministic, valid, capacity-respecting, and leaving every other output as it is."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from catalog.datadir import DataDir
from catalog.sessions import MAX_TRANSCRIPT_CHARS, parse_sessions, sessions_from_table
from catalog.synth import SynthConfig, generate
from catalog.synth.sessions import PAIR_TRUTH_COLUMNS
from catalog.synth.store import existing_outputs, pairs_truth_path, save_synth, session_truth_path, sessions_path
from catalog.tables import read_table
from catalog.writers import save_world

CFG = SynthConfig(seed=3, n_mentees=300, n_items=400, n_mentors=20, days=60)
SMALL = SynthConfig(seed=7, n_mentees=150, n_items=200, n_mentors=12, days=45)


@pytest.fixture(scope="module")
def sw():
    return generate(SynthConfig(seed=11, n_mentees=800, n_items=600, n_mentors=30, days=240))


def _digest(world, tmp_path) -> str:
    h = hashlib.sha256()
    dd = DataDir(tmp_path)
    save_world(world.world, dd)
    for p in (dd.skills, dd.resources, dd.mentees, dd.mentors):
        h.update(p.read_bytes())
    h.update(world.events.to_csv(index=False).encode())
    h.update(world.truth.to_csv(index=False).encode())
    if world.outcomes is not None:
        h.update(world.outcomes.to_csv(index=False).encode())
    return h.hexdigest()


@pytest.mark.parametrize("config", [CFG, SMALL])
def test_sessions_leave_every_other_output_byte_identical(config, tmp_path):
    # the sessions draw from their own random stream, after the simulation: turning them
    # off must not change one byte of the world, the events, the truth or the outcomes
    with_sessions = generate(config)
    assert with_sessions.sessions is not None and with_sessions.sessions.sessions
    without = generate(replace(config, sessions=False))
    assert without.sessions is None
    assert _digest(with_sessions, tmp_path / "a") == _digest(without, tmp_path / "b")


def test_sessions_are_deterministic_per_seed():
    a, b = generate(CFG).sessions, generate(CFG).sessions
    assert a.sessions == b.sessions
    pd.testing.assert_frame_equal(a.pairs, b.pairs)
    pd.testing.assert_frame_equal(a.session_truth, b.session_truth)
    other = generate(replace(CFG, seed=4)).sessions
    assert other.sessions != a.sessions


def test_sessions_are_valid_and_pairs_respect_capacity(sw):
    ss = sw.sessions
    world = sw.world
    sessions = list(ss.sessions)
    assert len(sessions) > 100
    again = parse_sessions([s.to_dict() for s in sessions], mentor_ids=set(world.mentors),
                           mentee_ids=set(world.mentees), now=sw.config.end)
    assert again == sessions  # every generated session passes the same validation as user input
    assert [s.session_id for s in sessions] == sorted(s.session_id for s in sessions)
    assert [s.started_at for s in sessions] == sorted(s.started_at for s in sessions)
    assert all(sw.config.start <= s.started_at < sw.config.end for s in sessions)
    assert max(len(s.transcript) for s in sessions) < MAX_TRANSCRIPT_CHARS
    pairs = {s.pair for s in sessions}
    assert len({m for _, m in pairs}) == len(pairs)  # a mentee has one mentor
    per_mentor = pd.Series([m for m, _ in pairs]).value_counts()
    assert all(n <= world.mentors[m].capacity for m, n in per_mentor.items())
    assert set(map(tuple, ss.pairs[["mentor_id", "mentee_id"]].to_numpy())) == pairs
    assert tuple(ss.pairs.columns) == PAIR_TRUTH_COLUMNS
    kinds = pd.Series(["transcript" if s.transcript else "notes" if s.notes else "none" for s in sessions])
    assert set(kinds) == {"transcript", "notes", "none"} and (kinds == "transcript").mean() > 0.5
    styles = {next((p for p in ("Mentor: ", "MENTOR - ", "[00:", "**Mentor**: ") if s.transcript.startswith(p)),
                   "name") for s in sessions if s.transcript}
    assert len(styles) >= 4  # labelled in several styles, some by the mentor's first name


def test_the_hidden_quality_moves_the_observable_signals_but_ratings_stay_noisy(sw):
    ss = sw.sessions
    quality = ss.pairs.set_index(["mentor_id", "mentee_id"])["quality"]
    assert set(quality) == {"good", "poor"}
    rows = []
    for s in ss.sessions:
        ratings = [r for r in (s.ratings.mentee, s.ratings.mentor) if r is not None]
        rows.append((quality[s.pair], np.mean(ratings) if ratings else np.nan))
    df = pd.DataFrame(rows, columns=["quality", "rating"])
    by = df.groupby("quality")["rating"].mean()
    assert by["good"] > by["poor"] + 0.3
    assert df["rating"].isna().mean() > 0.1  # ratings are often missing
    poor = df.loc[df["quality"] == "poor", "rating"].dropna()
    assert (poor == 5).mean() > 0.2  # and inflated: poor sessions get 5s too


def test_save_synth_writes_sessions_and_their_truth_beside_the_world(tmp_path):
    sw = generate(replace(CFG, n_mentees=120, n_items=200, n_mentors=6, days=40))
    dd = DataDir(tmp_path)
    save_synth(sw, dd)
    assert sessions_path(dd).exists() and pairs_truth_path(dd).exists() and session_truth_path(dd).exists()
    assert sessions_from_table(read_table(sessions_path(dd))) == list(sw.sessions.sessions)
    pd.testing.assert_frame_equal(pd.read_parquet(pairs_truth_path(dd)), sw.sessions.pairs)
    assert sessions_path(dd) in existing_outputs(dd)
    save_synth(generate(replace(CFG, n_mentees=120, n_items=200, n_mentors=6, days=40, sessions=False)), dd,
               replace=True)
    assert not sessions_path(dd).exists() and not pairs_truth_path(dd).exists()  # never an older world's sessions
