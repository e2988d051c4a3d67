"""The service's model methods (a mixin of :class:`serving.app.SkillPathApp`): load, verify and
swap the champion, fall back to the last good version at start, and report which one serves.

A failed load raises and changes nothing; the old bundle keeps serving until a new one is
verified and aligned with the current catalog (cold items placed by content).
"""

from __future__ import annotations

import logging
from typing import cast

import pandas as pd

from catalog.errors import IntegrityError, NotReadyError
from recommender.item_scores import cold_half_life
from recommender.models import Recommender
from recommender.models.factor import FactorRecommender
from serving.bundle import ModelBundle
from serving.live import aligned
from serving.logread import read_log
from serving.reasons import CoCompletion
from serving.schemas import ReloadResponse
from training.registry import LoadedModel, public_reason

__all__ = ["ModelMethods"]

log = logging.getLogger("skillpath.serving")


class ModelMethods:
    """Reload, last-good fallback and model status; it reads the app's source, view, log and bundle."""

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
            self._trained = loaded = self._load(first=prev is None)
            loaded = aligned(loaded, self.view)  # a catalog changed since training: cold items placed by content
            half_life = cold_half_life(loaded.model)
            view = self.view  # popularity is computed on first use (a whole-log read), at this view's time
            popularity = (prev.popularity_source() if prev is not None and cold_half_life(prev.model) == half_life
                          else (lambda: self._popularity(half_life, view=view)))
            bundle = ModelBundle(loaded, self.view, content=self.content, popularity=popularity,
                                 cocompletion=self._cocompletion(loaded.model))
            self._bundle = bundle
            self.last_error = loaded.fallback_reason  # a stand-in: the champion's failure stays the last error
        changed = prev is None or prev.sha256 != bundle.sha256
        if loaded.champion is not None:
            log.warning("champion %s does not verify (%s); serving version %s, the newest that does, and "
                        "retrying the champion on reload", loaded.champion, loaded.fallback_reason, bundle.version)
        elif changed:
            log.info("serving model %s (sha256 %s) from %s", bundle.version, bundle.sha256[:12], loaded.source)
        return ReloadResponse(changed=changed, model_version=bundle.version,
                              previous_version=None if prev is None else prev.version, sha256=bundle.sha256)

    def _load(self, *, first: bool) -> LoadedModel:
        """The champion; at start (nothing serving yet) the last good version if the champion does not verify."""
        assert self.source is not None
        try:
            return self.source.load()
        except (IntegrityError, NotReadyError) as e:
            last_good = getattr(self.source, "load_last_good", None)
            if not first or last_good is None:
                raise
            return last_good(e)  # type: ignore[no-any-return]

    def model_status(self) -> dict[str, object]:
        """What ``/readyz`` says: the version serving, the champion when another version stands in, and why."""
        b = self._bundle
        loaded = None if b is None else b.loaded
        return {"ready": b is not None, "model_version": None if b is None else b.version,
                "champion_version": None if loaded is None else (loaded.champion or loaded.version),
                "fallback_reason": None if loaded is None else loaded.fallback_reason,
                "last_error": None if self.last_error is None else public_reason(ValueError(self.last_error))}

    def gauges(self) -> dict[str, tuple[str, float]]:
        """Extra Prometheus gauges (name -> (help, value)) from the parts that keep some."""
        warm = {"skillpath_warm": ("1 once the build after readiness has finished (`/readyz` `warm`).",
                                   float(self.warmed.is_set()))}
        return warm if self.sync is None else {**warm, **self.sync.gauges()}

    def _cocompletion(self, model: Recommender) -> CoCompletion | None:
        users = getattr(model, "id_maps_", {}).get("users")
        if not isinstance(model, FactorRecommender) or users is None:
            return None
        log_ = self.log

        def completions(user_ids: list[str] | None) -> pd.DataFrame:  # read when a query needs them
            if user_ids is None:
                return read_log(log_, event_types=["complete"])
            return log_.read(user_ids=user_ids, event_types=["complete"])

        return CoCompletion(cast(FactorRecommender, model).user_factors_, users, self.world.catalog.items,
                            completions)

