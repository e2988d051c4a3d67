"""What the compiled scans read, built once per index: panel copies (items 64 at a time,
column-major inside a panel, see :mod:`recommender.topk.scan`), half-precision copies with
their error bounds, and the compiled module itself (or ``None``). Allocated by numpy,
which asks for transparent huge pages on large arrays: scans run faster over them.
"""

from __future__ import annotations

import importlib
import logging
import threading
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from catalog.errors import IntegrityError

__all__ = ["P", "compiled_scans", "use_reference_path", "aligned", "panels", "reduced", "bound_weights"]

log = logging.getLogger(__name__)

P = 64  # items per panel (recommender.topk.scan.P)
_EPS32 = 2.0**-24  # float32 unit roundoff
_SCANS: list[ModuleType | None] = []
_SCANS_LOCK = threading.Lock()


def compiled_scans() -> ModuleType | None:
    """:mod:`recommender.topk.scan`, compiled, or ``None`` after one warning when numba
    cannot import or compile it: every request then takes the reference path (same answers)."""
    with _SCANS_LOCK:
        if not _SCANS:
            scan: ModuleType | None
            try:
                scan = importlib.import_module("recommender.topk.scan")
                scan.warm_up()
            except Exception as e:  # whatever the cause (numba missing, too old, a compile error)
                log.warning("top-k: compiled scans unavailable (%s: %s); using the numpy reference path",
                            type(e).__name__, e)
                scan = None
            _SCANS.append(scan)
        return _SCANS[0]


def use_reference_path() -> None:
    """Answer every later index from the numpy reference path (the same answers), for a process that
    ranks once: loading numba and its cached scans costs it about a second, more than the one ranking."""
    with _SCANS_LOCK:
        if not _SCANS:
            _SCANS.append(None)


def aligned(size: int, dtype: Any) -> NDArray:
    """A zeroed array of ``size`` on a 64-byte boundary (whole-line vector loads)."""
    item = np.dtype(dtype).itemsize
    buf = np.zeros(size + 64 // item, dtype)
    off = ((-buf.ctypes.data) % 64) // item
    return buf[off: off + size]


def panels(a: NDArray) -> NDArray:
    """``(n, D)`` row-major -> ``(ceil(n / P), D, P)`` panels, zero-padded."""
    n, d = a.shape
    full, count = n // P, -(-n // P)
    out = aligned(count * d * P, a.dtype).reshape(count, d, P)
    out[:full] = a[: full * P].reshape(full, P, d).transpose(0, 2, 1)
    if count > full:
        out[full, :, : n - full * P] = a[full * P:].T
    return out


def reduced(f: NDArray[np.float32], dtype: str) -> tuple[NDArray, NDArray[np.float32]]:
    """``(bits, decoded values)`` of ``f`` in bfloat16 (``uint16``, rounded to nearest even)
    or float16 (``int16``); subnormals flushed, so no DAZ/FTZ setting can change a score."""
    if dtype == "bfloat16":
        bits = f.view(np.uint32)
        red = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
        red[(bits & 0x7F800000) == 0] &= 0x8000
        dec = (red.astype(np.uint32) << 16).view(np.float32)
    else:
        with np.errstate(over="ignore"):  # out-of-range values become inf, rejected below
            h = f.astype(np.float16)
        h[np.abs(h) < 2.0**-14] = 0
        red, dec = h.view(np.int16), h.astype(np.float32)
    if not np.isfinite(dec).all():
        raise IntegrityError(f"item values exceed the {dtype} range; use dtype='float32'")
    return red, dec


def bound_weights(m: NDArray[np.float32], dec: NDArray[np.float32]) -> NDArray[np.float32]:
    """Per item ``‖v − v̂‖ + γ_D (‖v‖ + ‖v̂‖)``, padded to whole panels, so that ``‖q‖ · w``
    bounds ``|float32 score − reduced score|``: Cauchy-Schwarz on the storage rounding
    (measured on the copy ``dec`` of the first columns; the rest are exact), plus float32
    accumulation in either pass. Items stored exactly get 0: both passes then run the
    same chain on the same values."""
    d, big_d = dec.shape[1], m.shape[1]
    gamma = big_d * _EPS32 / (1 - big_d * _EPS32) + 4 * _EPS32
    out = aligned(-(-m.shape[0] // P) * P, np.float32)
    for a in range(0, m.shape[0], 65536):
        v, h = m[a:a + 65536].astype(np.float64), dec[a:a + 65536].astype(np.float64)
        r2, t2 = ((v[:, :d] - h) ** 2).sum(axis=1), (v[:, d:] ** 2).sum(axis=1)
        w = np.sqrt(r2) + gamma * (np.sqrt((v[:, :d] ** 2).sum(axis=1) + t2) + np.sqrt((h**2).sum(axis=1) + t2))
        out[a:a + len(v)] = np.where(r2 == 0, 0.0, w * (1 + 2.0**-20))
    return out
