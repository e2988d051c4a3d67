"""Serving-time scoring: one augmented item matrix and its scan copies, built once per model load.

Item bias and freshness are folded into one contiguous float32 matrix
``M = [V | b | log f]`` scored against ``q = [u | 1 | λ]``, so

    score = u·v + b + λ·log(freshness)

in one pass with nothing computed per item at request time. Decay is additive in log
space: a stale item loses the same amount whatever the sign of its raw score
(multiplying raw scores by freshness would reward stale items whose score is negative).
``decay=False`` sets λ = 0 in the query.

Single users get a compiled scan of a panel copy (:mod:`recommender.topk.scan`): float32,
or the factor columns in bfloat16/float16 with candidates re-scored in float32 (exactly
the float32 answer, about half the memory traffic). Batches are BLAS products of item
blocks, selected by a compiled loop. Without compiled loops everything takes the numpy
reference path (:mod:`recommender.topk.selection`): the same answers.

Thread safety: an index is never written after it is built (the loops release the GIL);
:meth:`ScoringIndex.with_freshness` builds a new one to swap in.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from catalog.errors import ConfigError, IntegrityError
from recommender.topk.masks import (
    NO_WORDS, ItemMask, as_exclusions, as_mask, check_k, pack_mask, repack_words, row_exclusions,
)
from recommender.topk.panels import P, aligned, bound_weights, compiled_scans, panels, reduced
from recommender.topk.selection import BLOCK, select_blocks

__all__ = ["ScoringIndex", "DTYPES", "log_freshness"]

DTYPES = ("float32", "bfloat16", "float16")
_FP16_SCALE = np.float32(2.0**112)  # float16 panels decode to value * 2**-112 (see scan)
_FP16_QUERY_LIMIT = 2.0**15  # a query entry this large would overflow once scaled
_SAFE_SCORE = 2.0**120  # reduced exact scans run only while ‖q‖·max‖x‖ stays below this
_MIN_WIDTH = 2  # users per BLAS product at least (see ScoringIndex._blocks)
_BLOCK_SCORES = 1 << 18  # scores per batch block (items x users): it stays in L2
_NO_I, _NO_F = np.zeros(0, np.int64), np.zeros(0, np.float32)


def log_freshness(freshness: ArrayLike) -> NDArray[np.float32]:
    """``log(freshness)`` for freshness in (0, 1] (see :mod:`catalog.freshness`)."""
    f = np.asarray(freshness, dtype=np.float64)
    if f.ndim != 1 or not np.all((f > 0) & (f <= 1)):
        raise IntegrityError("freshness must be a 1-D array of values in (0, 1]")
    return np.log(f).astype(np.float32)


def _words(allow: ArrayLike | ItemMask | None, mask: NDArray[np.bool_] | None) -> NDArray[np.int64]:
    """The allow mask packed for the compiled loops (an ItemMask comes packed already)."""
    if mask is None:
        return NO_WORDS
    return allow.words if isinstance(allow, ItemMask) else pack_mask(mask)


def _vector(x: ArrayLike | None, n: int, what: str) -> NDArray[np.float32]:
    if x is None:
        return np.zeros(n, np.float32)
    v = np.asarray(x, dtype=np.float32)
    if v.shape != (n,):
        raise IntegrityError(f"{what} has shape {v.shape}, expected ({n},)")
    if not np.all(np.isfinite(v)):
        raise IntegrityError(f"{what} has non-finite values")
    return v


class ScoringIndex:
    """Item side of the scorer: augmented matrix, masks and scan copies, prepared once.

    Parameters
    ----------
    item_factors : (n_items, d) float array
        ``item_factors_`` of a factor model (d may be 0, see :meth:`for_scores`).
    item_bias, log_freshness : (n_items,) float, optional
        The ``b`` column (user side 1) and the decay column ``log(freshness) <= 0``
        (user side λ = ``freshness_weight`` when ``decay=True``); zeros when absent.
    active : (n_items,) bool, optional
        Items that may ever be recommended (retired resources are False).
    dtype : "float32" | "bfloat16" | "float16"
        What single users scan: a float32 panel copy (2x the matrix's memory), or the
        factor columns in half precision plus bias and decay in float32 (1.5x).
    exact : bool
        With a reduced dtype, re-score candidates in float32 so answers are exact.
    """

    def __init__(self, item_factors: ArrayLike, *, item_bias: ArrayLike | None = None,
                 log_freshness: ArrayLike | None = None, freshness_weight: float = 1.0,
                 active: ArrayLike | None = None, dtype: str = "float32", exact: bool = True) -> None:
        v = np.asarray(item_factors)
        if v.ndim != 2:
            raise IntegrityError(f"item_factors must be 2-D (n_items x d), got shape {v.shape}")
        if dtype not in DTYPES:
            raise ConfigError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        if not np.isfinite(freshness_weight):
            raise ConfigError(f"freshness_weight must be finite, got {freshness_weight}")
        n, d = v.shape
        self.n_items, self.n_factors = n, d
        self.dtype, self.exact = dtype, bool(exact)
        self.freshness_weight = float(freshness_weight)
        m = np.empty((n, d + 2), np.float32)
        m[:, :d] = v
        if not np.all(np.isfinite(m[:, :d])):
            raise IntegrityError("item_factors has non-finite values (or values beyond float32 range)")
        m[:, d] = _vector(item_bias, n, "item_bias")
        m[:, d + 1] = _vector(log_freshness, n, "log_freshness")
        self.matrix_: NDArray[np.float32] = m
        self._set_active(as_mask(active, n, what="active"))
        self._scans: Any = compiled_scans()  # None: the reference path answers everything
        self._build_scan()

    @classmethod
    def for_scores(cls, n_items: int, **kwargs: Any) -> ScoringIndex:
        """An index with no factors, for models that compute score vectors (EASE)."""
        return cls(np.zeros((n_items, 0), np.float32), **kwargs)

    # ------------------------------------------------------------ preparation
    def _set_active(self, active: NDArray[np.bool_] | None) -> None:
        # a copy: the packed words must not go stale if the caller's array changes
        self.active_: NDArray[np.bool_] = np.ones(self.n_items, np.bool_) if active is None else active.copy()
        everything = bool(self.active_.all())
        self._active_mask = None if everything else self.active_
        self._active_words = NO_WORDS if everything else pack_mask(self.active_)

    def _build_scan(self) -> None:
        """(Re)build what single users scan (nothing without compiled scans)."""
        self._panel = self._tail = self._weights = self._fallback_panel = None
        if self._scans is None:
            return
        m, d = self.matrix_, self.n_factors
        if self.dtype == "float32":
            self._panel = panels(m)
            self._tail = np.zeros((self._panel.shape[0], 0, P), np.float32)
            return
        red, dec = reduced(np.ascontiguousarray(m[:, :d]), self.dtype)
        self._panel, self._tail = panels(red), panels(np.ascontiguousarray(m[:, d:]))
        self._weights = bound_weights(m, dec)
        # ‖q‖·‖x‖ bounds every partial sum: near the float32 range a pass could overflow (inf is no bound)
        self._max_row_norm = float(np.sqrt(np.einsum("ij,ij->i", m, m, dtype=np.float64)).max(initial=0.0))

    def with_active(self, active: ArrayLike | None) -> ScoringIndex:
        """The same index (arrays shared, nothing rebuilt) with another ``active`` mask."""
        new = copy.copy(self)  # shares every array
        new._set_active(as_mask(active, self.n_items, what="active"))
        return new

    def with_freshness(self, log_freshness: ArrayLike) -> ScoringIndex:
        """A new index with another decay column (the daily refresh); swap it in atomically."""
        new = copy.copy(self)  # shares every array but the matrix and the scan copies
        new.matrix_ = self.matrix_.copy()
        new.matrix_[:, self.n_factors + 1] = _vector(log_freshness, self.n_items, "log_freshness")
        new._build_scan()
        return new

    def with_rows(self, rows: ArrayLike, *, log_freshness: ArrayLike, active: ArrayLike | None) -> ScoringIndex:
        """A new index whose decay column holds ``log_freshness`` at ``rows`` (one value per row) and whose
        active mask is ``active``: what an entity write to a few resources changes. Only the scan panels
        holding those rows are rebuilt (the rest are copied), so the cost is a few array copies instead of
        a full :meth:`_build_scan`; the answers equal a freshly built index's. What the write leaves equal
        is shared (``self`` itself when nothing differs: the index is immutable), and the packed active
        words are re-packed only where ``active`` differs from this index's."""
        r = np.asarray(rows, dtype=np.int64)
        lf = np.asarray(log_freshness, dtype=np.float32)
        if r.shape != lf.shape or (r.size and (r.min() < 0 or r.max() >= self.n_items)):
            raise IntegrityError(f"rows and log_freshness must match and index the {self.n_items} items")
        if not np.all(np.isfinite(lf)):
            raise IntegrityError("log_freshness has non-finite values")
        col = self.n_factors + 1
        a = as_mask(active, self.n_items, what="active")
        a = np.ones(self.n_items, np.bool_) if a is None else a
        moved = np.flatnonzero(a != self.active_)  # O(n) at C speed; re-packing is O(moved)
        same_lf = not r.size or np.array_equal(self.matrix_[r, col], lf)
        if same_lf and not moved.size:
            return self
        new = copy.copy(self)
        if not same_lf:
            new.matrix_ = self.matrix_.copy()
            new.matrix_[r, col] = lf
            new._patch_scan(np.unique(r // P))
        if moved.size:
            if self._active_mask is None or moved.size > 64:
                new._set_active(a)
            else:
                new.active_ = self.active_.copy()
                new.active_[moved] = a[moved]
                everything = bool(new.active_.all())
                new._active_mask = None if everything else new.active_
                new._active_words = NO_WORDS if everything else repack_words(self._active_words, new.active_, moved)
        return new

    def _patch_scan(self, blocks: NDArray[np.int64]) -> None:
        """Rebuild the scan copies of panels ``blocks`` from ``matrix_`` (copy-on-write: the arrays of the
        index this one was copied from are never written, requests may be reading them)."""
        self._fallback_panel = None  # rebuilt on first use
        if self._scans is None:
            return
        m, d = self.matrix_, self.n_factors
        self._panel = self._panel.copy()
        if self.dtype == "float32":
            for b in blocks.tolist():
                self._panel[b] = panels(m[b * P:(b + 1) * P])[0]
            return
        self._tail, self._weights = self._tail.copy(), self._weights.copy()
        for b in blocks.tolist():
            blk = m[b * P:(b + 1) * P]
            red, dec = reduced(np.ascontiguousarray(blk[:, :d]), self.dtype)
            self._panel[b], self._tail[b] = panels(red)[0], panels(np.ascontiguousarray(blk[:, d:]))[0]
            self._weights[b * P:(b + 1) * P] = bound_weights(blk, dec)
        self._max_row_norm = float(np.sqrt(np.einsum("ij,ij->i", m, m, dtype=np.float64)).max(initial=0.0))

    def with_dtype(self, dtype: str, *, exact: bool = True) -> ScoringIndex:
        """The same index scanning another storage format (shares the float32 matrix)."""
        if dtype not in DTYPES:
            raise ConfigError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        new = copy.copy(self)  # shares every array
        new.dtype, new.exact = dtype, bool(exact)
        if dtype != self.dtype:
            new._build_scan()
        return new

    @property
    def nbytes(self) -> int:
        """Memory held by the index (float32 matrix, scan copies, bound weights, packed mask)."""
        return self.matrix_.nbytes + sum(a.nbytes for a in (self._panel, self._tail, self._weights,
                                                            self._fallback_panel, self._active_words)
                                         if a is not None)

    # ------------------------------------------------------------ query side
    def query(self, user_vector: ArrayLike, *, decay: bool = True) -> NDArray[np.float32]:
        """``[u | 1 | λ]`` (λ = 0 when ``decay`` is off), 64-byte aligned."""
        u = np.asarray(user_vector, dtype=np.float32)
        if u.shape != (self.n_factors,):
            raise IntegrityError(f"user vector has shape {u.shape}, expected ({self.n_factors},)")
        return self._queries(u[None, :], decay)[0]

    def _queries(self, user_matrix: ArrayLike, decay: bool) -> NDArray[np.float32]:
        u = np.asarray(user_matrix, dtype=np.float32)
        if u.ndim != 2 or u.shape[1] != self.n_factors:
            raise IntegrityError(f"user matrix has shape {u.shape}, expected (m, {self.n_factors})")
        if not np.isfinite(u).all():
            raise IntegrityError("user vectors have non-finite values")
        q = aligned(u.shape[0] * (self.n_factors + 2), np.float32).reshape(u.shape[0], self.n_factors + 2)
        q[:, : self.n_factors] = u
        q[:, self.n_factors:] = (1.0, self.freshness_weight if decay else 0.0)
        return q

    # ------------------------------------------------------------ single user
    def recommend(self, user_vector: ArrayLike, k: int, *, exclude: ArrayLike | None = None,
                  allow: ArrayLike | ItemMask | None = None, decay: bool = True,
                  ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Top-k items for one user: ``(item indices int64, scores float32)`` best-first.

        ``allow`` is a boolean mask over items (a request filter; an
        :class:`~recommender.topk.ItemMask` cached by the caller is packed already);
        ``exclude`` item indices are never returned. ``decay=False`` ranks on ``u·v + b``
        (what the user would see without freshness decay).
        """
        k = check_k(k)
        q = self.query(user_vector, decay=decay)
        mask, ex = as_mask(allow, self.n_items), as_exclusions(exclude, self.n_items)
        if self._panel is None:
            idx, vals = self._blocks(q[None, :], k, allow, [ex])
            return idx[0][idx[0] >= 0], vals[0][idx[0] >= 0]
        return self._scan(q, k, _words(allow, mask), ex)

    def _scan(self, q: NDArray[np.float32], k: int, words: NDArray[np.int64],
              ex: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        d, qr, err, cap = self.n_factors, q, np.float32(0.0), 0
        if self.dtype != "float32":
            qnorm = math.sqrt(float(q.astype(np.float64) @ q.astype(np.float64)))
            if (self.dtype == "float16" and np.abs(q[:d]).max(initial=0.0) >= _FP16_QUERY_LIMIT
                    or self.exact and qnorm * self._max_row_norm >= _SAFE_SCORE):
                return self._scan_float32(q, k, words, ex)  # the scaled query or the bound would overflow
            if self.dtype == "float16":
                qr = q * _FP16_SCALE
                qr[d:] = q[d:]
            if self.exact:
                err, cap = np.float32(qnorm * (1 + 2.0**-20)), max(4096, 16 * k)
        idx, vals, ok = self._scans.scan(
            self._panel, self._tail, qr, q, self.n_items, k, self._active_words, words, ex, err,
            _NO_F if self._weights is None else self._weights, self.matrix_, np.empty(cap, np.int64),
            np.empty(cap, np.float32))
        return (idx, vals) if ok else self._scan_float32(q, k, words, ex)

    def _scan_float32(self, q: NDArray[np.float32], k: int, words: NDArray[np.int64],
                      ex: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """The exact float32 answer for a reduced index (many near-ties, or a query too
        large for the bound): a float32 panel, built on first need and kept, so the
        request costs what a float32 index would, and the scores are bitwise the same."""
        if self._fallback_panel is None:
            self._fallback_panel = panels(self.matrix_)
        no_tail = np.zeros((self._fallback_panel.shape[0], 0, P), np.float32)
        return self._scans.scan(self._fallback_panel, no_tail, q, q, self.n_items, k, self._active_words, words,
                                ex, np.float32(0.0), _NO_F, self.matrix_, _NO_I, _NO_F)[:2]

    def score_vector(self, scores: ArrayLike, k: int, *, exclude: ArrayLike | None = None,
                     allow: ArrayLike | ItemMask | None = None, decay: bool = True,
                     ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Top-k of externally computed scores (EASE): adds ``b + λ·log f``, same filters."""
        k = check_k(k)
        s = np.ascontiguousarray(scores, dtype=np.float32)
        if s.shape != (self.n_items,):
            raise IntegrityError(f"scores have shape {s.shape}, expected ({self.n_items},)")
        d = self.n_factors
        lam = np.float32(self.freshness_weight if decay else 0.0)
        total = s + (self.matrix_[:, d] + lam * self.matrix_[:, d + 1])
        masks = [x for x in (self._active_mask, as_mask(allow, self.n_items)) if x is not None]
        idx, vals = select_blocks(lambda a, b: total[a:b, None], self.n_items, 1, k, masks=masks,
                                  exclude=[as_exclusions(exclude, self.n_items)])
        return idx[0][idx[0] >= 0], vals[0][idx[0] >= 0]

    def scores(self, user_vector: ArrayLike, *, decay: bool = True) -> NDArray[np.float32]:
        """The full score vector (diagnostics and tests; serving never needs it)."""
        return self.matrix_ @ self.query(user_vector, decay=decay)

    # ------------------------------------------------------------ batches
    def recommend_batch(self, user_matrix: ArrayLike, k: int, *,
                        exclude: Sequence[ArrayLike | None] | None = None,
                        allow: ArrayLike | ItemMask | None = None, decay: bool = True,
                        ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Top-k for each row of ``user_matrix``: ``(m, k)`` arrays padded with -1 / -inf.

        One ``allow`` mask for the whole batch (group requests by filter), one
        ``exclude`` array per user. Scored by BLAS, block by block (the reference path).
        """
        k = check_k(k)
        qs = self._queries(user_matrix, decay)
        return self._blocks(qs, k, allow, row_exclusions(exclude, qs.shape[0], self.n_items))

    def _blocks(self, qs: NDArray[np.float32], k: int, allow: ArrayLike | ItemMask | None,
                exclude: list[NDArray[np.int64]]) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """``(m, k)`` answers for the queries ``qs``: BLAS products of item blocks, selected
        by a compiled loop, or by the numpy reference path without compiled scans.

        Items x users is the orientation BLAS runs fastest for few users. At least
        :data:`_MIN_WIDTH` users (zero-padded) keep BLAS on its matrix-matrix kernels,
        which score equal items equally; its matrix-vector kernels sum the rows of a
        block's remainder in another order, which would break ties between duplicates.
        """
        (m, n), mask, S = (qs.shape[0], self.n_items), as_mask(allow, self.n_items), self._scans
        width = max(m, _MIN_WIDTH)
        block = max(1024, min(BLOCK, _BLOCK_SCORES // width // 256 * 256))
        qp = np.zeros((width, qs.shape[1]), np.float32)
        qp[:m] = qs
        qt = qp.T  # a transposed view, which BLAS multiplies faster than a contiguous copy
        buf, mat = np.empty((block, width), np.float32), self.matrix_
        with np.errstate(over="ignore", invalid="ignore"):  # ±inf scores are "not available" / best
            if S is None or k == 0 or m == 0:
                masks = [x for x in (self._active_mask, mask) if x is not None]
                return select_blocks(lambda a, b: np.matmul(mat[a:b], qt, out=buf[: b - a])[:, :m], n, m, k,
                                     masks=masks, exclude=exclude, block=block)
            words = _words(allow, mask)
            ptr = np.cumsum([0] + [e.size for e in exclude], dtype=np.int64)
            ex = np.concatenate(exclude) if ptr[-1] else _NO_I
            hv, hi = np.empty((m, k), np.float32), np.empty((m, k), np.int64)
            sizes, thr = np.zeros(m, np.int64), np.full(m, -np.inf, np.float32)
            for a in range(0, n, block):
                scores = np.matmul(mat[a:a + block], qt, out=buf[: min(block, n - a)])
                S.select_block(scores, m, a, k, self._active_words, words, ptr, ex, hv, hi, sizes, thr)
            return S.drain_rows(hv, hi, sizes)
