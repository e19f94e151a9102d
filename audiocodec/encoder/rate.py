"""Rate control kernels (encoder only): magnitudes, the fast quantizer, the bit
estimator, scale-factor construction, the global-step search and the noise-fill level.

``estimate_bits`` predicts what :func:`audiocodec.core.entropy.encode_payload`
will spend, so the rate loop does not run the range coder for every candidate ``g``.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from ..core.entropy import ESCAPE, N_CTX, NSYM_MAG, NSYM_SF, SF_OFFSET, context_of, nbc_bits, sf_prediction
from ..core.quant import (
    LAW_POWER,
    NF_STEP_16THS,
    POWER_ROUND,
    QMAX,
    SF_BIAS,
    SF_DELTA_MAX,
    SF_MAX,
    coarse_delta,
    noise_filled,
)


@njit(cache=True)
def magnitudes(coefs: NDArray[np.float64], law: int, mag: NDArray[np.float64]) -> None:
    """``|x| ** 0.75`` (power law) or ``|x|``, computed once per frame for the rate loop."""
    for c in range(coefs.shape[0]):
        for k in range(coefs.shape[1]):
            a = abs(coefs[c, k])
            mag[c, k] = np.sqrt(a * np.sqrt(a)) if law == LAW_POWER else a  # a**0.75, cheaper


@njit(cache=True, inline="always")
def _quantize_mag(
    coefs: NDArray[np.float64], mag: NDArray[np.float64], dither: NDArray[np.float64],
    sf: NDArray[np.int32], edges: NDArray[np.int32], nb: int, law: int, q: NDArray[np.int32],
) -> None:
    expo = 0.75 if law == LAW_POWER else 1.0
    rnd = POWER_ROUND if law == LAW_POWER else 0.5
    for c in range(coefs.shape[0]):
        for b in range(nb):
            inv = 2.0 ** (-(sf[c, b] - SF_BIAS) * 0.25 * expo)
            # TPDF dither (step units; zeros unless asked for) only in bands that carry a
            # value without it: dithering a band that quantizes to zero would turn it into
            # +-1 noise at that band's (possibly huge) step and spend bits on nothing
            active = False
            if law != LAW_POWER:
                for k in range(edges[b], edges[b + 1]):
                    if mag[c, k] * inv >= 0.5:
                        active = True
                        break
            for k in range(edges[b], edges[b + 1]):
                x = coefs[c, k]
                a = mag[c, k] * inv
                if active:
                    a = abs(x * inv + dither[c, k])
                    x = x * inv + dither[c, k]
                a += rnd
                v = int(a) if a < QMAX else QMAX + 1
                q[c, k] = -v if x < 0 else v
        for k in range(edges[nb], coefs.shape[1]):
            q[c, k] = 0


@njit(cache=True)
def quantize_mag(
    coefs: NDArray[np.float64], mag: NDArray[np.float64], dither: NDArray[np.float64],
    sf: NDArray[np.int32], edges: NDArray[np.int32], nb: int, law: int, q: NDArray[np.int32],
) -> None:
    """Fast :func:`quantize` from precomputed :func:`magnitudes` (same result up to rounding
    of the power law), with optional dither (``dither`` in step units, uniform law only)."""
    _quantize_mag(coefs, mag, dither, sf, edges, nb, law, q)


@njit(cache=True, inline="always")
def _coded_bands_of(q: NDArray[np.int32], c: int, edges: NDArray[np.int32], nb: int) -> int:
    for b in range(nb - 1, -1, -1):
        for k in range(edges[b], edges[b + 1]):
            if q[c, k] != 0:
                return b + 1
    return 0


@njit(cache=True)
def coded_bands(q: NDArray[np.int32], edges: NDArray[np.int32], nb: int, nbc: NDArray[np.int32]) -> None:
    """``nbc[c]`` = 1 + index of the last band of channel c holding a nonzero value."""
    for c in range(q.shape[0]):
        nbc[c] = _coded_bands_of(q, c, edges, nb)


@njit(cache=True, inline="always")
def _step_bits(d: int) -> float:
    """Estimated bits of one scale-factor symbol of magnitude ``d``."""
    return 1.0 + 1.5 * d if d > 0 else 0.4


@njit(cache=True)
def side_bits(sf: NDArray[np.int32], nbc: NDArray[np.int32], ref: NDArray[np.int32], coarse: bool,
              pred: int) -> tuple[float, float]:
    """Estimated bits of the scale factors (g included) coded without and with prediction
    from ``ref`` (C, nb) (:func:`audiocodec.core.entropy.sf_predictable`); the second is
    1e30 when ``pred`` is 0 or the residuals do not fit."""
    intra = 0.0
    predicted = 0.0 if pred == 1 else 1e30
    for c in range(sf.shape[0]):
        intra += 8.0
        if pred == 1:
            predicted += 8.0
        prev = sf[c, 0]
        for b in range(nbc[c]):
            d = abs(sf[c, b] - prev) // 2 if coarse else abs(sf[c, b] - prev)
            intra += _step_bits(d)
            if predicted < 1e29 and b >= 1:
                r = sf[c, b] - sf_prediction(prev, ref[c, b], ref[c, b - 1], sf[c, 0], coarse)
                if coarse:
                    if r & 1:
                        predicted = 1e30
                    r //= 2
                if r < -SF_OFFSET or r >= NSYM_SF - SF_OFFSET:
                    predicted = 1e30
                predicted += _step_bits(abs(r))
            prev = sf[c, b]
    return intra, predicted


@njit(cache=True)
def estimate_bits(
    q: NDArray[np.int32], sf: NDArray[np.int32], edges: NDArray[np.int32], nb: int, coarse: bool,
    ref: NDArray[np.int32], pred: int,
) -> float:
    """Predicted payload bits of one frame: the empirical conditional entropy
    of the magnitude symbols in their contexts, plus signs, escapes and side info
    (the scale factors at the cheaper of intra and predicted coding when ``pred`` is 1).
    """
    counts = np.zeros((N_CTX, NSYM_MAG), dtype=np.float64)
    bits = 0.0
    nch = q.shape[0]
    lasts = np.zeros(nch, dtype=np.int32)
    for c in range(nch):
        lasts[c] = _coded_bands_of(q, c, edges, nb)
    intra, predicted = side_bits(sf, lasts, ref, coarse, pred)
    bits += min(intra, predicted)
    for c in range(nch):
        bits += 3.0 + nbc_bits(nb)
        last = lasts[c]
        p1 = 0
        p2 = 0
        for k in range(edges[last]):
            a = abs(q[c, k])
            t = 2 * p1 + p2
            m = context_of(t)
            if a > QMAX:
                return 1e30  # step too fine for the format: never chosen
            if a >= ESCAPE:
                counts[m, ESCAPE] += 1.0
                e = a - ESCAPE + 1
                nbits = 0
                while (e >> nbits) > 1:
                    nbits += 1
                bits += 2 * nbits + 1
            else:
                counts[m, a] += 1.0
            if a != 0:
                bits += 1.0
            p2 = p1
            p1 = a
    for m in range(N_CTX):
        tot = 0.0
        used = 0
        for s in range(NSYM_MAG):
            tot += counts[m, s]
            if counts[m, s] > 0:
                used += 1
        if tot > 0:
            for s in range(NSYM_MAG):
                n = counts[m, s]
                if n > 0:
                    bits += n * np.log2(tot / n)
            bits += 2.0 * used  # learning cost of the adaptive model
    return bits + 16.0


@njit(cache=True)
def make_sf(offsets: NDArray[np.int32], g: int, nb: int, fixed: NDArray[np.int32],
            sf: NDArray[np.int32], coarse: bool) -> None:
    """``sf = clip(g + offsets)`` (or ``fixed`` where that is >= 0), then limit
    band-to-band jumps to what the payload codes by lowering steps. ``coarse``: the
    frame codes band-to-band steps in 3 dB units (:func:`audiocodec.core.quant.coarse_delta`),
    so each step is rounded to what the decoder will rebuild (toward the finer step)."""
    for c in range(offsets.shape[0]):
        for b in range(nb):
            v = g + offsets[c, b]
            if fixed[c, b] >= 0:
                v = fixed[c, b]
            sf[c, b] = min(SF_MAX, max(0, v))
        for b in range(1, nb):
            if sf[c, b] > sf[c, b - 1] + SF_DELTA_MAX:
                sf[c, b] = sf[c, b - 1] + SF_DELTA_MAX
        for b in range(nb - 2, -1, -1):
            if sf[c, b] > sf[c, b + 1] + SF_DELTA_MAX:
                sf[c, b] = sf[c, b + 1] + SF_DELTA_MAX
        for b in range(1, nb):
            if sf[c, b] < sf[c, b - 1] - SF_DELTA_MAX:
                sf[c, b] = sf[c, b - 1] - SF_DELTA_MAX
        if coarse:
            for b in range(1, nb):
                sf[c, b] = sf[c, b - 1] + 2 * coarse_delta(sf[c, b] - sf[c, b - 1], sf[c, b - 1])


@njit(cache=True, inline="always")
def _fits(
    coefs: NDArray[np.float64], mag: NDArray[np.float64], dither: NDArray[np.float64],
    offsets: NDArray[np.int32], fixed: NDArray[np.int32], edges: NDArray[np.int32], nb: int,
    law: int, target: float, g: int, sf: NDArray[np.int32], q: NDArray[np.int32], coarse: bool,
    ref: NDArray[np.int32], pred: int,
) -> bool:
    make_sf(offsets, g, nb, fixed, sf, coarse)
    _quantize_mag(coefs, mag, dither, sf, edges, nb, law, q)
    return estimate_bits(q, sf, edges, nb, coarse, ref, pred) <= target


@njit(cache=True)
def zero_g(mag: NDArray[np.float64], offsets: NDArray[np.int32], fixed: NDArray[np.int32],
           edges: NDArray[np.int32], nb: int, law: int) -> int:
    """The smallest global index at which every band not given a fixed step quantizes to
    zero (steps ``g + offsets``, before the band-to-band limit; clipped to ``0..SF_MAX``).
    A coarser ``g`` buys nothing: the values are all zero already, and it only raises the
    steps that the noise fill scales (a frame whose estimate never fit used to be coded at
    ``SF_MAX``, its fill some 2**20 times the signal)."""
    expo = 0.75 if law == LAW_POWER else 1.0
    rnd = POWER_ROUND if law == LAW_POWER else 0.5
    g_hi = 0
    for c in range(mag.shape[0]):
        for b in range(nb):
            if fixed[c, b] >= 0:
                continue
            top = 0.0
            for k in range(edges[b], edges[b + 1]):
                top = max(top, mag[c, k])
            if top <= 0.0:
                continue
            # zero iff top * 2**(-(sf - SF_BIAS) / 4 * expo) + rnd < 1
            s = SF_BIAS + 4.0 / expo * np.log2(top / (1.0 - rnd))
            g = int(np.floor(s)) + 1 - offsets[c, b]
            while g > 0 and top * 2.0 ** (-(g - 1 + offsets[c, b] - SF_BIAS) * 0.25 * expo) + rnd < 1.0:
                g -= 1  # the float edge, exactly as _quantize_mag rounds
            while top * 2.0 ** (-(g + offsets[c, b] - SF_BIAS) * 0.25 * expo) + rnd >= 1.0:
                g += 1
            g_hi = max(g_hi, g)
    return min(SF_MAX, max(0, g_hi))


@njit(cache=True)
def search_g(
    coefs: NDArray[np.float64], mag: NDArray[np.float64], dither: NDArray[np.float64],
    offsets: NDArray[np.int32], fixed: NDArray[np.int32], edges: NDArray[np.int32], nb: int,
    law: int, target: float, guess: int, sf: NDArray[np.int32], q: NDArray[np.int32], coarse: bool,
    ref: NDArray[np.int32], pred: int,
) -> int:
    """Smallest global index ``g`` whose estimated payload fits ``target`` bits.

    Assumes the estimate falls as ``g`` rises. It nearly always does, but the
    estimate is an empirical entropy and can rise by a few bits over one step;
    there the search returns a ``g`` that fits with ``g - 1`` not fitting, which
    may lie above the smallest fitting one (no difference was seen over 1,800
    frames of the SQAM items). Galloping search from ``guess`` (usually the previous frame's ``g``, which
    is rarely more than a step or two off): steps of 1, 2, 4, ... bracket the
    answer, then bisection. Two or three estimates when the guess is close.
    Leaves ``sf`` and ``q`` for the returned ``g`` (``SF_MAX`` when nothing fits).
    """
    g = min(SF_MAX, max(0, guess))
    if _fits(coefs, mag, dither, offsets, fixed, edges, nb, law, target, g, sf, q, coarse, ref, pred):
        hi = g  # fits
        lo = -1  # does not fit (-1: not found yet)
        span = 1
        while hi > 0:
            t = max(0, hi - span)
            if _fits(coefs, mag, dither, offsets, fixed, edges, nb, law, target, t, sf, q, coarse, ref, pred):
                hi = t
                span *= 2
            else:
                lo = t
                break
        last = hi if lo < 0 else lo
    else:
        lo = g
        hi = SF_MAX + 1  # fits (SF_MAX + 1: not found yet)
        span = 1
        while lo < SF_MAX:
            t = min(SF_MAX, lo + span)
            if _fits(coefs, mag, dither, offsets, fixed, edges, nb, law, target, t, sf, q, coarse, ref, pred):
                hi = t
                break
            lo = t
            span *= 2
        last = hi if hi <= SF_MAX else lo
        if hi > SF_MAX:
            hi = SF_MAX
            lo = SF_MAX  # nothing fits: the coarsest step
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _fits(coefs, mag, dither, offsets, fixed, edges, nb, law, target, mid, sf, q, coarse, ref, pred):
            hi = mid
        else:
            lo = mid
        last = mid
    if last != hi:
        make_sf(offsets, hi, nb, fixed, sf, coarse)
        _quantize_mag(coefs, mag, dither, sf, edges, nb, law, q)
    return hi


def search_g_reference(
    coefs: NDArray[np.float64], mag: NDArray[np.float64], dither: NDArray[np.float64],
    offsets: NDArray[np.int32], fixed: NDArray[np.int32], edges: NDArray[np.int32], nb: int,
    law: int, target: float, sf: NDArray[np.int32], q: NDArray[np.int32], coarse: bool,
    ref: NDArray[np.int32], pred: int,
) -> int:
    """:func:`search_g` by exhaustive scan (the test oracle): the smallest fitting ``g``."""
    for g in range(SF_MAX + 1):
        make_sf(offsets, g, nb, fixed, sf, coarse)
        _quantize_mag(coefs, mag, dither, sf, edges, nb, law, q)
        if estimate_bits(q, sf, edges, nb, coarse, ref, pred) <= target:
            return g
    make_sf(offsets, SF_MAX, nb, fixed, sf, coarse)
    _quantize_mag(coefs, mag, dither, sf, edges, nb, law, q)
    return SF_MAX


@njit(cache=True)
def noise_fields(
    coefs: NDArray[np.float64], q: NDArray[np.int32], sf: NDArray[np.int32], edges: NDArray[np.int32],
    nbc: NDArray[np.int32], nf_start: int, plan_nf: NDArray[np.int32], nf: NDArray[np.int32],
) -> None:
    """The payload's nf fields from the plan's ``plan_nf`` (C,): 0 off; 1 the level measured
    after quantization (:func:`noise_levels`); ``8 + v`` the fixed level v (noise substitution)."""
    measured = False
    for c in range(nf.shape[0]):
        nf[c] = 1 if plan_nf[c] == 1 else 0
        measured = measured or plan_nf[c] == 1
    if measured:
        noise_levels(coefs, q, sf, edges, nbc, nf_start, nf)
    for c in range(nf.shape[0]):
        if plan_nf[c] >= 8:
            nf[c] = plan_nf[c] - 8


FILL_CAP = 2.0  # a noise-filled band's fill RMS may exceed the band's own RMS by this factor


@njit(cache=True)
def cap_fill(coefs: NDArray[np.float64], q: NDArray[np.int32], sf: NDArray[np.int32],
             edges: NDArray[np.int32], nbc: NDArray[np.int32], nf_start: int,
             nf: NDArray[np.int32], coarse: bool, cap: float = FILL_CAP) -> None:
    """Lower the step of every noise-filled band whose fill (RMS ``nf/16`` of its step) would
    be more than ``cap`` times the band's own RMS, toward the step at which the two are
    equal, as far as the band-to-band limit allows (``SF_DELTA_MAX`` from the band before,
    already final, and the band after; in a coarse frame on g's parity). Its values stay zero,
    so nothing else changes: the fill can no longer add to a band far more than it had, as a
    fixed fill level (noise substitution, the exact fill) did to the quiet bands of a frame
    whose global step the rate loop had driven to the top of the range."""
    for c in range(q.shape[0]):
        if nf[c] <= 0:
            continue
        for b in range(1, nbc[c]):
            lo = edges[b]
            hi = edges[b + 1]
            if not noise_filled(q, c, lo, hi, nf_start):
                continue
            e = 0.0
            for k in range(lo, hi):
                e += coefs[c, k] * coefs[c, k]
            rms = np.sqrt(e / (hi - lo))
            fill = nf[c] / NF_STEP_16THS * 2.0 ** ((sf[c, b] - SF_BIAS) * 0.25)
            if fill <= cap * rms:
                continue
            want = -(1 << 20)
            if rms > 0.0:
                want = int(np.floor(SF_BIAS + 4.0 * np.log2(NF_STEP_16THS * rms / nf[c])))
            floor_ = max(0, sf[c, b - 1] - SF_DELTA_MAX)
            if b + 1 < nbc[c]:
                floor_ = max(floor_, sf[c, b + 1] - SF_DELTA_MAX)
            v = max(want, floor_)
            if coarse and (v - sf[c, 0]) % 2 != 0:
                v += 1  # g's parity, toward the old (coarser) step
            if v < sf[c, b]:
                sf[c, b] = v


def cap_fill_reference(coefs: NDArray[np.float64], q: NDArray[np.int32], sf: NDArray[np.int32],
                       edges: NDArray[np.int32], nbc: NDArray[np.int32], nf_start: int,
                       nf: NDArray[np.int32], coarse: bool, cap: float = FILL_CAP) -> NDArray[np.int32]:
    """Plain statement of :func:`cap_fill` (the test oracle); returns the new steps."""
    out = sf.copy()
    for c in range(q.shape[0]):
        for b in range(1, int(nbc[c])):
            lo, hi = int(edges[b]), int(edges[b + 1])
            if nf[c] <= 0 or lo < nf_start or np.any(q[c, lo:hi]):
                continue
            rms = float(np.sqrt(np.mean(coefs[c, lo:hi] ** 2)))
            if nf[c] / 16.0 * 2.0 ** ((out[c, b] - SF_BIAS) / 4.0) <= cap * rms:
                continue
            want = int(np.floor(SF_BIAS + 4 * np.log2(16.0 * rms / nf[c]))) if rms > 0 else -(1 << 20)
            limits = [0, int(out[c, b - 1]) - SF_DELTA_MAX]
            if b + 1 < nbc[c]:
                limits.append(int(out[c, b + 1]) - SF_DELTA_MAX)
            v = max(want, *limits)
            if coarse and (v - int(out[c, 0])) % 2:
                v += 1
            out[c, b] = min(int(out[c, b]), v)
    return out


@njit(cache=True)
def noise_levels(
    coefs: NDArray[np.float64], q: NDArray[np.int32], sf: NDArray[np.int32], edges: NDArray[np.int32],
    nbc: NDArray[np.int32], nf_start: int, nf: NDArray[np.int32],
) -> None:
    """Encoder: for channels with ``nf[c] != 0``, the level (0..7, in 1/16 of the step) that
    matches the median RMS/step of the bands the decoder will noise-fill (0 if none)."""
    ratios = np.empty(edges.shape[0], dtype=np.float64)
    for c in range(q.shape[0]):
        if nf[c] == 0:
            continue
        n = 0
        for b in range(nbc[c]):
            lo = edges[b]
            hi = edges[b + 1]
            if noise_filled(q, c, lo, hi, nf_start):
                e = 0.0
                for k in range(lo, hi):
                    e += coefs[c, k] * coefs[c, k]
                ratios[n] = np.sqrt(e / (hi - lo)) / 2.0 ** ((sf[c, b] - SF_BIAS) * 0.25)
                n += 1
        if n == 0:
            nf[c] = 0
        else:
            v = int(np.round(np.median(ratios[:n]) * NF_STEP_16THS))
            nf[c] = min(7, max(0, v))


@njit(cache=True)
def match_energy(coefs: NDArray[np.float64], q: NDArray[np.int32], sf: NDArray[np.int32],
                 edges: NDArray[np.int32], nb: int, law: int, coarse: bool, share: float,
                 most: int) -> None:
    """Move each coded band's step so that its rebuilt energy meets ``share`` of the way (in
    dB) to the band's own energy, the values kept: rounding toward zero leaves a sparsely
    coded band quieter than it was, and the ear hears a band's level before its fine
    structure (CELT codes each band's energy for that reason). At most ``most`` steps either
    way (1.5 dB each, 3 dB in a coarse frame), never past the jumps the payload can code."""
    unit = 2 if coarse else 1
    for c in range(q.shape[0]):
        for b in range(nb):
            eo = 0.0
            er = 0.0
            for k in range(edges[b], edges[b + 1]):
                m = abs(q[c, k])
                if m:
                    a = m ** (4.0 / 3.0) if law == LAW_POWER else float(m)
                    er += a * a
                eo += coefs[c, k] * coefs[c, k]
            if er == 0.0 or eo == 0.0:
                continue
            step = 2.0 ** ((sf[c, b] - SF_BIAS) * 0.25)
            want = share * 2.0 * np.log2(eo / (er * step * step))  # steps of 1.5 dB
            d = unit * int(np.floor(want / unit + 0.5))
            d = max(-most * unit, min(most * unit, d))
            if d == 0:
                continue
            v = sf[c, b] + d
            if v < 0 or v > SF_MAX:
                continue
            if b > 0 and abs(v - sf[c, b - 1]) > SF_DELTA_MAX:
                continue
            if b + 1 < nb and abs(sf[c, b + 1] - v) > SF_DELTA_MAX:
                continue
            sf[c, b] = v
