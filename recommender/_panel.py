"""Single-user float32 top-k over a panel layout: 64 items per FMA step, no reductions.

Private: :meth:`recommender.scoring.ScoringIndex.recommend` is the typed wrapper.

Why: the previous row-major kernel computed one 66-float dot product per item and
reduced the vector horizontally, ~15-20 cycles per item. With 100k items
the 26 MB matrix sits in the last-level cache, so that arithmetic, not memory, set the
time (1.31x the streaming-read limit). Here items are stored in panels of :data:`P`:
``panel[b, j, l]`` is column ``j`` of item ``b * P + l``, zero-padded past ``n``. For
each column one broadcast query value multiplies four 16-lane vectors of the panel and
accumulates into four registers (one FMA per 16 items, no horizontal sum), and the 64
scores are compared with the running threshold while still in registers; the kernel
returns a 64-bit mask of the items above it. Packed masks (64 items per int64 word, see
:class:`recommender.topk.ItemMask`) and the sorted exclusions clear bits of that mask
before any item is looked at, so only allowed items above the threshold (rare once the
heap is full) touch memory outside the panel: the heap, one byte of a plain bool mask, and
on the bfloat16-exact path the item's bound weight and, for candidates, its float32 row.

Every float32 score is the same sequential fused multiply-add chain over the columns,
``s = fma(x_j, q_j, s)`` for ``j = 0 .. D-1`` from ``s = 0``, in the panel tile, in
:func:`dot_seq` (re-scoring, e.g. the bf16-exact path) and in the batch tile
(``_batch``, FMA-contracted multiply-adds). So equal items score equally wherever they
sit in a panel (the tie rule holds exactly) and every path gives bitwise the same
scores. The tile is LLVM IR with explicit ``llvm.fma`` calls, like ``_batch``: numba
loops keep array accumulators in memory.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic
from numpy.typing import NDArray

from recommender import _kernels as K
from recommender._kernels import fma_fn

__all__: list[str] = []  # private module

L = 16  # lanes per vector: one 512-bit register of float32 (two on AVX2)
NV = 4  # vectors per panel: four independent FMA chains hide the FMA latency
P = L * NV  # items per panel
_TAIL = 2  # float32 columns after a bfloat16 panel: the bias and log-freshness, kept exact
_JIT = {"nogil": True, "cache": True, "boundscheck": False}


def _panel_scores(context, builder, p_arr, q_arr, bv, bf16, t_arr=None):
    """Emit the FMA loop over one panel; returns the NV score vectors of its P items.

    ``bf16``: the panel holds bfloat16 bit patterns (uint16), decoded in registers
    (zero-extend, shift into the high half, bit-cast), exact. ``t_arr``: a float32
    ``(n_panels, T, P)`` tail whose T columns follow the panel's (query entries
    ``D .. D+T-1``), in the same FMA chain; the panel may then have no column.
    """
    f32, i64, i32 = ir.FloatType(), ir.IntType(64), ir.IntType(32)
    vec = ir.VectorType(f32, L)
    elem = ir.VectorType(ir.IntType(16), L) if bf16 else vec
    fma = fma_fn(builder, vec)
    d = builder.extract_value(p_arr.shape, 1)
    c = lambda v, t=i64: ir.Constant(t, v)  # noqa: E731
    base = builder.gep(p_arr.data, [builder.mul(builder.mul(bv, d), c(P))])
    entry = builder.block
    loop = builder.append_basic_block("panel.loop")
    done = builder.append_basic_block("panel.done")
    if t_arr is None:
        builder.branch(loop)  # D >= 2 always
    else:
        builder.cbranch(builder.icmp_signed(">", d, c(0)), loop, done)
    builder.position_at_end(loop)
    j = builder.phi(i64)
    j.add_incoming(c(0), entry)
    accs = []
    for _ in range(NV):
        acc = builder.phi(vec)
        acc.add_incoming(ir.Constant(vec, [0.0] * L), entry)
        accs.append(acc)
    qv = _bcast(builder, builder.load(builder.gep(q_arr.data, [j]), typ=f32))
    row = builder.gep(base, [builder.mul(j, c(P))])
    new = []
    for v in range(NV):
        ptr = builder.bitcast(builder.gep(row, [c(v * L)]), elem.as_pointer())
        x = builder.load(ptr, align=32 if bf16 else 64, typ=elem)
        if bf16:
            wide = builder.zext(x, ir.VectorType(i32, L))
            x = builder.bitcast(builder.shl(wide, ir.Constant(ir.VectorType(i32, L), [16] * L)), vec)
        new.append(builder.call(fma, [x, qv, accs[v]]))
    jn = builder.add(j, c(1))
    for acc, nv in zip(accs, new):
        acc.add_incoming(nv, loop)
    j.add_incoming(jn, loop)
    builder.cbranch(builder.icmp_signed("<", jn, d), loop, done)
    builder.position_at_end(done)
    if t_arr is None:
        return new
    out = []
    for v in range(NV):
        phi = builder.phi(vec)
        phi.add_incoming(ir.Constant(vec, [0.0] * L), entry)
        phi.add_incoming(new[v], loop)
        out.append(phi)
    nt = builder.extract_value(t_arr.shape, 1)
    tbase = builder.gep(t_arr.data, [builder.mul(builder.mul(bv, nt), c(P))])
    for col in range(_TAIL):
        qv = _bcast(builder, builder.load(builder.gep(q_arr.data, [builder.add(d, c(col))]), typ=f32))
        row = builder.gep(tbase, [c(col * P)])
        for v in range(NV):
            x = builder.load(builder.bitcast(builder.gep(row, [c(v * L)]), vec.as_pointer()), align=64, typ=vec)
            out[v] = builder.call(fma, [x, qv, out[v]])
    return out


def _bcast(builder, x):
    vec = ir.VectorType(x.type, L)
    i32 = ir.IntType(32)
    undef = ir.Constant(vec, ir.Undefined)
    one = builder.insert_element(undef, x, ir.Constant(i32, 0))
    return builder.shuffle_vector(one, undef, ir.Constant(ir.VectorType(i32, L), [0] * L))


def _store_and_mask(builder, o_arr, values, cmp, tv):
    """Store the NV vectors to ``out[:P]``; bit ``l`` of the result: ``values[l] cmp tv``."""
    i64 = ir.IntType(64)
    vptr = ir.VectorType(ir.FloatType(), L).as_pointer()
    hits = ir.Constant(i64, 0)
    for v, x in enumerate(values):
        builder.store(x, builder.bitcast(builder.gep(o_arr.data, [ir.Constant(i64, v * L)]), vptr), align=64)
        above = builder.bitcast(builder.fcmp_ordered(cmp, x, tv), ir.IntType(L))
        hits = builder.or_(hits, builder.shl(builder.zext(above, i64), ir.Constant(i64, v * L)))
    return hits


@intrinsic
def _panel_tile(typingctx, panel, b, q, thr, out):
    """``out[:P] = panel[b].T @ q``; returns the bit mask of ``out[l] > thr`` (ordered).

    ``panel`` is a C-contiguous ``(n_panels, D, P)`` float32 array on a 64-byte
    boundary, ``q`` float32 ``(D,)`` and ``out`` a 64-byte aligned float32 scratch of
    ``P``. NaN compares false, so it never sets a bit.
    """
    if not isinstance(b, types.Integer) or thr != types.float32:
        return None

    def codegen(context, builder, sig, args):
        p_arr = context.make_array(sig.args[0])(context, builder, args[0])
        q_arr = context.make_array(sig.args[2])(context, builder, args[2])
        o_arr = context.make_array(sig.args[4])(context, builder, args[4])
        bv = context.cast(builder, args[1], sig.args[1], types.int64)
        s = _panel_scores(context, builder, p_arr, q_arr, bv, False)
        return _store_and_mask(builder, o_arr, s, ">", _bcast(builder, args[3]))

    return types.int64(panel, b, q, thr, out), codegen


@intrinsic
def _panel_tile_bf16(typingctx, panel, tail, b, q, w, err, t, out):
    """bf16 panel + float32 tail: ``out[:P]`` = scores; bit ``l`` set when
    ``s + err * w > t`` (ordered).

    ``s + err * w`` is the item's upper bound (``_kernels.fused_reduced_exact``), as
    a plain multiply then add, exactly what the scalar code recomputes for hits.
    ``w`` holds the bound weights padded to the panel length. Strict ``>``: items
    arrive in ascending index order, so once ``k`` lower bounds reach ``t`` an item
    whose upper bound only equals ``t`` can no longer enter the top-k (see
    :func:`fused_panel_bf16_exact`).
    """
    if not isinstance(b, types.Integer) or err != types.float32 or t != types.float32:
        return None

    def codegen(context, builder, sig, args):
        p_arr = context.make_array(sig.args[0])(context, builder, args[0])
        t_arr = context.make_array(sig.args[1])(context, builder, args[1])
        q_arr = context.make_array(sig.args[3])(context, builder, args[3])
        w_arr = context.make_array(sig.args[4])(context, builder, args[4])
        o_arr = context.make_array(sig.args[7])(context, builder, args[7])
        bv = context.cast(builder, args[2], sig.args[2], types.int64)
        s = _panel_scores(context, builder, p_arr, q_arr, bv, True, t_arr)
        vec = ir.VectorType(ir.FloatType(), L)
        ev = _bcast(builder, args[5])
        wbase = builder.gep(w_arr.data, [builder.mul(bv, ir.Constant(ir.IntType(64), P))])
        ubs = []
        for v in range(NV):
            wp = builder.bitcast(builder.gep(wbase, [ir.Constant(ir.IntType(64), v * L)]), vec.as_pointer())
            wv = builder.load(wp, align=64, typ=vec)
            ubs.append(builder.fadd(s[v], builder.fmul(ev, wv)))
        vptr = vec.as_pointer()
        for v in range(NV):  # the scores, for the scalar code
            builder.store(s[v], builder.bitcast(builder.gep(o_arr.data, [ir.Constant(ir.IntType(64), v * L)]),
                                                vptr), align=64)
        i64 = ir.IntType(64)
        hits = ir.Constant(i64, 0)
        tv = _bcast(builder, args[6])
        for v in range(NV):
            above = builder.bitcast(builder.fcmp_ordered(">", ubs[v], tv), ir.IntType(L))
            hits = builder.or_(hits, builder.shl(builder.zext(above, i64), ir.Constant(i64, v * L)))
        return hits

    return types.int64(panel, tail, b, q, w, err, t, out), codegen


@intrinsic
def _lowest_bit(typingctx, x):
    """Index of the lowest set bit of a non-zero int64 (``cttz``)."""
    if x != types.int64:
        return None

    def codegen(context, builder, sig, args):
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 1))

    return types.int64(x), codegen


_END = np.iinfo(np.int64).max  # the exclusion walk's "no more exclusions"


@nb.njit(inline="always", **_JIT)
def _first_exclusion(ex):
    return ex[0] if ex.size > 0 else _END


@nb.njit(inline="always", **_JIT)
def _filter_hits(hits, b, wa, wb, ex, p, nx):
    """``hits`` of panel ``b`` without the items packed masks ``wa``/``wb`` forbid (empty:
    no mask) and without the excluded ones; returns ``(hits, p, nx)``.

    Why: looking masks up item by item cost ~100 ns per flagged item (~250 per 100k-item
    scan) in cache misses once the scan had flushed the caches, 2-5 % of a request; one
    sequential word per panel and mask costs nothing measurable. ``ex`` is sorted and the
    panels come in order, so a walk (``nx = ex[p]``, :data:`_END` past the last) reads
    each exclusion once per scan instead of a binary search per flagged item.
    """
    if wa.size > 0:
        hits &= wa[b]
    if wb.size > 0:
        hits &= wb[b]
    base = b * P
    while nx < base + P:
        hits &= ~(np.int64(1) << (nx - base))
        p += 1
        nx = ex[p] if p < ex.size else _END
    return hits, p, nx


@nb.njit(**_JIT)
def _fill(mat, out):
    n, d = mat.shape
    for b in range(out.shape[0]):
        for j in range(d):
            for lane in range(P):
                i = b * P + lane
                out[b, j, lane] = mat[i, j] if i < n else np.float32(0.0)


def _aligned(size: int, dtype: type) -> NDArray:
    """A zeroed numpy array of ``size`` on a 64-byte boundary (numpy: huge pages, see below)."""
    item = np.dtype(dtype).itemsize
    buf = np.zeros(size + 64 // item, dtype)
    off = ((-buf.ctypes.data) % 64) // item
    return buf[off: off + size]


def build_panel(mat: NDArray) -> NDArray:
    """``(n, D)`` row-major -> ``(ceil(n / P), D, P)`` panels, zero-padded, 64-byte aligned.

    Works for float32 and for bfloat16 bit patterns (uint16). Allocated by numpy, not
    numba: numpy asks the kernel for transparent huge pages on large arrays, and the
    same scan over a numba-allocated (4 KB pages) copy measured 15-25 % slower at 1M.
    """
    n, d = mat.shape
    nb_ = -(-n // P)
    out = _aligned(nb_ * d * P, mat.dtype.type).reshape((nb_, d, P))
    _fill(mat, out)
    return out


def pad_weights(w: NDArray[np.float32]) -> NDArray[np.float32]:
    """Bound weights padded with zeros to whole panels, 64-byte aligned (vector loads)."""
    out = _aligned(-(-w.shape[0] // P) * P, np.float32)
    out[: w.shape[0]] = w
    return out


@nb.njit(**_JIT)
def fused_panel(panel, n, q, k, wa, wb, mb, ex):
    """Exact top-k of the ``n`` items in ``panel`` against ``q``.

    ``wa``/``wb``: packed masks (the index's ``active``, a request's ``allow``; empty =
    none), ``mb``: a bool ``allow`` mask (empty = none), ``ex``: sorted exclusions.
    Panels are scanned in item order and the bits of a mask lowest first, so items
    arrive in ascending index order and the strict ``>`` keeps the tie rule; lanes at
    or past ``n`` (padding) are never offered. The panel must come from
    :func:`build_panel` (aligned vector loads).
    """
    hv = np.empty(max(k, 1), np.float32)
    hi = np.empty(max(k, 1), np.int64)
    size = 0
    thr = K.NEG_INF
    buf = K.aligned_empty(P)
    if k == 0:
        return K._sorted(hv, hi, 0)
    p, nx = 0, _first_exclusion(ex)
    hb = mb.size > 0
    for b in range(panel.shape[0]):
        hits = _panel_tile(panel, b, q, thr, buf)
        hits, p, nx = _filter_hits(hits, b, wa, wb, ex, p, nx)
        base = b * P
        while hits != 0:
            r = _lowest_bit(hits)
            hits &= hits - 1
            i = base + r
            if i >= n:
                break
            s = buf[r]
            if s > thr and (not hb or mb[i]):
                size, thr = K._admit(hv, hi, size, k, s, i)
    return K._sorted(hv, hi, size)


@nb.njit(**_JIT)
def panel_scores(panel, n, q):
    """All ``n`` scores as the tile computes them (diagnostics and tests)."""
    out = np.empty(panel.shape[0] * P, np.float32)
    buf = K.aligned_empty(P)
    for b in range(panel.shape[0]):
        _panel_tile(panel, b, q, np.float32(np.inf), buf)
        out[b * P: (b + 1) * P] = buf
    return out[:n]


@nb.njit(**_JIT)
def fused_panel_bf16_exact(panel, tail, w, mat, n, q, err, k, wa, wb, mb, ex, ci, cu):
    """``_kernels.fused_reduced_exact`` over a bfloat16 panel with an exact float32 tail
    (bias, log-freshness): the same bound, candidates, fallback flag and float32
    re-scoring, with the first pass done 64 items per FMA step.

    Pass 1 keeps a heap of lower bounds ``s - e`` (root ``t``, never decreasing) and, in
    ``ci``/``cu``, every item whose upper bound ``s + e`` exceeds ``t``; the tile flags
    exactly those items (same arithmetic), in ascending index order. Strictly exceeds:
    when ``k`` earlier items have lower bounds >= ``t``, an item with ``s + e == t``
    scores at most ``t``, no more than any of them, and loses the tie on its higher
    index. That matters for items whose factors bfloat16 holds exactly (cold items with
    zero factors: ``e = 0``): thousands of them share a score when they share a
    freshness, and with ``>=`` all of them were candidates (the buffer overflowed and
    the request fell back to a float32 scan on 47% of requests of the REST benchmark's
    world).
    """
    cap = ci.shape[0]
    hv = np.empty(max(k, 1), np.float32)
    hi = np.empty(max(k, 1), np.int64)
    size = 0
    t = K.NEG_INF
    nc = 0
    buf = K.aligned_empty(P)
    p, nx = 0, _first_exclusion(ex)
    hb = mb.size > 0
    for b in range(panel.shape[0]):
        hits = _panel_tile_bf16(panel, tail, b, q, w, err, t, buf)
        hits, p, nx = _filter_hits(hits, b, wa, wb, ex, p, nx)
        base = b * P
        while hits != 0:
            r = _lowest_bit(hits)
            hits &= hits - 1
            i = base + r
            if i >= n:
                break
            s = buf[r]
            e = err * w[i]
            ub = s + e
            if ub > t and (not hb or mb[i]):
                if nc == cap:
                    nc = K._compact(ci, cu, nc, t)
                    if nc > cap // 2:
                        return hi[:0].copy(), hv[:0].copy(), False
                ci[nc], cu[nc] = i, ub
                nc += 1
                lb = s - e
                if lb > t:
                    size, t = K._admit(hv, hi, size, k, lb, i)
    nc = K._compact(ci, cu, nc, t)
    size = 0
    for c in range(nc):
        i = ci[c]
        size = K._offer(hv, hi, size, k, K.dot_seq(mat, i, q), i)
    oi, ov = K._sorted(hv, hi, size)
    return oi, ov, True


@nb.njit(**_JIT)
def fused_panel_bf16(panel, tail, w, n, q, k, wa, wb, mb, ex):
    """Approximate top-k on a bfloat16 panel and its float32 tail alone (``exact=False``):
    the tile with a zero error flags ``s > thr``, and the strict ``>`` keeps the tie rule.

    The loop over flagged lanes is :func:`fused_panel`'s, written out on purpose: the same
    loop as a shared ``inline="always"`` helper made both scans 20-30 µs slower per
    100k items (paired, 1,501 rounds), about 5 % of a request."""
    hv = np.empty(max(k, 1), np.float32)
    hi = np.empty(max(k, 1), np.int64)
    size = 0
    thr = K.NEG_INF
    buf = K.aligned_empty(P)
    if k == 0:
        return K._sorted(hv, hi, 0)
    p, nx = 0, _first_exclusion(ex)
    hb = mb.size > 0
    for b in range(panel.shape[0]):
        hits = _panel_tile_bf16(panel, tail, b, q, w, np.float32(0.0), thr, buf)
        hits, p, nx = _filter_hits(hits, b, wa, wb, ex, p, nx)
        base = b * P
        while hits != 0:
            r = _lowest_bit(hits)
            hits &= hits - 1
            i = base + r
            if i >= n:
                break
            s = buf[r]
            if s > thr and (not hb or mb[i]):
                size, thr = K._admit(hv, hi, size, k, s, i)
    return K._sorted(hv, hi, size)
