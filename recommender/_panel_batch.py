"""Batch float32 top-k over the single-user panel layout (:mod:`recommender._panel`).

Private: :meth:`recommender.scoring.ScoringIndex.recommend_batch` is the typed wrapper
for float32 indexes (reduced-precision ones use :mod:`recommender._batch`).

Why: the row-major batch kernel read its own 26 MB copy of the matrix, which at 100k
items competed with the single-user panel for the 32 MB L3 (16 users reached 63-77 % of
the sgemm rate). Here a register tile of :data:`U` users x 64 items (16 accumulators;
per column the panel's 4 vectors are loaded once and each user's value broadcast once)
runs the same ``fma(x_j, q_j, s)`` chain as :func:`recommender._panel._panel_tile`, so
the scores are bitwise the single-user ones and the tie rule (lower index first) holds.
Panel by panel, every group of users is scored while the panel sits in L1, so the
matrix is read once per batch; the groups share a software prefetch of the next panel
into L2, which a 16-user batch needs (4 groups leave little compute to hide the first
group's loads: 78 -> 97-103 GFLOP/s at 100k items).
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
from recommender._batch import _excluded, pack_queries
from recommender._panel import NV, P, L, _bcast, _lowest_bit

__all__: list[str] = []  # private module

_JIT = {"nogil": True, "cache": True, "boundscheck": False}


U = 4  # users per group tile: U x NV accumulators (16 of the 32 AVX-512 registers)


@intrinsic
def _group_tile(typingctx, panel, b, qg, g, thr, out, masks, pf, npf):
    """``out[u, :P] = panel[b].T @ qg[g, :, u]`` for the ``U`` users of group ``g``.

    ``qg`` is ``(G, D, U)`` float32. Per column: NV panel vectors loaded once, each
    user's value broadcast once, U x NV fused multiply-adds into their own registers
    (the same ``fma(x_j, q_j, s)`` chain as :func:`_panel_tile`, so the scores are
    bitwise the single-user ones). ``masks[u]`` gets the bit mask of ``out[u] >
    thr[g * U + u]`` (ordered); returns the OR of the masks. ``out`` is a 64-byte
    aligned ``(U, P)`` float32 scratch.

    Each column also prefetches ``npf`` (0-4) cache lines into L2, starting at element
    ``pf`` of the panel array: the groups of a batch share the prefetch of the next
    panel, so memory is read while the other groups compute from L1 (with 4 groups a
    whole-panel burst at the first group measured 15% slower at 100k items).
    """
    if not all(isinstance(a, types.Integer) for a in (b, g, pf, npf)):
        return None

    def codegen(context, builder, sig, args):
        f32, i64 = ir.FloatType(), ir.IntType(64)
        vec = ir.VectorType(f32, L)
        vptr = vec.as_pointer()
        fma = fma_fn(builder, vec)
        p_arr = context.make_array(sig.args[0])(context, builder, args[0])
        q_arr = context.make_array(sig.args[2])(context, builder, args[2])
        t_arr = context.make_array(sig.args[4])(context, builder, args[4])
        o_arr = context.make_array(sig.args[5])(context, builder, args[5])
        h_arr = context.make_array(sig.args[6])(context, builder, args[6])
        bv = context.cast(builder, args[1], sig.args[1], types.int64)
        gv = context.cast(builder, args[3], sig.args[3], types.int64)
        pfv = context.cast(builder, args[7], sig.args[7], types.int64)
        npfv = context.cast(builder, args[8], sig.args[8], types.int64)
        c = lambda v: ir.Constant(i64, v)  # noqa: E731
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        prefetch = builder.module.declare_intrinsic(
            "llvm.prefetch.p0i8", fnty=ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]))
        d = builder.extract_value(p_arr.shape, 1)
        base = builder.gep(p_arr.data, [builder.mul(builder.mul(bv, d), c(P))])
        qbase = builder.gep(q_arr.data, [builder.mul(builder.mul(gv, d), c(U))])
        entry = builder.block
        loop = builder.append_basic_block("group.loop")
        done = builder.append_basic_block("group.done")
        builder.branch(loop)
        builder.position_at_end(loop)
        j = builder.phi(i64)
        j.add_incoming(c(0), entry)
        accs = []
        for _ in range(U * NV):
            acc = builder.phi(vec)
            acc.add_incoming(ir.Constant(vec, [0.0] * L), entry)
            accs.append(acc)
        row = builder.gep(base, [builder.mul(j, c(P))])
        xs = [builder.load(builder.bitcast(builder.gep(row, [c(v * L)]), vptr), align=64, typ=vec)
              for v in range(NV)]
        ahead = builder.gep(p_arr.data, [builder.add(pfv, builder.mul(builder.mul(j, npfv), c(L)))])
        for t in range(NV):  # line t of this column's share if npf > t, else line 0 again (no branch)
            off = builder.select(builder.icmp_signed(">", npfv, c(t)), c(t * L), c(0))
            builder.call(prefetch, [builder.bitcast(builder.gep(ahead, [off]), i8p),
                                    ir.Constant(i32, 0), ir.Constant(i32, 2), ir.Constant(i32, 1)])
        qrow = builder.gep(qbase, [builder.mul(j, c(U))])
        new = []
        for u in range(U):
            qv = _bcast(builder, builder.load(builder.gep(qrow, [c(u)]), typ=f32))
            for v in range(NV):
                new.append(builder.call(fma, [xs[v], qv, accs[u * NV + v]]))
        jn = builder.add(j, c(1))
        for acc, nv in zip(accs, new):
            acc.add_incoming(nv, loop)
        j.add_incoming(jn, loop)
        builder.cbranch(builder.icmp_signed("<", jn, d), loop, done)  # D >= 2 always
        builder.position_at_end(done)
        tbase = builder.gep(t_arr.data, [builder.mul(gv, c(U))])
        anyhit = c(0)
        for u in range(U):
            tv = _bcast(builder, builder.load(builder.gep(tbase, [c(u)]), typ=f32))
            hits = c(0)
            for v in range(NV):
                x = new[u * NV + v]
                op = builder.gep(o_arr.data, [c(u * P + v * L)])
                builder.store(x, builder.bitcast(op, vptr), align=64)
                above = builder.bitcast(builder.fcmp_ordered(">", x, tv), ir.IntType(L))
                hits = builder.or_(hits, builder.shl(builder.zext(above, i64), c(v * L)))
            builder.store(hits, builder.gep(h_arr.data, [c(u)]))
            anyhit = builder.or_(anyhit, hits)
        return anyhit

    return types.int64(panel, b, qg, g, thr, out, masks, pf, npf), codegen


@nb.njit(**_JIT)
def fused_panel_batch(panel, n, qg, m, k, ma, mb, ex_ptr, ex_idx):
    """Exact top-k (k >= 1) for the ``m`` users packed in ``qg`` (``(G, D, U)``, see
    :func:`pack_groups`) over the ``n`` items of a float32 ``panel``.

    Panel by panel, every group of U users is scored against it while it sits in L1
    (the panel is read from memory once per batch); only the flagged (user, item)
    pairs touch the masks, the per-user sorted CSR exclusions and the heaps. Items
    reach each user's heap in ascending index order, so the strict ``>`` keeps the tie
    rule. Returns ``(m, k)`` best-first arrays padded with index -1 / score -inf.
    """
    groups = qg.shape[0]
    mp = groups * U
    hv = np.empty((mp, k), np.float32)
    hi = np.empty((mp, k), np.int64)
    sizes = np.zeros(mp, np.int64)
    thr = np.full(mp, np.inf, np.float32)  # padding users never select
    thr[:m] = -np.inf
    buf = K.aligned_empty(U * P).reshape((U, P))
    masks = np.zeros(U, np.int64)
    d = panel.shape[1]
    total = panel.size
    share = min(NV, -(-NV // groups))  # lines per column per group (the next panel has NV * d);
    span = d * share * L  # with more than NV groups, the later ones prefetch panels further ahead
    for b in range(panel.shape[0]):
        base = b * P
        for g in range(groups):
            pf = (b + 1) * d * P + g * span
            npf = share
            if pf + span > total:  # never past the array
                pf, npf = 0, 0
            if _group_tile(panel, b, qg, g, thr, buf, masks, pf, npf) == 0:
                continue
            for u in range(U):
                hits = masks[u]
                r = g * U + u
                while hits != 0:
                    lane = _lowest_bit(hits)
                    hits &= hits - 1
                    i = base + lane
                    if i >= n:
                        break
                    s = buf[u, lane]
                    if s > thr[r] and not ((ma.size > 0 and not ma[i]) or (mb.size > 0 and not mb[i])
                                           or _excluded(ex_ptr, ex_idx, r, i)):
                        sizes[r], thr[r] = K._admit(hv[r], hi[r], sizes[r], k, s, i)
    return K.drain_rows(hv[:m], hi[:m], sizes[:m])


def pack_groups(qs: NDArray[np.float32]) -> NDArray[np.float32]:
    """``(m, D)`` queries -> ``(ceil(m / U), D, U)`` float32, zero-padded users."""
    return pack_queries(qs, U)
