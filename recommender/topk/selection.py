"""Exact top-k in numpy, over blocks of items: the selection rule every caller shares.

Ranking rule (everywhere in SkillPath): higher score first, and on equal scores the
lower item index first, so answers are deterministic. NaN and ``-inf`` mean "not
available" and are never returned; ``+inf`` is an ordinary (best) score. When fewer than
``k`` items are available the answer is shorter (1-D) or padded with -1 / -inf (2-D).

Items are visited in blocks, in index order, as implicit's ``topk`` does: a block's
scores (a BLAS product, or a slice of precomputed scores) are compared with each row's
k-th best so far, and only the few that beat it are merged. This reference path serves
precomputed scores and every request when the compiled loops are unavailable, and it
is the oracle they are tested against.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from catalog.errors import IntegrityError
from recommender.topk.masks import ItemMask, as_exclusions, as_mask, check_k, row_exclusions

__all__ = ["topk", "select_blocks", "BLOCK"]

BLOCK = 16384  # items per block at most: a (BLOCK x m) score block stays in the caches


def topk(scores: ArrayLike, k: int, *, allow: ArrayLike | ItemMask | None = None,
         exclude: ArrayLike | Sequence[ArrayLike | None] | sp.spmatrix | None = None,
         ) -> tuple[NDArray[np.int64], NDArray[np.floating]]:
    """Exact top-k of a score vector ``(n,)`` or of each row of a score matrix ``(m, n)``.

    ``allow``: items that may be returned, one mask for every row. ``exclude``: item
    indices never to return; for a matrix one array (or ``None``) per row, or a sparse
    ``(m, n)`` matrix whose non-zeros are excluded. Returns ``(indices int64, scores)``
    best-first, scores as float32 or float64 (other dtypes become float64): at most ``k``
    long for a vector, ``(m, k)`` padded with -1 / -inf for a matrix.
    """
    k = check_k(k)
    s = np.asarray(scores)
    if s.dtype not in (np.float32, np.float64):
        s = s.astype(np.float64)
    if s.ndim not in (1, 2):
        raise IntegrityError(f"topk expects a score vector or matrix, got shape {s.shape}")
    rows = s.reshape(1, -1) if s.ndim == 1 else s
    m, n = rows.shape
    ex = [as_exclusions(exclude, n)] if s.ndim == 1 else row_exclusions(exclude, m, n)
    mask = as_mask(allow, n)
    idx, vals = select_blocks(lambda a, b: rows[:, a:b].T, n, m, k, masks=[] if mask is None else [mask],
                              exclude=ex, dtype=s.dtype)
    if s.ndim == 2:
        return idx, vals
    found = idx[0] >= 0
    return idx[0][found], vals[0][found]


def select_blocks(scores_of: Callable[[int, int], NDArray[np.floating]], n: int, m: int, k: int, *,
                  masks: Sequence[NDArray[np.bool_]] = (), exclude: Sequence[NDArray[np.int64]] | None = None,
                  dtype: type | np.dtype = np.float32, block: int = BLOCK,
                  ) -> tuple[NDArray[np.int64], NDArray[np.floating]]:
    """Exact top-k of ``m`` rows of scores over ``n`` items, block by block.

    ``scores_of(a, b)`` returns the scores of items ``a .. b-1`` for every row as a
    ``(b - a, m)`` array (items x rows), which is only read. Every returned item passes
    all ``masks``; ``exclude`` holds one sorted index array per row. Returns ``(m, k)``
    best-first arrays padded with -1 / -inf.
    """
    best_v = np.full((m, k), -np.inf, dtype)
    best_i = np.full((m, k), -1, np.int64)
    if k == 0 or n == 0 or m == 0:
        return best_i, best_v
    thr = np.full(m, -np.inf, dtype)  # each row's k-th best after the last merge (-inf until it holds k)
    # every exclusion as ``item * m + row``, sorted: one lookup serves all rows
    keys = np.sort(np.concatenate([np.zeros(0, np.int64)] + [e * m + r for r, e in enumerate(exclude or ())]))
    pending: list[tuple[NDArray[np.int64], NDArray[np.floating], NDArray[np.int64]]] = []
    held = 0
    for a in range(0, n, block):
        b = min(a + block, n)
        hits = _hits(scores_of(a, b), a, thr, k, masks, keys, m)
        if hits is not None:
            pending.append(hits)
            held += hits[0].size
        if held >= m * k or (b == n and pending):  # merging costs about m * k: amortise it
            _merge(best_v, best_i, thr, *(np.concatenate(x) for x in zip(*pending)), k)
            pending, held = [], 0
    return best_i, best_v


def _hits(S: NDArray[np.floating], a: int, thr: NDArray[np.floating], k: int, masks: Sequence[NDArray[np.bool_]],
          keys: NDArray[np.int64], m: int) -> tuple[NDArray[np.int64], NDArray[np.floating], NDArray[np.int64]] | None:
    """``(rows, scores, items)`` of the block's available items that beat their row's k-th best.

    Rows that do not hold ``k`` items yet would take every finite score: they are cut at
    the block's own k-th best available score first (``k`` of its items reach it).
    """
    B = S.shape[0]
    f = 256 // m if m < 256 and S.flags.c_contiguous and B % (256 // m) == 0 else 1
    if f > 1:  # fold rows together: numpy is slow over a short inner axis
        hit = (S.reshape(B // f, f * m) > np.tile(thr, f)).reshape(B, m)
    else:
        hit = S > thr
    short = np.flatnonzero(np.isneginf(thr))
    if short.size and B > k:
        avail = np.where(np.isnan(S[:, short]), -np.inf, S[:, short])
        for mask in masks:
            avail[~mask[a:a + B]] = -np.inf
        if keys.size:
            lo, hi = np.searchsorted(keys, [a * m, (a + B) * m])
            it, r = np.divmod(keys[lo:hi], m)
            col = np.minimum(np.searchsorted(short, r), short.size - 1)
            avail[it[short[col] == r] - a, col[short[col] == r]] = -np.inf
        hit[:, short] &= S[:, short] >= np.partition(avail, B - k, axis=0)[B - k]
    flat = np.flatnonzero(hit)  # item-major: each row's hits come in index order
    if flat.size == 0:
        return None
    r, rows = np.divmod(flat, m)
    items, vals = r + a, S[r, rows]
    ok = np.ones(items.size, np.bool_)
    for mask in masks:
        ok &= mask[items]
    if keys.size:
        key = items * m + rows
        ok &= keys[np.minimum(np.searchsorted(keys, key), keys.size - 1)] != key
    return (rows[ok], vals[ok], items[ok]) if ok.any() else None


def _merge(best_v: NDArray[np.floating], best_i: NDArray[np.int64], thr: NDArray[np.floating],
           rows: NDArray[np.int64], vals: NDArray[np.floating], items: NDArray[np.int64], k: int) -> None:
    """Fold hits into each row's best ``k`` (in place) and raise the thresholds.

    A stable sort by (row, score desc) of the held items and the hits is the tie rule:
    held items have lower indices than the block's, are stored best-first (equal scores
    in index order), and each row's hits arrive in index order.
    """
    touched = np.unique(rows)
    held = best_i[touched].ravel() >= 0
    r = np.concatenate([np.repeat(touched, k)[held], rows])
    v = np.concatenate([best_v[touched].ravel()[held], vals])
    i = np.concatenate([best_i[touched].ravel()[held], items])
    order = np.lexsort((-v, r))
    r, v, i = r[order], v[order], i[order]
    rank = np.arange(r.size) - np.searchsorted(r, r)
    keep = rank < k
    best_v[touched], best_i[touched] = -np.inf, -1
    best_v[r[keep], rank[keep]] = v[keep]
    best_i[r[keep], rank[keep]] = i[keep]
    thr[touched] = best_v[touched, k - 1]
