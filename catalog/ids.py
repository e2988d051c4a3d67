"""One id map: external string ids <-> dense integer indices, built once.

Everything downstream of the edge works on integer indices and numpy arrays; ids are
mapped back only when an answer leaves the process.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

from catalog.errors import UnknownIdError

__all__ = ["IdMap"]


class IdMap:
    """An immutable, order-preserving bijection between string ids and ``0..n-1``.

    Parameters
    ----------
    ids : sequence of str
        Unique ids; their order defines the indices.
    error : type of UnknownIdError
        Raised (with all unknown ids) by :meth:`index` and :meth:`indices`.
    """

    __slots__ = ("_ids", "_index", "_error")

    def __init__(self, ids: Iterable[str], *, error: type[UnknownIdError] = UnknownIdError) -> None:
        self._ids = np.asarray(list(ids), dtype=object)
        self._index: dict[str, int] = {s: i for i, s in enumerate(self._ids)}
        if len(self._index) != len(self._ids):
            seen: set[str] = set()
            dups = [s for s in self._ids if s in seen or seen.add(s)]  # type: ignore[func-returns-value]
            raise ValueError(f"duplicate ids: {dups[:5]}")
        self._error = error

    def extended(self, ids: Sequence[str]) -> IdMap:
        """A new map with ``ids`` appended (indices ``len(self)...``); this map is unchanged. Copies the
        index dict at C speed instead of re-hashing every id in Python (a catalog write appending one
        resource should not cost a rebuild of the whole map)."""
        new = object.__new__(IdMap)
        new._ids = np.concatenate([self._ids, np.asarray(list(ids), dtype=object)])
        new._index = dict(self._index)
        n = len(self._ids)
        new._index.update((s, n + k) for k, s in enumerate(ids))
        if len(new._index) != len(new._ids):
            dups = sorted({s for s in ids if s in self._index} | {s for s in ids if list(ids).count(s) > 1})
            raise ValueError(f"duplicate ids: {dups[:5]}")
        new._error = self._error
        return new

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def __iter__(self):
        return iter(self._ids)

    def __repr__(self) -> str:
        return f"IdMap(n={len(self)})"

    @property
    def ids(self) -> NDArray[np.object_]:
        """The ids in index order (read-only view)."""
        v = self._ids.view()
        v.flags.writeable = False
        return v

    def get(self, key: str, default: int = -1) -> int:
        return self._index.get(key, default)

    def index(self, key: str) -> int:
        try:
            return self._index[key]
        except KeyError:
            raise self._error(key) from None

    def indices(self, keys: Sequence[str], *, missing: str = "raise") -> NDArray[np.int64]:
        """Map ids to indices. ``missing="raise"`` (all unknown ids in one error) or ``"-1"``."""
        get = self._index.get
        out = np.fromiter((get(k, -1) for k in keys), dtype=np.int64, count=len(keys))
        if missing == "raise" and (out < 0).any():
            raise self._error([k for k, i in zip(keys, out) if i < 0])
        return out

    def to_ids(self, indices: Iterable[int] | NDArray[np.integer]) -> list[str]:
        return self._ids[np.asarray(indices, dtype=np.int64)].tolist()

    def to_list(self) -> list[str]:
        return self._ids.tolist()
