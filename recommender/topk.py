"""Exact top-k selection over score vectors: the primitive every recommender shares.

Ranking rule (everywhere in SkillPath): higher score first; on equal scores the lower
item index first, so results are deterministic. NaN and ``-inf`` mean "not available"
and are never returned; ``+inf`` is an ordinary (best) score. When fewer than ``k``
items are available the answer is shorter (1-D) or padded with index ``-1`` and score
``-inf`` (2-D). Selection is a single pass with a size-k heap and a running threshold
(one comparison per item on the common path), never a full sort.

``allow`` is a boolean mask over items (True = may be returned), typically a cached
request filter, or an :class:`ItemMask` (the same mask packed once for the panel scans);
``exclude`` lists item indices never to return (already seen, dismissed).
Single vectors check exclusions (sorted) only for items that already beat the threshold
(the float32 and bfloat16 panel scans walk them panel by panel, the other kernels use a
binary search); batches select ``k + len(exclude)`` per row and drop them after.
Neither needs a per-request copy of a mask.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from catalog.errors import ConfigError, IntegrityError, UnknownItemError
from recommender import _kernels as K

__all__ = ["topk", "topk_batch", "check_k", "ItemMask", "as_mask", "pack_mask", "as_exclusions", "drop_excluded",
           "exclusions_csr", "per_row_exclusions", "finish_rows", "NO_MASK", "NO_WORDS", "NO_EXCLUSIONS"]

# Sentinels the kernels understand: an empty mask means "no mask", an empty index array
# "nothing excluded". Left writable (they are empty) because numba compiles read-only
# arrays as a separate type: one more specialisation of every kernel.
NO_MASK: NDArray[np.bool_] = np.zeros(0, dtype=np.bool_)
NO_EXCLUSIONS: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
NO_WORDS: NDArray[np.int64] = np.zeros(0, dtype=np.int64)  # "no packed mask"


def pack_mask(mask: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Bits of a bool mask, 64 items per int64 word: item ``i`` is bit ``i % 64`` of word
    ``i // 64``; bits past the last item are clear (the panel scans' padding lanes)."""
    n = mask.shape[0]
    padded = np.zeros(-(-n // 64) * 64, np.bool_)
    padded[:n] = mask
    return np.packbits(padded, bitorder="little").view("<i8").astype(np.int64)  # native order for numba


class ItemMask:
    """A boolean item mask prepared once for many requests (a request filter, cached).

    Holds the bools (``mask``, for kernels that look items up one at a time) and the same
    bits packed 64 items to a word (``words``): the panel scans AND a panel's 64 hit bits
    with one word, so filtered items are never looked up one by one after the scan has
    flushed the caches (measured on a 100k-item request with ``active``, decay and 50
    exclusions: +10-12 us with a bool ``allow``, +6-7 us with an ItemMask). Pass it as
    ``allow=`` wherever a bool mask is taken. Treat it as immutable: it keeps its own
    copy of the mask.

    Parameters
    ----------
    mask : (n_items,) bool
        True = the item may be returned.
    """

    __slots__ = ("mask", "words")

    def __init__(self, mask: ArrayLike) -> None:
        m = np.asarray(mask)
        if m.dtype != np.bool_ or m.ndim != 1:
            raise IntegrityError(f"an item mask must be a 1-D bool array, got dtype {m.dtype} and shape {m.shape}")
        bools = np.array(m, dtype=np.bool_, order="C")  # writable: see NO_MASK
        object.__setattr__(self, "mask", bools)
        object.__setattr__(self, "words", pack_mask(bools))

    def __setattr__(self, name: str, value: object) -> None:
        # shared by every request with the same filter: swapping one array would leave
        # the bools and the words disagreeing (build a new ItemMask instead)
        raise AttributeError(f"ItemMask is immutable (cannot set {name!r})")

    @property
    def n_items(self) -> int:
        return int(self.mask.shape[0])

    def __repr__(self) -> str:
        return f"ItemMask({int(self.mask.sum())} of {self.n_items} items allowed)"


def check_k(k: int) -> int:
    """Validate ``k`` (a non-negative integer)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise ConfigError(f"k must be a non-negative integer, got {k!r}")
    return int(k)


def as_mask(mask: ArrayLike | None, n_items: int, *, what: str = "allow") -> NDArray[np.bool_]:
    """A boolean item mask as the kernels want it; ``None`` becomes :data:`NO_MASK`.

    No copy is made when ``mask`` already is a contiguous bool array, so a mask cached
    per filter combination costs nothing per request.
    """
    if mask is None:
        return NO_MASK
    if type(mask) is ItemMask:
        if mask.n_items != n_items:
            raise IntegrityError(f"{what} mask has shape ({mask.n_items},), expected ({n_items},)")
        return mask.mask
    if (type(mask) is np.ndarray and mask.dtype == np.bool_ and mask.shape == (n_items,)
            and mask.flags.c_contiguous and mask.flags.writeable):
        return mask  # the cached-filter case, with no numpy call (see as_exclusions)
    m = np.asarray(mask)
    if m.dtype != np.bool_:
        raise IntegrityError(f"{what} mask must be boolean, got dtype {m.dtype}")
    if m.shape != (n_items,):
        raise IntegrityError(f"{what} mask has shape {m.shape}, expected ({n_items},)")
    m = np.ascontiguousarray(m)
    return m if m.flags.writeable else m.copy()  # see NO_MASK


def as_exclusions(exclude: ArrayLike | None, n_items: int) -> NDArray[np.int64]:
    """Sorted, validated item indices to exclude (:data:`NO_EXCLUSIONS` for none).

    Duplicates are kept: every consumer (binary search, :func:`drop_excluded`) is
    indifferent to them, and ``np.unique`` cost 5x the sort on a per-request path.
    """
    if exclude is None:
        return NO_EXCLUSIONS
    if type(exclude) is np.ndarray and exclude.dtype == np.int64 and exclude.ndim == 1:
        # the common case in one compiled call: right after a scan has flushed the caches,
        # each separate numpy step here cost microseconds (measured ~15 us for the four)
        if exclude.size == 0:
            return NO_EXCLUSIONS
        e, ok = K.sorted_exclusions(exclude, n_items)  # a copy: the caller's array is untouched
        if ok:
            return e
        bad = np.unique(e[(e < 0) | (e >= n_items)])
        raise UnknownItemError([str(int(b)) for b in bad], hint=f"item indices run 0..{n_items - 1}")
    e = np.asarray(exclude)
    if e.size == 0:
        return NO_EXCLUSIONS
    if e.dtype.kind not in "iu":
        raise IntegrityError(f"exclude must hold integer item indices, got dtype {e.dtype}")
    e = np.sort(e.astype(np.int64, copy=False).ravel())  # a copy: the caller's array is untouched
    if e[0] < 0 or e[-1] >= n_items:
        bad = np.unique(e[(e < 0) | (e >= n_items)])
        raise UnknownItemError([str(int(b)) for b in bad], hint=f"item indices run 0..{n_items - 1}")
    return e


def drop_excluded(idx: NDArray[np.int64], vals: NDArray[np.floating], excluded: NDArray[np.int64],
                  k: int) -> tuple[NDArray[np.int64], NDArray[np.floating]]:
    """Remove excluded items (sorted: see :func:`as_exclusions`) and keep ``k``."""
    if excluded.size:
        # ``excluded`` is sorted: a binary search per answer item. (np.isin
        # may build a lookup table spanning the whole index range: 1 ms at 1M items.)
        pos = np.minimum(np.searchsorted(excluded, idx), excluded.size - 1)
        keep = excluded[pos] != idx
        idx, vals = idx[keep], vals[keep]
    return idx[:k], vals[:k]


def _scores_1d(scores: ArrayLike) -> NDArray[np.floating]:
    s = np.asarray(scores)
    if s.dtype not in (np.float32, np.float64):
        s = s.astype(np.float64)
    return np.ascontiguousarray(s)


def topk(scores: ArrayLike, k: int, *, allow: ArrayLike | None = None,
         exclude: ArrayLike | None = None) -> tuple[NDArray[np.int64], NDArray[np.floating]]:
    """Exact top-k of a 1-D score vector.

    Returns ``(indices int64, scores)`` best-first, at most ``k`` long (shorter when
    fewer items are available). Scores keep their dtype (float32 or float64).
    """
    k = check_k(k)
    s = _scores_1d(scores)
    if s.ndim != 1:
        raise IntegrityError(f"topk expects a 1-D score vector, got shape {s.shape}; use topk_batch")
    n = s.shape[0]
    ma = as_mask(allow, n)
    ex = as_exclusions(exclude, n)
    return K.select_1d(s, k, ma, NO_MASK, ex, s[:0], s.dtype.type(0))


def topk_batch(scores: ArrayLike, k: int, *, allow: ArrayLike | None = None,
               exclude: Sequence[ArrayLike | None] | None = None,
               ) -> tuple[NDArray[np.int64], NDArray[np.floating]]:
    """Exact top-k of each row of a 2-D score matrix (users x items).

    ``allow`` is one mask shared by every row; ``exclude`` is one index array (or
    ``None``) per row. Returns ``(m, k)`` arrays padded with ``-1`` / ``-inf``.
    """
    k = check_k(k)
    s = np.asarray(scores)
    if s.ndim != 2:
        raise IntegrityError(f"topk_batch expects a 2-D score matrix, got shape {s.shape}")
    if s.dtype not in (np.float32, np.float64):
        s = s.astype(np.float64)
    s = np.ascontiguousarray(s)
    m, n = s.shape
    ma = as_mask(allow, n)
    exs = per_row_exclusions(exclude, m, n)
    k_eff = k + max((e.size for e in exs), default=0)
    hv = np.empty((m, max(k_eff, 1)), s.dtype)
    hi = np.empty((m, max(k_eff, 1)), np.int64)
    sizes = np.zeros(m, np.int64)
    thr = np.full(m, -np.inf, s.dtype)
    if k_eff:
        K.select_rows(s, 0, k_eff, ma, NO_MASK, NO_EXCLUSIONS, hv, hi, sizes, thr)
    oi, ov = K.drain_rows(hv, hi, sizes)
    return finish_rows(oi, ov, exs, k)


def exclusions_csr(exclude: Sequence[ArrayLike | None] | None, m: int,
                   n_items: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """One validated exclusion list per row as CSR ``(indptr (m + 1,), sorted indices)``."""
    rows = per_row_exclusions(exclude, m, n_items)
    ptr = np.zeros(m + 1, np.int64)
    ptr[1:] = np.cumsum([e.size for e in rows], dtype=np.int64)
    idx = np.concatenate(rows) if ptr[-1] else NO_EXCLUSIONS
    return ptr, idx


def per_row_exclusions(exclude: Sequence[ArrayLike | None] | None, m: int,
                       n_items: int) -> list[NDArray[np.int64]]:
    """Validate one exclusion list per row (``None`` = nothing excluded anywhere)."""
    if exclude is None:
        return [NO_EXCLUSIONS] * m
    if len(exclude) != m:
        raise IntegrityError(f"exclude has {len(exclude)} rows, expected {m} (one per user)")
    return [as_exclusions(e, n_items) for e in exclude]


def finish_rows(oi: NDArray[np.int64], ov: NDArray[np.floating], exs: list[NDArray[np.int64]],
                k: int) -> tuple[NDArray[np.int64], NDArray[np.floating]]:
    """Drop each row's exclusions, keep ``k`` columns, pad with ``-1`` / ``-inf``."""
    m = oi.shape[0]
    if all(e.size == 0 for e in exs):
        return np.ascontiguousarray(oi[:, :k]), np.ascontiguousarray(ov[:, :k])
    out_i = np.full((m, k), -1, np.int64)
    out_v = np.full((m, k), -np.inf, ov.dtype)
    for r, e in enumerate(exs):
        valid = oi[r] >= 0
        i, v = drop_excluded(oi[r][valid], ov[r][valid], e, k)
        out_i[r, : i.size] = i
        out_v[r, : i.size] = v
    return out_i, out_v
