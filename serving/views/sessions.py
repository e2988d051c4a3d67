"""Mentoring sessions: record them (validated, analysed, stored), list them, assess pairs, feed back to mentors.

``POST /sessions``, ``GET /mentees/{id}/sessions``, ``GET /mentors/{id}/sessions``,
``GET /mentors/{id}/feedback``, ``GET /pairs/{mentor}/{mentee}/health`` and the
``skillpath sessions`` commands all call :class:`SessionsView`. A session is analysed
when it is recorded, before its texts may be dropped (``sessions.store_text: false``),
and read back with that analysis; pair health is computed on each call from the stored
analyses and the mentee's events, as of the service's clock.

Who reads texts (transcript, notes, comments, action-item sentences): the pair itself
(the mentee's key, the mentor's key), leads and admins. Anyone else allowed to list the
sessions gets them with ``texts: "withheld"`` and the texts null. Texts are never logged.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import pandas as pd

from analysis.sessions import HealthConfig, SessionAnalysis, analyse_sessions, assess_pairs
from analysis.sessions.engagement import item_skill_map
from analysis.sessions.health import PairHealth
from analysis.vocabulary import SkillVocabulary
from catalog.catalog import Catalog, World
from catalog.datadir import DataDir
from catalog.errors import DataValidationError
from catalog.eventlog import EventLog
from catalog.session_store import SessionStore, StoredSession
from catalog.sessions import Session, parse_sessions
from catalog.settings import Settings
from serving.access import Principal
from serving.errors import Forbidden
from serving.schemas_sessions import (
    MentorFeedbackResponse, PairFeedback, PairHealthResponse, SessionListResponse, SessionOut, SessionsResponse,
)

__all__ = ["SessionsView", "open_sessions", "may_read_texts", "redact_analysis"]


def may_read_texts(who: Principal | None, session: Session) -> bool:
    """The pair, leads and admins read a session's texts (``None``: an operator in-process, e.g. the CLI)."""
    if who is None or who.role in ("admin", "lead"):
        return True
    if who.role == "mentee":
        return who.subject == session.mentee_id
    if who.role == "mentor":
        return who.subject == session.mentor_id
    return False


def redact_analysis(analysis: Mapping[str, Any], *, detected_only: bool) -> dict[str, Any]:
    """The analysis with action-item sentences nulled (only the detected ones with ``detected_only``)."""
    out = dict(analysis)
    out["action_items"] = [{**a, "text": None} if not detected_only or a.get("source") != "recorded" else dict(a)
                           for a in analysis.get("action_items", [])]
    return out


class SessionsView:
    """See the module docstring. ``clock`` is the service's; ``store_text`` is ``sessions.store_text``."""

    def __init__(self, world: World | Callable[[], World], store: SessionStore, log: EventLog, *,
                 clock: Callable[[], datetime], config: HealthConfig | None = None) -> None:
        self._world = world if callable(world) else (lambda: world)
        self.store, self.log, self.clock = store, log, clock
        self.config = config or HealthConfig()
        self._vocabulary: SkillVocabulary | None = None
        self._vocab_catalog: object = None
        self._items: dict[str, tuple[str, ...]] = {}
        self._items_for: object = None
        self._vocab_lock = threading.Lock()

    @property
    def world(self) -> World:
        """The world serving now (a callable lets the app swap it when the catalog or people change)."""
        return self._world()

    @property
    def vocabulary(self) -> SkillVocabulary:
        """The catalog's skill vocabulary, built on first use per catalog and shared (it memoises typo lookups)."""
        catalog = self.world.catalog
        with self._vocab_lock:
            if self._vocabulary is None or self._vocab_catalog is not catalog:
                self._vocabulary, self._vocab_catalog = SkillVocabulary(catalog.skills.values()), catalog
            return self._vocabulary

    # ------------------------------------------------------------ writing
    def parse(self, records: Iterable[Mapping[str, object]] | Iterable[tuple[int, Mapping[str, object]]], *,
              source: str = "", collection: str | None = None) -> list[Session]:
        """Validate records all or nothing, unknown mentors and mentees named (``collection``: the body's list)."""
        try:
            return parse_sessions(records, source=source, now=self.clock(), mentor_ids=self.world.mentors,
                                  mentee_ids=self.world.mentees)
        except DataValidationError as e:
            if collection is not None:
                e.collection = collection  # type: ignore[attr-defined]  # how serving.errors names the rows
            raise

    def parse_table(self, table: pd.DataFrame, *, source: str = "") -> list[Session]:
        """:meth:`parse` over a frame as :func:`catalog.tables.read_table` returns it (index = line)."""
        cols = [str(c) for c in table.columns]
        return self.parse(((int(line), dict(zip(cols, values)))
                           for line, values in zip(table.index, table.itertuples(index=False))), source=source)

    def analyse(self, sessions: list[Session]) -> dict[str, dict[str, Any]]:
        """Each session's analysis as stored (detected action-item sentences dropped when texts are not kept)."""
        done = analyse_sessions(sessions, vocabulary=self.vocabulary, mentors=self.world.mentors)
        keep = self.store.store_text
        return {sid: a.to_dict() if keep else redact_analysis(a.to_dict(), detected_only=True)
                for sid, a in done.items()}

    def record(self, sessions: list[Session]) -> SessionsResponse:
        """Analyse and store ``sessions`` (validated by :meth:`parse`) durably; 409 on a reused id."""
        res = self.store.put(sessions, analyses=self.analyse(sessions))
        return SessionsResponse(accepted=res.accepted, duplicates=res.duplicates, session_ids=res.session_ids,
                                texts_stored=self.store.store_text)

    # ------------------------------------------------------------ reading
    def for_mentee(self, mentee_id: str, who: Principal | None,
                   mentor_of: Callable[[str], str | None] | None = None) -> SessionListResponse:
        """The mentee's sessions; a mentor key reads them if assigned to the mentee or of one of them."""
        self.world.mentee(mentee_id)
        stored = self.store.by_mentee(mentee_id)
        if who is not None and not who.may_read_mentee(mentee_id, mentor_of):
            met = who.role == "mentor" and any(s.session.mentor_id == who.subject for s in stored)
            if not met:
                raise Forbidden(f"a {who.role} key may not read mentee {mentee_id!r}", ["path", "mentee_id"])
        return SessionListResponse(mentee_id=mentee_id, mentor_id=None, sessions=[self._out(s, who) for s in stored])

    def for_mentor(self, mentor_id: str, who: Principal | None) -> SessionListResponse:
        """The mentor's sessions (the caller's right to ask is checked by the route)."""
        self.world.mentor(mentor_id)
        return SessionListResponse(mentee_id=None, mentor_id=mentor_id,
                                   sessions=[self._out(s, who) for s in self.store.by_mentor(mentor_id)])

    def _out(self, stored: StoredSession, who: Principal | None) -> SessionOut:
        s, d = stored.session, stored.session.to_dict()
        analysis = stored.analysis
        dropped = bool(analysis.get("has_text")) and not stored.text_stored  # sessions.store_text: false
        kept = stored.text_stored or bool(s.comments.mentee or s.comments.mentor or s.action_items) or any(
            a.get("text") for a in analysis.get("action_items", []))
        if may_read_texts(who, s):
            texts = "not_stored" if dropped else "included" if kept else "none"
        else:
            texts = "withheld" if kept or dropped else "none"
            d.update(notes=None, transcript=None, action_items=None, comments={"mentee": None, "mentor": None})
            analysis = redact_analysis(analysis, detected_only=False)
        if texts == "not_stored":
            d.update(notes=None, transcript=None)
        d["texts"] = texts
        d["analysis"] = analysis
        return SessionOut.model_validate(d)

    # ------------------------------------------------------------ pairs
    def _assess(self, stored: list[StoredSession], mentee_ids: list[str]) -> dict[tuple[str, str], PairHealth]:
        now = self.clock()
        sessions = [s.session for s in stored]
        analyses = {s.session.session_id: SessionAnalysis.from_dict(s.session, s.analysis) for s in stored}
        events = self.log.read(user_ids=mentee_ids) if mentee_ids else None
        world = self.world
        return assess_pairs(sessions, vocabulary=self.vocabulary, now=now, events=events,
                            catalog=world.catalog if events is not None else None, mentors=world.mentors,
                            config=self.config, analyses=analyses, item_skills=self._item_skills(world.catalog))

    def _item_skills(self, catalog: Catalog) -> dict[str, tuple[str, ...]]:
        """Each item's skills, once per catalog (every health request needs the table)."""
        with self._vocab_lock:
            if self._items_for is not catalog:
                self._items, self._items_for = item_skill_map(catalog), catalog
            return self._items

    def pair_health(self, mentor_id: str, mentee_id: str) -> PairHealthResponse:
        """The pair's health as of now (``no data`` before their first session)."""
        self.world.mentor(mentor_id)
        self.world.mentee(mentee_id)
        stored = self.store.by_pair(mentor_id, mentee_id)
        health = self._assess(stored, [mentee_id]).get((mentor_id, mentee_id))
        if health is None:
            return PairHealthResponse(mentor_id=mentor_id, mentee_id=mentee_id, score=None, status="no data",
                                      sessions=0, signals=[], feedback=[])
        return PairHealthResponse.model_validate(health.to_dict())

    def feedback(self, mentor_id: str) -> MentorFeedbackResponse:
        """Every pair of the mentor (mentees they had sessions with), weakest first, with feedback lines."""
        self.world.mentor(mentor_id)
        stored = self.store.by_mentor(mentor_id)
        mentees = list(dict.fromkeys(s.session.mentee_id for s in stored))
        health = self._assess(stored, mentees)
        pairs = [PairFeedback(mentee_id=h.mentee_id, score=None if h.score is None else round(h.score, 4),
                              status=h.status, sessions=h.sessions, feedback=list(h.feedback))
                 for h in health.values()]
        pairs.sort(key=lambda p: (p.score is None, p.score if p.score is not None else 0.0, p.mentee_id))
        return MentorFeedbackResponse(mentor_id=mentor_id, as_of=self.clock(), pairs=pairs)



def open_sessions(settings: Settings, *, world: World | Callable[[], World], log_: EventLog, clock: Callable[[], datetime]) -> SessionsView:
    """The view over the session store (the data dir's ``events.db``, or PostgreSQL with ``database_url``),
    as ``settings.sessions`` configures it."""
    ss = settings.sessions
    store = SessionStore(DataDir(settings.data_dir).events_db, store_text=ss.store_text,
                         database_url=settings.database_url)
    return SessionsView(world, store, log_, clock=clock, config=HealthConfig(target_per_month=ss.target_per_month))
