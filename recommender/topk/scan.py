"""Compiled top-k loops (numba), private to :class:`recommender.topk.ScoringIndex`, which
falls back to the numpy reference path when they cannot be compiled.

Items are stored in panels of :data:`P`: ``panel[b, j, l]`` is column ``j`` of item
``b * P + l``, zero past the last item, so one column step multiplies 64 contiguous
values by one query value (it vectorises, with no horizontal sum per item) and a panel's
64 scores meet the running k-th best before any item is looked at. Allowed items are
packed words (64 items per int64), so filtered items cost nothing.

Every float32 score is one sequential FMA chain over the columns, ``s = fma(x_j, q_j, s)``
from 0, in the tile and in :func:`dot` (``contract`` is the only fast-math flag: no
reassociation, NaN stays NaN). So equal items tie exactly wherever they sit, and the
reduced-precision scans return bitwise the float32 answer.

Storage is told apart by the panel's dtype, one compiled scan per format: bfloat16 as
``uint16`` bits, decoded exactly; float16 as ``int16`` bits, decoded to its value times
``2**-112`` (no rebias), so the caller scales the query's factor part by ``2**112``.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

__all__ = ["P", "scan", "dot", "select_block", "drain_rows", "warm_up"]

P = 64  # items per panel: four 16-lane vectors
_JIT = {"nogil": True, "cache": True, "boundscheck": False}
_CONTRACT = {"contract"}
NEG_INF = np.float32(-np.inf)


@intrinsic
def _as_float32(typingctx, x):
    """The low 32 bits of an integer as float32 (a bitcast in a register): the one piece of
    LLVM IR, as numba has no scalar ``view`` and a scratch array kept the scan scalar."""
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        v = builder.trunc(args[0], ir.IntType(32)) if x.bitwidth > 32 else args[0]
        return builder.bitcast(v, ir.FloatType())

    return types.float32(x), codegen


def decode(x):  # pragma: no cover - typing stub, see the overload
    raise NotImplementedError


@overload(decode, inline="always")
def _decode(x):
    if x == types.float32:
        return lambda x: x
    if x == types.uint16:  # bfloat16: the high half of a float32
        return lambda x: _as_float32(np.uint32(x) << np.uint32(16))
    if x == types.int16:  # float16, times 2**-112 (subnormals were flushed when stored)
        def fp16(x):
            h = np.uint32(np.uint16(x))
            return _as_float32(((h & np.uint32(0x7FFF)) << np.uint32(13)) | ((h & np.uint32(0x8000)) << np.uint32(16)))
        return fp16
    return None


# ---------------------------------------------------------------- a size-k min-heap
# The worst held item is at the root; the threshold is its score once k are held.
@nb.njit(inline="always", **_JIT)
def _worse(v1, i1, v2, i2):
    return v1 < v2 or (v1 == v2 and i1 > i2)


@nb.njit(**_JIT)
def _sift_down(hv, hi, size, pos):
    v, i = hv[pos], hi[pos]
    while True:
        c = 2 * pos + 1
        if c >= size:
            break
        if c + 1 < size and _worse(hv[c + 1], hi[c + 1], hv[c], hi[c]):
            c += 1
        if not _worse(hv[c], hi[c], v, i):
            break
        hv[pos], hi[pos] = hv[c], hi[c]
        pos = c
    hv[pos], hi[pos] = v, i


@nb.njit(**_JIT)
def _admit(hv, hi, size, k, v, i):
    """Push ``(v, i)`` or replace the root; ``(size, threshold)``. Callers offer items in
    index order, only when ``v`` beats the threshold: a tie loses on its higher index."""
    if size == k:
        hv[0], hi[0] = v, i
        _sift_down(hv, hi, size, 0)
        return size, hv[0]
    pos = size
    while pos > 0 and _worse(v, i, hv[(pos - 1) // 2], hi[(pos - 1) // 2]):
        hv[pos], hi[pos] = hv[(pos - 1) // 2], hi[(pos - 1) // 2]
        pos = (pos - 1) // 2
    hv[pos], hi[pos] = v, i
    return size + 1, (hv[0] if size + 1 == k else NEG_INF)


@nb.njit(**_JIT)
def _drain(hv, hi, size):
    """The heap's items best-first (score desc, index asc)."""
    ov, oi = np.empty(size, np.float32), np.empty(size, np.int64)
    for pos in range(size - 1, -1, -1):
        ov[pos], oi[pos] = hv[0], hi[0]
        hv[0], hi[0] = hv[pos], hi[pos]
        _sift_down(hv, hi, pos, 0)
    return oi, ov


# ---------------------------------------------------------------- scores
@nb.njit(fastmath=_CONTRACT, **_JIT)
def _tile(panel, tail, b, qr, q, acc):
    """``acc[:P]`` = panel ``b``'s columns against ``qr``, then the float32 ``tail`` columns
    (bias, log-freshness of a reduced panel) against ``q[d:]``. Four columns per pass:
    each accumulator is loaded and stored once per four FMAs, still one chain per lane."""
    d = panel.shape[1]
    for lane in range(P):
        acc[lane] = 0.0
    j = 0
    while j + 4 <= d:
        q0, q1, q2, q3 = qr[j], qr[j + 1], qr[j + 2], qr[j + 3]
        for lane in range(P):
            s = acc[lane]
            s += decode(panel[b, j, lane]) * q0
            s += decode(panel[b, j + 1, lane]) * q1
            s += decode(panel[b, j + 2, lane]) * q2
            s += decode(panel[b, j + 3, lane]) * q3
            acc[lane] = s
        j += 4
    while j < d:
        qj = qr[j]
        for lane in range(P):
            acc[lane] += decode(panel[b, j, lane]) * qj
        j += 1
    for c in range(tail.shape[1]):
        qj = q[d + c]
        for lane in range(P):
            acc[lane] += tail[b, c, lane] * qj


@nb.njit(fastmath=_CONTRACT, **_JIT)
def dot(mat, i, q):
    """Row ``i`` of the float32 matrix against ``q``: the panel tile's chain, exactly."""
    s = np.float32(0.0)
    for j in range(q.shape[0]):
        s += mat[i, j] * q[j]
    return s


@nb.njit(**_JIT)
def _compact(ci, cu, nc, t):
    """Keep the candidates whose upper bound still reaches ``t`` (order kept)."""
    w = 0
    for c in range(nc):
        if cu[c] >= t:
            ci[w], cu[w] = ci[c], cu[c]
            w += 1
    return w


# ---------------------------------------------------------------- the scan
@nb.njit(fastmath=_CONTRACT, **_JIT)
def scan(panel, tail, qr, q, n, k, wa, wb, ex, err, w, mat, ci, cu):
    """Top-k of the ``n`` items in ``panel``: ``(indices, scores, ok)`` best-first.

    ``wa``/``wb``: packed masks (empty = none); ``ex``: sorted exclusions, walked once as
    panels come in item order. With an empty ``ci`` the scanned scores are the answer.
    Otherwise ``err * w[i]`` bounds ``|float32 score - scanned score|``: a heap of lower
    bounds gives a threshold ``t`` that never decreases, items whose upper bound exceeds
    ``t`` are kept in ``ci``/``cu``, the rest are provably beaten by ``k`` items (one whose
    bound only equals ``t`` loses the tie on its index), and the kept ones are re-scored
    with :func:`dot`. ``ok`` is False when they overflow ``ci`` (near-ties the reduced copy
    cannot tell apart): the caller then scans float32.
    """
    exact = ci.size > 0
    hv, hi = np.empty(max(k, 1), np.float32), np.empty(max(k, 1), np.int64)
    size, t, nc, p = 0, NEG_INF, 0, 0
    acc = np.empty(P, np.float32)
    for b in range(panel.shape[0] if k > 0 else 0):
        _tile(panel, tail, b, qr, q, acc)
        base = b * P
        above = 0
        if exact:
            for lane in range(P):
                above += acc[lane] + err * w[base + lane] > t
        else:
            for lane in range(P):
                above += acc[lane] > t
        if above == 0:
            continue
        bits = np.int64(-1)
        if wa.size > 0:
            bits &= wa[b]
        if wb.size > 0:
            bits &= wb[b]
        while p < ex.size and ex[p] < base + P:
            if ex[p] >= base:
                bits &= ~(np.int64(1) << (ex[p] - base))
            p += 1
        for lane in range(min(P, n - base)):
            if (bits >> lane) & 1 == 0:
                continue
            s, i = acc[lane], base + lane
            if not exact:
                if s > t:
                    size, t = _admit(hv, hi, size, k, s, i)
                continue
            e = err * w[i]
            if s + e > t:
                if nc == ci.size:
                    nc = _compact(ci, cu, nc, t)
                    if nc > ci.size // 2:
                        return hi[:0].copy(), hv[:0].copy(), False
                ci[nc], cu[nc] = i, s + e
                nc += 1
                if s - e > t:
                    size, t = _admit(hv, hi, size, k, s - e, i)
    if exact:
        size, t = 0, NEG_INF
        for c in range(_compact(ci, cu, nc, t)):
            s = dot(mat, ci[c], q)
            if s > t:
                size, t = _admit(hv, hi, size, k, s, ci[c])
    oi, ov = _drain(hv, hi, size)
    return oi, ov, True


# ---------------------------------------------------------------- batches
@nb.njit(**_JIT)
def select_block(S, m, base, k, wa, wb, ex_ptr, ex_idx, hv, hi, sizes, thr):
    """Fold BLAS scores ``S[i, r]`` (user ``r``, item ``base + i``; columns past ``m`` are
    padding) into ``(m, k)`` heaps with their ``sizes`` and thresholds ``thr``; exclusions
    are per-user sorted CSR. Blocks come in item order, so ties keep the rule."""
    for i in range(S.shape[0]):
        above = 0
        for r in range(m):
            above += S[i, r] > thr[r]
        item = base + i
        if above == 0 or (wa.size > 0 and (wa[item >> 6] >> (item & 63)) & 1 == 0) \
                or (wb.size > 0 and (wb[item >> 6] >> (item & 63)) & 1 == 0):
            continue
        for r in range(m):
            if S[i, r] > thr[r]:
                seg = ex_idx[ex_ptr[r]:ex_ptr[r + 1]]
                p = np.searchsorted(seg, item)
                if p == seg.size or seg[p] != item:
                    sizes[r], thr[r] = _admit(hv[r], hi[r], sizes[r], k, S[i, r], item)


@nb.njit(**_JIT)
def drain_rows(hv, hi, sizes):
    """Per-user heaps -> ``(m, k)`` best-first arrays padded with -1 / -inf."""
    m, k = hv.shape
    oi, ov = np.full((m, k), -1, np.int64), np.full((m, k), NEG_INF, np.float32)
    for r in range(m):
        i, v = _drain(hv[r], hi[r], sizes[r])
        oi[r, : i.size], ov[r, : i.size] = i, v
    return oi, ov


def warm_up() -> None:
    """Compile (or load from numba's cache) every loop the index calls, so that a failure
    shows when an index is built, where the caller can fall back."""
    q, mat, none, w = np.ones(4, np.float32), np.ones((3, 4), np.float32), np.zeros(0, np.int64), np.zeros(P, np.float32)
    for dt, cols in ((np.float32, 4), (np.uint16, 2), (np.int16, 2)):
        panel, tail = np.zeros((1, cols, P), dt), np.zeros((1, 4 - cols, P), np.float32)
        for cap in (0, 8):
            scan(panel, tail, q, q, 3, 2, none, none, none, np.float32(0), w, mat, np.zeros(cap, np.int64), w[:cap])
    hv, hi, sizes = np.empty((2, 2), np.float32), np.empty((2, 2), np.int64), np.zeros(2, np.int64)
    select_block(mat, 2, 0, 2, none, none, np.zeros(3, np.int64), none, hv, hi, sizes, np.full(2, -np.inf, np.float32))
    drain_rows(hv, hi, sizes)
