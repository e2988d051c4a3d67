"""The service's entity, forgetting and planning-without-a-model methods (a mixin of
:class:`serving.app.SkillPathApp`, kept apart so each module stays one idea).

Writes go through the entity store and are applied to what requests read before the
answer (``refresh(force=True)``); mentees known only from their events get goals inferred
from their history; path planning uses a content-model bundle until a model is trained.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from catalog.datadir import DataDir
from catalog.catalog import World
from catalog.schema import Goal, Mentee
from catalog.store.docs import to_doc
from catalog.store.forget import MODEL_NOTE, forget_mentee
from recommender.context import MenteeContext
from recommender.inferred import goals_from_history
from recommender.models.content import ContentRecommender
from serving.bundle import ModelBundle
from serving.conversations import ConversationStore
from serving.live import patched, rebundle, resource_delta, touched_delta
from serving.mentee_goals import with_goal
from serving.schemas_entities import ForgetResponse
from training.registry import LoadedModel

__all__ = ["EntityMethods"]

_WRITES = frozenset({"put", "patch", "batch", "retire", "delete"})


class EntityMethods:
    """Mixed into :class:`serving.app.SkillPathApp`; uses its world, contexts, log, entities and views."""


    def _context(self, user_id: str, goals: list | None, *, field: str = "goals") -> MenteeContext:
        """The mentee's context; one without a profile or goals gets goals inferred from their history."""
        ctx = self.contexts.get(user_id, now=self.clock(), goals=goals, field=field)
        if goals is None and not ctx.has_profile and ctx.history.nnz:
            inferred = goals_from_history(self.world.catalog, ctx.history)
            if inferred:
                ctx = self.contexts.get(user_id, now=self.clock(), goals=inferred, field=field)
        return ctx

    def _inferred_mentee(self, user_id: str) -> Mentee | None:
        """A profile from history for a mentee who has events but never gave one (None: nothing to infer)."""
        if self.log.last_seq(user_id) == 0:
            return None
        ctx = self.contexts.get(user_id, now=self.clock())
        goals = goals_from_history(self.world.catalog, ctx.history)
        return Mentee(user_id, goals) if goals else None

    def planning_bundle(self) -> ModelBundle:
        """The serving model's bundle, or before any model is trained one over the content model (planning
        and path-mode answers never need a trained model)."""
        b = self._bundle
        if b is not None:
            return b
        fb = self._content_bundle
        if fb is None or fb.view is not self.view:
            content = ContentRecommender().fit(sp.csr_matrix((1, self.world.catalog.n_items), dtype=np.float32),
                                               item_features=self.world.catalog.item_skill_levels)
            content.id_maps_ = {"items": self.world.catalog.items}
            loaded = LoadedModel(content, "content (no model trained yet)", "", "content")
            fb = self._content_bundle = ModelBundle(loaded, self.view, content=self.content,
                                                    popularity=self._popularity)  # computed on first use
        return fb

    # ------------------------------------------------------------ entities
    def entity(self, op: str, kind: str, *args: object, **kw: object) -> object:
        """Run one :class:`~serving.views.entities.EntitiesView` operation; a write is applied to what
        requests read before this returns (so the next answer, on this worker, reflects it).

        A write syncs with the store under the entity store's lock itself, so it is applied from memory
        (no ``refresh`` before, no sync after): every statement is a release of the GIL that the requests
        beside it then wait to get back."""
        if op not in _WRITES:
            self.refresh()
            return getattr(self.entity_view, op)(kind, *args, **kw)
        out = getattr(self.entity_view, op)(kind, *args, **kw)
        self.refresh(force=True, sync=False)
        return out

    def _apply_writes(self, kinds: set[str]) -> None:
        """Entity writes to ``kinds`` applied to what requests read (under the app's swap lock): resources
        edited in place are patched in (O(changed), :mod:`serving.live`), appended ones extend the catalog
        and are placed by content, a skill edit or a removed resource rebuilds the catalog; mentee and
        mentor writes keep the catalog and carry the context cache over (:meth:`MenteeContexts.over`)."""
        ents, old = self.entities, self.world
        mentees = {m.user_id: m for m in ents.entities("mentees")} if "mentees" in kinds else old.mentees
        mentors = {m.mentor_id: m for m in ents.entities("mentors")} if "mentors" in kinds else old.mentors
        if not kinds & {"skills", "resources"}:
            self._derive(World(old.catalog, mentees, mentors), catalog_changed=False)
            return
        delta = None
        if "skills" not in kinds:  # the written ids first (O(written)); a scan of them all when not known
            delta = touched_delta(old.catalog, ents, ents.touched("resources", self._gen))
            if delta is None:
                delta = resource_delta(old.catalog, ents.entities("resources"))
        if delta is not None and not delta.added:
            rows = delta.rows
            cat = old.catalog.with_resources(delta.changed)
            view = self.view.patched(cat, rows)
            if not view.release_due(self.clock()):  # else a rebuild at ``now`` makes the released item available
                self._derive(World(cat, mentees, mentors), catalog_changed=True, view=view)
                if self._bundle is not None:
                    self._bundle = patched(self._bundle, self.view, rows, content=self.content)
                return
        if delta is not None:
            world = World(old.catalog.with_resources(delta.changed, delta.added), mentees, mentors)
        else:
            world = ents.world()
        self._derive(world, catalog_changed=True)
        if self._bundle is not None and self._trained is not None:
            self._bundle = rebundle(self._bundle, self._trained, self.view, content=self.content)

    def _save_goal(self, user_id: str, goal: Goal) -> Mentee:
        """The assistant's ``set_goal``: the mentee's goal on that skill replaced (or added) in the store."""
        mentee = with_goal(self.world.mentee(user_id), goal)
        self.entities.patch("mentees", user_id, {"goals": to_doc(mentee)["goals"]}, actor="assistant",
                            now_us=int(self.clock().timestamp() * 1e6))
        self.refresh(force=True)
        return mentee

    def forget(self, user_id: str, *, actor: str) -> ForgetResponse:
        """Forget a mentee everywhere (:func:`catalog.store.forget.forget_mentee`); see docs/store.md."""
        removed = forget_mentee(user_id, entities=self.entities, events=self.log, forgetters=self.forgetters,
                                actor=actor, now_us=int(self.clock().timestamp() * 1e6))
        self.refresh(force=True)
        return ForgetResponse(user_id=user_id, removed=removed, note=MODEL_NOTE)

    def _forget_conversations(self, user_id: str) -> int:
        if self._conversations is not None:
            return self._conversations.forget_user(user_id)
        a, path = self.settings.assistant, DataDir(self.settings.data_dir).assistant_db
        if not path.exists():
            return 0
        store = ConversationStore(path, ttl_s=a.conversation_ttl_s, max_conversations=a.max_conversations)
        try:
            return store.forget_user(user_id)
        finally:
            store.close()
