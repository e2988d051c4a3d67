"""Text search over the catalog: a BM25 index (``bm25s``) plus the parsed filters.

Each resource is indexed as its title, the names and aliases of the skills it teaches,
its type and its provider (the catalog has no description field; nothing else is derived).
Text is cut by :func:`analysis.vocabulary.tokens`, the tokenizer skill matching uses, so
"LLM APIs" in a title and "llm api" in a query are the same tokens.

A query is the asked skills' names plus the message's remaining words
(:attr:`Understanding.keywords`); filters (active only, types, time limit, level, skills,
language, publication date) are applied as one boolean mask before ranking. Ties in
BM25 score (a query of filters only scores every item 0) go to the most recently
updated item, then catalog order, so answers are deterministic.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import bm25s
import numpy as np
from numpy.typing import NDArray

from analysis.assistant.entities import Entities
from analysis.assistant.lexicon import STOPWORDS
from analysis.vocabulary import tokens
from catalog.catalog import Catalog
from catalog.schema import RESOURCE_TYPES, parse_timestamp

# bm25s logs every index build at DEBUG through its own logger; a service's log is not the place for it.
logging.getLogger("bm25s").setLevel(logging.WARNING)

__all__ = ["ResourceIndex", "SearchHit", "query_tokens"]

def query_tokens(words: Iterable[str]) -> list[str]:
    """Index tokens of free text, stopwords dropped."""
    return [t for w in words for t, _, _ in tokens(w) if t not in STOPWORDS and (len(t) > 1 or t in ("c", "r"))]


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A resource found: its id, BM25 score (0 when only filters were given) and catalog index."""

    item_id: str
    score: float
    index: int


class ResourceIndex:
    """BM25 over the catalog's resources, with the filter columns beside it.

    Build once per catalog (``build_seconds`` records how long it took); :meth:`search`
    is read-only and safe to call from several threads.

    Parameters
    ----------
    catalog : the catalog to index.
    k1, b : BM25 parameters (bm25s' Lucene variant).
    """

    def __init__(self, catalog: Catalog, *, k1: float = 1.2, b: float = 0.75) -> None:
        t0 = time.perf_counter()
        self.catalog = catalog
        skills = catalog.skills
        skill_text = {sid: " ".join((s.name, *s.aliases)) for sid, s in skills.items()}
        corpus = []
        for r in catalog.resources:
            text = " ".join([r.title, *(skill_text[sl.skill_id] for sl in r.skills), r.type, r.provider])
            corpus.append([t for t, _, _ in tokens(text)] or [""])
        self._bm25 = bm25s.BM25(k1=k1, b=b)
        self._bm25.index(corpus, show_progress=False)
        self._vocab = self._bm25.vocab_dict
        self._type_code = np.array([RESOURCE_TYPES.index(t) if t in RESOURCE_TYPES else -1 for t in catalog.types],
                                   dtype=np.int16)
        self._languages = np.array([r.language for r in catalog.resources], dtype=object)
        self._recency = np.maximum(catalog.published_us, catalog.updated_us)
        self._csc = catalog.item_skill_levels_csc
        # tie-break order: most recently updated first, then catalog order
        self._tiebreak = np.argsort(np.argsort(-self._recency, kind="stable"), kind="stable").astype(np.float64)
        self.build_seconds = time.perf_counter() - t0

    def __len__(self) -> int:
        return self.catalog.n_items

    def mask(self, entities: Entities, *, now: datetime | str | None = None, language: str | None = None,
             include_inactive: bool = False) -> NDArray[np.bool_]:
        """Items that pass every filter in ``entities`` (``language`` applies when the message named none)."""
        cat = self.catalog
        m = np.ones(cat.n_items, dtype=bool) if include_inactive else cat.active.copy()
        if now is not None:
            m &= cat.published_us <= int(parse_timestamp(now).timestamp() * 1_000_000)
        if entities.types:
            m &= np.isin(self._type_code, [RESOURCE_TYPES.index(t) for t in entities.types])
        if entities.max_minutes is not None:
            m &= cat.duration_minutes <= entities.max_minutes
        lang = entities.language or language
        if lang:
            m &= self._languages == lang
        skills = [cat.skill_ids.get(s) for s in entities.skills]
        skills = [j for j in skills if j >= 0]
        if skills:
            taught = np.zeros(cat.n_items, dtype=np.float32)
            for j in skills:  # the highest level any asked skill is taught at
                col = slice(self._csc.indptr[j], self._csc.indptr[j + 1])
                rows = self._csc.indices[col]
                taught[rows] = np.maximum(taught[rows], self._csc.data[col])
            m &= taught > 0
            if entities.level:
                m &= (taught >= entities.level[0]) & (taught <= entities.level[1])
        elif entities.skills:
            m[:] = False  # asked for skills this catalog does not have
        elif entities.level:
            m &= (cat.difficulty >= entities.level[0]) & (cat.difficulty <= entities.level[1])
        return m

    def scores(self, words: Sequence[str]) -> NDArray[np.float32]:
        """BM25 score of every item for the query tokens (zeros when none is in the index)."""
        ids = [self._vocab[t] for t in words if t in self._vocab]
        if not ids:
            return np.zeros(self.catalog.n_items, dtype=np.float32)
        return self._bm25.get_scores(ids)

    def search(self, entities: Entities, *, keywords: Sequence[str] = (), k: int = 10,
               now: datetime | str | None = None, language: str | None = None,
               exclude: Iterable[str] = (), require_text_match: bool | None = None) -> list[SearchHit]:
        """The best ``k`` resources for the entities and free words, filters applied.

        ``entities.item_id`` ("something like r04013") contributes its skills (when none
        was asked) and its title words. ``require_text_match`` drops items scoring 0 (by
        default: when the query had words but no skill, so "cooking pasta" finds nothing
        rather than everything).
        """
        words = list(query_tokens(keywords))
        cat = self.catalog
        if entities.item_id and entities.item_id in cat.items:
            ref = cat.resource(entities.item_id)
            if not entities.skills:
                entities = entities.with_(skills=tuple(sl.skill_id for sl in ref.skills))
            words += query_tokens([ref.title])
        for sid in entities.skills:
            if sid in cat.skills:
                s = cat.skills[sid]
                words += [t for t, _, _ in tokens(" ".join((s.name, *s.aliases)))]
        m = self.mask(entities, now=now, language=language)
        for iid in exclude:
            i = cat.items.get(iid)
            if i >= 0:
                m[i] = False
        score = self.scores(words)
        if require_text_match is None:
            require_text_match = bool(words) and not entities.skills
        if require_text_match:
            m &= score > 0
        cand = np.flatnonzero(m)
        if cand.size == 0 or k <= 0:
            return []
        # higher score first; ties: more recent first (rank by tiebreak ascending)
        key = np.lexsort((self._tiebreak[cand], -score[cand].astype(np.float64)))
        top = cand[key[:k]]
        return [SearchHit(cat.items.ids[i], float(score[i]), int(i)) for i in top]
