"""Catalog changes applied to a serving model without a restart.

:func:`rebundle` puts the model that serves now on a new :class:`~serving.bundle.CatalogView`
after entity writes (a resource added or retired, a skill edited): the trained model is
aligned with the new catalog (:func:`recommender.models.align.align_model`: new items
placed by content, removed ones skipped), cold-start popularity and the collaborative
reason are carried over by item id (a new item has no history yet), and the scoring index
is rebuilt over the new view's availability, so a retired resource leaves every answer
at once and a new one can be recommended at once.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np

from recommender.models.align import align_model, align_vector
from recommender.models.content import ContentRecommender
from serving.bundle import CatalogView, ModelBundle
from training.registry import LoadedModel

__all__ = ["aligned", "rebundle"]


def aligned(loaded: LoadedModel, view: CatalogView) -> LoadedModel:
    """``loaded`` with its model over exactly ``view``'s catalog (itself when it already is)."""
    model = align_model(loaded.model, view.catalog)
    return loaded if model is loaded.model else dataclasses.replace(loaded, model=model)


def rebundle(prev: ModelBundle, trained: LoadedModel, view: CatalogView, *, content: ContentRecommender) -> ModelBundle:
    """``prev``'s model (``trained``, as loaded) serving over ``view``."""
    old_items, new_items = prev.view.catalog.items, view.catalog.items
    popularity = align_vector(prev.popularity, old_items, new_items, fill=0.0)
    cc = prev.cocompletion
    if cc is not None and new_items.to_list()[: len(old_items)] == old_items.to_list():
        cc = copy.copy(cc)
        cc.done = cc.done.copy()
        cc.done.resize((cc.done.shape[0], len(new_items)))
    elif cc is not None:
        cc = None  # reordered catalog (a re-import): no collaborative reason until the next load
    # A grown catalog: only the new items need placing (the previous alignment is kept); otherwise from the trained model.
    grown = new_items.to_list()[: len(old_items)] == old_items.to_list()
    return ModelBundle(aligned(prev.loaded if grown else trained, view), view, content=content,
                       popularity=popularity.astype(np.float32), cocompletion=cc)
