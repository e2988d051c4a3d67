"""Transcripts, notes and comments of synthetic mentoring sessions, from templates with noise.

A session's text is driven by a few hidden dials (how much the mentee talks, how many
questions they ask, how positive each side is, which action items are agreed) and made
messy the way real transcripts are: varied phrasing, small talk with everyday words
that are also skill names ("let's go over", "react to"), skill names written as names,
aliases, lower case or with a typo, filler words, dropped punctuation, lines broken in
the middle of a turn, and several labelling styles. None of these sentences is in the
hand-written evaluation sets (benchmarks/data/), which were written separately.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from catalog.schema import Skill

__all__ = ["TextDials", "SessionText", "write_session", "mentee_comment", "LABEL_STYLES", "MENTEE_NAMES"]

MENTEE_NAMES = ("Sam", "Noor", "Priya", "Lukas", "Aiko", "Mateo", "Zoe", "Tariq", "Lena", "Kofi", "Ines", "Ravi")
LABEL_STYLES = ("role", "ROLE -", "names", "stamped", "bold")

_OPEN_MENTOR = ["Hi {n}, good to see you.", "Hey, how have you been?", "Morning! How was your week?",
                "Hi, sorry I'm a couple of minutes late.", "Hello hello. Can you hear me ok?",
                "Hi! Did you have a good weekend?", "hey, all good on your side?"]
_OPEN_MENTEE = ["Hi, yes, all good.", "Pretty busy week but fine.", "Hey! Yeah, I can hear you.",
                "Good, thanks. A bit tired.", "hi, yes fine thanks", "Not bad, work was hectic."]
_SMALL_TALK = ["We had a long planning meeting that ran over, so let's go quickly through the first part.",
               "My team had an offsite, I'm still catching up on emails.", "The weather has been terrible here.",
               "I had to react to a production issue on Monday, so the week started badly.",
               "I went to a meetup on Thursday, it was fun.", "I'm moving flats next month, so it's chaos.",
               "My manager wants to go over my goals next week.", "Honestly I just need a holiday.",
               "We're hiring two people, so lots of interviews.", "I started running again, trying to keep it up."]
_TOPIC_MENTOR = ["Let's spend some time on {s} today.", "So, where are you with {s}?",
                 "I'd like to look at how you're approaching {s}.", "The main thing with {s} is to practise a lot.",
                 "{S} is easier once you've built something small with it.",
                 "When I learned {s} I started from the official docs and a toy project.",
                 "A common mistake with {s} is to read too much and build too little.",
                 "You don't need to know all of {s}, just the core ideas.",
                 "In my team we use {s} every day, so I can show you how it looks in practice.",
                 "Think of {s} as a tool: what problem does it solve for you?"]
_TOPIC_MENTEE = ["I've been reading about {s} but it's not clicking yet.", "I tried {s} at work last week.",
                 "I think I understand the basics of {s} now.", "I started a small project with {s}.",
                 "{S} still feels a bit abstract to me.", "I watched a couple of videos on {s}.",
                 "My team wants me to pick up {s} for the next project."]
_QUESTIONS = ["How would you start with {s}?", "What's the best way to practise {s}?",
              "Is {s} worth learning right now?", "How long did it take you to get comfortable with {s}?",
              "Should I learn {s} before {t}?", "Can you explain how {s} fits with {t}?",
              "what would you read first about {s}", "Do you think I'm ready for {t}?",
              "Why do people find {s} so hard?", "Could you look at my code at some point?"]
_ANSWERS = ["Good question.", "It depends a bit on your goal.", "I'd start small.", "Honestly, by doing.",
            "Yes, I think so.", "Not yet, but soon."]
_POS_MENTEE = ["That really helps, thanks.", "This is great, I feel much clearer now.", "Oh nice, that makes sense.",
               "I'm excited to try that.", "Thanks, that's super useful!", "Love that idea.",
               "I'm happy with the progress I made.", "Cool, I feel more confident about it now."]
_NEG_MENTEE = ["I'm still confused, to be honest.", "I didn't really get much done, sorry.",
               "I feel a bit lost with all of this.", "I'm not sure this is working for me.",
               "It was a frustrating week.", "I'm worried I'm falling behind.", "Hmm, ok, I guess.",
               "That's hard to follow, sorry."]
_POS_MENTOR = ["Great work on that.", "You've made real progress, well done.", "Nice, I like how you approached it.",
               "That's a really good question.", "Happy to help with that.", "Good thinking."]
_NEG_MENTOR = ["You should have done that already.", "That's not really how it works.",
               "We talked about this last time.", "I don't have much time today.",
               "Let me stop you there, that's wrong.", "That's a bit of a mess, honestly."]
_FOLLOW_DONE = ["I did the {s} thing we agreed on.", "I finished what we said about {s}.",
                "I got through the {s} material you suggested."]
_FOLLOW_NOT = ["I didn't get to the {s} part, sorry.", "I haven't started on {s} yet.",
               "Work got in the way, so nothing on {s}."]
_ACTION_MENTOR = ["For next time, go through a {s} tutorial and note what confuses you.",
                  "By next week, try to build something small with {s}.", "Next step: work through the {s} docs.",
                  "Homework: finish one {s} exercise and send it to me.",
                  "I want you to read the intro chapter on {s} before we meet again.",
                  "Try the {s} course I mentioned, the first two modules.",
                  "You should practise {s} a bit every day this week.",
                  "before our next call, set up a small {s} project", "Make sure to review your {s} notes."]
_ACTION_MENTEE = ["I'll do a {s} exercise this week.", "I will finish the {s} module by Friday.",
                  "I'm going to start the {s} tutorial tomorrow.", "ok I'll look at {s} over the weekend",
                  "I'll try to build the {s} example before our next session."]
_ACTION_CONTEXT = ["Ok, so for next week: read up on it and try one example.", "Then finish that tutorial by Friday."]
_MENTOR_OWN = ["I'll send you a couple of links after the call.", "Let me find you a good example repo.",
               "I'll ask a colleague if she can join next time."]
_CLOSE_MENTOR = ["Ok, let's stop here.", "Good session, see you in two weeks.", "Alright, talk soon.",
                 "We're out of time, bye!", "Ok. Same time next time?"]
_CLOSE_MENTEE = ["Thanks, see you!", "Thank you, bye.", "ok bye", "Thanks for your time.", "See you next time."]
_FILLERS = ["um, ", "so, ", "like, ", "you know, ", "well, ", "I mean, ", "yeah, "]
_NOTES = ["Discussed {s}.", "Went over progress on {s}.", "Talked about {s} and {t}.", "Mentee asked about {s}.",
          "Short session, mostly about {s}.", "Reviewed the {s} project."]
_COMMENT_POS = ["Very helpful session.", "Great advice, thank you!", "Useful and practical.", "Good session.",
                "Clear next steps."]
_COMMENT_NEG = ["Felt rushed.", "Not very useful this time.", "I was confused afterwards.", "Too much theory.",
                "We didn't get to my questions."]


@dataclass(frozen=True)
class TextDials:
    """The hidden dials of one session's text (all in [0, 1] except counts)."""

    mentee_share: float      # share of the sentences the mentee says
    mentee_positive: float   # probability a mentee mood line is positive
    mentor_positive: float
    questions: int           # questions the mentee asks
    topics: tuple[str, ...]  # skills the session is about
    actions: tuple[str, ...]  # skills of the mentee's action items (one item each)
    followed_last: float     # share of last session's items the mentee did


@dataclass(frozen=True)
class SessionText:
    transcript: str
    notes: str
    action_items: tuple[str, ...]


def _pick(rng: np.random.Generator, pool: list[str] | tuple[str, ...]) -> str:
    return pool[int(rng.random() * len(pool))]  # rng.random() costs a fraction of rng.integers()


def _typo(word: str, rng: np.random.Generator) -> str:
    k = int(rng.integers(1, len(word) - 2))
    return word[:k] + word[k + 1] + word[k] + word[k + 2:]


def surface(skill: Skill, rng: np.random.Generator) -> str:
    """How someone writes a skill: its name, an alias, lower case, or with a typo."""
    r = rng.random()
    if r < 0.3 and skill.aliases:
        return _pick(rng, list(skill.aliases))
    name = skill.name
    if r < 0.36 and len(name) >= 7 and name.isalpha():
        return _typo(name.lower(), rng)
    if r < 0.48 and len(name) > 3:
        return name.lower()
    return name


def _noisy(text: str, rng: np.random.Generator) -> str:
    r = rng.random()
    if r < 0.12:
        text = _pick(rng, _FILLERS) + text[0].lower() + text[1:]
    elif r < 0.2:
        text = text.rstrip(".!")
    elif r < 0.25:
        text = text.lower()
    return text


def write_session(dials: TextDials, skills: dict[str, Skill], *, mentor_label: str, mentee_label: str,
                  mentee_name: str, rng: np.random.Generator, with_transcript: bool,
                  previous: tuple[str, ...] = ()) -> SessionText:
    """The transcript (or notes only) of one session, and the action items as the mentor would record them."""
    def s_of(sid: str) -> str:
        return surface(skills[sid], rng)

    topics = list(dials.topics) or list(dials.actions) or []
    lines: list[tuple[str, str]] = []   # (side, sentence)
    say_mentor = lambda t: lines.append(("mentor", t))  # noqa: E731
    say_mentee = lambda t: lines.append(("mentee", t))  # noqa: E731

    say_mentor(_pick(rng, _OPEN_MENTOR).format(n=mentee_name))
    say_mentee(_pick(rng, _OPEN_MENTEE))
    for _ in range(int(rng.integers(0, 3))):
        (say_mentee if rng.random() < dials.mentee_share + 0.2 else say_mentor)(_pick(rng, _SMALL_TALK))
    for done in previous[:2]:
        pool = _FOLLOW_DONE if rng.random() < dials.followed_last else _FOLLOW_NOT
        say_mentee(_pick(rng, pool).format(s=s_of(done)))
        _mood(lines, dials, rng)
    n_topic_lines = int(rng.integers(6, 16))
    asked = 0
    for k in range(n_topic_lines):
        sid: str | None = topics[k % len(topics)] if topics else None
        other: str | None = topics[(k + 1) % len(topics)] if topics else None
        fmt = {"s": s_of(sid) if sid else "this", "t": s_of(other) if other else "the next topic"}
        fmt["S"] = fmt["s"][:1].upper() + fmt["s"][1:]
        if asked < dials.questions and rng.random() < 0.5:
            say_mentee(_pick(rng, _QUESTIONS).format(**fmt))
            say_mentor(_pick(rng, _ANSWERS))
            asked += 1
        if rng.random() < dials.mentee_share:
            say_mentee(_pick(rng, _TOPIC_MENTEE).format(**fmt))
        else:
            say_mentor(_pick(rng, _TOPIC_MENTOR).format(**fmt))
            if rng.random() < 1 - dials.mentee_share:
                say_mentor(_pick(rng, _TOPIC_MENTOR).format(**fmt))
        if rng.random() < 0.5:
            _mood(lines, dials, rng)
    while asked < dials.questions:
        say_mentee(_pick(rng, _QUESTIONS).format(s=s_of(topics[0]) if topics else "this", t="the next topic"))
        say_mentor(_pick(rng, _ANSWERS))
        asked += 1
    recorded = []
    for sid in dials.actions:
        form = s_of(sid)
        if rng.random() < 0.55:
            item = _pick(rng, _ACTION_MENTOR).format(s=form)
            say_mentor(item)
            say_mentee(_pick(rng, ["Ok, will do.", "Sounds good.", "Sure.", "ok"]))
        elif rng.random() < 0.75:
            item = _pick(rng, _ACTION_MENTEE).format(s=form)
            say_mentee(item)
        else:  # named in one sentence, assigned in the next ("read up on it")
            say_mentor(f"{form[:1].upper() + form[1:]} is the next thing I'd focus on.")
            item = _pick(rng, _ACTION_CONTEXT)
            say_mentor(item)
        recorded.append(item)
    if rng.random() < 0.3:
        say_mentor(_pick(rng, _MENTOR_OWN))
    _mood(lines, dials, rng)
    say_mentor(_pick(rng, _CLOSE_MENTOR))
    say_mentee(_pick(rng, _CLOSE_MENTEE))

    notes = ""
    if not with_transcript:
        a, b = (topics + topics)[:2] if topics else ("", "")
        notes = " ".join([_pick(rng, _NOTES).format(s=s_of(a), t=s_of(b))] + recorded) if topics else " ".join(recorded)
        return SessionText("", notes, tuple(recorded))
    return SessionText(_render(lines, mentor_label, mentee_label, rng), notes, tuple(recorded))


def mentee_comment(positive: bool, rng: np.random.Generator) -> str:
    """A short comment a mentee leaves on a session."""
    return _pick(rng, _COMMENT_POS if positive else _COMMENT_NEG)


def _mood(lines: list[tuple[str, str]], dials: TextDials, rng: np.random.Generator) -> None:
    if rng.random() < 0.6:
        lines.append(("mentee", _pick(rng, _POS_MENTEE if rng.random() < dials.mentee_positive else _NEG_MENTEE)))
    else:
        lines.append(("mentor", _pick(rng, _POS_MENTOR if rng.random() < dials.mentor_positive else _NEG_MENTOR)))


def _render(lines: list[tuple[str, str]], mentor_label: str, mentee_label: str, rng: np.random.Generator) -> str:
    """Merge consecutive sentences of one side into turns, label them, and break some turns over lines."""
    out: list[str] = []
    prev = None
    second = 0
    for side, sentence in lines:
        sentence = _noisy(sentence, rng)
        second += 5 + int(rng.random() * 35)
        if side == prev:
            sep = "\n" if rng.random() < 0.25 else " "
            out[-1] += sep + sentence
            continue
        label = mentor_label if side == "mentor" else mentee_label
        out.append(label.replace("{t}", f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}")
                   + sentence)
        prev = side
    return "\n".join(out)
