"""Session entity and validation: every bad field named, size limits, idempotent ids, file shapes."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone

import pytest

from catalog.errors import (DataValidationError, SkillPathError, TextTooLongError, UnknownMentorError,
                            UnknownUserError)
from catalog.sessions import (CSV_COLUMNS, MAX_TRANSCRIPT_CHARS, Comments, Ratings, Session, check_participants,
                              parse_session, parse_sessions, sessions_from_table)
from catalog.tables import csv_table, jsonl_table

UTC = timezone.utc
BODY = {"session_id": "s-1", "mentor_id": "m026", "mentee_id": "u00042", "started_at": "2026-11-02T10:00:00Z",
        "duration_minutes": 45, "channel": "video", "transcript": "Mentor: ...\nMentee: ...",
        "ratings": {"mentee": 4, "mentor": 5}}


def columns(exc: DataValidationError) -> list[str]:
    return [e.column for e in exc.errors]


def test_the_issue_example_body_parses_and_round_trips():
    s = parse_session(BODY)
    assert s == Session("s-1", "m026", "u00042", datetime(2026, 11, 2, 10, tzinfo=UTC), 45, "video",
                        transcript="Mentor: ...\nMentee: ...", ratings=Ratings(mentee=4, mentor=5))
    assert s.pair == ("m026", "u00042")
    d = s.to_dict()
    assert d["started_at"] == "2026-11-02T10:00:00Z" and d["ratings"] == {"mentee": 4, "mentor": 5}
    assert parse_session(json.loads(json.dumps(d))) == s


def test_every_bad_field_is_reported_by_name():
    bad = {"session_id": "has space", "mentor_id": "", "started_at": "yesterday", "duration_minutes": 0,
           "channel": "fax", "ratings": {"mentee": 6, "mentor": "great"}, "skills_discussed": ["ok", "bad:id"],
           "action_items": 7}
    with pytest.raises(DataValidationError) as err:
        parse_session(bad, line=3)
    got = columns(err.value)
    assert sorted(got) == sorted(["session_id", "mentor_id", "mentee_id", "started_at", "duration_minutes", "channel",
                                  "ratings.mentee", "ratings.mentor", "skills_discussed", "action_items"])
    assert all(e.line == 3 for e in err.value.errors)
    assert not isinstance(err.value, TextTooLongError)
    assert "fax" in str(err.value) and "required" in str(err.value)


def test_ratings_and_comments_nested_or_flat():
    flat = {**BODY, "ratings": None, "rating_mentee": "3", "rating_mentor": "", "comment_mentee": "useful"}
    s = parse_session(flat)
    assert s.ratings == Ratings(3, None) and s.comments == Comments("useful", "")
    with pytest.raises(DataValidationError) as err:
        parse_session({**BODY, "ratings": [4, 5]})
    assert columns(err.value) == ["ratings"]


def test_a_transcript_over_the_limit_is_its_own_error_naming_the_field():
    with pytest.raises(TextTooLongError) as err:
        parse_session({**BODY, "transcript": "x" * (MAX_TRANSCRIPT_CHARS + 1)})
    assert columns(err.value) == ["transcript"]
    assert isinstance(err.value, DataValidationError) and isinstance(err.value, SkillPathError)
    assert parse_session({**BODY, "transcript": "x" * MAX_TRANSCRIPT_CHARS}).transcript  # the limit itself is fine
    with pytest.raises(DataValidationError) as err:  # a long comment is bad input, not an oversized body
        parse_session({**BODY, "comments": {"mentee": "y" * 3000}})
    assert columns(err.value) == ["comments.mentee"] and not isinstance(err.value, TextTooLongError)


def test_same_id_same_content_is_one_session_different_content_is_an_error():
    assert parse_sessions([BODY, dict(BODY)]) == [parse_session(BODY)]
    with pytest.raises(DataValidationError) as err:
        parse_sessions([BODY, {**BODY, "duration_minutes": 50}])
    (e,) = err.value.errors
    assert (e.line, e.column) == (2, "session_id") and "first at line 1" in e.reason


def test_unknown_people_are_named():
    with pytest.raises(DataValidationError) as err:
        parse_sessions([BODY], mentor_ids={"m001"}, mentee_ids={"u00042"})
    assert columns(err.value) == ["mentor_id"] and "'m026'" in str(err.value)
    s = parse_session(BODY)
    with pytest.raises(UnknownMentorError, match="m026"):
        check_participants([s], mentor_ids={"m001"}, mentee_ids={"u00042"})
    with pytest.raises(UnknownUserError, match="u00042"):
        check_participants([s], mentor_ids={"m026"}, mentee_ids=set())
    check_participants([s], mentor_ids={"m026"}, mentee_ids={"u00042"})


def test_future_sessions_and_unknown_fields():
    now = datetime(2026, 10, 1, tzinfo=UTC)
    with pytest.raises(DataValidationError) as err:
        parse_session(BODY, now=now)
    assert columns(err.value) == ["started_at"] and "future" in str(err.value)
    assert parse_session(BODY, now=datetime(2026, 11, 1, 12, tzinfo=UTC))  # within a day's slack
    with pytest.raises(DataValidationError) as err:
        parse_session({**BODY, "rating": 5}, allow_unknown=False)
    assert columns(err.value) == ["rating"]
    assert parse_session({**BODY, "rating": 5})  # ignored by default, as loaders ignore extra columns


def _csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def test_csv_round_trip_with_multi_line_transcripts_and_line_numbers():
    a = parse_session({**BODY, "transcript": 'Mentor: hi, "quoted"\nMentee: hello\nMentee: bye',
                       "skills_discussed": ["sql", "python"], "action_items": ["read the docs", "try a query"],
                       "comments": {"mentor": "good"}})
    b = parse_session({**BODY, "session_id": "s-2", "ratings": {}, "channel": "chat"})
    text = _csv([a.to_row(), b.to_row()])
    assert sessions_from_table(csv_table(text)) == [a, b]
    bad = text.replace(",chat,", ",carrier pigeon,")
    with pytest.raises(DataValidationError) as err:
        sessions_from_table(csv_table(bad), source="sessions.csv")
    (e,) = err.value.errors
    assert (e.line, e.column, e.source) == (5, "channel", "sessions.csv")  # header 1, a spans lines 2-4


def test_jsonl_rows_keep_their_line_numbers():
    text = "\n".join([json.dumps(BODY), "", json.dumps({**BODY, "session_id": "s-2", "duration_minutes": "long"})])
    with pytest.raises(DataValidationError) as err:
        sessions_from_table(jsonl_table(text.splitlines()))
    assert [(e.line, e.column) for e in err.value.errors] == [(3, "duration_minutes")]


def test_without_text_keeps_everything_but_the_texts():
    s = parse_session({**BODY, "notes": "private", "action_items": ["read"]})
    bare = s.without_text()
    assert bare.transcript == bare.notes == "" and bare.action_items == ("read",) and bare.ratings == s.ratings
