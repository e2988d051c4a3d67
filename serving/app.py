"""The recommendation service as a plain class: what every endpoint calls.

:class:`SkillPathApp` holds the world, the event log, the model bundle serving now
(:class:`~serving.bundle.ModelBundle`) and the cache of mentee contexts
(:class:`~serving.userstate.MenteeContexts`). Each method takes a pydantic body of
:mod:`serving.schemas`, builds the mentee's context with the service's clock, and hands it
with the bundle to a view (:mod:`serving.views`), so the BentoML class stays a thin
adapter and benchmarks, the CLI and tests call the same code in-process. The clock lives
here (``clock()``) and is passed into the pure core.

Thread safety: requests read one bundle reference at their start; reloads and the daily
refresh build new objects and swap that reference under a lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, get_args

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

from catalog.catalog import World
from catalog.datadir import DataDir
from catalog.errors import NotReadyError, SkillPathError
from catalog.eventlog import EventLog
from catalog.events import with_event_ids
from catalog.logs import open_event_log
from catalog.schema import EVENT_TYPES
from catalog.settings import Settings
from catalog.store.entities import Entities, paused_gc
from catalog.store.forget import Forgetters
from catalog.store.offline import forget_in_parquet
from catalog.store.seed import open_entities
from features.engagement import engagement_at
from features.forget import forget_online
from recommender.item_scores import cold_half_life, popularity_scores
from recommender.models.content import ContentRecommender
from serving.app_entities import EntityMethods
from serving.app_models import ModelMethods
from serving.app_parts import LazyParts
from serving.background import Background
from serving.bundle import CatalogView, ModelBundle
from serving.online_sync import OnlineSync
from serving.logread import read_log
from serving.schemas import (
    EventsRequest, EventsResponse, RecommendRequest, RecommendResponse, SimilarResponse,
)
from serving.schemas_mentors import MentorAssignRequest, MentorAssignResponse, MentorMatchRequest, MentorMatchResponse
from serving.schemas_paths import PathRequest, PathResponse, SkillResponse
from serving.userstate import MenteeContexts
from serving.views.mentors import MentorsView
from serving.views.paths import PathsView
from serving.views.hybrid import hybrid_recommend
from serving.views.recommend import OnlineStatus, recommend, similar
from serving.views.entities import EntitiesView
from serving.views.stale import StaleReach
from training.registry import LoadedModel, ModelSource, model_source_from_settings

if TYPE_CHECKING:  # these parts' stacks load when they are built (serving.app_parts), not with the app
    from serving.conversations import ConversationStore
    from serving.views.assistant import AssistantView
    from serving.views.monitoring import MonitorView
    from serving.views.sessions import SessionsView

__all__ = ["SkillPathApp", "utcnow"]

log = logging.getLogger("skillpath.serving")

# What cold-start popularity reads: every event that can make or unmake a positive pair.
_POPULARITY_EVENTS = [t for t in EVENT_TYPES if t != "impression"]
#: How often a request checks the entity store for other processes' writes (one indexed query).
SYNC_INTERVAL_S = 0.2


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class SkillPathApp(EntityMethods, ModelMethods, LazyParts):
    """Recommendations, event ingestion, paths, mentors, similar items, the stale view, model reloads and
    the virtual mentor."""

    def __init__(self, settings: Settings, *, world: World, log_: EventLog, source: ModelSource | None,
                 clock: Callable[[], datetime] = utcnow, online: object | None = None,
                 entities: Entities | None = None) -> None:
        self.settings, self.log, self.source = settings, log_, source
        self.clock = clock
        self.background = Background()  # its threads are joined by close()
        #: Set when the service's build after readiness (popularity, monitor, assistant, console tables) has
        #: finished: until then it competes with requests for the GIL, so benchmarks wait for it (``/readyz``).
        self.warmed = threading.Event()
        self.online = online
        self.sync = None if online is None else OnlineSync(online, rows_for=self._engagement_rows,
                                                            users=self._log_users, now=clock)
        # The entity store (in the event log's file, or PostgreSQL's database) owns the world; an empty one is
        # seeded from ``world``.
        self.entities = entities if entities is not None else open_entities(
            log_.path if settings.database_url is None and getattr(log_, "path", None)
            else DataDir(settings.data_dir).events_db, world=world, database_url=settings.database_url)
        self.entity_view = EntitiesView(self.entities, clock)
        self._gen, self._kinds = self.entities.generation, dict(self.entities.kind_generation)
        self._last_sync = time.monotonic()
        self._bundle: ModelBundle | None = None
        self._trained: LoadedModel | None = None  # the model as loaded, before alignment with the catalog
        self._assistant: AssistantView | None = None
        self._conversations: ConversationStore | None = None
        self._content_bundle: ModelBundle | None = None
        self._derive(self.entities.world(), catalog_changed=True)
        self._swap = threading.Lock()
        self._assistant_lock = threading.Lock()
        self._sessions: SessionsView | None = None
        self._sessions_lock = threading.Lock()
        self.forgetters = Forgetters()
        self.forgetters.register("mentor_assignment", lambda u: self.mentors.forget(u))
        self.forgetters.register("conversations", self._forget_conversations)
        self.forgetters.register("offline_tables", lambda u: forget_in_parquet(DataDir(settings.data_dir), u))
        self.forgetters.register("sessions", lambda u: self.sessions.store.forget_user(u))
        self.forgetters.register("online_store", lambda u: forget_online(
            settings.data_dir, u, online=settings.features.online_store, skill_ids=self.world.catalog.skills))
        self.last_error: str | None = None
        self._monitor: MonitorView | None = None
        self._monitor_open = not settings.monitoring.enabled  # nothing to open when monitoring is off
        self._monitor_lock = threading.Lock()
        if settings.monitoring.enabled:
            self.forgetters.register("monitoring", self._forget_monitoring)
        if source is not None:
            try:
                self.reload()
            except SkillPathError as e:  # start unready; the timer or /admin/reload retries
                self.last_error = str(e)
                log.warning("no model loaded at start: %s", e)

    def _derive(self, world: World, *, catalog_changed: bool, view: CatalogView | None = None) -> None:
        """Everything requests read that depends on the world (views, contexts, the cold-start content model);
        ``view``: the new catalog's view when the caller patched one (:mod:`serving.live`). What the new
        world shares with the old (the item ids, the skill matrix) is not rebuilt."""
        log_, settings = self.log, self.settings
        prev: World | None = getattr(self, "world", None)
        self.world = world
        if catalog_changed:
            cat, old = world.catalog, None if prev is None else prev.catalog
            if old is None or cat.items is not old.items:
                self.known_items = frozenset(cat.items.ids.tolist())
            self.view = view if view is not None else self._make_view(self.clock())
            if old is None or cat.item_skill_levels is not old.item_skill_levels:
                self.content = ContentRecommender().fit(sp.csr_matrix((1, cat.n_items), dtype=np.float32),
                                                        item_features=cat.item_skill_levels)
            sc = settings.scoring
            self.stale_reach = StaleReach(cat, log_, bundle=lambda: self._bundle, clock=self.clock,
                                          threshold=sc.stale_threshold, floor=sc.freshness_floor)
        self.contexts = MenteeContexts(log_, world) if prev is None else self.contexts.over(world)
        if prev is None:  # resolved once: a path's resolve() is file system calls on every write otherwise
            self._reports = DataDir(settings.data_dir).reports
        if (prev is not None and world.mentees is prev.mentees and world.mentors is prev.mentors
                and world.catalog.graph is prev.catalog.graph):  # a resource write: nothing they tabulate moved
            self.mentors = self.mentors.over(world)
            self.paths = self.paths.over(world, self.mentors)
        else:
            self.mentors = MentorsView(world, self._reports, has_events=lambda u: log_.last_seq(u) > 0,
                                       infer=self._inferred_mentee)
            self.paths = PathsView(world, self.mentors)
        self._assistant = None  # rebuilt on next use over the new world; its conversation store stays open

    def refresh(self, *, force: bool = False, sync: bool = True) -> None:
        """Apply entity writes (of this process, or another's within :data:`SYNC_INTERVAL_S`; on PostgreSQL,
        whose store is notified, another replica's by the next request) to what requests read: a new or
        retired resource, a goal or a capacity change shows in the next answer. ``sync=False``: apply what
        the entities in memory hold without asking the store (right after this process's own write)."""
        if sync:
            now = time.monotonic()
            if not force and now - self._last_sync < SYNC_INTERVAL_S and not self.entities.store.pushes_changes:
                return  # a store the database notifies answers sync() from memory: checked on every request
            self._last_sync = now
            self.entities.sync()
        if self.entities.generation == self._gen:
            return
        with self._swap, paused_gc():
            gen, kinds = self.entities.generation, dict(self.entities.kind_generation)
            if gen == self._gen:
                return
            self._apply_writes({k for k, g in kinds.items() if g != self._kinds.get(k)})
            self._gen, self._kinds = gen, kinds

    @classmethod
    def from_settings(cls, settings: Settings, *, model_dir: str | Path | None = None,
                      clock: Callable[[], datetime] = utcnow, online: object | None = None,
                      mentees: Sequence[str] | None = None) -> SkillPathApp:
        """``mentees``: hold only these mentees' profiles (a one-shot command answering for them; the entity
        store is then read-only in this process)."""
        dd = DataDir(settings.data_dir)
        if not dd.has_world() and not dd.events_db.exists():
            raise NotReadyError(f"no world in {dd.root}; run `skillpath data synth` or `skillpath data import`")
        entities = open_entities(dd.events_db, data_dir=dd, database_url=settings.database_url,
                                 only=None if mentees is None else {"mentees": list(mentees)})
        return cls(settings, world=entities.world(), log_=open_event_log(dd.root, settings.database_url),
                   source=model_source_from_settings(settings, model_dir=model_dir), clock=clock, online=online,
                   entities=entities)

    # ------------------------------------------------------------ state
    @property
    def ready(self) -> bool:
        return self._bundle is not None

    @property
    def bundle(self) -> ModelBundle:
        b = self._bundle
        if b is None:
            raise NotReadyError("no model loaded yet" + (f": {self.last_error}" if self.last_error else ""))
        return b

    def _make_view(self, now: datetime) -> CatalogView:
        sc = self.settings.scoring
        return CatalogView(self.world.catalog, now, floor=sc.freshness_floor, stale_threshold=sc.stale_threshold,
                           freshness_weight=sc.freshness_weight, item_dtype=sc.item_dtype)

    def _popularity(self, half_life_days: float | None = None, *, view: CatalogView | None = None
                    ) -> NDArray[np.float32]:
        """Cold-start popularity from the log at the view's time (:func:`recommender.item_scores.popularity_scores`)."""
        view = view or self.view
        events = read_log(self.log, event_types=_POPULARITY_EVENTS)
        return popularity_scores(events, view.catalog, now=view.as_of,
                                 half_life_days=half_life_days).astype(np.float32)

    def online_status(self) -> OnlineStatus:
        """The online store's health as the adapter last saw it (breaker, last read or push):
        the models do not consume online features, so no request pays for a read."""
        if self.online is None:
            return "off"
        if self.sync is not None and self.sync.rebuilding:
            return "rebuilding"
        return self.online.status  # type: ignore[attr-defined, no-any-return]

    # ------------------------------------------------------------ /recommend, /path, /skills/{id}
    def recommend(self, req: RecommendRequest) -> RecommendResponse:
        self.refresh()
        goals = [(s, None) for s in dict.fromkeys(req.goal_skills)] if req.goal_skills else None
        if req.mode == "path":  # planning needs no trained model
            ctx = self._context(req.user_id, goals, field="goal_skills")
            return self.paths.next_up(req, ctx, self.planning_bundle(), online=self.online_status())
        b = self.bundle
        ctx = self.contexts.get(req.user_id, now=self.clock(), goals=goals, field="goal_skills")
        if req.mode == "hybrid":
            return hybrid_recommend(req, ctx, b, online=self.online_status())
        return recommend(req, ctx, b, online=self.online_status())

    def warm_up(self) -> None:
        """Answer one /recommend (each mode) for the first mentee, so the first real request finds the
        compiled scan, the caches and the lazily built parts ready. Reads only; never raises."""
        if self._bundle is None or not self.world.mentees:
            return
        user = next(iter(self.world.mentees))
        for mode in get_args(RecommendRequest.model_fields["mode"].annotation):  # every mode: model, path, ...
            try:
                self.recommend(RecommendRequest(user_id=user, k=10, mode=mode))
            except Exception:  # a warm-up must never stop the service from starting
                log.exception("warm-up request failed (mode %s)", mode)

    def path(self, req: PathRequest, *, mentors: bool = True) -> PathResponse:
        """The mentee's learning path (prerequisites first), each step with a mentor who can help
        (``mentors=False``: without them, for the assistant's progress answers)."""
        self.refresh()
        goals = None if req.goals is None else [(g.skill, g.level) for g in req.goals]
        return self.paths.plan(req, self._context(req.user_id, goals), self.planning_bundle(), mentors=mentors)

    def skill(self, skill_id: str) -> SkillResponse:
        """One skill with its prerequisites and dependents, its aliases and stored version."""
        self.refresh()
        resp = self.paths.skill(skill_id)
        stored = self.entities.find("skills", skill_id)
        return resp if stored is None else resp.model_copy(update={"aliases": stored.doc.get("aliases", []),
                                                                   "version": stored.version})

    def similar(self, item_id: str, k: int = 10) -> SimilarResponse:
        self.refresh()
        return similar(self.bundle, item_id, k)

    # ------------------------------------------------------------ /events
    def ingest(self, req: EventsRequest) -> EventsResponse:
        """Validate, store durably (before returning) and idempotently; contexts update on next read.

        The mentees' online features are refreshed in the background (:class:`OnlineSync`): the
        answer never waits for the online store."""
        self.refresh()
        rows = with_event_ids([e.model_dump() for e in req.events])
        res = self.log.append(rows, known_items=self.known_items)
        if self._monitor is not None and res.accepted:  # not open yet: its first catch-up folds these
            self._monitor.after_ingest()
        if self.sync is None:
            online = "off"
        else:
            online = self.sync.submit(sorted({r["user_id"] for r in rows})) if res.accepted else "unchanged"
        return EventsResponse(accepted=res.accepted, duplicates=res.duplicates, online_features=online)

    def _engagement_rows(self, user_ids: list[str]) -> pd.DataFrame:
        """The mentees' engagement rows from the log, now (what the online store should hold)."""
        return engagement_at(self.log.read(user_ids=user_ids), as_of=self.clock(), catalog=self.world.catalog,
                             user_ids=user_ids)

    def _log_users(self) -> list[str]:
        return sorted(set(self.log.read(event_types=list(EVENT_TYPES))["user_id"]))

    # ------------------------------------------------------------ /mentors
    def mentor_of(self, user_id: str) -> str | None:
        """The mentee's mentor in the persisted assignment (None: unmatched)."""
        return self.mentors.pairs().get(user_id)

    def mentor_match(self, req: MentorMatchRequest) -> MentorMatchResponse:
        """The best mentors with a free place for a mentee's next skills, with reasons."""
        self.refresh()
        return self.mentors.match(req)

    def mentor_assign(self, req: MentorAssignRequest) -> MentorAssignResponse:
        """Assign a cohort within capacities and persist it for ``skillpath mentors rematch``."""
        self.refresh()
        return self.mentors.assign(req)

    def tick(self) -> None:
        """The background timer's work: refresh the view on a new day or when a listed resource's
        publication time has come (so it becomes recommendable within one timer interval);
        pick up a new champion."""
        now = self.clock()
        if now.date() != self.view.as_of.date() or self.view.release_due(now):
            with self._swap:
                self.view = self._make_view(now)
                if self._bundle is not None:
                    popularity = self._popularity(cold_half_life(self._bundle.model))
                    self._bundle = self._bundle.with_view(self.view, popularity=popularity)
        if self.monitor is not None:
            try:
                self.monitor.maybe_sweep(now)
            except Exception:  # alerts wait for the next tick; the model check below still runs
                log.exception("monitor sweep failed")
        if self.source is None:
            return
        try:
            current = self.source.current_version()
            if current is not None and (self._bundle is None or current != self._bundle.version):
                self.reload()
        except SkillPathError as e:
            if str(e) != self.last_error:  # one line per new failure, not one per timer tick
                log.warning("model reload failed, the current model keeps serving: %s", e)
            self.last_error = str(e)

    def close(self) -> None:
        self.background.close()  # first: a build still running would reopen what the lines below close
        self.log.close()
        self.entities.store.close()
        if self._monitor is not None:
            self._monitor.close()
        if self._assistant is not None:
            self._assistant.close()
        elif self._conversations is not None:
            self._conversations.close()
        if self._sessions is not None:
            self._sessions.store.close()
        if self.sync is not None:
            self.sync.close()
        if self.online is not None:
            self.online.close()  # type: ignore[attr-defined]
