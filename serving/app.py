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
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal, cast

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from catalog.catalog import World
from catalog.datadir import DataDir
from catalog.errors import NotReadyError, SkillPathError
from catalog.eventlog import EventLog
from catalog.logs import open_event_log
from catalog.loaders import load_world
from catalog.schema import EVENT_TYPES
from catalog.settings import Settings
from features.engagement import engagement_at
from features.tables import ENGAGEMENT_PUSH_SOURCE
from recommender.item_scores import cold_half_life, popularity_scores
from recommender.models import Recommender
from recommender.models.content import ContentRecommender
from recommender.models.factor import FactorRecommender
from serving.bundle import CatalogView, ModelBundle
from serving.conversations import ConversationStore
from serving.mentee_goals import save_goal
from serving.phrasing import Phraser
from serving.logread import read_log
from serving.reasons import CoCompletion
from serving.schemas import (
    EventsRequest, EventsResponse, RecommendRequest, RecommendResponse, ReloadResponse, SimilarResponse,
)
from serving.schemas_mentors import MentorAssignRequest, MentorAssignResponse, MentorMatchRequest, MentorMatchResponse
from serving.schemas_paths import PathRequest, PathResponse, SkillResponse
from serving.userstate import MenteeContexts
from serving.views.assistant import AssistantView
from serving.views.monitoring import MonitorView, open_monitor
from serving.views.mentors import MentorsView
from serving.views.paths import PathsView
from serving.views.hybrid import hybrid_recommend
from serving.views.recommend import OnlineStatus, recommend, similar
from serving.views.stale import StaleReach
from training.registry import ModelSource, model_source_from_settings

__all__ = ["SkillPathApp", "utcnow"]

log = logging.getLogger("skillpath.serving")

# What cold-start popularity reads: every event that can make or unmake a positive pair.
_POPULARITY_EVENTS = [t for t in EVENT_TYPES if t != "impression"]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class SkillPathApp:
    """Recommendations, event ingestion, paths, mentors, similar items, the stale view, model reloads and
    the virtual mentor."""

    def __init__(self, settings: Settings, *, world: World, log_: EventLog, source: ModelSource | None,
                 clock: Callable[[], datetime] = utcnow, online: object | None = None) -> None:
        self.settings, self.world, self.log, self.source = settings, world, log_, source
        self.clock = clock
        self.online = online
        cat = world.catalog
        self.known_items = frozenset(cat.items.ids.tolist())
        self.view = self._make_view(clock())
        self.contexts = MenteeContexts(log_, world)
        self.content = ContentRecommender().fit(sp.csr_matrix((1, cat.n_items), dtype=np.float32),
                                                item_features=cat.item_skill_levels)
        sc = settings.scoring
        self.stale_reach = StaleReach(cat, log_, bundle=lambda: self._bundle, clock=clock,
                                      threshold=sc.stale_threshold, floor=sc.freshness_floor)
        self.mentors = MentorsView(world, DataDir(settings.data_dir).reports, has_events=lambda u: log_.last_seq(u) > 0)
        self.paths = PathsView(world, self.mentors)
        self._bundle: ModelBundle | None = None
        self._swap = threading.Lock()
        self._assistant: AssistantView | None = None
        self._assistant_lock = threading.Lock()
        self.last_error: str | None = None
        self.monitor: MonitorView | None = open_monitor(settings, world, log_, self.mentors, clock())
        if source is not None:
            try:
                self.reload()
            except SkillPathError as e:  # start unready; the timer or /admin/reload retries
                self.last_error = str(e)
                log.warning("no model loaded at start: %s", e)

    @classmethod
    def from_settings(cls, settings: Settings, *, model_dir: str | Path | None = None,
                      clock: Callable[[], datetime] = utcnow, online: object | None = None) -> SkillPathApp:
        dd = DataDir(settings.data_dir)
        if not dd.has_world():
            raise NotReadyError(f"no world in {dd.root}; run `skillpath data synth` or `skillpath data import`")
        world = load_world(dd)
        return cls(settings, world=world, log_=open_event_log(dd.root, settings.database_url),
                   source=model_source_from_settings(settings, model_dir=model_dir), clock=clock, online=online)

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

    def _popularity(self, half_life_days: float | None = None) -> NDArray[np.float32]:
        """Cold-start popularity from the log at the view's time (:func:`recommender.item_scores.popularity_scores`)."""
        events = read_log(self.log, event_types=_POPULARITY_EVENTS)
        return popularity_scores(events, self.world.catalog, now=self.view.as_of,
                                 half_life_days=half_life_days).astype(np.float32)

    def online_status(self) -> OnlineStatus:
        """The online store's health as the adapter last saw it (breaker, last read or push):
        the models do not consume online features, so no request pays for a read."""
        if self.online is None:
            return "off"
        return self.online.status  # type: ignore[attr-defined, no-any-return]

    # ------------------------------------------------------------ /recommend, /path, /skills/{id}
    def recommend(self, req: RecommendRequest) -> RecommendResponse:
        b = self.bundle
        goals = [(s, None) for s in dict.fromkeys(req.goal_skills)] if req.goal_skills else None
        ctx = self.contexts.get(req.user_id, now=self.clock(), goals=goals, field="goal_skills")
        if req.mode == "path":
            return self.paths.next_up(req, ctx, b, online=self.online_status())
        if req.mode == "hybrid":
            return hybrid_recommend(req, ctx, b, online=self.online_status())
        return recommend(req, ctx, b, online=self.online_status())

    def path(self, req: PathRequest, *, mentors: bool = True) -> PathResponse:
        """The mentee's learning path (prerequisites first), each step with a mentor who can help
        (``mentors=False``: without them, for the assistant's progress answers)."""
        b = self.bundle
        goals = None if req.goals is None else [(g.skill, g.level) for g in req.goals]
        return self.paths.plan(req, self.contexts.get(req.user_id, now=self.clock(), goals=goals), b, mentors=mentors)

    def skill(self, skill_id: str) -> SkillResponse:
        """One skill with its prerequisites and dependents."""
        return self.paths.skill(skill_id)

    def similar(self, item_id: str, k: int = 10) -> SimilarResponse:
        return similar(self.bundle, item_id, k)

    # ------------------------------------------------------------ /events
    def ingest(self, req: EventsRequest) -> EventsResponse:
        """Validate, store durably (before returning) and idempotently; contexts update on next read."""
        rows = [e.model_dump() for e in req.events]
        res = self.log.append(rows, known_items=self.known_items)
        if self.monitor is not None and res.accepted:
            self.monitor.after_ingest()
        online = self._push_online(sorted({r["user_id"] for r in rows})) if res.accepted else "unchanged"
        return EventsResponse(accepted=res.accepted, duplicates=res.duplicates,
                              online_features="off" if self.online is None else online)

    def _push_online(self, user_ids: list[str]) -> Literal["updated", "unchanged", "timeout", "unavailable", "off"]:
        """Recompute the mentees' engagement rows from the log and push them online (bounded; never raises).

        Runs after the durable append, so a slow or dead store only leaves the online
        features behind (the daily materialisation catches up); the events are safe.
        """
        if self.online is None:
            return "off"
        try:
            rows = engagement_at(self.log.read(user_ids=user_ids), as_of=self.clock(), catalog=self.world.catalog,
                                 user_ids=user_ids)
        except Exception:  # a bug here must not fail a request whose events are stored
            log.exception("computing online engagement features failed")
            return "unavailable"
        if rows.empty:
            return "unchanged"
        status = self.online.push(ENGAGEMENT_PUSH_SOURCE, rows)  # type: ignore[attr-defined]
        return "updated" if status == "ok" else status  # type: ignore[no-any-return]

    # ------------------------------------------------------------ /mentors
    def mentor_of(self, user_id: str) -> str | None:
        """The mentee's mentor in the persisted assignment (None: unmatched)."""
        return self.mentors.pairs().get(user_id)

    def mentor_match(self, req: MentorMatchRequest) -> MentorMatchResponse:
        """The best mentors with a free place for a mentee's next skills, with reasons."""
        return self.mentors.match(req)

    def mentor_assign(self, req: MentorAssignRequest) -> MentorAssignResponse:
        """Assign a cohort within capacities and persist it for ``skillpath mentors rematch``."""
        return self.mentors.assign(req)

    # ------------------------------------------------------------ /assistant
    @property
    def assistant(self) -> AssistantView:
        """The virtual mentor (``POST /assistant``, ``skillpath ask``), built on first use: its text index and
        classifier take a moment, which commands that never ask should not pay (the service builds it at start)."""
        if self._assistant is None:
            with self._assistant_lock:
                if self._assistant is None:
                    self._assistant = self._make_assistant()
        return self._assistant

    def _make_assistant(self) -> AssistantView:
        s, world = self.settings, self.world
        a = s.assistant
        phraser = None
        if a.llm_url:
            ids = (*world.catalog.items.ids.tolist(), *world.catalog.skills, *world.mentors, *world.mentees)
            phraser = Phraser(a.llm_url, model=a.llm_model, timeout_s=a.llm_timeout_s, api_key=a.llm_api_key,
                              known_ids=frozenset(i.lower() for i in ids if len(i) >= 3))
        store = ConversationStore(DataDir(s.data_dir).assistant_db, ttl_s=a.conversation_ttl_s,
                                  max_conversations=a.max_conversations)
        return AssistantView(world, self, mentors=self.mentors, contexts=self.contexts,
                             catalog_view=lambda: self.view, clock=self.clock, store=store,
                             save_goal=lambda user_id, goal: save_goal(s.data_dir, world, self.contexts, user_id, goal),
                             settings=a, phraser=phraser)

    # ------------------------------------------------------------ reloads
    def reload(self, *, force: bool = False) -> ReloadResponse:
        """Load the source's current model; verify it; swap. A failure raises and changes nothing."""
        if self.source is None:
            raise NotReadyError("no model source configured")
        with self._swap:
            prev = self._bundle
            current = self.source.current_version()
            if not force and prev is not None and current == prev.version:
                return ReloadResponse(changed=False, model_version=prev.version, previous_version=prev.version,
                                      sha256=prev.sha256)
            loaded = self.source.load()
            half_life = cold_half_life(loaded.model)
            popularity = (prev.popularity if prev is not None and cold_half_life(prev.model) == half_life
                          else self._popularity(half_life))  # one log read, only when the half-life changes
            bundle = ModelBundle(loaded, self.view, content=self.content, popularity=popularity,
                                 cocompletion=self._cocompletion(loaded.model))
            self._bundle = bundle
            self.last_error = None
        changed = prev is None or prev.sha256 != bundle.sha256
        if changed:
            log.info("serving model %s (sha256 %s) from %s", bundle.version, bundle.sha256[:12], loaded.source)
        return ReloadResponse(changed=changed, model_version=bundle.version,
                              previous_version=None if prev is None else prev.version, sha256=bundle.sha256)

    def _cocompletion(self, model: Recommender) -> CoCompletion | None:
        users = getattr(model, "id_maps_", {}).get("users")
        if not isinstance(model, FactorRecommender) or users is None:
            return None
        done = read_log(self.log, event_types=["complete"])
        return CoCompletion(cast(FactorRecommender, model).user_factors_, users, self.world.catalog.items, done)

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
            self.last_error = str(e)
            log.warning("model reload failed, the current model keeps serving: %s", e)

    def close(self) -> None:
        self.log.close()
        if self.monitor is not None:
            self.monitor.close()
        if self._assistant is not None:
            self._assistant.close()
        if self.online is not None:
            self.online.close()  # type: ignore[attr-defined]
