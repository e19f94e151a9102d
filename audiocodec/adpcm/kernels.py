"""Numba kernels for one channel of ADPCM codes: greedy and search encoders, the decoder.

The kernels are plain loops over preallocated arrays, compiled with
``njit(cache=True)``; they trust their input (the wrappers in
:mod:`audiocodec.adpcm.packets` and :mod:`audiocodec.adpcm.blocks` validate it)
and take the tables as arguments, in the order of
:func:`audiocodec.adpcm.tables.kernel_tables`. The slow oracles they must equal
bit for bit are in :mod:`audiocodec.adpcm.reference`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from audiocodec.errors import InputError

__all__ = ["METHODS", "decode_run", "encode_channel", "method_id", "to_int16"]

METHODS = ("greedy", "search")


def method_id(method: str) -> int:
    """The kernels' number for an encoder ``method`` ('greedy' 0, 'search' 1)."""
    if method not in METHODS:
        raise InputError(f"method must be one of {METHODS}, got {method!r}")
    return METHODS.index(method)


# ------------------------------------------------------------------ clipping


@njit(cache=True, inline="always")
def _clip16(v):  # type: ignore[no-untyped-def]
    if v > 32767:
        return 32767
    if v < -32768:
        return -32768
    return v


@njit(cache=True, inline="always")
def _clip_index(v):  # type: ignore[no-untyped-def]
    if v < 0:
        return 0
    if v > 88:
        return 88
    return v


@njit(cache=True)
def to_int16(pcm, out):  # type: ignore[no-untyped-def]
    """``out = clip(rint(pcm * 32768))`` as int16; False (out partly filled) on NaN/inf."""
    n, ch = pcm.shape
    for t in range(n):
        for c in range(ch):
            v = pcm[t, c]
            if not np.isfinite(v):
                return False
            v = np.rint(v * 32768.0)
            if v > 32767.0:
                v = 32767.0
            elif v < -32768.0:
                v = -32768.0
            out[t, c] = np.int16(v)
    return True


# -------------------------------------------------------------------- greedy


@njit(cache=True, inline="always")
def _greedy_masked(v, neg, pred, idx, mag, mask):  # type: ignore[no-untyped-def]
    """Nearest allowed code by trying every ``m`` (portable codes are not contiguous)."""
    best_m = -1
    best_e = 0
    best_p = 0
    for m in range(8):
        if not mask[idx, m]:
            continue
        r = _clip16(pred - mag[idx, m] if neg else pred + mag[idx, m])
        e = v - r if v >= r else r - v
        if best_m < 0 or e < best_e:
            best_m = m
            best_e = e
            best_p = r
    return best_m, best_p


@njit(cache=True, inline="always")
def _greedy_binary(v, dd, neg, pred, idx, step, mag):  # type: ignore[no-untyped-def]
    """Nearest code of all eight, from the reference's binary decision."""
    # The reference binary decision gives the largest m whose offset
    # (level minus s/8) is <= |d|; the nearest level is then m - 1 or m,
    # or m + 1 when clipping pulls it back onto the rail.
    s = step[idx]
    a = -dd if neg else dd
    m = 0
    if a >= s:
        m = 4
        a -= s
    if a >= (s >> 1):
        m |= 2
        a -= s >> 1
    if a >= (s >> 2):
        m |= 1
    r = _clip16(pred - mag[idx, m] if neg else pred + mag[idx, m])
    best_m = m
    best_p = r
    best_e = v - r if v >= r else r - v
    if m > 0:
        r2 = _clip16(pred - mag[idx, m - 1] if neg else pred + mag[idx, m - 1])
        e2 = v - r2 if v >= r2 else r2 - v
        if e2 <= best_e:
            best_m = m - 1
            best_p = r2
            best_e = e2
    if m < 7:
        # m + 1 is only nearer when clipping pulls it back onto the rail
        r3 = pred - mag[idx, m + 1] if neg else pred + mag[idx, m + 1]
        if r3 > 32767 or r3 < -32768:
            r3 = 32767 if r3 > 32767 else -32768
            e3 = v - r3 if v >= r3 else r3 - v
            if e3 < best_e:
                best_m = m + 1
                best_p = r3
    return best_m, best_p


@njit(cache=True)
def greedy_run(x, pred, idx, step, idx_tab, mag, mask, portable, codes):  # type: ignore[no-untyped-def]
    """Greedy-encode int16 ``x`` (n,) into ``codes`` (n,) uint8; returns (pred, idx)."""
    n = x.shape[0]
    for t in range(n):
        v = np.int32(x[t])
        dd = v - pred
        neg = dd < 0
        if portable:
            best_m, best_p = _greedy_masked(v, neg, pred, idx, mag, mask)
        else:
            best_m, best_p = _greedy_binary(v, dd, neg, pred, idx, step, mag)
        codes[t] = best_m | 8 if neg else best_m
        pred = best_p
        idx = _clip_index(idx + idx_tab[best_m])
    return pred, idx


# -------------------------------------------------------------------- search


@njit(cache=True)
def _heap_less(ac, ai, bc, bi):  # type: ignore[no-untyped-def]
    return ac < bc or (ac == bc and ai < bi)


@njit(cache=True, inline="always")
def _sift_up(heap, u, pos, cc, cid):  # type: ignore[no-untyped-def]
    """Put ``u`` at the new leaf ``pos`` of the max-heap ``heap[:pos + 1]`` (keyed by
    (cc, cid)) and sift it up to its place; mirrored pair of :func:`_sift_down`."""
    while pos > 0:
        par = (pos - 1) >> 1
        w = heap[par]
        if _heap_less(cc[w], cid[w], cc[u], cid[u]):
            heap[pos] = w
            pos = par
        else:
            break
    heap[pos] = u


@njit(cache=True, inline="always")
def _sift_down(heap, u, size, cc, cid):  # type: ignore[no-untyped-def]
    """Put ``u`` at the root of the max-heap ``heap[:size]`` (keyed by (cc, cid)) and sift it
    down to its place; mirrored pair of :func:`_sift_up`."""
    pos = 0
    while True:
        ch = 2 * pos + 1
        if ch >= size:
            break
        if ch + 1 < size and _heap_less(cc[heap[ch]], cid[heap[ch]], cc[heap[ch + 1]], cid[heap[ch + 1]]):
            ch += 1
        w = heap[ch]
        if _heap_less(cc[u], cid[u], cc[w], cid[w]):
            heap[pos] = w
            pos = ch
        else:
            break
    heap[pos] = u


@njit(cache=True, inline="always")
def _first_level_at_least(lv_val, i, count, d):  # type: ignore[no-untyped-def]
    """Binary search: the first ``k < count`` with ``lv_val[i, k] >= d`` (or ``count``)."""
    lo = 0
    hi = count
    while lo < hi:
        mid = (lo + hi) >> 1
        if lv_val[i, mid] < d:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def _next_nearest(lv_val, i, count, d, left, right):  # type: ignore[no-untyped-def]
    """One step of the walk outward from ``d`` over the sorted levels ``lv_val[i, :count]``:
    ``left``/``right`` are the next unvisited levels below/above; returns ``(k, left,
    right)`` with ``k`` the nearer of the two (ties to the lower), or -1 when both are spent."""
    if left < 0 and right >= count:
        return -1, left, right
    if left < 0 or (right < count and lv_val[i, right] - d < d - lv_val[i, left]):
        return right, left, right + 1
    return left, left - 1, right


@njit(cache=True, inline="always")
def _backtrack(chosen, parent, n, codes):  # type: ignore[no-untyped-def]
    """The codes of the best path (survivor 0 at the end), read back through the parents."""
    k = 0
    for t in range(n - 1, -1, -1):
        codes[t] = chosen[t, k]
        k = parent[t, k]


@njit(cache=True)
def _propose(v, gen, ns, sp, si, sc, idx_tab, lv_val, lv_code, lv_cnt, ncand,  # type: ignore[no-untyped-def]
             cp, ci, cc, cid, cpar, ccode, alive, stamp, slot):
    """Step 1 of a search sample: every survivor proposes its ``ncand`` nearest levels.

    Fills the candidate arrays ``cp, ci, cc, cid, cpar, ccode, alive`` and returns
    their count. Of candidates reaching the same predictor only the cheapest stays
    alive (``stamp``/``slot`` index them by predictor for generation ``gen``).
    """
    m = 0
    for r in range(ns):
        p = sp[r]
        i = si[r]
        base = sc[r]
        d = v - p
        L = lv_cnt[i]
        lo = _first_level_at_least(lv_val, i, L, d)
        left = lo - 1
        right = lo
        for j in range(ncand):
            k, left, right = _next_nearest(lv_val, i, L, d, left, right)
            if k < 0:
                break
            c = lv_code[i, k]
            q = _clip16(p + lv_val[i, k])
            e = np.int64(v - q)
            cost = base + e * e
            h = q + 32768
            if stamp[h] == gen:
                o = slot[h]
                if cost >= cc[o]:
                    continue
                alive[o] = False
            stamp[h] = gen
            slot[h] = m
            cp[m] = q
            ci[m] = _clip_index(i + idx_tab[c & 7])
            cc[m] = cost
            cid[m] = r * ncand + j
            cpar[m] = r
            ccode[m] = c
            alive[m] = True
            m += 1
    return m


@njit(cache=True)
def _select(m, K, cc, cid, alive, heap):  # type: ignore[no-untyped-def]
    """Steps 2-3: the (up to) ``K`` live candidates of lowest (cost, id), ranked, in ``heap``.

    Returns how many were kept.
    """
    # 2. keep the K lowest (cost, id): a max-heap of candidate numbers
    hn = 0
    for u in range(m):
        if not alive[u]:
            continue
        if hn < K:
            _sift_up(heap, u, hn, cc, cid)
            hn += 1
        else:
            top = heap[0]
            if not _heap_less(cc[u], cid[u], cc[top], cid[top]):
                continue
            _sift_down(heap, u, hn, cc, cid)
    # 3. heap-sort so survivors are ranked by key
    for end in range(hn - 1, 0, -1):
        top = heap[0]
        u = heap[end]
        heap[end] = top
        _sift_down(heap, u, end, cc, cid)
    return hn


@njit(cache=True)
def search_run(x, pred0, idx0, idx_tab, lv_val, lv_code, lv_cnt, nsurv, ncand, codes):  # type: ignore[no-untyped-def]
    """Trellis-encode int16 ``x`` (n,) into ``codes``; see reference_encode_search."""
    n = x.shape[0]
    K = nsurv
    M = K * ncand
    parent = np.empty((n, K), dtype=np.uint8)
    chosen = np.empty((n, K), dtype=np.uint8)
    sp = np.empty(K, dtype=np.int32)
    si = np.empty(K, dtype=np.int32)
    sc = np.empty(K, dtype=np.int64)
    cp = np.empty(M, dtype=np.int32)
    ci = np.empty(M, dtype=np.int32)
    cc = np.empty(M, dtype=np.int64)
    cid = np.empty(M, dtype=np.int32)
    cpar = np.empty(M, dtype=np.int32)
    ccode = np.empty(M, dtype=np.int32)
    alive = np.empty(M, dtype=np.bool_)
    heap = np.empty(K, dtype=np.int32)
    stamp = np.zeros(65536, dtype=np.int32)
    slot = np.empty(65536, dtype=np.int32)
    sp[0] = pred0
    si[0] = idx0
    sc[0] = 0
    ns = 1
    for t in range(n):
        m = _propose(np.int32(x[t]), t + 1, ns, sp, si, sc, idx_tab, lv_val, lv_code, lv_cnt, ncand,
                     cp, ci, cc, cid, cpar, ccode, alive, stamp, slot)
        hn = _select(m, K, cc, cid, alive, heap)
        for u in range(hn):
            w = heap[u]
            sp[u] = cp[w]
            si[u] = ci[w]
            sc[u] = cc[w]
            parent[t, u] = cpar[w]
            chosen[t, u] = ccode[w]
        ns = hn
    _backtrack(chosen, parent, n, codes)
    return sp[0], si[0]


# -------------------------------------------------------------------- decode


@njit(cache=True)
def decode_run(codes, pred, idx, idx_tab, mag, out):  # type: ignore[no-untyped-def]
    """Decode uint8 ``codes`` (n,) into int16 ``out`` (n,); returns (pred, idx)."""
    for t in range(codes.shape[0]):
        c = codes[t]
        m = c & 7
        d = mag[idx, m]
        pred = _clip16(pred - d if c & 8 else pred + d)
        idx = _clip_index(idx + idx_tab[m])
        out[t] = pred
    return pred, idx


@njit(cache=True)
def encode_channel(x, pred, idx, method, portable, nsurv, ncand, codes,  # type: ignore[no-untyped-def]
                   step, idx_tab, mag, mask, lv_val, lv_code, lv_cnt):
    """Encode one channel with ``method`` (see :func:`method_id`); returns (pred, idx)."""
    if method == 0:
        return greedy_run(x, pred, idx, step, idx_tab, mag, mask, portable, codes)
    return search_run(x, pred, idx, idx_tab, lv_val, lv_code, lv_cnt, nsurv, ncand, codes)
