"""Slow scalar ADPCM, written straight from the formulas: the test oracles.

Every function here is a reference oracle: plain Python, one sample at a time,
obviously correct rather than fast. ``tests/test_adpcm.py`` holds the numba
kernels in :mod:`audiocodec.adpcm.kernels` to these bit for bit. The codec never
calls them.
"""

from __future__ import annotations

import numpy as np

from audiocodec.adpcm.tables import (
    ALL_MASK,
    INDEX_TABLE,
    LEVELS,
    MAG_FFMPEG,
    MAG_IMA,
    PORTABLE_MASK,
    SEARCH_CANDIDATES,
    SEARCH_SURVIVORS,
    STEP_TABLE,
    step_diff,
)

__all__ = [
    "reference_decode",
    "reference_encode_dual",
    "reference_encode_greedy",
    "reference_encode_search",
]

def _clip16(v: int) -> int:
    return -32768 if v < -32768 else 32767 if v > 32767 else v


def _clipidx(v: int) -> int:
    return 0 if v < 0 else 88 if v > 88 else v


def reference_decode(
    codes: list[int] | np.ndarray, predictor: int, index: int, variant: str = "ima"
) -> tuple[list[int], int, int]:
    """Decode one channel's codes, one sample at a time (reference oracle).

    Returns ``(samples, predictor, index)`` after the last code.
    """
    out = []
    p, i = int(predictor), int(index)
    for c in codes:
        c = int(c)
        d = step_diff(int(STEP_TABLE[i]), c & 7, variant)
        p = _clip16(p - d if c & 8 else p + d)
        i = _clipidx(i + int(INDEX_TABLE[c & 7]))
        out.append(p)
    return out, p, i


def reference_encode_greedy(
    x: list[int] | np.ndarray, predictor: int, index: int, *, portable: bool = False
) -> tuple[list[int], int, int]:
    """Greedy encoder for one channel of int16 samples (reference oracle).

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
    portable: bool = False,
) -> tuple[list[int], int, int]:
    """Trellis encoder for one channel of int16 samples (reference oracle, the specification).

    At each sample every survivor path proposes the ``candidates`` allowed
    signed levels nearest ``x - predictor`` (ties to the lower level). A
    candidate's key is (total squared error, survivor rank, proposal order). Of
    candidates that reach the same predictor only the lowest key is kept,
    whatever their step index (as ffmpeg's trellis does: it keeps the survivors
    diverse and measured better than keeping both); then the ``survivors``
    lowest keys survive, ranked by key. At the end the best path is traced back.
    Returns ``(codes, predictor, index)``.
    """
    val, code, cnt = LEVELS[bool(portable)]
    surv: list[tuple[int, int, int]] = [(int(predictor), int(index), 0)]  # (p, i, cost)
    history: list[list[tuple[int, int]]] = []  # per sample: (parent rank, code)
    for v in x:
        v = int(v)
        cands = []
        for r, (p, i, cost) in enumerate(surv):
            d = v - p
            lv = [int(val[i, k]) for k in range(int(cnt[i]))]
            order = sorted((abs(d - level), k) for k, level in enumerate(lv))
            for j, (_dist, k) in enumerate(order[:candidates]):
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
    return _trace_back(history), surv[0][0], surv[0][1]


def _trace_back(history: list[list[tuple[int, int]]]) -> list[int]:
    """The codes of the rank-0 path, from per-sample ``(parent rank, code)`` lists."""
    codes = [0] * len(history)
    k = 0
    for t in range(len(history) - 1, -1, -1):
        parent, c = history[t][k]
        codes[t] = c
        k = parent
    return codes


def reference_encode_dual(
    x: list[int] | np.ndarray,
    predictor: int,
    index: int,
    *,
    survivors: int,
    candidates: int,
    wmax: int,
    keep_index: bool,
    portable: bool = False,
) -> tuple[list[int], int, int]:
    """Trellis encoder over both decoders (reference oracle of
    :func:`audiocodec.adpcm.dual.search_dual_run`; the specification is that module's docstring).

    Returns ``(codes, predictor, index)`` of the IMA reference decoder after the last code.
    """
    val, code, cnt = LEVELS[bool(portable)]
    surv = [(int(predictor), int(predictor), int(index), 0, 0)]  # (pa, pb, i, ea, eb)
    history: list[list[tuple[int, int]]] = []
    for v in x:
        v = int(v)
        best: dict[tuple[int, ...], tuple] = {}
        for r, (pa, pb, i, ea, eb) in enumerate(surv):
            d = v - ((pa + pb) >> 1)
            order = sorted((abs(d - int(val[i, k])), k) for k in range(int(cnt[i])))
            for j, (_dist, k) in enumerate(order[:candidates]):
                c = int(code[i, k])
                qa = _clip16(pa + int(val[i, k]))
                mb = int(MAG_FFMPEG[i, c & 7])
                qb = _clip16(pb - mb if c & 8 else pb + mb)
                ni = _clipidx(i + int(INDEX_TABLE[c & 7]))
                na, nb = ea + (v - qa) ** 2, eb + (v - qb) ** 2
                cand = (na + nb + wmax * abs(na - nb), r, j, qa, qb, ni, na, nb, c)
                key = (qa, qb, ni) if keep_index else (qa, qb)
                if key not in best or cand[:3] < best[key][:3]:
                    best[key] = cand
        kept = sorted(best.values(), key=lambda cd: cd[:3])[:survivors]
        history.append([(cd[1], cd[8]) for cd in kept])
        surv = [(cd[3], cd[4], cd[5], cd[6], cd[7]) for cd in kept]
    return _trace_back(history), surv[0][0], surv[0][2]
