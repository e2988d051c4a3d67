"""``skillpath sessions``: record, list and import mentoring sessions; feedback for a mentor.

The same code as the HTTP routes (:class:`serving.views.sessions.SessionsView`): the same
validation (unknown mentors and mentees named, texts over their limit refused), the same
analysis stored with each session, the same store in ``DATA_DIR/events.db``. The CLI runs
with the data dir owner's rights, so it reads every text.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from skillpath_cli.common import DateType, UsageFailure, emit_table, progress, settings

__all__ = ["sessions"]

_FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
                       show_default=True, help="table for people; csv or json (one object per line) for tools.")
_BATCH = 500


def _view(ctx: click.Context, as_of: datetime | None = None):
    from catalog.datadir import DataDir
    from catalog.errors import NotReadyError
    from catalog.loaders import load_world
    from catalog.logs import open_event_log
    from serving.views.sessions import open_sessions

    s = settings(ctx)
    dd = DataDir(s.data_dir)
    if not dd.has_world():
        raise NotReadyError(f"no world in {dd.root}; run `skillpath data synth` or `skillpath data import`")
    now = as_of or datetime.now(timezone.utc)
    log = open_event_log(dd.root, s.database_url)  # the events follow-through reads, wherever they live
    return open_sessions(s, world=load_world(dd), log_=log, clock=lambda: now)


def _close(view: Any) -> None:
    view.store.close()
    view.log.close()


@click.group()
def sessions() -> None:
    """Mentoring sessions (DATA_DIR/events.db): add, list, import, feedback.

    Each session is validated (unknown mentors and mentees are named; a transcript over
    200,000 characters is refused), analysed (tone, talk balance, action items, skills)
    and stored durably; session_id is the idempotency key. With sessions.store_text:
    false only the analysis is kept. See docs/sessions.md.
    """


@sessions.command()
@click.option("--session-id", required=True, help="The session's id (idempotency key).")
@click.option("--mentor", "mentor_id", required=True, help="The mentor's id.")
@click.option("--mentee", "mentee_id", required=True, help="The mentee's id.")
@click.option("--started-at", type=DateType(), required=True, help="When it started (ISO-8601, naive = UTC).")
@click.option("--duration", "duration_minutes", type=int, required=True, help="Minutes (1-600).")
@click.option("--channel", default="video", show_default=True,
              help="video, phone, chat, in-person, email or other.")
@click.option("--transcript", "transcript_file", type=click.File("r", encoding="utf-8"), default=None,
              help="A speaker-labelled transcript file ('Mentor: ...' lines); - reads stdin.")
@click.option("--notes", default=None, help="Free notes.")
@click.option("--skills", default=None, help="Skill ids discussed, ';'-separated.")
@click.option("--action-item", "action_items", multiple=True, help="An action item (repeat for several).")
@click.option("--rating-mentee", type=int, default=None, help="The mentee's rating, 1-5.")
@click.option("--rating-mentor", type=int, default=None, help="The mentor's rating, 1-5.")
@click.option("--comment-mentee", default=None, help="The mentee's comment.")
@click.option("--comment-mentor", default=None, help="The mentor's comment.")
@click.pass_context
def add(ctx: click.Context, transcript_file: Any, **fields: Any) -> None:
    """Record one session (the same checks as POST /sessions)."""
    record = {k: v for k, v in fields.items() if v not in (None, ())}
    record["started_at"] = record["started_at"].isoformat()
    if transcript_file is not None:
        record["transcript"] = transcript_file.read()
    if "action_items" in record:
        record["action_items"] = list(record["action_items"])
    view = _view(ctx)
    try:
        res = view.record(view.parse([record], source="add"))
    finally:
        _close(view)
    what = "stored" if res.accepted else "already stored (same body): nothing changed"
    click.echo(f"session {record['session_id']}: {what}")


@sessions.command("list")
@click.option("--mentee", "mentee_id", default=None, help="This mentee's sessions.")
@click.option("--mentor", "mentor_id", default=None, help="This mentor's sessions.")
@_FORMAT
@click.pass_context
def list_(ctx: click.Context, mentee_id: str | None, mentor_id: str | None, fmt: str) -> None:
    """A mentee's or a mentor's sessions, oldest first, with their analysis in short
    (--format json: the GET /mentees/{id}/sessions objects, texts and analysis in full)."""
    if (mentee_id is None) == (mentor_id is None):
        raise UsageFailure("give one of --mentee or --mentor")
    view = _view(ctx)
    try:
        answer = view.for_mentee(mentee_id, None) if mentee_id else view.for_mentor(mentor_id, None)
    finally:
        _close(view)
    if fmt == "json":
        for s in answer.sessions:
            click.echo(s.model_dump_json())
        return
    emit_table([_row(s) for s in answer.sessions], fmt)


def _row(s: Any) -> dict[str, Any]:
    a = s.analysis
    mentee_tone = a.sentiment.get("mentee")
    return {"session_id": s.session_id, "mentor_id": s.mentor_id, "mentee_id": s.mentee_id,
            "started_at": s.started_at.strftime("%Y-%m-%d %H:%M"), "minutes": s.duration_minutes,
            "channel": s.channel, "rating_mentee": s.ratings.mentee, "rating_mentor": s.ratings.mentor,
            "mentee_talk": None if a.talk_balance is None else round(a.talk_balance.get("mentee", 0.0), 2),
            "mentee_tone": None if mentee_tone is None else round(mentee_tone.compound, 2),
            "action_items": len(a.action_items), "skills": ";".join(a.skills)}


@sessions.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and count new and already stored sessions; store nothing.")
@click.pass_context
def import_(ctx: click.Context, file: Path, dry_run: bool) -> None:
    """Import sessions from FILE (.csv or .jsonl; docs/sessions.md lists the columns).

    The whole file is checked first (every bad row listed, exit 2, nothing stored),
    including session ids already stored with another body; then it is stored in
    batches, each fsynced. Importing the same file twice stores it once.
    """
    from catalog.errors import SessionConflictError
    from catalog.tables import read_table

    if file.suffix.lower() not in (".csv", ".jsonl", ".ndjson"):
        raise UsageFailure(f"{file}: expected a .csv or .jsonl file")
    table = read_table(file)
    view = _view(ctx)
    try:
        parsed = view.parse_table(table, source=str(file))
        clash = view.store.conflicts(parsed)
        if clash:
            raise SessionConflictError(clash)
        stored = {sid for sid in (s.session_id for s in parsed) if view.store.get(sid) is not None}
        if dry_run:
            click.echo(f"{file}: {len(parsed)} valid sessions, {len(parsed) - len(stored)} new, "
                       f"{len(stored)} already stored; nothing stored (--dry-run)")
            return
        accepted = duplicates = 0
        with progress(total=len(parsed), desc="sessions", unit="session") as bar:
            for start in range(0, len(parsed), _BATCH):
                chunk = parsed[start:start + _BATCH]
                res = view.record(chunk)
                accepted, duplicates = accepted + res.accepted, duplicates + res.duplicates
                bar.update(len(chunk))
        total = view.store.count()
    finally:
        _close(view)
    click.echo(f"{file}: {accepted} accepted, {duplicates} duplicates (already stored); {total} sessions stored")


@sessions.command()
@click.argument("mentor_id")
@click.option("--as-of", type=DateType(), default=None, help="Assess the pairs at this time [default: now].")
@_FORMAT
@click.pass_context
def feedback(ctx: click.Context, mentor_id: str, as_of: datetime | None, fmt: str) -> None:
    """Feedback for MENTOR_ID on each pair, weakest first (GET /mentors/{id}/feedback)."""
    view = _view(ctx, as_of)
    try:
        answer = view.feedback(mentor_id)
    finally:
        _close(view)
    if fmt == "json":
        click.echo(answer.model_dump_json())
        return
    rows = [{"mentee_id": p.mentee_id, "score": p.score, "status": p.status, "sessions": p.sessions,
             "feedback": "; ".join(p.feedback)} for p in answer.pairs]
    if fmt == "csv":
        emit_table(rows, fmt)
        return
    click.echo(f"Feedback for {mentor_id} as of {answer.as_of:%Y-%m-%d}:")
    emit_table([{k: v for k, v in r.items() if k != "feedback"} for r in rows], fmt)
    for p in answer.pairs:
        if p.feedback:
            click.echo(f"\n{p.mentee_id}:")
            for line in p.feedback:
                click.echo(f"  - {line}")

