"""Mentee contexts for the service, derived from the shared event log and cached by its sequence number.

The event log (SQLite, shared by every worker process) is the source of truth: a
mentee's :class:`~recommender.context.MenteeContext` is rebuilt with
:func:`~recommender.context.mentee_context` from their events whenever the log's latest
sequence number for them changes, so a completion posted to one worker is reflected by
the next request on any worker. Checking the stamp is one indexed query; the rebuild
(one mentee's rows, plain Python) happens only after new events. A request's own clock
and goals are applied to the cached context with ``with_request``, which keeps the
per-model values (folded-in vectors, neighbours) it has already computed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime

from catalog.catalog import World
from catalog.errors import SkillPathError, UnknownSkillError
from catalog.eventlog import EventLog
from catalog.schema import Goal
from recommender.context import MenteeContext, mentee_context
from recommender.goals import GoalSpec
from recommender.interactions import EventWeights
from serving.errors import FieldError

__all__ = ["MenteeContexts", "SKILL_HINT"]

SKILL_HINT = "see GET /skills/{skill_id} or the skills file"


class MenteeContexts:
    """Thread-safe LRU of mentee contexts keyed by user id, validated by ``EventLog.last_seq``."""

    def __init__(self, log: EventLog, world: World, *, weights: EventWeights | None = None,
                 max_users: int = 50_000) -> None:
        self.log, self.world = log, world
        self.weights = weights or EventWeights()
        self.max_users = max_users
        self._cache: OrderedDict[str, tuple[int, MenteeContext]] = OrderedDict()
        self._lock = threading.Lock()

    def over(self, world: World) -> MenteeContexts:
        """Contexts over ``world``. When its catalog has this one's items and skills (the same objects: a
        resource edited in place, a profile changed), the cache carries over: a cached context is valid for
        exactly as long as its mentee's profile object is the world's (checked on each hit), and is
        re-pointed at the new catalog then; otherwise the new cache starts empty. A write thereby costs the
        mentees it touched a rebuild, not every mentee."""
        new = MenteeContexts(self.log, world, weights=self.weights, max_users=self.max_users)
        old, cat = self.world.catalog, world.catalog
        if cat.items is old.items and cat.graph is old.graph:
            new._cache, new._lock = self._cache, self._lock
        return new

    def _current(self, user_id: str, ctx: MenteeContext) -> MenteeContext | None:
        """``ctx`` over this world's catalog, or None when the mentee's profile has changed since it was made."""
        profile = self.world.mentees.get(user_id)
        if (ctx.mentee is not profile) if ctx.has_profile else (profile is not None):
            return None
        if ctx.catalog is self.world.catalog:
            return ctx
        new = object.__new__(MenteeContext)  # same items and skills (see ``over``): only the catalog differs
        new.__dict__.update(ctx.__dict__, catalog=self.world.catalog)
        if self.world.catalog.item_skill_levels is not ctx.catalog.item_skill_levels:
            new.__dict__["memo"] = {}  # values derived from what the items teach (mastery) are stale
        return new

    def get(self, user_id: str, *, now: datetime, goals: Iterable[GoalSpec | Goal] | None = None,
            field: str = "goals") -> MenteeContext:
        """The mentee at ``now``, for ``goals`` (default: their stated goals); bad goals name ``field``."""
        seq = self.log.last_seq(user_id)
        with self._lock:
            hit = self._cache.get(user_id)
            if hit is not None and hit[0] == seq:
                ctx = self._current(user_id, hit[1])
                if ctx is None:
                    hit = None
                else:
                    if ctx is not hit[1]:
                        hit = self._cache[user_id] = (seq, ctx)
                    self._cache.move_to_end(user_id)
        if hit is None or hit[0] != seq:
            earlier = hit[1] if hit is not None else None
            rows = self.log.user_rows(user_id) if seq else ()
            hit = (seq, mentee_context(self.world, user_id, now=now, events=rows, weights=self.weights))
            if earlier is not None and earlier.catalog is hit[1].catalog and (
                    earlier.mentee is hit[1].mentee or not (earlier.has_profile or hit[1].has_profile)):
                hit[1].carry_from(earlier)  # new events of the same mentee: fold only those into mastery
            with self._lock:
                old = self._cache.get(user_id)
                if old is None or old[0] <= seq:
                    self._cache[user_id] = hit
                    self._cache.move_to_end(user_id)
                while len(self._cache) > self.max_users:
                    self._cache.popitem(last=False)
        try:
            return hit[1].with_request(now=now, goals=goals)
        except UnknownSkillError as e:
            raise FieldError([field], UnknownSkillError(e.ids, SKILL_HINT)) from None
        except SkillPathError as e:
            raise FieldError([field], e) from None

    def forget(self, user_id: str) -> None:
        """Drop ``user_id``'s context: their profile changed, which the log's sequence number does not show."""
        with self._lock:
            self._cache.pop(user_id, None)

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
