"""Numba kernels behind :mod:`recommender.topk` and :mod:`recommender.scoring`.

Private: call the typed wrappers instead. Every kernel is single-threaded, releases the
GIL (``nogil``) and allocates only its own O(k) scratch, so concurrent calls from
several threads are safe as long as nobody writes the item matrix meanwhile.

Ranking order everywhere: higher score first, lower item index first on equal scores.
NaN and -inf scores are never selected (they mean "not available").

A min-heap of size ``k`` holds the current best items with the *worst* one at the
root; ``thr`` is the root's score once the heap is full. A new item enters only if it
beats the root, which is one compare per item on the common path. Items are scanned
in ascending index order, so an item tying the root always loses (its index is larger)
and a strict ``>`` implements the tie rule.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

__all__: list[str] = []  # private module

# reassociation (vectorised dot products) and FMA contraction only: no "nnan"/"ninf",
# which would let LLVM fold away the NaN checks the selection relies on.
_FAST = {"reassoc", "contract"}
_JIT = {"nogil": True, "cache": True, "boundscheck": False}

NEG_INF = np.float32(-np.inf)


# ---------------------------------------------------------------- heap helpers
@nb.njit(inline="always", **_JIT)
def _worse(v1, i1, v2, i2):  # (v1, i1) ranks below (v2, i2)
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
        if _worse(hv[c], hi[c], v, i):
            hv[pos], hi[pos] = hv[c], hi[c]
            pos = c
        else:
            break
    hv[pos], hi[pos] = v, i


@nb.njit(**_JIT)
def _push(hv, hi, size, v, i):
    """Insert into a heap holding ``size`` items (capacity not reached)."""
    pos = size
    while pos > 0:
        p = (pos - 1) // 2
        if _worse(v, i, hv[p], hi[p]):
            hv[pos], hi[pos] = hv[p], hi[p]
            pos = p
        else:
            break
    hv[pos], hi[pos] = v, i


@nb.njit(inline="always", **_JIT)
def _admit(hv, hi, size, k, s, i):
    """``(s, i)`` beats the running threshold: push it, or replace the root; ``(size, threshold)``.

    The threshold stays -inf until the heap holds ``k`` items, then is the root's score.
    Callers offer items in ascending index order with a strict ``>``, which keeps the tie rule.
    """
    if size < k:
        _push(hv, hi, size, s, i)
        size += 1
        return size, (hv[0] if size == k else NEG_INF)
    hv[0], hi[0] = s, i
    _sift_down(hv, hi, size, 0)
    return size, hv[0]


@nb.njit(**_JIT)
def _offer(hv, hi, size, k, v, i):
    """Offer (v, i) to a heap of capacity k; returns the new size. Any order of offers."""
    if not (v > NEG_INF):  # NaN, -inf
        return size
    if size < k:
        _push(hv, hi, size, v, i)
        return size + 1
    if _worse(hv[0], hi[0], v, i):
        hv[0], hi[0] = v, i
        _sift_down(hv, hi, size, 0)
    return size


@nb.njit(**_JIT)
def _sorted(hv, hi, size):
    """Drain the heap best-first (score desc, index asc): heapsort, O(k log k)."""
    ov = np.empty(size, hv.dtype)
    oi = np.empty(size, np.int64)
    for pos in range(size - 1, -1, -1):
        ov[pos], oi[pos] = hv[0], hi[0]
        hv[0], hi[0] = hv[pos], hi[pos]
        _sift_down(hv, hi, pos, 0)
    return oi, ov


@nb.njit(inline="always", **_JIT)
def _ok(ma, mb, ex, i):
    """Item ``i`` passes both masks (empty = no mask) and is not in sorted ``ex``.

    Only evaluated for items that already beat the threshold, so the binary search
    in the exclusions costs nothing measurable and ``k`` stays as asked.
    """
    if ma.size > 0 and not ma[i]:
        return False
    if mb.size > 0 and not mb[i]:
        return False
    if ex.size > 0:
        p = np.searchsorted(ex, i)
        if p < ex.size and ex[p] == i:
            return False
    return True


# ---------------------------------------------------------------- score vectors
@nb.njit(**_JIT)
def select_1d(scores, k, ma, mb, ex, offset, lam):
    """Top-k of ``scores + lam * offset`` (offset may be empty) over allowed items."""
    hv = np.empty(max(k, 1), scores.dtype)
    hi = np.empty(max(k, 1), np.int64)
    size = 0
    thr = -np.inf
    has_off = offset.size > 0
    for i in range(scores.shape[0]):
        s = scores[i]
        if has_off:
            s = s + lam * offset[i]
        if s > thr and _ok(ma, mb, ex, i):
            if size < k:
                _push(hv, hi, size, s, i)
                size += 1
                if size == k:
                    thr = hv[0]
            else:
                hv[0], hi[0] = s, i
                _sift_down(hv, hi, size, 0)
                thr = hv[0]
    return _sorted(hv, hi, size)


_CHUNK = 64


@nb.njit(fastmath=_FAST, inline="always", **_JIT)
def _any_above(row, lo, hi, t):
    """Whether any of ``row[lo:hi]`` exceeds ``t``, via a vectorised running max.

    ``x if x > mx else mx`` never lets NaN in (maxps semantics), so a NaN cannot hide
    a larger value; a count of ``row[j] > t`` measured 2.3x slower.
    """
    mx = NEG_INF
    for j in range(lo, hi):
        x = row[j]
        mx = x if x > mx else mx
    return mx > t


@nb.njit(fastmath=_FAST, **_JIT)
def select_rows(scores, base, k, ma, mb, ex, hv, hi, sizes, thr):
    """Fold a block ``scores[r, j]`` (item ``base + j``) into per-row running heaps.

    Called block after block in ascending item order, so the strict ``>`` keeps the
    tie rule. ``hv/hi`` are (m, k) heaps, ``sizes``/``thr`` per row state. Chunks with
    nothing above the row's threshold (almost all of them) are skipped after one
    vectorised pass.
    """
    m, b = scores.shape
    for r in range(m):
        t = thr[r]
        size = sizes[r]
        row = scores[r]
        hvr = hv[r]
        hir = hi[r]
        for lo in range(0, b, _CHUNK):
            hi_ = min(lo + _CHUNK, b)
            if not _any_above(row, lo, hi_, t):
                continue
            for j in range(lo, hi_):
                s = row[j]
                if s > t and _ok(ma, mb, ex, base + j):
                    if size < k:
                        _push(hvr, hir, size, s, base + j)
                        size += 1
                        if size == k:
                            t = hvr[0]
                    else:
                        hvr[0], hir[0] = s, base + j
                        _sift_down(hvr, hir, size, 0)
                        t = hvr[0]
        thr[r] = t
        sizes[r] = size


# ---------------------------------------------------------------- fp32 scores
def fma_fn(builder: ir.IRBuilder, ty: ir.Type) -> ir.Function:
    """Declare ``llvm.fma`` for float32 or a float32 vector type in the current module."""
    name = "llvm.fma.f32" if isinstance(ty, ir.FloatType) else f"llvm.fma.v{ty.count}f32"
    return builder.module.declare_intrinsic(name, fnty=ir.FunctionType(ty, [ty, ty, ty]))


@intrinsic
def fma32(typingctx, a, b, c):
    """``a * b + c`` with one rounding (``llvm.fma.f32``), whatever fastmath says."""
    if not all(x == types.float32 for x in (a, b, c)):
        return None

    def codegen(context, builder, sig, args):
        return builder.call(fma_fn(builder, ir.FloatType()), list(args))

    return types.float32(a, b, c), codegen


@nb.njit(inline="always", **_JIT)
def dot_seq(mat, i, q):
    """Row ``i`` of ``mat`` dotted with ``q`` as every float32 path computes it.

    ``s = fma(mat[i, j], q[j], s)`` for ``j = 0 ..`` from 0, the order of the panel
    tile (``_panel``) and the batch tile (``_batch``): re-scored candidates get
    bitwise the scores the float32 scan would give.
    """
    s = np.float32(0.0)
    for j in range(q.shape[0]):
        s = fma32(mat[i, j], q[j], s)
    return s


# ---------------------------------------------------------------- reduced precision
# Storage formats are told apart by the array's dtype, so each compiles to its own
# kernel with the decoder inlined: bfloat16 bit patterns as uint16, float16 bit
# patterns as int16. (A runtime format flag or a decoder passed as an argument
# measured 2-3x slower: LLVM then stops vectorising the row loop.)
#
# Decoding reinterprets bits in a register: bfloat16 decodes to its exact value;
# float16 decodes to its value times 2**-112 (exponent and sign moved into place, no
# rebias), so callers scale the query by 2**112 instead (exact: a power of two).
# Subnormals are flushed when the copy is built, so every decoded value is a normal
# float32 or zero and DAZ/FTZ settings cannot change a result.
FP16_QUERY_SCALE = np.float32(2.0**112)


@intrinsic
def _bits_to_f32(typingctx, x):
    """Reinterpret the low 32 bits of an integer as float32, in a register.

    numba has no scalar ``view``; going through a buffer measured 1.5x slower.
    """
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        v = args[0]
        if x.bitwidth > 32:
            v = builder.trunc(v, ir.IntType(32))
        return builder.bitcast(v, ir.FloatType())

    return types.float32(x), codegen


def decode(x):  # pragma: no cover - typing stub, see the overload
    raise NotImplementedError


@overload(decode, inline="always")
def _decode_impl(x):
    if x == types.uint16:  # bfloat16: the high half of a float32
        return lambda x: _bits_to_f32(np.uint32(x) << 16)
    if x == types.int16:  # float16, times 2**-112
        def fp16(x):
            h = np.uint32(np.uint16(x))
            return _bits_to_f32(((h & np.uint32(0x7FFF)) << 13) | ((h & np.uint32(0x8000)) << 16))
        return fp16
    return None


@nb.njit(fastmath=_FAST, inline="always", **_JIT)
def dot_reduced(red, i, q):
    """Dot of reduced-precision row ``i`` with ``q`` (pre-scaled for float16)."""
    s = np.float32(0.0)
    for j in range(q.shape[0]):
        s += decode(red[i, j]) * q[j]
    return s


@nb.njit(fastmath=_FAST, **_JIT)
def fused_reduced(red, q, k, ma, mb, ex):
    """Approximate top-k scored on the reduced-precision matrix alone."""
    n, d = red.shape
    hv = np.empty(max(k, 1), np.float32)
    hi = np.empty(max(k, 1), np.int64)
    size = 0
    thr = NEG_INF
    for i in range(n):
        s = dot_reduced(red, i, q)
        if s > thr and _ok(ma, mb, ex, i):
            if size < k:
                _push(hv, hi, size, s, i)
                size += 1
                if size == k:
                    thr = hv[0]
            else:
                hv[0], hi[0] = s, i
                _sift_down(hv, hi, size, 0)
                thr = hv[0]
    return _sorted(hv, hi, size)


@nb.njit(**_JIT)
def _compact(ci, cu, nc, t):
    w = 0
    for c in range(nc):
        if cu[c] >= t:
            ci[w], cu[w] = ci[c], cu[c]
            w += 1
    return w


@nb.njit(fastmath=_FAST, **_JIT)
def fused_reduced_exact(red, weights, mat, qr, q, err, k, ma, mb, ex, ci, cu):
    """Exact top-k: a reduced-precision pass with a proven error bound, then fp32 re-scoring.

    ``err * weights[i]`` bounds ``|fp32 score - reduced score|`` for this query (see
    ``bound_weights``; ``qr`` is ``q`` as the reduced format wants it). Pass 1 keeps a heap of lower bounds (its root
    ``t`` never decreases) and, in ``ci``/``cu``, every item whose upper bound reaches
    ``t``; an item left out has an upper bound below the k-th largest lower bound, so
    k items beat it for sure. Pass 2 re-scores the survivors on the fp32 matrix and
    selects exactly. Returns ``(indices, scores, ok)``; ``ok`` is False when the
    candidates overflowed ``ci`` (degenerate, near-constant scores): the caller then
    falls back to the float32 kernel.
    """
    n, d = red.shape
    cap = ci.shape[0]
    hv = np.empty(max(k, 1), np.float32)
    hi = np.empty(max(k, 1), np.int64)
    size = 0
    t = NEG_INF
    nc = 0
    for i in range(n):
        s = dot_reduced(red, i, qr)
        e = err * weights[i]
        ub = s + e
        if ub >= t and _ok(ma, mb, ex, i):
            if nc == cap:
                nc = _compact(ci, cu, nc, t)
                if nc > cap // 2:
                    return hi[:0].copy(), hv[:0].copy(), False
            ci[nc], cu[nc] = i, ub
            nc += 1
            lb = s - e
            if lb > t:
                if size < k:
                    _push(hv, hi, size, lb, i)
                    size += 1
                    if size == k:
                        t = hv[0]
                else:
                    hv[0], hi[0] = lb, i
                    _sift_down(hv, hi, size, 0)
                    t = hv[0]
    nc = _compact(ci, cu, nc, t)
    size = 0
    for c in range(nc):
        i = ci[c]
        size = _offer(hv, hi, size, k, dot_seq(mat, i, q), i)
    oi, ov = _sorted(hv, hi, size)
    return oi, ov, True


@nb.njit(**_JIT)
def bound_weights(mat, red, scale, gamma, exact_from):
    """Per-item error weight ``‖v − v̂‖ + gamma·(‖v̂‖ + ‖v‖)`` in float64.

    Cauchy-Schwarz gives ``|q·(v − v̂)| <= ‖q‖·‖v − v̂‖`` (the storage rounding, measured
    on the actual copy), and float32 accumulation in either pass errs by at most
    ``γ_D·Σ|q_j||x_j| <= γ_D·‖q‖·‖x‖``: so ``‖q‖·weight`` bounds the score difference.

    Columns from ``exact_from`` on are scanned in float32 (``v̂ = v``, the bfloat16
    panel's tail; ``exact_from = d``: none). An item whose reduced columns are all exact
    too gets weight 0: both passes then run the very same FMA chain on the same values.
    """
    n, d = mat.shape
    out = np.empty(n, np.float64)
    for i in range(n):
        r2 = 0.0
        a2 = 0.0
        b2 = 0.0
        for j in range(d):
            v = np.float64(mat[i, j])
            h = np.float64(decode(red[i, j])) * scale if j < exact_from else v
            r2 += (v - h) * (v - h)
            a2 += v * v
            b2 += h * h
        if r2 == 0.0 and exact_from < d:
            out[i] = 0.0
        else:
            out[i] = np.sqrt(r2) + gamma * (np.sqrt(a2) + np.sqrt(b2))
    return out


@nb.njit(**_JIT)
def to_bf16(mat, out):
    """Round float32 to bfloat16 bit patterns (nearest, ties to even; subnormals to zero).

    Inputs must be finite; values that round past the bfloat16 range become inf, which
    the caller rejects.
    """
    bits = mat.view(np.uint32)
    n, d = mat.shape
    for i in range(n):
        for j in range(d):
            x = bits[i, j]
            if (x & np.uint32(0x7F800000)) == 0:  # zero or subnormal: flush, keep the sign
                out[i, j] = np.uint16(x >> 16) & np.uint16(0x8000)
            else:
                out[i, j] = np.uint16((x + np.uint32(0x7FFF) + ((x >> 16) & np.uint32(1))) >> 16)


@nb.njit(**_JIT)
def aligned_empty(n):
    """A float32 array of ``n`` whose data starts on a 64-byte boundary.

    The fused kernels re-read the query for every item: a query straddling cache
    lines measured up to 3 % slower, and the allocator's offset varied from request to
    request (which showed up as a spurious filter "overhead").
    """
    buf = np.empty(n + 16, np.float32)
    off = ((-buf.ctypes.data) % 64) // 4
    return buf[off: off + n]


@nb.njit(**_JIT)
def sorted_exclusions(e, n):
    """``(sorted copy of e, all of e in [0, n))`` in one call (see ``topk.as_exclusions``)."""
    out = np.sort(e)
    ok = out.size == 0 or (out[0] >= 0 and out[out.size - 1] < n)
    return out, ok


@nb.njit(**_JIT)
def make_query(u, lam):
    """``([u | 1 | lam] on a 64-byte boundary, all of u finite)``, in one call."""
    d = u.shape[0]
    q = aligned_empty(d + 2)
    ok = True
    for j in range(d):
        x = u[j]
        ok &= np.isfinite(x)
        q[j] = x
    q[d] = 1.0
    q[d + 1] = lam
    return q, ok


@nb.njit(fastmath=_FAST, **_JIT)
def stream_sum(flat):
    """Read every element once (the memory-bandwidth calibration)."""
    s = np.float32(0.0)
    for i in range(flat.shape[0]):
        s += flat[i]
    return s


@nb.njit(**_JIT)
def drain_rows(hv, hi, sizes):
    """Per-row heaps -> (m, k) best-first arrays padded with index -1 and score -inf."""
    m, k = hv.shape
    oi = np.full((m, k), -1, np.int64)
    ov = np.full((m, k), -np.inf, hv.dtype)
    for r in range(m):
        i, v = _sorted(hv[r], hi[r], sizes[r])
        oi[r, : i.shape[0]] = i
        ov[r, : i.shape[0]] = v
    return oi, ov
