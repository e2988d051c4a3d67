"""Fused, blocked batch top-k: register-tiled dot products + per-user running selection.

Private: :meth:`recommender.scoring.ScoringIndex.recommend_batch` is the typed wrapper.

Why not BLAS: ``(m x 66) @ (66 x n)`` is a skinny product. OpenBLAS packs the item
panel for every call, which at K = 66 costs about as much as the arithmetic for
m = 16, and selecting from a materialised ``m x n`` score matrix then reads it again.
Here items are processed in blocks that stay in L2. For each block and each group of
:data:`W` users, a register tile computes :data:`RB` items x :data:`W` users (every
item value loaded once and broadcast) and, while the scores are still in registers,
compares them with the W users' running k-th best thresholds; it returns a bit mask of
the rows with any score above. Only those rare rows touch the masks, the exclusions
(per-user, sorted, binary search) and the heaps. The selection thus costs one vector
compare per 16 scores instead of a partition over a fresh score array.

The tile is emitted as LLVM IR (``<W x float>`` multiply-adds with the ``contract``
flag, so it becomes FMA where the CPU has it): numba's loop vectoriser kept the
accumulators in memory (measured 30x slower). Vectors of 16 float32 are one AVX-512
register; on AVX2 machines LLVM splits each into two (correct, with some spilling).
Every score is the same sequential sum over the factor dimension whatever the batch,
block or position, so equal items score equally and the tie rule (lower index first)
holds exactly.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from recommender import _kernels as K

__all__: list[str] = []  # private module

W = 16  # users per group: one 512-bit vector of float32
RB = 8  # items per register tile (8 accumulators of W lanes)
_FAST = {"reassoc", "contract"}
_JIT = {"nogil": True, "cache": True, "boundscheck": False}


@intrinsic
def _tile(typingctx, mat, i0, qt, g, thr, out, o0):
    """``out[o0 + r, :W] = mat[i0 + r, :] @ qt[g]`` for ``r < RB`` (``qt`` is ``(G, D, W)``).

    One loop over the factor dimension: load the W query values of column ``j``, then
    for each of the RB items broadcast ``mat[i, j]`` and multiply-add into its own
    accumulator. Returns a bit mask of the rows where some score beats
    ``thr[g*W : g*W + W]`` (ordered ``>``: NaN never does), compared while the scores
    are still in registers. All arrays must be C-contiguous float32.
    """
    for a in (i0, g, o0):
        if not isinstance(a, types.Integer):
            return None

    def codegen(context, builder, sig, args):
        f32, i64, i32 = ir.FloatType(), ir.IntType(64), ir.IntType(32)
        vec = ir.VectorType(f32, W)
        vptr = vec.as_pointer()
        m_arr = context.make_array(sig.args[0])(context, builder, args[0])
        q_arr = context.make_array(sig.args[2])(context, builder, args[2])
        t_arr = context.make_array(sig.args[4])(context, builder, args[4])
        o_arr = context.make_array(sig.args[5])(context, builder, args[5])
        i0v, gv, o0v = (context.cast(builder, args[p], sig.args[p], types.int64) for p in (1, 3, 6))
        d = builder.extract_value(m_arr.shape, 1)
        c = lambda v, t=i64: ir.Constant(t, v)  # noqa: E731
        qbase = builder.gep(q_arr.data, [builder.mul(builder.mul(gv, d), c(W))])
        rows = [builder.gep(m_arr.data, [builder.mul(builder.add(i0v, c(r)), d)]) for r in range(RB)]
        zero = ir.Constant(vec, [0.0] * W)
        undef = ir.Constant(vec, ir.Undefined)
        splat = ir.Constant(ir.VectorType(i32, W), [0] * W)
        entry = builder.block
        loop = builder.append_basic_block("tile.loop")
        done = builder.append_basic_block("tile.done")
        builder.branch(loop)
        builder.position_at_end(loop)
        j = builder.phi(i64)
        j.add_incoming(c(0), entry)
        accs = []
        for _ in range(RB):
            acc = builder.phi(vec)
            acc.add_incoming(zero, entry)
            accs.append(acc)
        qv = builder.load(builder.bitcast(builder.gep(qbase, [builder.mul(j, c(W))]), vptr), align=4, typ=vec)
        new = []
        for r in range(RB):
            x = builder.load(builder.gep(rows[r], [j]), typ=f32)
            xv = builder.shuffle_vector(builder.insert_element(undef, x, c(0, i32)), undef, splat)
            prod = builder.fmul(xv, qv, flags=("contract",))
            new.append(builder.fadd(prod, accs[r], flags=("contract",)))
        jn = builder.add(j, c(1))
        for acc, v in zip(accs, new):
            acc.add_incoming(v, loop)
        j.add_incoming(jn, loop)
        builder.cbranch(builder.icmp_signed("<", jn, d), loop, done)  # d >= 1 (checked by caller)
        builder.position_at_end(done)
        tv = builder.load(builder.bitcast(builder.gep(t_arr.data, [builder.mul(gv, c(W))]), vptr), align=4, typ=vec)
        hits = c(0)
        for r in range(RB):
            op = builder.gep(o_arr.data, [builder.mul(builder.add(o0v, c(r)), c(W))])
            builder.store(new[r], builder.bitcast(op, vptr), align=4)
            above = builder.bitcast(builder.fcmp_ordered(">", new[r], tv), ir.IntType(W))
            hit = builder.zext(builder.icmp_unsigned("!=", above, ir.Constant(ir.IntType(W), 0)), i64)
            hits = builder.or_(hits, builder.shl(hit, c(r)))
        return hits

    return types.int64(mat, i0, qt, g, thr, out, o0), codegen


@nb.njit(fastmath=_FAST, **_JIT)
def _score_row(mat, i, qt, g, out, o):
    """``out[o] = mat[i] @ qt[g]`` in the tile's order of operations (tail rows)."""
    for u in range(W):
        out[o, u] = 0.0
    for j in range(mat.shape[1]):
        x = mat[i, j]
        for u in range(W):
            out[o, u] += x * qt[g, j, u]


@nb.njit(fastmath=_FAST, **_JIT)
def _scores(mat, a, b, qt, g, out):
    """``out[:b - a] = mat[a:b] @ qt[g]`` (for tests: the same tiles the kernel uses)."""
    thr = np.full(qt.shape[0] * W, np.inf, np.float32)
    i = a
    while i + RB <= b:
        _tile(mat, i, qt, g, thr, out, i - a)
        i += RB
    while i < b:
        _score_row(mat, i, qt, g, out, i - a)
        i += 1


@nb.njit(inline="always", **_JIT)
def _excluded(ex_ptr, ex_idx, r, item):
    """Whether ``item`` is in row ``r`` of the sorted CSR exclusions (binary search)."""
    lo, hi = ex_ptr[r], ex_ptr[r + 1]
    while lo < hi:
        mid = (lo + hi) >> 1
        if ex_idx[mid] < item:
            lo = mid + 1
        else:
            hi = mid
    return lo < ex_ptr[r + 1] and ex_idx[lo] == item


@nb.njit(**_JIT)
def _take(tile, o, item, u0, k, ma, mb, ex_ptr, ex_idx, hv, hi, sizes, thr):
    """Offer tile row ``o`` (item ``item``) to the heaps of users ``u0 .. u0 + W``.

    ``thr[r]`` is user r's k-th best so far (-inf until k items are held; +inf for
    padding users, which therefore never select). Items arrive in ascending index
    order, so the strict ``>`` keeps the tie rule.
    """
    if (ma.size > 0 and not ma[item]) or (mb.size > 0 and not mb[item]):
        return
    for u in range(W):
        s = tile[o, u]
        r = u0 + u
        if s > thr[r] and not _excluded(ex_ptr, ex_idx, r, item):
            size = sizes[r]
            if size < k:
                K._push(hv[r], hi[r], size, s, item)
                sizes[r] = size + 1
                if size + 1 == k:
                    thr[r] = hv[r, 0]
            else:
                hv[r, 0], hi[r, 0] = s, item
                K._sift_down(hv[r], hi[r], size, 0)
                thr[r] = hv[r, 0]


@nb.njit(fastmath=_FAST, **_JIT)
def _block(mat, a, b, qt, g, k, ma, mb, ex_ptr, ex_idx, hv, hi, sizes, thr, tile):
    """Score items ``a..b`` for user group ``g`` and fold the rare hits into the heaps.

    Thresholds only rise, so a row that beats none of them when its tile is compared
    cannot beat them later in the tile: only flagged rows are looked at again.
    """
    u0 = g * W
    i = a
    while i + RB <= b:
        hits = _tile(mat, i, qt, g, thr, tile, 0)
        while hits:
            r = 0
            while not (hits >> r) & 1:
                r += 1
            hits &= hits - 1
            _take(tile, r, i + r, u0, k, ma, mb, ex_ptr, ex_idx, hv, hi, sizes, thr)
        i += RB
    while i < b:
        _score_row(mat, i, qt, g, tile, 0)
        _take(tile, 0, i, u0, k, ma, mb, ex_ptr, ex_idx, hv, hi, sizes, thr)
        i += 1


@nb.njit(**_JIT)
def fused_batch(mat, qt, m, k, ma, mb, ex_ptr, ex_idx, block):
    """Exact top-k (k >= 1) of ``mat @ q_r`` for the ``m`` real users packed in ``qt``.

    ``qt`` is ``(G, D, W)``: group g holds users ``g*W ..`` column-wise, zero-padded.
    ``ma``/``mb`` are item masks (empty = none); ``ex_ptr``/``ex_idx`` the per-user
    sorted exclusions in CSR form. Returns ``(m, k)`` best-first arrays padded with
    index -1 / score -inf.
    """
    n = mat.shape[0]
    groups = qt.shape[0]
    mp = groups * W
    hv = np.empty((mp, k), np.float32)
    hi = np.empty((mp, k), np.int64)
    sizes = np.zeros(mp, np.int64)
    thr = np.full(mp, np.inf, np.float32)
    thr[:m] = -np.inf
    tile = K.aligned_empty(RB * W).reshape((RB, W))  # whole-line vector stores
    for a in range(0, n, block):
        b = min(a + block, n)
        for g in range(groups):
            _block(mat, a, b, qt, g, k, ma, mb, ex_ptr, ex_idx, hv, hi, sizes, thr, tile)
    return K.drain_rows(hv[:m], hi[:m], sizes[:m])


def pack_queries(qs: np.ndarray, width: int = W) -> np.ndarray:
    """``(m, D)`` queries -> ``(ceil(m / width), D, width)`` float32, zero-padded users
    (``width`` users per group: :data:`W` here, ``_panel_batch.U`` for the panel kernel)."""
    m, d = qs.shape
    groups = -(-m // width)
    padded = np.zeros((groups * width, d), np.float32)
    padded[:m] = qs
    out = K.aligned_empty(groups * d * width).reshape((groups, d, width))  # aligned vector loads
    out[...] = padded.reshape(groups, width, d).transpose(0, 2, 1)
    return out
