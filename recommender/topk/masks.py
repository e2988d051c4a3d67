"""Request filters for top-k, validated once: ``k``, item masks and exclusion lists.

``allow`` is a boolean mask over items (True = may be returned), or an :class:`ItemMask`
cached by the caller; ``exclude`` lists item indices never to return. Out-of-range
exclusions are an error: they mean the caller's id map and the index disagree.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from catalog.errors import ConfigError, IntegrityError, UnknownItemError

__all__ = ["ItemMask", "check_k", "pack_mask", "repack_words", "as_mask", "as_exclusions", "row_exclusions", "NO_WORDS",
           "NO_EXCLUSIONS"]

# "No packed mask" and "nothing excluded" for the compiled loops; writable, as numba
# compiles read-only arrays as another type.
NO_WORDS: NDArray[np.int64] = np.zeros(0, np.int64)
NO_EXCLUSIONS: NDArray[np.int64] = np.zeros(0, np.int64)


def check_k(k: int) -> int:
    """Validate ``k`` (a non-negative integer)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise ConfigError(f"k must be a non-negative integer, got {k!r}")
    return int(k)


def pack_mask(mask: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Bits of a bool mask, 64 items per int64 word: item ``i`` is bit ``i % 64`` of word
    ``i // 64``; bits past the last item are clear, so padding lanes are never allowed."""
    padded = np.zeros(-(-mask.shape[0] // 64) * 64, np.bool_)
    padded[: mask.shape[0]] = mask
    return np.packbits(padded, bitorder="little").view("<i8").astype(np.int64)


def repack_words(words: NDArray[np.int64], mask: NDArray[np.bool_], rows: NDArray[np.int64]) -> NDArray[np.int64]:
    """A copy of ``words`` (``pack_mask`` of a mask that differs from ``mask`` at most at ``rows``) equal to
    ``pack_mask(mask)``: only the words holding ``rows`` are packed again (an entity write's few items,
    instead of the whole catalog)."""
    out = words.copy()
    n = mask.shape[0]
    for w in np.unique(np.asarray(rows, dtype=np.int64) // 64).tolist():
        out[w] = pack_mask(mask[w * 64:min((w + 1) * 64, n)])[0]
    return out


class ItemMask:
    """A boolean item mask (True = may be returned) prepared once for many requests.

    Holds the bools (``mask``) and the same bits packed 64 items to a word (``words``),
    which the compiled scans AND with a panel's 64 candidates in one step instead of
    looking items up one by one. Immutable, with its own copy of the mask: shared by
    every request with the same filter, the two forms must never disagree.
    """

    __slots__ = ("mask", "words")
    mask: NDArray[np.bool_]
    words: NDArray[np.int64]

    def __init__(self, mask: ArrayLike) -> None:
        m = np.asarray(mask)
        if m.dtype != np.bool_ or m.ndim != 1:
            raise IntegrityError(f"an item mask must be a 1-D bool array, got dtype {m.dtype} and shape {m.shape}")
        bools = np.array(m, dtype=np.bool_, order="C")
        object.__setattr__(self, "mask", bools)
        object.__setattr__(self, "words", pack_mask(bools))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"ItemMask is immutable (cannot set {name!r}); build a new one")

    @property
    def n_items(self) -> int:
        return int(self.mask.shape[0])

    def with_rows(self, rows: NDArray[np.int64], values: NDArray[np.bool_]) -> ItemMask:
        """This mask with ``values`` at ``rows`` (a new one; this one is shared by requests in flight), for
        O(rows) packing instead of the whole mask's."""
        bools = self.mask.copy()
        bools[rows] = values
        new = object.__new__(ItemMask)
        object.__setattr__(new, "mask", bools)
        object.__setattr__(new, "words", repack_words(self.words, bools, rows))
        return new

    def __repr__(self) -> str:
        return f"ItemMask({int(self.mask.sum())} of {self.n_items} items allowed)"


def as_mask(mask: ArrayLike | ItemMask | None, n_items: int, *, what: str = "allow") -> NDArray[np.bool_] | None:
    """A validated contiguous bool mask (no copy when it already is one), or ``None``."""
    if mask is None:
        return None
    m = mask.mask if isinstance(mask, ItemMask) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise IntegrityError(f"{what} mask must be boolean, got dtype {m.dtype}")
    if m.shape != (n_items,):
        raise IntegrityError(f"{what} mask has shape {m.shape}, expected ({n_items},)")
    return np.ascontiguousarray(m)


def as_exclusions(exclude: ArrayLike | None, n_items: int) -> NDArray[np.int64]:
    """Sorted item indices to exclude (a copy; duplicates kept, every consumer ignores them)."""
    if exclude is None:
        return NO_EXCLUSIONS
    e = np.asarray(exclude)
    if e.size == 0:
        return NO_EXCLUSIONS
    if e.dtype.kind not in "iu":
        raise IntegrityError(f"exclude must hold integer item indices, got dtype {e.dtype}")
    e = np.sort(e.astype(np.int64, copy=False).ravel())
    if e[0] < 0 or e[-1] >= n_items:
        bad = np.unique(e[(e < 0) | (e >= n_items)])
        raise UnknownItemError([str(int(b)) for b in bad], hint=f"item indices run 0..{n_items - 1}")
    return e


def row_exclusions(exclude: Sequence[ArrayLike | None] | sp.spmatrix | sp.sparray | None, m: int,
                   n_items: int) -> list[NDArray[np.int64]]:
    """One sorted exclusion list per row, from a sequence (``None`` entries allowed) or
    from a sparse ``(m, n_items)`` matrix whose stored non-zeros are the exclusions."""
    if exclude is None:
        return [NO_EXCLUSIONS] * m
    if sp.issparse(exclude):
        c = sp.csr_matrix(exclude)
        c.eliminate_zeros()
        if c.shape != (m, n_items):
            raise IntegrityError(f"exclude has shape {c.shape}, expected ({m}, {n_items})")
        return [np.sort(c.indices[c.indptr[r]:c.indptr[r + 1]]).astype(np.int64) for r in range(m)]
    if len(exclude) != m:
        raise IntegrityError(f"exclude has {len(exclude)} rows, expected {m} (one per row of scores)")
    return [as_exclusions(e, n_items) for e in exclude]
