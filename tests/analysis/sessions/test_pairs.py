"""Every pair of a synthetic world assessed at once, from sessions and events only."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.sessions.pairs import analyse_sessions, assess_pairs
from analysis.vocabulary import SkillVocabulary
from catalog.synth import SynthConfig, generate


@pytest.fixture(scope="module")
def sw():
    return generate(SynthConfig(seed=5, n_mentees=500, n_items=500, n_mentors=25, days=200))


@pytest.fixture(scope="module")
def vocab(sw):
    return SkillVocabulary(sw.world.catalog.skills.values())


@pytest.fixture(scope="module")
def health(sw, vocab):
    return assess_pairs(sw.sessions.sessions, vocabulary=vocab, now=sw.config.end, events=sw.events,
                        catalog=sw.world.catalog, mentors=sw.world.mentors)


def test_one_health_per_pair_that_met(sw, health):
    pairs = {s.pair for s in sw.sessions.sessions}
    assert set(health) == pairs and len(pairs) > 20
    assert all(h.score is not None and 0 <= h.score <= 1 for h in health.values())
    assert sum(h.sessions for h in health.values()) == len(sw.sessions.sessions)
    assert any(h.feedback for h in health.values())


def test_reused_analyses_and_repeated_runs_agree(sw, vocab, health):
    analyses = analyse_sessions(sw.sessions.sessions, vocabulary=vocab, mentors=sw.world.mentors)
    again = assess_pairs(sw.sessions.sessions, vocabulary=vocab, now=sw.config.end, events=sw.events,
                         catalog=sw.world.catalog, mentors=sw.world.mentors, analyses=analyses)
    assert {k: h.to_dict() for k, h in again.items()} == {k: h.to_dict() for k, h in health.items()}


def test_without_events_there_is_no_follow_through_or_progress(sw, vocab):
    bare = assess_pairs(sw.sessions.sessions, vocabulary=vocab, now=sw.config.end)
    for h in bare.values():
        assert h.signal("follow_through").score is None and h.signal("progress").score is None


def test_good_pairs_score_higher_than_poor_ones(sw, health):
    quality = sw.sessions.pairs.set_index(["mentor_id", "mentee_id"])["quality"]
    by = {q: [health[k].score for k in health if quality[k] == q] for q in ("good", "poor")}
    assert np.mean(by["good"]) > np.mean(by["poor"]) + 0.05


def test_an_earlier_now_sees_only_earlier_sessions(sw, vocab, health):
    mid = sw.config.end - (sw.config.end - sw.config.start) / 2
    early = assess_pairs(sw.sessions.sessions, vocabulary=vocab, now=mid, events=sw.events,
                         catalog=sw.world.catalog)
    assert sum(h.sessions for h in early.values()) == sum(s.started_at <= mid for s in sw.sessions.sessions)
    assert set(early) < set(health)
