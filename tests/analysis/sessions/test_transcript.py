"""Speaker labels in any style, names, elimination, and lines that only look like labels."""

from __future__ import annotations

from analysis.sessions.transcript import parse_transcript, sentences, words


def speakers(text: str, **kw: str) -> list[tuple[str, str]]:
    return [(t.speaker, t.text) for t in parse_transcript(text, **kw).turns]


def test_role_labels_in_many_styles():
    text = ("Mentor: Hi!\nMENTEE - hello there\n[00:01:05] Mentor: How was the week?\n**Mentee**: Busy.\n"
            "Coach (Ada): ok\n> Student: thanks\n10:02 Mentor — bye")
    assert speakers(text) == [("mentor", "Hi!"), ("mentee", "hello there"), ("mentor", "How was the week?"),
                              ("mentee", "Busy."), ("mentor", "ok"), ("mentee", "thanks"), ("mentor", "bye")]


def test_names_and_elimination():
    text = "Ada: hello\nSam: hi\nAda: so, Kubernetes?\nSam: yes"
    assert [s for s, _ in speakers(text, mentor_name="Ada Okafor")] == ["mentor", "mentee", "mentor", "mentee"]
    assert [s for s, _ in speakers(text, mentee_name="sam")] == ["mentor", "mentee", "mentor", "mentee"]
    assert [s for s, _ in speakers(text)] == ["unknown"] * 4  # nobody to anchor the names on
    t = parse_transcript("Ada Okafor: hello\nSam: hi\nOkafor: bye\nSam: bye", mentor_name="Ada Okafor")
    assert dict(t.labels) == {"Ada Okafor": "mentor", "Okafor": "mentor", "Sam": "mentee"}  # full or last name


def test_lines_that_look_like_labels_are_text():
    text = ("Mentor: Let's plan.\nNext step: read the Kubernetes docs.\nKubernetes - the control plane is hard\n"
            "Mentee: ok\nnote: bring questions")
    assert speakers(text) == [
        ("mentor", "Let's plan.\nNext step: read the Kubernetes docs.\nKubernetes - the control plane is hard"),
        ("mentee", "ok\nnote: bring questions")]


def test_unlabelled_text_and_a_third_speaker():
    assert speakers("just notes\nno labels") == [("unknown", "just notes\nno labels")]
    text = "Mentor: hi\nMentee: hi\nGuest: hello all\nGuest: bye\nMentor: bye"
    assert [s for s, _ in speakers(text)] == ["mentor", "mentee", "unknown", "unknown", "mentor"]


def test_word_counts_per_side():
    t = parse_transcript("Mentor: one two three\nMentee: four\nfive six\nMentor: seven")
    assert t.word_counts() == {"mentor": 4, "mentee": 3, "unknown": 0}
    assert t.labelled


def test_words_and_sentences():
    assert words("It's CI/CD, e.g. k8s's pods.") == ["It's", "CI", "CD", "e.g", "k8s's", "pods"]
    assert sentences("Hi. How are you? Fine!\nNew line then... more") == [
        "Hi.", "How are you?", "Fine!", "New line then...", "more"]


def test_sentence_cuts_equal_the_lookbehind_rule_on_random_punctuation():
    """Regression for the end-mark-first cut: the same sentences as the rule it replaced (cut after
    ``.!?`` and any closing quotes before whitespace, or at line breaks; the quotes dropped)."""
    import random
    import re

    from analysis.sessions.transcript import sentences

    rule = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+")
    rng = random.Random(0)
    texts = ["".join(rng.choice("ab .!?\"')]\n\t") for _ in range(rng.randint(0, 30))) for _ in range(20_000)]
    texts += ['"Done." She left.', "e.g. the docs... Then (go!) now?\n\nok", "Hello\n. World"]
    for text in texts:
        assert sentences(text) == [s for part in rule.split(text) if part and (s := part.strip())]
