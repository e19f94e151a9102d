"""IMA/DVI ADPCM: 4 bits per sample, backward-adaptive, no look-ahead in the decoder.

This module owns the ADPCM arithmetic: the step and index tables, the greedy and
search (trellis) encoders, the decoder, the AQC packet layout, and the Microsoft
IMA ADPCM WAV block layout used by :mod:`audiocodec.imawav`.

Sample conversion
-----------------
Encoders take float32 ``(frames, channels)`` in [-1, 1). A sample becomes
``clip(rint(x * 32768), -32768, 32767)`` as int16 (``rint`` rounds half to even;
values beyond +-1 clip, they never wrap). Decoders return ``int16 / 32768`` as
float32, which is exact.

Decoding one code (the IMA reference, what sox and libsndfile do)
----------------------------------------------------------------
For step ``s = STEP_TABLE[index]`` and code ``c = sign<<3 | m`` (``m`` = 0..7)::

    diff  = (s >> 3) + (s if m & 4) + (s >> 1 if m & 2) + (s >> 2 if m & 1)
    pred  = clip(pred - diff if sign else pred + diff, -32768, 32767)
    index = clip(index + INDEX_TABLE[m], 0, 88)

ffmpeg's decoder computes ``diff = ((2*m + 1) * s) >> 3`` instead. That differs
from the reference by 0..2 for steps with ``s % 8`` in {3, 5, 6, 7} and some
``m``, so ffmpeg decodes a file to slightly different samples than sox and
libsndfile do (ffmpeg's own encoder models its own decoder). Decoders here take
``variant="ima"`` (default) or ``variant="ffmpeg"`` to reproduce either exactly.
Encoders take ``portable=True`` to use only the codes on which both formulas
agree at the current step (``m`` in {0, 4} always; all ``m`` when ``s % 8`` is
0, 1, 2 or 4), so every decoder yields identical samples. That costs about
3 dB of SNR (measured on ../shared/audio), so it is opt-in.

AQC packet layout (``encode_packet`` / ``decode_packet``)
---------------------------------------------------------
::

    offset          size  field
    3*c             2     predictor of channel c before the packet, int16 LE
    3*c + 2         1     step index of channel c before the packet, uint8 0..88
    3*C + k//2      -     code k in the low (k even) or high (k odd) nibble,
                          k = frame * C + channel, frames 0..n-1
    (if n*C is odd, the last high nibble is padding and must be 0)

    packet_size(C, n) = 3*C + ceil(n*C / 2)

Every packet carries the decoder state it starts from, so decoding can start at
any packet; ``n`` and ``C`` come from the container. A packet encodes all ``n``
samples of each channel (the header predictor is not a sample), so consecutive
packets from one :class:`AdpcmState` decode seamlessly.

IMA ADPCM WAV block layout (``encode_blocks`` / ``decode_blocks``)
-----------------------------------------------------------------
Microsoft's layout for ``block_align`` bytes and ``spb = (block_align/C - 4)*2 + 1``
samples per channel: per channel a 4-byte header (int16 LE first sample, which is
also the predictor; uint8 step index; a reserved 0 byte), then groups of 8
samples: for each group, for each channel, 4 bytes holding its 8 codes, low
nibble first. The step index carries over from block to block; the predictor is
reset to the block's first sample.

Latency
-------
The decoder has no look-ahead and the encoder's search only looks inside the
packet it is given: ``ALGORITHMIC_LATENCY_SAMPLES == 0`` beyond the packet
buffering itself (output sample ``i`` reconstructs input sample ``i``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from audiocodec.errors import FrameError, InputError

__all__ = [
    "ALGORITHMIC_LATENCY_SAMPLES",
    "INDEX_TABLE",
    "MAX_PACKET_FRAMES",
    "STEP_TABLE",
    "AdpcmState",
    "decode_blocks",
    "decode_packet",
    "encode_blocks",
    "encode_packet",
    "float_to_int16",
    "int16_to_float",
    "packet_size",
    "reference_decode",
    "reference_encode_greedy",
    "reference_encode_search",
]

ALGORITHMIC_LATENCY_SAMPLES: int = 0
MAX_PACKET_FRAMES = 65535
METHODS = ("greedy", "search")
VARIANTS = ("ima", "ffmpeg")

# IMA/DVI step sizes: roughly 7 * 1.1**n rounded (the published table is the
# normative one; it drifts a few units from the formula), capped at 32767.
STEP_TABLE = np.array(
    [
        7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 19, 21, 23, 25, 28, 31, 34, 37, 41, 45,
        50, 55, 60, 66, 73, 80, 88, 97, 107, 118, 130, 143, 157, 173, 190, 209, 230,
        253, 279, 307, 337, 371, 408, 449, 494, 544, 598, 658, 724, 796, 876, 963,
        1060, 1166, 1282, 1411, 1552, 1707, 1878, 2066, 2272, 2499, 2749, 3024, 3327,
        3660, 4026, 4428, 4871, 5358, 5894, 6484, 7132, 7845, 8630, 9493, 10442,
        11487, 12635, 13899, 15289, 16818, 18500, 20350, 22385, 24623, 27086, 29794,
        32767,
    ],
    dtype=np.int32,
)  # fmt: skip
# Index change per code magnitude: small codes shrink the step, large ones grow it.
INDEX_TABLE = np.array([-1, -1, -1, -1, 2, 4, 6, 8], dtype=np.int32)
N_STEPS = STEP_TABLE.shape[0]  # 89, valid indices 0..88

# Survivors kept and candidate codes tried per survivor by the search encoder.
# Measured on ../shared/audio: larger values add < 0.1 dB for a linear slowdown.
SEARCH_SURVIVORS = 8
SEARCH_CANDIDATES = 3
SEARCH_WIDE = 8  # survivors (best first) that propose all candidates; the rest propose 1


def _magnitudes(variant: str) -> np.ndarray:
    """Reconstruction magnitude ``diff`` for every (step index, m): int32 (89, 8)."""
    mag = np.empty((N_STEPS, 8), dtype=np.int32)
    for i, s in enumerate(STEP_TABLE.tolist()):
        for m in range(8):
            if variant == "ima":
                d = s >> 3
                if m & 4:
                    d += s
                if m & 2:
                    d += s >> 1
                if m & 1:
                    d += s >> 2
            else:
                d = ((2 * m + 1) * s) >> 3
            mag[i, m] = d
    return mag


MAG_IMA = _magnitudes("ima")
MAG_FFMPEG = _magnitudes("ffmpeg")
# Codes both decoders reconstruct identically at each step index.
PORTABLE_MASK = MAG_IMA == MAG_FFMPEG
ALL_MASK = np.ones_like(PORTABLE_MASK)


def _levels(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signed reconstruction levels allowed by ``mask``, strictly ascending per index.

    Returns ``(value int32 (89, 16), code uint8 (89, 16), count int32 (89,))``.
    Negative zero (code 8 when ``s >> 3 == 0``) is left out: it duplicates code 0.
    """
    val = np.zeros((N_STEPS, 16), dtype=np.int32)
    code = np.zeros((N_STEPS, 16), dtype=np.uint8)
    cnt = np.zeros(N_STEPS, dtype=np.int32)
    for i in range(N_STEPS):
        k = 0
        for m in range(7, -1, -1):
            if mask[i, m] and MAG_IMA[i, m] > 0:
                val[i, k] = -MAG_IMA[i, m]
                code[i, k] = 8 | m
                k += 1
        for m in range(8):
            if mask[i, m]:
                val[i, k] = MAG_IMA[i, m]
                code[i, k] = m
                k += 1
        cnt[i] = k
    return val, code, cnt


_LEVELS = {False: _levels(ALL_MASK), True: _levels(PORTABLE_MASK)}


# --------------------------------------------------------------------------- state


class AdpcmState:
    """Per-stream encoder state: one predictor and step index per channel.

    Parameters
    ----------
    channels : int
        Number of channels, >= 1.

    Attributes
    ----------
    predictor : np.ndarray
        int32 ``(channels,)``, the last reconstructed sample (int16 range).
    index : np.ndarray
        int32 ``(channels,)``, step index 0..88.
    """

    def __init__(self, channels: int) -> None:
        if not isinstance(channels, int | np.integer) or channels < 1:
            raise InputError(f"channels must be an integer >= 1, got {channels!r}")
        self.channels = int(channels)
        self.predictor = np.zeros(self.channels, dtype=np.int32)
        self.index = np.zeros(self.channels, dtype=np.int32)

    def reset(self) -> None:
        """Return to the start-of-stream state (predictor 0, step index 0)."""
        self.predictor[:] = 0
        self.index[:] = 0

    def __repr__(self) -> str:
        return (
            f"AdpcmState(channels={self.channels}, predictor={self.predictor.tolist()}, "
            f"index={self.index.tolist()})"
        )


# ---------------------------------------------------------------------- conversion


@njit(cache=True)
def _to_int16_kernel(pcm, out):  # type: ignore[no-untyped-def]
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


def _check_pcm(pcm: object, name: str = "pcm") -> np.ndarray:
    a = np.asarray(pcm)
    if a.ndim != 2:
        raise InputError(f"{name} must be 2-D (frames, channels), got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.floating):
        raise InputError(f"{name} must be float32 (frames, channels), got dtype {a.dtype}")
    if a.dtype != np.float32 and a.dtype != np.float64:
        a = a.astype(np.float32)
    return a


def float_to_int16(pcm: np.ndarray) -> np.ndarray:
    """Convert float audio to int16 as the encoders do.

    Parameters
    ----------
    pcm : np.ndarray
        float ``(frames, channels)``; values beyond +-1 are clipped.

    Returns
    -------
    np.ndarray
        int16 ``(frames, channels)``, ``clip(rint(pcm * 32768), -32768, 32767)``.
    """
    a = _check_pcm(pcm)
    out = np.empty(a.shape, dtype=np.int16)
    if not _to_int16_kernel(a, out):
        raise InputError("pcm holds NaN or infinite samples")
    return out


def int16_to_float(x: np.ndarray) -> np.ndarray:
    """int16 ``(frames, channels)`` to float32 ``x / 32768`` (exact)."""
    return np.asarray(x, dtype=np.int16).astype(np.float32) * np.float32(1.0 / 32768.0)


# ------------------------------------------------------------- reference (oracle)
# Slow scalar Python, written straight from the formulas. Tests hold the numba
# kernels to these bit for bit.


def _clip16(v: int) -> int:
    return -32768 if v < -32768 else 32767 if v > 32767 else v


def _clipidx(v: int) -> int:
    return 0 if v < 0 else 88 if v > 88 else v


def _ref_diff(s: int, m: int, variant: str) -> int:
    if variant == "ffmpeg":
        return ((2 * m + 1) * s) >> 3
    d = s >> 3
    if m & 4:
        d += s
    if m & 2:
        d += s >> 1
    if m & 1:
        d += s >> 2
    return d


def reference_decode(
    codes: list[int] | np.ndarray, predictor: int, index: int, variant: str = "ima"
) -> tuple[list[int], int, int]:
    """Decode one channel's codes, one sample at a time.

    Returns ``(samples, predictor, index)`` after the last code.
    """
    out = []
    p, i = int(predictor), int(index)
    for c in codes:
        c = int(c)
        d = _ref_diff(int(STEP_TABLE[i]), c & 7, variant)
        p = _clip16(p - d if c & 8 else p + d)
        i = _clipidx(i + int(INDEX_TABLE[c & 7]))
        out.append(p)
    return out, p, i


def reference_encode_greedy(
    x: list[int] | np.ndarray, predictor: int, index: int, *, portable: bool = False
) -> tuple[list[int], int, int]:
    """Greedy encoder for one channel of int16 samples.

    Each code takes the sign of ``x - predictor`` and the allowed magnitude whose
    clipped reconstruction is nearest ``x`` (ties go to the smaller magnitude).
    Returns ``(codes, predictor, index)``.
    """
    mask = PORTABLE_MASK if portable else ALL_MASK
    codes = []
    p, i = int(predictor), int(index)
    for v in x:
        v = int(v)
        neg = v - p < 0
        best_m, best_e, best_p = -1, 0, 0
        for m in range(8):
            if not mask[i, m]:
                continue
            d = int(MAG_IMA[i, m])
            r = _clip16(p - d if neg else p + d)
            e = abs(v - r)
            if best_m < 0 or e < best_e:
                best_m, best_e, best_p = m, e, r
        codes.append(best_m | (8 if neg else 0))
        p = best_p
        i = _clipidx(i + int(INDEX_TABLE[best_m]))
    return codes, p, i


def reference_encode_search(
    x: list[int] | np.ndarray,
    predictor: int,
    index: int,
    *,
    survivors: int = SEARCH_SURVIVORS,
    candidates: int = SEARCH_CANDIDATES,
    wide: int = SEARCH_WIDE,
    portable: bool = False,
) -> tuple[list[int], int, int]:
    """Trellis encoder for one channel of int16 samples (the specification).

    At each sample the ``wide`` best-ranked survivor paths propose the
    ``candidates`` allowed signed levels nearest ``x - predictor`` (ties to the
    lower level), the others only the nearest one. A candidate's key
    is (total squared error, survivor rank, proposal order). Of candidates that
    reach the same predictor only the lowest key is kept, whatever their step
    index (as ffmpeg's trellis does: it keeps the survivors diverse and measured
    better than keeping both); then the ``survivors`` lowest keys survive, ranked
    by key. At the end the best path is traced back.
    Returns ``(codes, predictor, index)``.
    """
    val, code, cnt = _LEVELS[bool(portable)]
    surv: list[tuple[int, int, int]] = [(int(predictor), int(index), 0)]  # (p, i, cost)
    history: list[list[tuple[int, int]]] = []  # per sample: (parent rank, code)
    for v in x:
        v = int(v)
        cands = []
        for r, (p, i, cost) in enumerate(surv):
            d = v - p
            lv = [int(val[i, k]) for k in range(int(cnt[i]))]
            order = sorted((abs(d - level), k) for k, level in enumerate(lv))
            for j, (_dist, k) in enumerate(order[: candidates if r < wide else 1]):
                c = int(code[i, k])
                np_ = _clip16(p + lv[k])
                ni = _clipidx(i + int(INDEX_TABLE[c & 7]))
                e = v - np_
                cands.append((cost + e * e, r, j, np_, ni, c))
        best: dict[int, tuple[int, int, int, int, int, int]] = {}
        for cd in cands:
            key = cd[3]
            if key not in best or cd[:3] < best[key][:3]:
                best[key] = cd
        kept = sorted(best.values(), key=lambda cd: cd[:3])[:survivors]
        history.append([(cd[1], cd[5]) for cd in kept])
        surv = [(cd[3], cd[4], cd[0]) for cd in kept]
    codes = [0] * len(history)
    k = 0
    for t in range(len(history) - 1, -1, -1):
        parent, c = history[t][k]
        codes[t] = c
        k = parent
    return codes, surv[0][0], surv[0][1]


# ------------------------------------------------------------------ numba kernels


@njit(cache=True)
def _greedy_run(x, pred, idx, step, idx_tab, mag, mask, portable, codes):  # type: ignore[no-untyped-def]
    """Greedy-encode int16 ``x`` (n,) into ``codes`` (n,) uint8; returns (pred, idx)."""
    n = x.shape[0]
    for t in range(n):
        v = np.int32(x[t])
        dd = v - pred
        neg = dd < 0
        if portable:
            best_m = -1
            best_e = 0
            best_p = 0
            for m in range(8):
                if not mask[idx, m]:
                    continue
                r = pred - mag[idx, m] if neg else pred + mag[idx, m]
                if r > 32767:
                    r = 32767
                elif r < -32768:
                    r = -32768
                e = v - r if v >= r else r - v
                if best_m < 0 or e < best_e:
                    best_m = m
                    best_e = e
                    best_p = r
        else:
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
            r = pred - mag[idx, m] if neg else pred + mag[idx, m]
            if r > 32767:
                r = 32767
            elif r < -32768:
                r = -32768
            best_m = m
            best_p = r
            best_e = v - r if v >= r else r - v
            if m > 0:
                r2 = pred - mag[idx, m - 1] if neg else pred + mag[idx, m - 1]
                if r2 > 32767:
                    r2 = 32767
                elif r2 < -32768:
                    r2 = -32768
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
        codes[t] = best_m | 8 if neg else best_m
        pred = best_p
        idx += idx_tab[best_m]
        if idx < 0:
            idx = 0
        elif idx > 88:
            idx = 88
    return pred, idx


@njit(cache=True)
def _heap_less(ac, ai, bc, bi):  # type: ignore[no-untyped-def]
    return ac < bc or (ac == bc and ai < bi)


@njit(cache=True, inline="always")
def _sift_down(heap, u, size, cc, cid):  # type: ignore[no-untyped-def]
    """Put ``u`` at the root of the max-heap ``heap[:size]`` (keyed by (cc, cid)) and sift it
    down to its place."""
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


@njit(cache=True)
def _search_run(x, pred0, idx0, idx_tab, lv_val, lv_code, lv_cnt, nsurv, ncand, nwide, codes):  # type: ignore[no-untyped-def]
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
        v = np.int32(x[t])
        gen = t + 1
        m = 0
        # 1. every survivor proposes its nearest levels; one path per predictor value
        for r in range(ns):
            p = sp[r]
            i = si[r]
            base = sc[r]
            d = v - p
            L = lv_cnt[i]
            lo = 0
            hi = L
            while lo < hi:
                mid = (lo + hi) >> 1
                if lv_val[i, mid] < d:
                    lo = mid + 1
                else:
                    hi = mid
            left = lo - 1
            right = lo
            nc = ncand if r < nwide else 1
            for j in range(nc):
                if left < 0 and right >= L:
                    break
                if left < 0:
                    k = right
                    right += 1
                elif right >= L:
                    k = left
                    left -= 1
                elif d - lv_val[i, left] <= lv_val[i, right] - d:
                    k = left
                    left -= 1
                else:
                    k = right
                    right += 1
                c = lv_code[i, k]
                q = p + lv_val[i, k]
                if q > 32767:
                    q = 32767
                elif q < -32768:
                    q = -32768
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
                qi = i + idx_tab[c & 7]
                if qi < 0:
                    qi = 0
                elif qi > 88:
                    qi = 88
                cp[m] = q
                ci[m] = qi
                cc[m] = cost
                cid[m] = r * ncand + j
                cpar[m] = r
                ccode[m] = c
                alive[m] = True
                m += 1
        # 2. keep the K lowest (cost, id): a max-heap of candidate numbers
        hn = 0
        for u in range(m):
            if not alive[u]:
                continue
            if hn < K:
                pos = hn
                hn += 1
                while pos > 0:
                    par = (pos - 1) >> 1
                    w = heap[par]
                    if _heap_less(cc[w], cid[w], cc[u], cid[u]):
                        heap[pos] = w
                        pos = par
                    else:
                        break
                heap[pos] = u
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
        for u in range(hn):
            w = heap[u]
            sp[u] = cp[w]
            si[u] = ci[w]
            sc[u] = cc[w]
            parent[t, u] = cpar[w]
            chosen[t, u] = ccode[w]
        ns = hn
    k = 0
    for t in range(n - 1, -1, -1):
        codes[t] = chosen[t, k]
        k = parent[t, k]
    return sp[0], si[0]


@njit(cache=True)
def _decode_run(codes, pred, idx, idx_tab, mag, out):  # type: ignore[no-untyped-def]
    """Decode uint8 ``codes`` (n,) into int16 ``out`` (n,); returns (pred, idx)."""
    for t in range(codes.shape[0]):
        c = codes[t]
        m = c & 7
        d = mag[idx, m]
        pred = pred - d if c & 8 else pred + d
        if pred > 32767:
            pred = 32767
        elif pred < -32768:
            pred = -32768
        idx += idx_tab[m]
        if idx < 0:
            idx = 0
        elif idx > 88:
            idx = 88
        out[t] = pred
    return pred, idx


@njit(cache=True)
def _encode_channel(x, pred, idx, method, portable, nsurv, ncand, nwide, codes,  # type: ignore[no-untyped-def]
                    step, idx_tab, mag, mask, lv_val, lv_code, lv_cnt):
    if method == 0:
        return _greedy_run(x, pred, idx, step, idx_tab, mag, mask, portable, codes)
    return _search_run(x, pred, idx, idx_tab, lv_val, lv_code, lv_cnt, nsurv, ncand, nwide,
                       codes)


@njit(cache=True)
def _encode_packet_kernel(x, pred, idx, method, nsurv, ncand, nwide, out,  # type: ignore[no-untyped-def]
                          step, idx_tab, mag, mask, lv_val, lv_code, lv_cnt):
    n, ch = x.shape
    codes = np.empty(n, dtype=np.uint8)
    col = np.empty(n, dtype=np.int16)
    hdr = 3 * ch
    for k in range(hdr, out.shape[0]):
        out[k] = 0
    for c in range(ch):
        p = pred[c]
        out[3 * c] = p & 0xFF
        out[3 * c + 1] = (p >> 8) & 0xFF
        out[3 * c + 2] = idx[c]
        for t in range(n):
            col[t] = x[t, c]
        p2, i2 = _encode_channel(col, p, idx[c], method, False, nsurv, ncand, nwide, codes,
                                 step, idx_tab, mag, mask, lv_val, lv_code, lv_cnt)
        pred[c] = p2
        idx[c] = i2
        for t in range(n):
            k = t * ch + c
            if k & 1:
                out[hdr + (k >> 1)] |= codes[t] << 4
            else:
                out[hdr + (k >> 1)] |= codes[t]


@njit(cache=True)
def _decode_packet_kernel(buf, ch, n, idx_tab, mag, out):  # type: ignore[no-untyped-def]
    hdr = 3 * ch
    codes = np.empty(n, dtype=np.uint8)
    col = np.empty(n, dtype=np.int16)
    for c in range(ch):
        p = np.int32(buf[3 * c]) | (np.int32(buf[3 * c + 1]) << 8)
        if p >= 32768:
            p -= 65536
        i = np.int32(buf[3 * c + 2])
        for t in range(n):
            k = t * ch + c
            b = buf[hdr + (k >> 1)]
            codes[t] = (b >> 4) if k & 1 else (b & 0xF)
        _decode_run(codes, p, i, idx_tab, mag, col)
        for t in range(n):
            out[t, c] = col[t]


@njit(cache=True)
def _encode_blocks_kernel(x, spb, block_align, idx, method, portable, nsurv, ncand, nwide, out,  # type: ignore[no-untyped-def]
                          step, idx_tab, mag, mask, lv_val, lv_code, lv_cnt):
    total, ch = x.shape
    nblk = total // spb
    ncode = spb - 1
    codes = np.empty(ncode, dtype=np.uint8)
    col = np.empty(ncode, dtype=np.int16)
    for b in range(nblk):
        o = b * block_align
        s0 = b * spb
        for c in range(ch):
            p = np.int32(x[s0, c])
            out[o + 4 * c] = p & 0xFF
            out[o + 4 * c + 1] = (p >> 8) & 0xFF
            out[o + 4 * c + 2] = idx[c]
            out[o + 4 * c + 3] = 0
            for t in range(ncode):
                col[t] = x[s0 + 1 + t, c]
            _p, i2 = _encode_channel(col, p, idx[c], method, portable, nsurv, ncand, nwide, codes,
                                     step, idx_tab, mag, mask, lv_val, lv_code, lv_cnt)
            idx[c] = i2
            for g in range(ncode // 8):
                base = o + 4 * ch + (g * ch + c) * 4
                for j in range(4):
                    out[base + j] = codes[8 * g + 2 * j] | (codes[8 * g + 2 * j + 1] << 4)


@njit(cache=True)
def _decode_blocks_kernel(buf, nblk, block_align, spb, ch, idx_tab, mag, out):  # type: ignore[no-untyped-def]
    """Decode ``nblk`` blocks; returns -1, or the number of the first bad block."""
    ncode = spb - 1
    codes = np.empty(ncode, dtype=np.uint8)
    col = np.empty(ncode, dtype=np.int16)
    for b in range(nblk):
        o = b * block_align
        s0 = b * spb
        for c in range(ch):
            p = np.int32(buf[o + 4 * c]) | (np.int32(buf[o + 4 * c + 1]) << 8)
            if p >= 32768:
                p -= 65536
            i = np.int32(buf[o + 4 * c + 2])
            if i > 88:
                return b
            out[s0, c] = p
            for g in range(ncode // 8):
                base = o + 4 * ch + (g * ch + c) * 4
                for j in range(4):
                    byte = buf[base + j]
                    codes[8 * g + 2 * j] = byte & 0xF
                    codes[8 * g + 2 * j + 1] = byte >> 4
            _decode_run(codes, p, i, idx_tab, mag, col)
            for t in range(ncode):
                out[s0 + 1 + t, c] = col[t]
    return -1


# --------------------------------------------------------------------- wrappers


def _method_id(method: str) -> int:
    if method not in METHODS:
        raise InputError(f"method must be one of {METHODS}, got {method!r}")
    return METHODS.index(method)


def _tables(portable: bool) -> tuple[np.ndarray, ...]:
    val, code, cnt = _LEVELS[bool(portable)]
    mask = PORTABLE_MASK if portable else ALL_MASK
    return STEP_TABLE, INDEX_TABLE, MAG_IMA, mask, val, code, cnt


def packet_size(channels: int, n: int) -> int:
    """Bytes in a packet of ``n`` frames of ``channels`` channels.

    ``3 * channels + ceil(n * channels / 2)``.
    """
    if channels < 1 or n < 0:
        raise InputError(f"need channels >= 1 and n >= 0, got channels={channels}, n={n}")
    return 3 * channels + (n * channels + 1) // 2


def encode_packet(pcm: np.ndarray, state: AdpcmState, *, method: str = "greedy") -> bytes:
    """Encode one packet and advance ``state``.

    Parameters
    ----------
    pcm : np.ndarray
        float32 ``(n, channels)``, ``1 <= n <= 65535``; values beyond +-1 clip.
    state : AdpcmState
        Encoder state for this stream; its channel count must match ``pcm``.
    method : {'greedy', 'search'}
        ``'greedy'`` picks each code on its own (fastest, for the live loop);
        ``'search'`` runs a trellis over the packet to lower the squared error.

    Returns
    -------
    bytes
        ``packet_size(channels, n)`` bytes, laid out as in the module docstring.
    """
    mid = _method_id(method)
    a = _check_pcm(pcm)
    n, ch = a.shape
    if not 1 <= n <= MAX_PACKET_FRAMES:
        raise InputError(f"packet must hold 1..{MAX_PACKET_FRAMES} frames, got {n}")
    if not isinstance(state, AdpcmState) or state.channels != ch:
        got = getattr(state, "channels", type(state).__name__)
        raise InputError(f"state must be an AdpcmState with {ch} channels, got {got}")
    x = float_to_int16(a)
    out = np.empty(packet_size(ch, n), dtype=np.uint8)
    _encode_packet_kernel(
        x, state.predictor, state.index, mid, SEARCH_SURVIVORS, SEARCH_CANDIDATES, SEARCH_WIDE,
        out,
        *_tables(False),
    )
    return out.tobytes()


def decode_packet(payload: bytes, channels: int, n: int) -> np.ndarray:
    """Decode one packet.

    Parameters
    ----------
    payload : bytes
        Exactly ``packet_size(channels, n)`` bytes.
    channels, n : int
        Channel count and frame count (from the container), ``1 <= n <= 65535``.

    Returns
    -------
    np.ndarray
        float32 ``(n, channels)``.

    Raises
    ------
    FrameError
        Wrong length, a step index above 88, a non-zero padding nibble, or
        impossible ``channels``/``n``. Nothing else is raised for any bytes.
    """
    if not isinstance(channels, int | np.integer) or not 1 <= channels <= 255:
        raise FrameError(f"ADPCM packet: channels must be 1..255, got {channels!r}")
    if not isinstance(n, int | np.integer) or not 1 <= n <= MAX_PACKET_FRAMES:
        raise FrameError(f"ADPCM packet: n must be 1..{MAX_PACKET_FRAMES}, got {n!r}")
    try:
        buf = np.frombuffer(payload, dtype=np.uint8)
    except (TypeError, ValueError) as exc:
        raise FrameError(f"ADPCM packet: payload is not bytes ({exc})") from None
    want = packet_size(int(channels), int(n))
    if buf.shape[0] != want:
        raise FrameError(
            f"ADPCM packet of {n} frames x {channels} channels needs {want} bytes, "
            f"got {buf.shape[0]}"
        )
    hdr_idx = buf[2 : 3 * channels : 3]
    if hdr_idx.max() > 88:
        c = int(np.argmax(hdr_idx > 88))
        raise FrameError(f"ADPCM packet: step index of channel {c} is {hdr_idx[c]}, max 88")
    if (n * channels) & 1 and buf[-1] >> 4:
        raise FrameError("ADPCM packet: padding nibble is not zero")
    out = np.empty((n, channels), dtype=np.int16)
    _decode_packet_kernel(buf, int(channels), int(n), INDEX_TABLE, MAG_IMA, out)
    return int16_to_float(out)


def block_samples_for(block_align: int, channels: int) -> int:
    """Samples per channel in a Microsoft IMA ADPCM block of ``block_align`` bytes."""
    return (block_align // channels - 4) * 2 + 1


def block_align_for(block_samples: int, channels: int) -> int:
    """Bytes in a block of ``block_samples`` (``8k + 1``) samples per channel."""
    return channels * (4 + (block_samples - 1) // 2)


def encode_blocks(
    x: np.ndarray,
    block_samples: int,
    index: np.ndarray,
    *,
    method: str = "search",
    portable: bool = False,
) -> bytes:
    """Encode whole IMA ADPCM WAV blocks.

    Parameters
    ----------
    x : np.ndarray
        int16 ``(nblocks * block_samples, channels)``.
    block_samples : int
        Samples per channel per block, ``8k + 1`` with ``k >= 1``.
    index : np.ndarray
        int32 ``(channels,)`` step index carried between blocks; updated in place.
    method : {'greedy', 'search'}
    portable : bool
        Use only codes every common decoder reconstructs identically.

    Returns
    -------
    bytes
        ``nblocks * block_align_for(block_samples, channels)`` bytes.
    """
    mid = _method_id(method)
    x = np.asarray(x)
    if x.dtype != np.int16 or x.ndim != 2:
        raise InputError(f"x must be int16 (frames, channels), got {x.dtype} {x.shape}")
    if block_samples < 9 or (block_samples - 1) % 8:
        raise InputError(f"block_samples must be 8k + 1 with k >= 1, got {block_samples}")
    if x.shape[0] % block_samples:
        raise InputError(
            f"x must hold whole blocks of {block_samples} frames, got {x.shape[0]}"
        )
    ch = x.shape[1]
    ba = block_align_for(block_samples, ch)
    out = np.empty((x.shape[0] // block_samples) * ba, dtype=np.uint8)
    _encode_blocks_kernel(
        x, block_samples, ba, index, mid, bool(portable), SEARCH_SURVIVORS, SEARCH_CANDIDATES,
        SEARCH_WIDE, out, *_tables(portable),
    )
    return out.tobytes()


def decode_blocks(
    data: bytes | np.ndarray,
    channels: int,
    block_align: int,
    block_samples: int,
    *,
    variant: str = "ima",
) -> np.ndarray:
    """Decode IMA ADPCM WAV blocks, the last of which may be short.

    Parameters
    ----------
    data : bytes or np.ndarray
        Whole blocks of ``block_align`` bytes, then optionally one short block;
        a short block yields ``1 + 8 * g`` samples for its ``g`` whole 4-byte
        groups per channel (as ffmpeg, sox and libsndfile do), none if it is
        shorter than its headers.
    channels, block_align, block_samples : int
        From the WAV ``fmt`` chunk; ``block_samples <= block_samples_for(...)``.
    variant : {'ima', 'ffmpeg'}
        Reconstruction formula (see the module docstring).

    Returns
    -------
    np.ndarray
        int16 ``(frames, channels)``.

    Raises
    ------
    FrameError
        A block's step index is above 88.
    """
    if variant not in VARIANTS:
        raise InputError(f"variant must be one of {VARIANTS}, got {variant!r}")
    if channels < 1 or block_align < 4 * channels or block_samples < 1:
        raise InputError(
            f"bad block geometry: channels={channels}, block_align={block_align}, "
            f"block_samples={block_samples}"
        )
    if block_samples > block_samples_for(block_align, channels):
        raise InputError(
            f"{block_samples} samples per block do not fit in {block_align} bytes "
            f"for {channels} channels"
        )
    buf = np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes | bytearray) else data
    mag = MAG_IMA if variant == "ima" else MAG_FFMPEG
    # Only whole 8-code groups are decoded, as ffmpeg, sox and libsndfile do.
    spb_eff = 1 + ((block_samples - 1) // 8) * 8
    nfull = buf.shape[0] // block_align
    rest = buf.shape[0] - nfull * block_align
    tail = 0
    if rest >= 4 * channels:
        tail = 1 + min((rest - 4 * channels) // (4 * channels), (spb_eff - 1) // 8) * 8
    out = np.empty((nfull * spb_eff + tail, channels), dtype=np.int16)
    bad = _decode_blocks_kernel(buf, nfull, block_align, spb_eff, channels, INDEX_TABLE, mag, out)
    if bad < 0 and tail:
        bad2 = _decode_blocks_kernel(
            buf[nfull * block_align :], 1, block_align, tail, channels, INDEX_TABLE, mag,
            out[nfull * spb_eff :],
        )
        bad = -1 if bad2 < 0 else nfull
    if bad >= 0:
        raise FrameError(f"IMA ADPCM block {bad}: step index above 88")
    return out
