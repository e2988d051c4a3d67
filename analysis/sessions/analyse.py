"""What one session says about the pair: talk balance, tone, questions, action items, skills.

Everything here reads the session alone (its transcript, notes, recorded fields and
ratings); what happened *after* it (follow-through) needs the event log and lives in
:mod:`analysis.sessions.engagement`. Sentiment is VADER's compound score per sentence,
averaged per side: VADER is built for sentences, and a whole turn's score saturates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from analysis.sessions.actions import ActionItem, action_kind, action_kinds, owner_of
from analysis.sessions.transcript import Transcript, parse_transcript, sentences
from analysis.sessions.vader import Vader
from analysis.vocabulary import SkillVocabulary
from catalog.sessions import Ratings, Session

__all__ = ["SideSentiment", "SessionAnalysis", "analyse_session", "is_question", "mentions_by_sentence", "NEUTRAL_BAND"]

# VADER's own convention: a compound score within +-0.05 is neutral.
NEUTRAL_BAND = 0.05
_QUESTION_START = re.compile(
    r"^\W*(?:(?:how|what|why|when|where|which|who|whom|whose)\b|(?:can|could|would|should|do|does|did|is|are|"
    r"was|will|shall|may|might|have|has)\s+(?:i|you|we|it|there|this|that|they|he|she)\b)", re.I)
_vader = Vader()


def is_question(sentence: str) -> bool:
    """A sentence ending in "?", or opening like one ("how do I...", "should I...") when speech-to-text dropped it."""
    s = sentence.strip()
    return s.endswith("?") or (not s.endswith((".", "!")) and _QUESTION_START.match(s) is not None)


@dataclass(frozen=True, slots=True)
class SideSentiment:
    """One side's tone: mean VADER compound over its sentences, and the shares above/below neutral."""

    compound: float
    positive: float
    negative: float
    sentences: int

    @property
    def balance(self) -> float:
        """Share of positive minus share of negative sentences, in [-1, 1]."""
        return self.positive - self.negative

    def to_dict(self) -> dict[str, float | int]:
        return {"compound": round(self.compound, 4), "positive": round(self.positive, 4),
                "negative": round(self.negative, 4), "sentences": self.sentences}


def _sentiment(scores: list[float]) -> SideSentiment | None:
    if not scores:
        return None
    n = len(scores)
    return SideSentiment(sum(scores) / n, sum(s >= NEUTRAL_BAND for s in scores) / n,
                         sum(s <= -NEUTRAL_BAND for s in scores) / n, n)


@dataclass(frozen=True)
class SessionAnalysis:
    """The derived signals of one session (see :func:`analyse_session`).

    ``talk_balance`` is each side's share of the words the two sides said (None without a
    transcript that names them); ``sentiment`` has a side only if it said something;
    ``comment_sentiment`` scores the free-text comments; ``skills`` are the skills
    mentioned or recorded, in order of first mention.
    """

    session_id: str
    mentor_id: str
    mentee_id: str
    started_at: datetime
    ratings: Ratings
    has_text: bool
    words: dict[str, int]
    talk_balance: dict[str, float] | None
    sentiment: dict[str, SideSentiment]
    comment_sentiment: dict[str, float]
    mentee_questions: int | None
    action_items: tuple[ActionItem, ...]
    skills: tuple[str, ...]
    skill_counts: dict[str, int] = field(default_factory=dict)
    # recorded with the session, not derived: kept here so pair health reads one object per session
    duration_minutes: int | None = None

    @property
    def mentee_actions(self) -> tuple[ActionItem, ...]:
        return tuple(a for a in self.action_items if a.owner == "mentee")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, in the API's ``analysis`` shape."""
        return {
            "has_text": self.has_text,
            "words": dict(self.words),
            "talk_balance": None if self.talk_balance is None else {k: round(v, 4) for k, v in self.talk_balance.items()},
            "sentiment": {k: v.to_dict() for k, v in self.sentiment.items()},
            "comment_sentiment": dict(self.comment_sentiment),
            "mentee_questions": self.mentee_questions,
            "action_items": [{"text": a.text, "speaker": a.speaker, "owner": a.owner, "kind": a.kind,
                              "skills": list(a.skills), "source": a.source} for a in self.action_items],
            "skills": list(self.skills),
            "skill_counts": dict(self.skill_counts),
        }

    @classmethod
    def from_dict(cls, session: Session, d: Mapping[str, Any]) -> SessionAnalysis:
        """The analysis :meth:`to_dict` gave for ``session``, back (a store keeps it when it drops the texts)."""
        return cls(
            session_id=session.session_id, mentor_id=session.mentor_id, mentee_id=session.mentee_id,
            started_at=session.started_at, ratings=session.ratings,
            has_text=bool(d.get("has_text", session.transcript.strip() or session.notes.strip())),
            words=dict(d.get("words") or {}),
            talk_balance=None if d.get("talk_balance") is None else dict(d["talk_balance"]),
            sentiment={k: SideSentiment(v["compound"], v["positive"], v["negative"], v["sentences"])
                       for k, v in (d.get("sentiment") or {}).items()},
            comment_sentiment=dict(d.get("comment_sentiment") or {}),
            mentee_questions=d.get("mentee_questions"),
            action_items=tuple(ActionItem(a.get("text") or "", a["speaker"], a["owner"], a["kind"], tuple(a["skills"]),
                                          a.get("source", "detected")) for a in d.get("action_items") or ()),
            skills=tuple(d.get("skills") or ()), skill_counts=dict(d.get("skill_counts") or {}),
            duration_minutes=session.duration_minutes,
        )


def mentions_by_sentence(vocabulary: SkillVocabulary, sents: list[str], *, fuzzy: bool = True,
                         lowered: list[list[str]] | None = None) -> list[list[str]]:
    """The skill ids each sentence names, as ``vocabulary.find`` finds them in the sentence alone.

    One scan over all sentences (a scan per sentence costs a call's fixed overhead for each of a
    transcript's hundreds of sentences), on the sentences' ``lower().split()`` words: ``lowered``
    when the caller has cut them already (VADER and the action rules read the same cut).
    """
    if lowered is None:
        lowered = [x.lower().split() for x in sents]
    return vocabulary.find_by_sentence(sents, lowered, fuzzy=fuzzy)


def analyse_session(session: Session, *, vocabulary: SkillVocabulary, mentor_name: str | None = None,
                    mentee_name: str | None = None, fuzzy: bool = True) -> SessionAnalysis:
    """Analyse one session's texts and recorded fields. Pure and deterministic.

    ``mentor_name`` / ``mentee_name`` let transcripts labelled with names ("Ada: ...") be
    attributed; role labels ("Mentor:", "MENTEE -") need no names. Action items' skills
    are those the sentence names, else the last ones named earlier in the same turn or
    in the turn before (the "it" in "read the docs on it by Friday").
    """
    transcript = parse_transcript(session.transcript, mentor_name=mentor_name, mentee_name=mentee_name) \
        if session.transcript.strip() else Transcript(())
    counts: dict[str, int] = {}
    order: dict[str, None] = {}

    def skills_of(text: str) -> list[str]:
        return counted([m.skill_id for m in vocabulary.find(text, fuzzy=fuzzy)])

    def counted(found: list[str]) -> list[str]:
        for sid in found:
            counts[sid] = counts.get(sid, 0) + 1
            order.setdefault(sid, None)
        return list(dict.fromkeys(found))

    scores: dict[str, list[float]] = {"mentor": [], "mentee": []}
    questions = 0
    items: list[ActionItem] = []
    context: list[str] = []
    said = [(turn, sentences(turn.text)) for turn in transcript.turns]
    flat = [x for _, sents in said for x in sents]
    # one lower-cased word cut per sentence, shared by the skill scan, VADER and the action rules' prefilter
    lowered = [x.lower().split() for x in flat]
    found_all = iter(mentions_by_sentence(vocabulary, flat, fuzzy=fuzzy, lowered=lowered))
    kinds = iter(action_kinds(flat, lowered))
    side_of = [turn.speaker for turn, sents in said for _ in sents]
    spoken = [k for k, side in enumerate(side_of) if side in scores]
    tones = iter(_vader.compounds([flat[k] for k in spoken], [lowered[k] for k in spoken]))
    for turn, sents in said:
        last: list[str] = []
        for sent in sents:
            found = next(found_all)
            named = counted(found) if found else found
            if named:
                last = named
            if turn.speaker in scores:
                scores[turn.speaker].append(next(tones))
            if turn.speaker == "mentee" and is_question(sent):
                questions += 1
            kind = next(kinds)
            if kind is not None:
                owner = owner_of(sent, kind, turn.speaker)
                items.append(ActionItem(sent, turn.speaker, owner, kind, tuple(named or last or context)))
        context = last or context
    last = []
    notes = sentences(session.notes)
    for sent, found in zip(notes, mentions_by_sentence(vocabulary, notes, fuzzy=fuzzy)):
        named = counted(found)
        last = named or last
        kind = action_kind(sent)
        if kind is not None:
            items.append(ActionItem(sent, "notes", "mentee", kind, tuple(last)))
    seen = {re.sub(r"\W+", " ", a.text.lower()).strip() for a in items}
    recorded = list(session.skills_discussed)
    for text in session.action_items:
        named = skills_of(text)
        if re.sub(r"\W+", " ", text.lower()).strip() not in seen:
            fallback = recorded if len(recorded) == 1 else []
            items.append(ActionItem(text, "recorded", "mentee", "recorded", tuple(named or fallback), "recorded"))
    for sid in recorded:
        order.setdefault(sid, None)
    said_words = transcript.word_counts()
    n_spoken = said_words["mentor"] + said_words["mentee"]
    balance = ({"mentor": said_words["mentor"] / n_spoken, "mentee": said_words["mentee"] / n_spoken}
               if n_spoken else None)
    sentiment = {side: s for side, v in scores.items() if (s := _sentiment(v)) is not None}
    comments = {side: _vader.compound(text) for side in ("mentee", "mentor")
                if (text := getattr(session.comments, side).strip())}
    return SessionAnalysis(
        session_id=session.session_id, mentor_id=session.mentor_id, mentee_id=session.mentee_id,
        started_at=session.started_at, ratings=session.ratings,
        has_text=bool(session.transcript.strip() or session.notes.strip()), words=said_words, talk_balance=balance,
        sentiment=sentiment, comment_sentiment=comments,
        mentee_questions=questions if transcript.side("mentee") else None,
        action_items=tuple(items), skills=tuple(order), skill_counts=counts,
        duration_minutes=session.duration_minutes,
    )
