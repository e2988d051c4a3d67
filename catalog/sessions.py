"""Mentoring sessions: the entity, its limits, and its validation from any input shape.

A :class:`Session` is one meeting of a mentor and a mentee: when, how long, over which
channel, and optionally what was said (a speaker-labelled transcript or notes), the
skills discussed, the action items agreed and each side's 1-5 rating and comment.

:func:`parse_sessions` validates records (a JSON body, JSON Lines or CSV rows, as dicts)
all or nothing: every bad field of every record becomes one :class:`RowError` naming
the line and the field, raised together as one :class:`DataValidationError`
(:class:`TextTooLongError` when a text is over its limit, so callers can refuse an
oversized body as such). A session id is idempotent: the same record twice is one
session; the same id with different content is an error.

CSV rows are flat: ``rating_mentee``, ``rating_mentor``, ``comment_mentee``,
``comment_mentor`` and ``;``-separated ``skills_discussed`` and ``action_items``
(:data:`CSV_COLUMNS`); JSON may nest ``ratings`` and ``comments`` as ``{"mentee": ..,
"mentor": ..}`` and give lists as real lists. Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from catalog.errors import DataValidationError, RowError, TextTooLongError, UnknownMentorError, UnknownUserError
from catalog.schema import check_id, parse_list, parse_timestamp
from catalog.tables import is_missing, parse_int

__all__ = [
    "CHANNELS", "SIDES", "CSV_COLUMNS",
    "MAX_TRANSCRIPT_CHARS", "MAX_NOTES_CHARS", "MAX_COMMENT_CHARS", "MAX_ACTION_ITEMS",
    "MAX_ACTION_ITEM_CHARS", "MAX_DURATION_MINUTES", "FUTURE_SLACK",
    "Ratings", "Comments", "Session",
    "parse_session", "parse_sessions", "sessions_from_table", "check_participants",
]

CHANNELS: tuple[str, ...] = ("video", "phone", "chat", "in-person", "email", "other")
SIDES: tuple[str, str] = ("mentee", "mentor")

# A two-hour conversation is about 18,000 words (~110,000 characters); the limit leaves room.
MAX_TRANSCRIPT_CHARS = 200_000
MAX_NOTES_CHARS = 20_000
MAX_COMMENT_CHARS = 2_000
MAX_ACTION_ITEMS = 50
MAX_ACTION_ITEM_CHARS = 500
MAX_DURATION_MINUTES = 600
# A session may be logged a little ahead of ``now`` (clock skew, time zones), not days ahead.
FUTURE_SLACK = timedelta(days=1)

CSV_COLUMNS: tuple[str, ...] = (
    "session_id", "mentor_id", "mentee_id", "started_at", "duration_minutes", "channel", "notes", "transcript",
    "skills_discussed", "action_items", "rating_mentee", "rating_mentor", "comment_mentee", "comment_mentor",
)
_REQUIRED = ("session_id", "mentor_id", "mentee_id", "started_at", "duration_minutes", "channel")
_KNOWN = frozenset(CSV_COLUMNS) | {"ratings", "comments"}
_SKILL_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")
_TEXT_LIMITS = {"transcript": MAX_TRANSCRIPT_CHARS, "notes": MAX_NOTES_CHARS}


@dataclass(frozen=True, slots=True)
class Ratings:
    """Each side's 1-5 rating of the session (None: not given)."""

    mentee: int | None = None
    mentor: int | None = None


@dataclass(frozen=True, slots=True)
class Comments:
    """Each side's short comment on the session ("" when none)."""

    mentee: str = ""
    mentor: str = ""


@dataclass(frozen=True, slots=True)
class Session:
    """One mentoring session. ``started_at`` is an aware UTC datetime.

    ``transcript`` is speaker-labelled text ("Mentor: ...\\nMentee: ..."); both texts are
    optional, and a session with neither still counts for cadence and ratings.
    """

    session_id: str
    mentor_id: str
    mentee_id: str
    started_at: datetime
    duration_minutes: int
    channel: str
    notes: str = ""
    transcript: str = ""
    skills_discussed: tuple[str, ...] = ()
    action_items: tuple[str, ...] = ()
    ratings: Ratings = Ratings()
    comments: Comments = Comments()

    @property
    def pair(self) -> tuple[str, str]:
        """``(mentor_id, mentee_id)``."""
        return self.mentor_id, self.mentee_id

    def without_text(self) -> Session:
        """The same session with transcript and notes dropped (for stores that keep only signals)."""
        return Session(self.session_id, self.mentor_id, self.mentee_id, self.started_at, self.duration_minutes,
                       self.channel, "", "", self.skills_discussed, self.action_items, self.ratings, self.comments)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict in the API's shape (nested ``ratings`` and ``comments``)."""
        return {
            "session_id": self.session_id, "mentor_id": self.mentor_id, "mentee_id": self.mentee_id,
            "started_at": self.started_at.isoformat().replace("+00:00", "Z"),
            "duration_minutes": self.duration_minutes, "channel": self.channel,
            "notes": self.notes, "transcript": self.transcript,
            "skills_discussed": list(self.skills_discussed), "action_items": list(self.action_items),
            "ratings": {"mentee": self.ratings.mentee, "mentor": self.ratings.mentor},
            "comments": {"mentee": self.comments.mentee, "mentor": self.comments.mentor},
        }

    def to_row(self) -> dict[str, object]:
        """A flat CSV row (:data:`CSV_COLUMNS`; lists joined with ``;``, missing ratings empty)."""
        d = self.to_dict()
        d["skills_discussed"] = ";".join(self.skills_discussed)
        d["action_items"] = ";".join(self.action_items)
        for side in SIDES:
            r = getattr(self.ratings, side)
            d[f"rating_{side}"] = "" if r is None else r
            d[f"comment_{side}"] = getattr(self.comments, side)
        return {k: d[k] for k in CSV_COLUMNS}


class _Fields:
    """Reads one record's fields, recording every problem against its line and field."""

    def __init__(self, record: Mapping[str, object], line: int, source: str) -> None:
        self.record, self.line, self.source = record, line, source
        self.errors: list[RowError] = []
        self.too_long = False

    def error(self, column: str, reason: str) -> None:
        self.errors.append(RowError(self.line, column, reason, self.source))

    def get(self, key: str) -> object:
        value = self.record.get(key)
        return None if is_missing(value) else value

    def nested(self, group: str, side: str) -> object:
        """``ratings.mentee`` from a nested dict, else the flat ``rating_mentee`` column."""
        box = self.record.get(group)
        if isinstance(box, Mapping):
            value = box.get(side)
            return None if is_missing(value) else value
        if box is not None and not is_missing(box):
            if side == SIDES[0]:  # once per group
                self.error(group, f"must be an object like {{\"mentee\": ..., \"mentor\": ...}}, "
                                  f"got {type(box).__name__}")
            return None
        return self.get(f"{group[:-1]}_{side}")

    def text(self, key: str, value: object, limit: int) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            self.error(key, f"must be text, got {type(value).__name__}")
            return ""
        if len(value) > limit:
            self.error(key, f"{len(value):,} characters, over the limit of {limit:,}")
            self.too_long = self.too_long or key in _TEXT_LIMITS
        return value


def parse_session(record: Mapping[str, object], *, line: int = 1, source: str = "",
                  now: datetime | None = None, allow_unknown: bool = True) -> Session:
    """Validate one record (a JSON body or a CSV/JSONL row as a dict) into a :class:`Session`.

    Raises :class:`DataValidationError` listing every bad field (``TextTooLongError`` if a
    transcript or notes is over its limit). ``now`` rejects sessions more than
    :data:`FUTURE_SLACK` ahead of it; ``allow_unknown=False`` rejects unknown fields.
    """
    session, errors, too_long = _parse(record, line, source, now, allow_unknown)
    if session is None:
        raise (TextTooLongError if too_long else DataValidationError)(errors, source=source)
    return session


def _parse(record: Mapping[str, object], line: int, source: str, now: datetime | None,
           allow_unknown: bool) -> tuple[Session | None, list[RowError], bool]:
    f = _Fields(record, line, source)
    if not allow_unknown:
        for key in record:
            if key not in _KNOWN:
                f.error(str(key), "unknown field; known: " + ", ".join(sorted(_KNOWN)))
    for key in _REQUIRED:
        if f.get(key) is None:
            f.error(key, "required")
    ids = {}
    for key in ("session_id", "mentor_id", "mentee_id"):
        if f.get(key) is not None:
            try:
                ids[key] = check_id(f.get(key), key)
            except ValueError as e:
                f.error(key, str(e))
    started = None
    if f.get("started_at") is not None:
        try:
            started = parse_timestamp(f.get("started_at"))
            if now is not None and started > now + FUTURE_SLACK:
                f.error("started_at", f"{started:%Y-%m-%dT%H:%MZ} is in the future (now {now:%Y-%m-%dT%H:%MZ})")
        except ValueError as e:
            f.error("started_at", str(e))
    duration = None
    if f.get("duration_minutes") is not None:
        try:
            duration = parse_int(f.get("duration_minutes"), "duration_minutes", minimum=1,
                                 maximum=MAX_DURATION_MINUTES)
        except ValueError as e:
            f.error("duration_minutes", str(e))
    channel = None
    if f.get("channel") is not None:
        channel = str(f.get("channel")).strip().lower()
        if channel not in CHANNELS:
            f.error("channel", f"{f.get('channel')!r} is not one of {', '.join(CHANNELS)}")
    notes = f.text("notes", f.get("notes"), MAX_NOTES_CHARS)
    transcript = f.text("transcript", f.get("transcript"), MAX_TRANSCRIPT_CHARS)
    skills = _skills(f)
    actions = _action_items(f)
    ratings: dict[str, int | None] = {}
    comments: dict[str, str] = {}
    for side in SIDES:
        value = f.nested("ratings", side)
        ratings[side] = None
        if value is not None:
            try:
                ratings[side] = parse_int(value, f"{side} rating", minimum=1, maximum=5)
            except ValueError as e:
                f.error(f"ratings.{side}", str(e))
        comments[side] = f.text(f"comments.{side}", f.nested("comments", side), MAX_COMMENT_CHARS)
    if f.errors:
        return None, f.errors, f.too_long
    session = Session(ids["session_id"], ids["mentor_id"], ids["mentee_id"], started, duration, channel,  # type: ignore[arg-type]
                      notes, transcript, skills, actions, Ratings(**ratings), Comments(**comments))
    return session, [], False


def _skills(f: _Fields) -> tuple[str, ...]:
    try:
        skills = parse_list(f.get("skills_discussed"))
    except TypeError:
        f.error("skills_discussed", "must be a list of skill ids or a ';'-separated string")
        return ()
    bad = [s for s in skills if not _SKILL_ID.match(s)]
    if bad:
        f.error("skills_discussed", f"{bad[0]!r} is not a skill id (1-128 of A-Z a-z 0-9 _ . @ -)")
    return tuple(dict.fromkeys(skills))


def _action_items(f: _Fields) -> tuple[str, ...]:
    raw = f.get("action_items")
    if raw is None:
        return ()
    if isinstance(raw, str):
        items = [p.strip() for p in raw.split(";")]
    elif isinstance(raw, (list, tuple)) and all(isinstance(p, str) for p in raw):
        items = [p.strip() for p in raw]
    else:
        f.error("action_items", "must be a list of texts or a ';'-separated string")
        return ()
    items = [p for p in items if p]
    if len(items) > MAX_ACTION_ITEMS:
        f.error("action_items", f"{len(items)} items, over the limit of {MAX_ACTION_ITEMS}")
    long = [k for k, p in enumerate(items) if len(p) > MAX_ACTION_ITEM_CHARS]
    if long:
        f.error("action_items", f"item {long[0] + 1} is over {MAX_ACTION_ITEM_CHARS} characters")
    return tuple(items)


def parse_sessions(records: Iterable[Mapping[str, object]] | Iterable[tuple[int, Mapping[str, object]]], *,
                   source: str = "", now: datetime | None = None, allow_unknown: bool = True,
                   mentor_ids: Collection[str] | None = None,
                   mentee_ids: Collection[str] | None = None) -> list[Session]:
    """Validate many records, all or nothing, into sessions in input order (repeats merged).

    ``records`` are dicts (numbered 1, 2, ... as JSON Lines are) or ``(line, dict)`` pairs.
    ``mentor_ids`` / ``mentee_ids``, when given, are the known people: an unknown one is
    an error naming it. An id repeated with identical content is kept once (idempotent);
    repeated with different content it is an error pointing at the first line.
    """
    out: dict[str, tuple[int, Session]] = {}
    errors: list[RowError] = []
    too_long = False
    for k, item in enumerate(records, start=1):
        line, record = item if isinstance(item, tuple) else (k, item)
        if not isinstance(record, Mapping):
            errors.append(RowError(line, "*", f"expected an object, got {type(record).__name__}", source))
            continue
        session, errs, long = _parse(record, line, source, now, allow_unknown)
        too_long = too_long or long
        if session is None:
            errors.extend(errs)
            continue
        if mentor_ids is not None and session.mentor_id not in mentor_ids:
            errors.append(RowError(line, "mentor_id", f"unknown mentor {session.mentor_id!r}", source))
        if mentee_ids is not None and session.mentee_id not in mentee_ids:
            errors.append(RowError(line, "mentee_id", f"unknown mentee {session.mentee_id!r}", source))
        seen = out.get(session.session_id)
        if seen is None:
            out[session.session_id] = (line, session)
        elif seen[1] != session:
            errors.append(RowError(line, "session_id", f"{session.session_id!r} repeated with different content "
                                   f"(first at line {seen[0]})", source))
    if errors:
        raise (TextTooLongError if too_long else DataValidationError)(errors, source=source)
    return [s for _, s in out.values()]


def sessions_from_table(table: pd.DataFrame, **kw: Any) -> list[Session]:
    """Sessions from a frame as :func:`catalog.tables.read_table` returns it (index = line)."""
    cols = [str(c) for c in table.columns]
    rows = ((int(line), dict(zip(cols, values))) for line, values in zip(table.index, table.itertuples(index=False)))
    return parse_sessions(rows, **kw)


def check_participants(sessions: Iterable[Session], *, mentor_ids: Collection[str],
                       mentee_ids: Collection[str]) -> None:
    """Raise :class:`UnknownMentorError` / :class:`UnknownUserError` naming every unknown person."""
    sessions = list(sessions)
    mentors = sorted({s.mentor_id for s in sessions} - set(mentor_ids))
    if mentors:
        raise UnknownMentorError(mentors)
    mentees = sorted({s.mentee_id for s in sessions} - set(mentee_ids))
    if mentees:
        raise UnknownUserError(mentees)
