"""One session analysed, checked by hand: talk balance, questions, tone, action items and skills."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from analysis.sessions.analyse import analyse_session, is_question
from analysis.vocabulary import SkillVocabulary
from catalog.schema import Skill
from catalog.sessions import Comments, Session

UTC = timezone.utc
T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
TRANSCRIPT = """Mentor: Hi Sam! How was your week?
Mentee: Good, thanks. I finished the Docker course.
Mentee: How should I start with Kubernetes?
Mentor: Good question. Kubernetes builds on what you know. For next week, read the first two chapters of the docs.
Mentee: I'll also try kubectl on my laptop by Friday.
Mentor: Great. I'll send you a link."""


@pytest.fixture(scope="module")
def vocab() -> SkillVocabulary:
    return SkillVocabulary([Skill("docker", "Docker"), Skill("kubernetes", "Kubernetes", aliases=("k8s", "kubectl")),
                            Skill("git", "Git", aliases=("github",)), Skill("sql", "SQL")])


def session(**kw) -> Session:
    base = dict(session_id="s1", mentor_id="m1", mentee_id="u1", started_at=T0, duration_minutes=45, channel="video")
    return Session(**{**base, **kw})


def test_a_transcript_checked_by_hand(vocab):
    a = analyse_session(session(transcript=TRANSCRIPT, skills_discussed=("git",),
                                action_items=("Push the code to GitHub",),
                                comments=Comments(mentee="Really useful, thanks!")), vocabulary=vocab)
    assert a.words == {"mentor": 31, "mentee": 22, "unknown": 0}
    assert a.talk_balance == pytest.approx({"mentor": 31 / 53, "mentee": 22 / 53})
    assert a.mentee_questions == 1
    assert [(i.text, i.owner, i.kind, i.skills, i.source) for i in a.action_items] == [
        ("For next week, read the first two chapters of the docs.", "mentee", "marker", ("kubernetes",), "detected"),
        ("I'll also try kubectl on my laptop by Friday.", "mentee", "commitment", ("kubernetes",), "detected"),
        ("I'll send you a link.", "mentor", "commitment", ("kubernetes",), "detected"),
        ("Push the code to GitHub", "mentee", "recorded", ("git",), "recorded"),
    ]
    assert [i.text for i in a.mentee_actions] == [a.action_items[k].text for k in (0, 1, 3)]
    assert a.skills == ("docker", "kubernetes", "git")
    assert a.skill_counts == {"docker": 1, "kubernetes": 3, "git": 1}
    ref = SentimentIntensityAnalyzer()
    mentor = ["Hi Sam!", "How was your week?", "Good question.", "Kubernetes builds on what you know.",
              "For next week, read the first two chapters of the docs.", "Great.", "I'll send you a link."]
    mentee = ["Good, thanks.", "I finished the Docker course.", "How should I start with Kubernetes?",
              "I'll also try kubectl on my laptop by Friday."]
    for side, said in (("mentor", mentor), ("mentee", mentee)):
        scores = [ref.polarity_scores(x)["compound"] for x in said]
        got = a.sentiment[side]
        assert got.sentences == len(said)
        assert got.compound == pytest.approx(sum(scores) / len(scores))
        assert got.positive == pytest.approx(sum(x >= 0.05 for x in scores) / len(scores))
    assert a.comment_sentiment == {"mentee": ref.polarity_scores("Really useful, thanks!")["compound"]}
    d = a.to_dict()
    assert set(d) >= {"sentiment", "action_items", "skills", "talk_balance", "mentee_questions"}
    assert d["action_items"][3] == {"text": "Push the code to GitHub", "speaker": "recorded", "owner": "mentee",
                                    "kind": "recorded", "skills": ["git"], "source": "recorded"}


def test_a_recorded_item_said_in_the_transcript_is_not_counted_twice(vocab):
    a = analyse_session(session(transcript=TRANSCRIPT, action_items=("I'll also try kubectl on my laptop by Friday",)),
                        vocabulary=vocab)
    assert sum("kubectl" in i.text for i in a.action_items) == 1


def test_notes_only_and_empty_sessions(vocab):
    a = analyse_session(session(notes="Discussed SQL joins. Next step: practise window functions by Friday."),
                        vocabulary=vocab)
    assert a.has_text and a.talk_balance is None and a.mentee_questions is None and a.sentiment == {}
    assert [(i.speaker, i.owner, i.skills) for i in a.action_items] == [("notes", "mentee", ("sql",))]
    empty = analyse_session(session(skills_discussed=("sql",)), vocabulary=vocab)
    assert not empty.has_text and empty.action_items == () and empty.skills == ("sql",)


def test_name_labelled_transcripts_need_the_mentor_name(vocab):
    text = "Ada: How is it going?\nSam: ok. What should I read?\nAda: Read the Git book.\nSam: Thanks"
    a = analyse_session(session(transcript=text), vocabulary=vocab, mentor_name="Ada Okafor")
    assert a.mentee_questions == 1 and a.talk_balance["mentee"] == pytest.approx(6 / 14)
    assert analyse_session(session(transcript=text), vocabulary=vocab).talk_balance is None


@pytest.mark.parametrize(("sentence", "question"), [
    ("How do I start?", True), ("should I learn go first", True), ("what I did was fine.", False),
    ("Is it worth it", True), ("I think so.", False),
])
def test_is_question(sentence, question):
    assert is_question(sentence) is question


def test_one_scan_of_all_sentences_finds_what_each_sentence_alone_holds():
    import json
    import random
    from pathlib import Path

    import numpy as np

    from analysis.sessions.analyse import mentions_by_sentence
    from catalog.synth.skills_data import build_skills, skill_specs

    vocab = SkillVocabulary(build_skills(skill_specs(), np.random.default_rng(0)))
    data = Path(__file__).resolve().parents[3] / "benchmarks" / "data" / "skill_mentions.jsonl"
    sents = [json.loads(line)["text"] for line in data.read_text().splitlines()]
    sents += ["let's go.", "Code is ready", "I said (ok.)", "Go is great", "machine.", "Learning is fun",
              "we use C", "# and kuberentes", "tensorflw", "graphs and Spark", "job done", "plan", "C"]
    rng = random.Random(3)
    for _ in range(20):
        rng.shuffle(sents)
        alone = [[m.skill_id for m in vocab.find(s, fuzzy=True)] for s in sents]
        assert mentions_by_sentence(vocab, sents) == alone


def test_an_analysis_survives_its_dict_without_the_texts(vocab):
    """A store that drops the texts keeps ``to_dict()``: the analysis read back from it is the same."""
    full = session(transcript=TRANSCRIPT, action_items=("Push the code to GitHub",),
                   comments=Comments(mentee="Really useful, thanks!"))
    a = analyse_session(full, vocabulary=vocab)
    back = type(a).from_dict(full.without_text(), a.to_dict())
    assert back.has_text and back.to_dict() == a.to_dict()
    assert back.action_items == a.action_items and back.mentee_actions == a.mentee_actions
    assert back.sentiment["mentee"].compound == pytest.approx(a.sentiment["mentee"].compound, abs=1e-4)


def _mutations(sents: list[str], rng) -> list[str]:
    """Each sentence as speech-to-text and hurried typing change it: case, curly quotes, glued hyphens, no stop."""
    out = []
    for s in sents:
        k = rng.randrange(6)
        out.append([s.upper(), s.lower(), s.replace("'", "’"), s.replace(" ", "-", 2), s.rstrip(".!?"),
                    s + " by Friday."][k])
    return out


def test_the_shared_word_cut_finds_what_each_sentence_alone_holds_on_labelled_and_synthetic_text():
    """Regression for the shared tokenisation: the skill scan on the sentences' one ``lower().split()``
    cut (the path analyse_session takes) equals ``find`` on each sentence alone, the per-reader result."""
    import json
    import random
    from pathlib import Path

    import numpy as np

    from analysis.sessions.analyse import mentions_by_sentence
    from analysis.sessions.transcript import parse_transcript, sentences
    from catalog.synth import SynthConfig, generate
    from catalog.synth.skills_data import build_skills, skill_specs

    vocab = SkillVocabulary(build_skills(skill_specs(), np.random.default_rng(0)))
    data = Path(__file__).resolve().parents[3] / "benchmarks" / "data"
    labelled = [json.loads(line)["text"] for name in ("skill_mentions.jsonl", "action_items.jsonl")
                for line in (data / name).read_text().splitlines()]
    sw = generate(SynthConfig(seed=5, n_mentees=300, n_items=200, n_mentors=20, days=90))
    synthetic = [x for s in sw.sessions.sessions if s.transcript
                 for t in parse_transcript(s.transcript).turns for x in sentences(t.text)]
    rng = random.Random(11)
    corpus = labelled + synthetic + _mutations(labelled + synthetic, rng)
    assert len(labelled) > 500 and len(synthetic) > 800
    for start in range(0, len(corpus), 250):  # transcript-sized runs, so matches could cross sentences
        sents = corpus[start:start + 250]
        alone = [[m.skill_id for m in vocab.find(s, fuzzy=True)] for s in sents]
        lowered = [s.lower().split() for s in sents]
        assert mentions_by_sentence(vocab, sents, lowered=lowered) == alone
        assert vocab.find_by_sentence(sents, lowered, fuzzy=False) == [[m.skill_id for m in vocab.find(s)]
                                                                       for s in sents]
    assert vocab.find_by_sentence([], []) == []
