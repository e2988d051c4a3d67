"""The service's parts built on first use (a mixin of :class:`serving.app.SkillPathApp`): the mentee
monitor, the virtual mentor and the sessions view, and :meth:`LazyParts.warm_background`.

Each one folds or indexes the whole log or catalog, which a one-shot command such as
``skillpath recommend`` never needs and the service should not wait for before it reports
ready: each is built once, behind a lock, by whoever needs it first (the service's
background build right after readiness, or a request that arrives before it finishes and
waits for that same build).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from catalog.datadir import DataDir
from serving.conversations import ConversationStore

if TYPE_CHECKING:  # each part's stack loads when the part is built, not with the app
    from serving.views.assistant import AssistantView
    from serving.views.monitoring import MonitorView
    from serving.views.sessions import SessionsView

__all__ = ["LazyParts"]

log = logging.getLogger("skillpath.serving")


class LazyParts:
    """Monitor, assistant and sessions, opened on first use; it reads the app's settings, world, log and clock."""

    @property
    def monitor(self) -> MonitorView | None:
        """The mentee monitor (None when monitoring is off), opened on first use: it folds the whole log
        and sweeps once, which the service does right after it reports ready and one-shot commands skip.
        Events stored before it opens are folded by that first catch-up (it reads the log by sequence)."""
        if not self._monitor_open:
            from serving.views.monitoring import open_monitor

            with self._monitor_lock:
                if not self._monitor_open:
                    self._monitor = open_monitor(self.settings, self.world, self.log, self.mentors, self.clock(),
                                                 sessions=lambda: self.sessions.store)
                    self._monitor_open = True
        return self._monitor

    def _forget_monitoring(self, user_id: str) -> int:
        """Forget ``user_id`` in the monitor; one not opened yet is not opened for it (that folds the whole
        log): its stored rows are deleted, and the fold it starts with later no longer holds their events."""
        with self._monitor_lock:  # an opening monitor finishes first, then forgets in memory too
            if not self._monitor_open:
                from catalog.alert_store import forget_user

                return forget_user(DataDir(self.settings.data_dir).events_db, user_id,
                                   database_url=self.settings.database_url)
        return self.monitor.forget(user_id) if self.monitor is not None else 0

    def warm_background(self, parts: tuple[str, ...] = ("model extras", "monitor", "assistant")) -> None:
        """What the service builds after it reports ready (each part also builds on first use, behind a
        lock, so a request that needs it first waits for this same build): the bundle's popularity and
        co-completion matrix, the monitor, the virtual mentor. Never raises."""
        builds = {"model extras": lambda: self._bundle is not None and self._bundle.warm(),
                  "monitor": lambda: self.monitor, "assistant": lambda: self.assistant}
        for name in parts:
            part = builds[name]
            try:
                part()
            except Exception:  # each part retries on first use; the service keeps serving
                log.exception("background build failed: %s", name)

    # ------------------------------------------------------------ the virtual mentor
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
        from serving.phrasing import Phraser
        from serving.views.assistant import AssistantView

        s, world = self.settings, self.world
        a = s.assistant
        phraser = None
        if a.llm_url:
            ids = (*world.catalog.items.ids.tolist(), *world.catalog.skills, *world.mentors, *world.mentees)
            phraser = Phraser(a.llm_url, model=a.llm_model, timeout_s=a.llm_timeout_s, api_key=a.llm_api_key,
                              known_ids=frozenset(i.lower() for i in ids if len(i) >= 3))
        if self._conversations is None:
            self._conversations = ConversationStore(DataDir(s.data_dir).assistant_db, ttl_s=a.conversation_ttl_s,
                                                    max_conversations=a.max_conversations)
        store = self._conversations
        return AssistantView(world, self, mentors=self.mentors, contexts=self.contexts,
                             catalog_view=lambda: self.view, clock=self.clock, store=store,
                             save_goal=self._save_goal,
                             settings=a, phraser=phraser)

    # ------------------------------------------------------------ /sessions
    @property
    def sessions(self) -> SessionsView:
        """Mentoring sessions (``/sessions``, ``/mentees/{id}/sessions``, ...), opened on first use."""
        if self._sessions is None:
            from serving.views.sessions import open_sessions

            with self._sessions_lock:
                if self._sessions is None:
                    self._sessions = open_sessions(self.settings, world=lambda: self.world, log_=self.log,
                                                   clock=self.clock)
        return self._sessions
