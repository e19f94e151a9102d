"""The WAV encoder's search over both decoders: IMA reference (sox, libsndfile) and ffmpeg.

Why
---
ffmpeg reconstructs some codes 1-2 LSB away from the IMA reference (see
:mod:`audiocodec.adpcm.tables`). A code sequence chosen for the reference alone
lets ffmpeg's predictor drift from the reference's over a block, and ffmpeg then
plays the file up to ~140 LSB off. This search follows both decoders at once:
a path's state is ``(pa, pb, index)``, the reference's and ffmpeg's predictor and
the shared step index (the index update does not depend on the rounding), and its
cost weighs the squared error of both decoders, ``ea + eb + wmax * |ea - eb|``,
so the chosen codes are good in whichever player decodes the file. Each block
starts both predictors from its header sample, so the drift never outlives a block.

Specification (the oracle :func:`audiocodec.adpcm.reference.reference_encode_dual`)
-----------------------------------------------------------------------------
At each sample every survivor proposes the ``candidates`` allowed signed levels
(IMA values, :data:`~audiocodec.adpcm.tables.LEVELS`) nearest ``x - ((pa + pb) >> 1)``
(ties to the lower level). A candidate reaches ``qa = clip(pa + level)`` and
``qb = clip(pb + sign * MAG_FFMPEG[index, m])``, with key (cost, survivor rank,
proposal order). Of candidates with the same ``(qa, qb)`` (and, with
``keep_index``, the same new index) only the lowest key stays; then the
``survivors`` lowest keys survive, ranked. The best path is traced back at the end.
With the portable levels ``pa == pb`` throughout: every decoder yields the same samples.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from audiocodec.adpcm.kernels import (
    _backtrack,
    _clip16,
    _clip_index,
    _first_level_at_least,
    _next_nearest,
    _select,
)

__all__ = ["DUAL_CANDIDATES", "DUAL_SURVIVORS", "DUAL_WMAX", "KEEP_INDEX", "search_dual_run"]

# Encoder tuning, not format (measured on ../shared/audio with bench/bench_adpcm.py).
# Keyed by ``portable``. The portable code set is sparse at many steps (only m in {0, 4} when
# step % 8 == 7), so a wider search that keeps paths apart by step index pays there: +0.3-0.5 dB
# for half the speed; the full code set gains < 0.1 dB from it.
DUAL_SURVIVORS = {False: 8, True: 16}
DUAL_CANDIDATES = {False: 3, True: 4}
DUAL_WMAX = 1  # key = ea + eb + |ea - eb| = twice the worse decoder's error
KEEP_INDEX = {False: False, True: True}  # keyed by portable

_HASH = 256  # open-addressing table of the (qa, qb[, index]) dedupe: > 2 * survivors * candidates


@njit(cache=True, inline="always")
def _slot_of(hkey, hgen, key, gen):  # type: ignore[no-untyped-def]
    """Position of ``key`` in the open-addressing table of generation ``gen`` (or its free slot)."""
    h = (key * 0x9E3779B1) & (_HASH - 1)
    while hgen[h] == gen and hkey[h] != key:
        h = (h + 1) & (_HASH - 1)
    return h


@njit(cache=True)
def _propose_dual(v, gen, ns, sa, sb, si, sea, seb, idx_tab, mag_ff, lv_val, lv_code, lv_cnt,  # type: ignore[no-untyped-def]
                  ncand, wmax, keep_index, c_a, c_b, c_i, c_ea, c_eb, cc, cid, cpar, ccode, alive,
                  hkey, hgen, hslot):
    """Every survivor proposes its ``ncand`` nearest levels; returns the candidate count."""
    m = 0
    for r in range(ns):
        pa = sa[r]
        pb = sb[r]
        i = si[r]
        d = v - ((pa + pb) >> 1)
        L = lv_cnt[i]
        lo = _first_level_at_least(lv_val, i, L, d)
        left = lo - 1
        right = lo
        for j in range(ncand):
            k, left, right = _next_nearest(lv_val, i, L, d, left, right)
            if k < 0:
                break
            c = lv_code[i, k]
            qa = _clip16(pa + lv_val[i, k])
            mb = mag_ff[i, c & 7]
            qb = _clip16(pb - mb if c & 8 else pb + mb)
            ni = _clip_index(i + idx_tab[c & 7])
            e1 = np.int64(v - qa)
            e2 = np.int64(v - qb)
            ea = sea[r] + e1 * e1
            eb = seb[r] + e2 * e2
            cost = ea + eb + wmax * (ea - eb if ea >= eb else eb - ea)
            key = (np.int64(qa + 32768) << 16) | np.int64(qb + 32768)
            if keep_index:
                key = (key << 7) | ni
            h = _slot_of(hkey, hgen, key, gen)
            if hgen[h] == gen:
                o = hslot[h]
                if cost >= cc[o]:
                    continue
                alive[o] = False
            hgen[h] = gen
            hkey[h] = key
            hslot[h] = m
            c_a[m] = qa
            c_b[m] = qb
            c_i[m] = ni
            c_ea[m] = ea
            c_eb[m] = eb
            cc[m] = cost
            cid[m] = r * ncand + j
            cpar[m] = r
            ccode[m] = c
            alive[m] = True
            m += 1
    return m


@njit(cache=True)
def search_dual_run(x, pred0, idx0, idx_tab, mag_ff, lv_val, lv_code, lv_cnt, nsurv, ncand,  # type: ignore[no-untyped-def]
                    wmax, keep_index, codes):
    """Trellis-encode int16 ``x`` (n,) into ``codes`` for both decoders; returns the
    reference decoder's ``(pred, idx)`` after the last code (see the module docstring)."""
    n = x.shape[0]
    K = nsurv
    M = K * ncand
    parent = np.empty((n, K), dtype=np.uint8)
    chosen = np.empty((n, K), dtype=np.uint8)
    sa = np.empty(K, dtype=np.int32)
    sb = np.empty(K, dtype=np.int32)
    si = np.empty(K, dtype=np.int32)
    sea = np.empty(K, dtype=np.int64)
    seb = np.empty(K, dtype=np.int64)
    c_a = np.empty(M, dtype=np.int32)
    c_b = np.empty(M, dtype=np.int32)
    c_i = np.empty(M, dtype=np.int32)
    c_ea = np.empty(M, dtype=np.int64)
    c_eb = np.empty(M, dtype=np.int64)
    cc = np.empty(M, dtype=np.int64)
    cid = np.empty(M, dtype=np.int32)
    cpar = np.empty(M, dtype=np.int32)
    ccode = np.empty(M, dtype=np.int32)
    alive = np.empty(M, dtype=np.bool_)
    heap = np.empty(K, dtype=np.int32)
    hkey = np.zeros(_HASH, dtype=np.int64)
    hgen = np.zeros(_HASH, dtype=np.int32)
    hslot = np.zeros(_HASH, dtype=np.int32)
    sa[0] = pred0
    sb[0] = pred0
    si[0] = idx0
    sea[0] = 0
    seb[0] = 0
    ns = 1
    for t in range(n):
        m = _propose_dual(np.int32(x[t]), t + 1, ns, sa, sb, si, sea, seb, idx_tab, mag_ff, lv_val,
                          lv_code, lv_cnt, ncand, wmax, keep_index, c_a, c_b, c_i, c_ea, c_eb, cc,
                          cid, cpar, ccode, alive, hkey, hgen, hslot)
        hn = _select(m, K, cc, cid, alive, heap)
        for u in range(hn):
            w = heap[u]
            sa[u] = c_a[w]
            sb[u] = c_b[w]
            si[u] = c_i[w]
            sea[u] = c_ea[w]
            seb[u] = c_eb[w]
            parent[t, u] = cpar[w]
            chosen[t, u] = ccode[w]
        ns = hn
    _backtrack(chosen, parent, n, codes)
    return sa[0], si[0]
