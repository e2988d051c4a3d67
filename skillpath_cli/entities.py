"""``skillpath resources|mentees ...``, ``skillpath mentors add|show|list`` and ``skillpath audit``:
the entity store from the command line (the same validation and change log as the HTTP routes).

Writes are recorded in the change log as ``cli:<user>``. Values use the files' syntax
(``--skills python:2;sql:1``, ``--goals rag:4@2027-01-31``) or JSON objects (``--json``).
"""

from __future__ import annotations

import getpass
import json
import time
from pathlib import Path
from typing import Any

import click

from catalog.datadir import DataDir
from catalog.errors import NotReadyError
from skillpath_cli.common import UsageFailure, data_dir, emit_table, settings

__all__ = ["resources", "mentees", "audit", "store_world", "open_store", "mentor_commands", "skill_commands"]


def open_store(dd: DataDir, database_url: str | None = None) -> Any:
    """The entity store the settings name (the data dir's, or PostgreSQL's), seeded from (or re-importing)
    the data dir's files as the service does."""
    from catalog.store.seed import open_entities

    if not database_url and not dd.has_world() and not dd.events_db.exists():
        raise NotReadyError(f"no world in {dd.root}; run `skillpath data synth` or `skillpath data import`")
    return open_entities(dd.events_db, data_dir=dd, database_url=database_url)


def store_world(dd: DataDir, database_url: str | None = None) -> Any:
    ents = open_store(dd, database_url)
    try:
        return ents.world()
    finally:
        ents.store.close()


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in this environment
        return "cli"


def _now_us() -> int:
    return time.time_ns() // 1000


def _record(json_text: str | None, fields: dict[str, Any]) -> dict[str, Any]:
    rec = json.loads(json_text) if json_text else {}
    if not isinstance(rec, dict):
        raise click.BadParameter("--json must be one JSON object")
    rec.update({k: v for k, v in fields.items() if v is not None})
    return rec


def _put(ctx: click.Context, kind: str, entity_id: str, rec: dict[str, Any]) -> None:
    """Create or replace one entity and say its new version."""
    _with_store(ctx, lambda e: click.echo(
        f"{entity_id}: version {e.put(kind, [rec], actor=_actor(), now_us=_now_us())[0].version}"))


def _show(ents: Any, kind: str, entity_id: str) -> None:
    s = ents.get(kind, entity_id)
    click.echo(json.dumps({"id": s.id, "version": s.version, "entity": s.doc}, indent=2))


def _list(ents: Any, kind: str, fmt: str, columns: list[str], keep: Any = None) -> None:
    rows = []
    for sid in ents.ids(kind):
        s = ents.get(kind, sid)
        if keep is None or keep(s.doc):
            rows.append({"id": s.id, "version": s.version, **{c: _cell(s.doc.get(c)) for c in columns}})
    emit_table(rows, fmt, columns=["id", "version", *columns])


def _cell(v: Any) -> Any:
    if isinstance(v, list):
        return ";".join(f"{x['skill']}:{x['level']}" if isinstance(x, dict) else str(x) for x in v)
    return v


def _with_store(ctx: click.Context, fn: Any) -> None:
    ents = open_store(DataDir(data_dir(ctx)), settings(ctx).database_url)
    try:
        fn(ents)
    finally:
        ents.store.close()


_FMT = click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)


# ------------------------------------------------------------------ resources
@click.group()
def resources() -> None:
    """Catalog resources in the entity store: add, show, list, retire."""


@resources.command("add")
@click.argument("item_id")
@click.option("--title")
@click.option("--type", "type_")
@click.option("--skills", help="Skills it teaches, as python:2;sql:1.")
@click.option("--published-at", help="Publication date (ISO-8601; any year from 1000).")
@click.option("--json", "json_text", help="The whole resource as a JSON object (options override its fields).")
@click.pass_context
def resources_add(ctx: click.Context, item_id: str, title: str | None, type_: str | None, skills: str | None,
                  published_at: str | None, json_text: str | None) -> None:
    """Create or replace ITEM_ID (validated like the API and the files)."""
    rec = _record(json_text, {"item_id": item_id, "title": title, "type": type_, "skills": skills,
                              "published_at": published_at})
    _put(ctx, "resources", item_id, rec)


@resources.command("show")
@click.argument("item_id")
@click.pass_context
def resources_show(ctx: click.Context, item_id: str) -> None:
    """One resource as stored, with its version."""
    _with_store(ctx, lambda e: _show(e, "resources", item_id))


@resources.command("list")
@click.option("--skill", help="Only resources teaching this skill.")
@click.option("--type", "type_", help="Only resources of this type.")
@click.option("--active", "only_active", is_flag=True, help="Only active resources (leave the retired out).")
@click.option("--retired", is_flag=True, help="Only retired resources.")
@_FMT
@click.pass_context
def resources_list(ctx: click.Context, skill: str | None, type_: str | None, only_active: bool, retired: bool,
                   fmt: str) -> None:
    """Resources in creation order (active and retired, as GET /resources: its skill, type and active filters)."""
    from catalog.schema import RESOURCE_TYPES

    if only_active and retired:
        raise UsageFailure("--active and --retired exclude each other (neither: both kinds)")
    if type_ is not None and type_ not in RESOURCE_TYPES:
        raise UsageFailure(f"--type: unknown resource type {type_!r} (one of {', '.join(RESOURCE_TYPES)})")

    def keep(doc: dict[str, Any]) -> bool:
        return ((not retired or not doc["active"]) and (not only_active or doc["active"])
                and (type_ is None or doc["type"] == type_)
                and (skill is None or any(s["skill"] == skill for s in doc["skills"])))
    _with_store(ctx, lambda e: _list(e, "resources", fmt, ["title", "type", "skills", "active"], keep))


@resources.command("retire")
@click.argument("item_id")
@click.pass_context
def resources_retire(ctx: click.Context, item_id: str) -> None:
    """Retire ITEM_ID: never recommended again; its history and events stay."""
    _with_store(ctx, lambda e: click.echo(
        f"{item_id}: retired (version {e.retire(item_id, actor=_actor(), now_us=_now_us()).version})"))


# ------------------------------------------------------------------ mentees
@click.group()
def mentees() -> None:
    """Mentee profiles in the entity store: add, show, list, forget."""


@mentees.command("add")
@click.argument("user_id")
@click.option("--goals", help="Goals as rag:4@2027-01-31;python:3.")
@click.option("--minutes-per-week", type=int)
@click.option("--json", "json_text", help="The whole profile as a JSON object (options override its fields).")
@click.pass_context
def mentees_add(ctx: click.Context, user_id: str, goals: str | None, minutes_per_week: int | None,
                json_text: str | None) -> None:
    """Create or replace USER_ID's profile."""
    rec = _record(json_text, {"user_id": user_id, "goals": goals, "minutes_per_week": minutes_per_week})
    _put(ctx, "mentees", user_id, rec)


@mentees.command("show")
@click.argument("user_id")
@click.pass_context
def mentees_show(ctx: click.Context, user_id: str) -> None:
    """One profile as stored, with its version."""
    _with_store(ctx, lambda e: _show(e, "mentees", user_id))


@mentees.command("list")
@_FMT
@click.pass_context
def mentees_list(ctx: click.Context, fmt: str) -> None:
    """Profiles in creation order."""
    _with_store(ctx, lambda e: _list(e, "mentees", fmt, ["goals", "minutes_per_week"]))


@mentees.command("forget")
@click.argument("user_id")
@click.option("--retrain", is_flag=True, help="Then train and register a model without them (`skillpath train`).")
@click.pass_context
def mentees_forget(ctx: click.Context, user_id: str, retrain: bool) -> None:
    """Forget USER_ID: events, profile, mentor assignment, offline tables, conversations, sessions, monitor
    rows and online feature rows; a tombstone keeps
    replayed old events out. The served model keeps their vector until the next training."""
    from catalog.logs import open_event_log
    from catalog.store.forget import MODEL_NOTE, Forgetters, forget_mentee
    from catalog.store.offline import forget_in_parquet

    dd = DataDir(data_dir(ctx))
    forgetters = Forgetters()
    forgetters.register("mentor_assignment", lambda u: _forget_assignment(dd.reports / "mentor_assignment.csv", u))
    forgetters.register("offline_tables", lambda u: forget_in_parquet(dd, u))
    forgetters.register("conversations", lambda u: _forget_conversations(ctx, dd, u))
    forgetters.register("sessions", lambda u: _forget_in(ctx, dd, u, "sessions"))
    forgetters.register("monitor", lambda u: _forget_in(ctx, dd, u, "monitor"))

    def run(ents: Any) -> None:
        forgetters.register("online_store", lambda u: _forget_online(ctx, dd, u, ents.ids("skills")))
        with open_event_log(dd.root, settings(ctx).database_url) as log:
            removed = forget_mentee(user_id, entities=ents, events=log, forgetters=forgetters, actor=_actor(),
                                    now_us=_now_us())
        click.echo(f"forgot {user_id}: " + ", ".join(f"{k} {v}" for k, v in removed.items()))
        if not retrain:
            click.echo(f"note: {MODEL_NOTE}")
    _with_store(ctx, run)
    if retrain:
        from skillpath_cli.train import train

        ctx.invoke(train)


def _forget_assignment(path: Path, user_id: str) -> int:
    import pandas as pd

    from catalog.writers import atomic_write_csv

    if not path.exists():
        return 0
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    gone = df["user_id"].str.strip() == user_id if "user_id" in df.columns else None
    if gone is None or not gone.any():
        return 0
    atomic_write_csv(df[~gone], path)
    return int(gone.sum())


def _forget_online(ctx: click.Context, dd: DataDir, user_id: str, skill_ids: list[str]) -> int:
    from features.forget import forget_online

    return forget_online(dd.root, user_id, online=settings(ctx).features.online_store, skill_ids=skill_ids)


def _forget_in(ctx: click.Context, dd: DataDir, user_id: str, kind: str) -> int:
    """``user_id``'s rows in the service's session or monitor store (the database the service opens)."""
    url = settings(ctx).database_url
    if url is None and not dd.events_db.exists():
        return 0
    if kind == "monitor":
        from catalog.alert_store import forget_user

        return forget_user(dd.events_db, user_id, database_url=url)
    from catalog.session_store import SessionStore

    store = SessionStore(dd.events_db, database_url=url)
    try:
        return int(store.forget_user(user_id))
    finally:
        store.close()


def _forget_conversations(ctx: click.Context, dd: DataDir, user_id: str) -> int:
    from serving.conversations import ConversationStore

    if not dd.assistant_db.exists():
        return 0
    a = settings(ctx).assistant
    store = ConversationStore(dd.assistant_db, ttl_s=a.conversation_ttl_s, max_conversations=a.max_conversations)
    try:
        return store.forget_user(user_id)
    finally:
        store.close()


# ------------------------------------------------------------------ mentors (added to `skillpath mentors`)
@click.command("add")
@click.argument("mentor_id")
@click.option("--skills", help="Skills they mentor, as python:5;sql:4.")
@click.option("--capacity", type=int)
@click.option("--json", "json_text", help="The whole mentor as a JSON object (options override its fields).")
@click.pass_context
def mentors_add(ctx: click.Context, mentor_id: str, skills: str | None, capacity: int | None,
                json_text: str | None) -> None:
    """Create or replace MENTOR_ID."""
    rec = _record(json_text, {"mentor_id": mentor_id, "skills": skills, "capacity": capacity})
    _put(ctx, "mentors", mentor_id, rec)


@click.command("show")
@click.argument("mentor_id")
@click.pass_context
def mentors_show(ctx: click.Context, mentor_id: str) -> None:
    """One mentor as stored, with its version."""
    _with_store(ctx, lambda e: _show(e, "mentors", mentor_id))


@click.command("list")
@_FMT
@click.pass_context
def mentors_list(ctx: click.Context, fmt: str) -> None:
    """Mentors in creation order."""
    _with_store(ctx, lambda e: _list(e, "mentors", fmt, ["name", "skills", "capacity"]))


@click.command("forget")
@click.argument("mentor_id")
@click.pass_context
def mentors_forget(ctx: click.Context, mentor_id: str) -> None:
    """Remove MENTOR_ID (as DELETE /mentors/{id}): no longer matched; the change log keeps the write."""
    def run(e: Any) -> None:
        e.delete("mentors", mentor_id, actor=_actor(), now_us=_now_us())
        click.echo(f"{mentor_id}: removed")
    _with_store(ctx, run)


mentor_commands = (mentors_add, mentors_show, mentors_list, mentors_forget)


# ------------------------------------------------------------------ skills (added to `skillpath skills`)
@click.command("add")
@click.argument("skill_id")
@click.option("--name")
@click.option("--prerequisites", help="Skills needed first, as python:3;sql (a cycle is refused, naming it).")
@click.option("--json", "json_text", help="The whole skill as a JSON object (options override its fields).")
@click.pass_context
def skills_add(ctx: click.Context, skill_id: str, name: str | None, prerequisites: str | None,
               json_text: str | None) -> None:
    """Create or replace SKILL_ID in the skill graph."""
    rec = _record(json_text, {"skill_id": skill_id, "name": name, "prerequisites": prerequisites})
    _put(ctx, "skills", skill_id, rec)


@click.command("retire")
@click.argument("skill_id")
@click.pass_context
def skills_retire(ctx: click.Context, skill_id: str) -> None:
    """Remove SKILL_ID from the graph (as DELETE /skills/{id}); refused, naming them, while a skill,
    resource, mentee or mentor still refers to it."""
    def run(e: Any) -> None:
        e.delete("skills", skill_id, actor=_actor(), now_us=_now_us())
        click.echo(f"{skill_id}: removed from the skill graph")
    _with_store(ctx, run)


skill_commands = (skills_add, skills_retire)  # `skills list` is the graph's own (skillpath_cli/path.py)


# ------------------------------------------------------------------ audit
@click.command()
@click.option("--since", type=int, default=0, show_default=True, help="Changes after this sequence number.")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--kind", type=click.Choice(["skills", "resources", "mentees", "mentors"]))
@_FMT
@click.pass_context
def audit(ctx: click.Context, since: int, limit: int, kind: str | None, fmt: str) -> None:
    """The change log of entity writes: which key or CLI user, when, what."""
    from datetime import datetime, timezone

    def run(ents: Any) -> None:
        rows = [{"seq": c.seq, "at": datetime.fromtimestamp(c.at_us / 1e6, tz=timezone.utc).isoformat(timespec="seconds"),
                 "actor": c.actor, "op": c.op, "kind": c.kind, "id": c.id, "version": c.version, "what": c.summary}
                for c in ents.store.changes(since=since, limit=limit, kind=kind)]
        emit_table(rows, fmt, columns=["seq", "at", "actor", "op", "kind", "id", "version", "what"])
    _with_store(ctx, run)
