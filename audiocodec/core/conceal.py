"""Concealment of a lost MDCT frame by pitch repetition (decoder only, not normative).

Voiced sound (a voice, a held note) is concealed in the time domain, as G.711 Appendix I and
Opus do: the period of the last output (the strongest normalised autocorrelation between
2.5 and 15 ms) is repeated over the lost frame's window span, faded, and the frame's
coefficients are the MDCT of that extrapolation, so the lost frame overlaps its neighbours
like a coded one. Sound with no clear period falls back to the last spectrum with random
signs (:meth:`audiocodec.core.decoder.MdctDecoder.conceal`).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

F0_MIN, F0_MAX = 66.7, 400.0  # periods of 15 and 2.5 ms
FADE = 0.7  # gain per concealed frame, as aqc.CONCEAL_FADE (0.85 and 1.0 measured no better)
VOICED_R = 0.6  # normalised autocorrelation at the period, below which sound counts as unvoiced


def history_size(sample_rate: int, frame_size: int) -> int:
    """Output samples the decoder keeps for concealment: a frame and two longest periods."""
    return frame_size + 2 * int(np.ceil(sample_rate / F0_MIN))


def pitch_period(hist: NDArray[np.float64], sample_rate: int) -> tuple[int, float]:
    """``(period in samples, normalised correlation)`` of the last samples of ``hist`` (C, H)
    (mono mix), searched over 2.5-15 ms; (0, 0.0) when the history is silent. Compiled, no
    allocation but the mix: it runs inside a live audio callback when a packet is lost."""
    lo = max(2, int(sample_rate / F0_MAX))
    hi = int(np.ceil(sample_rate / F0_MIN))
    if hist.shape[1] < 2 * hi:
        return 0, 0.0
    lag, r = _best_period(np.ascontiguousarray(hist), lo, hi)
    return int(lag), float(r)


def pitch_period_reference(hist: NDArray[np.float64], sample_rate: int) -> tuple[int, float]:
    """Plain numpy statement of :func:`pitch_period` (the test oracle)."""
    lo = max(2, int(sample_rate / F0_MAX))
    hi = int(np.ceil(sample_rate / F0_MIN))
    x = hist.mean(axis=0)
    w = hi
    if x.shape[0] < w + hi:
        return 0, 0.0
    cur = x[-w:]
    e0 = float(cur @ cur)
    if e0 <= 1e-12 * w:
        return 0, 0.0
    lags = np.arange(lo, hi + 1)
    past = x[x.shape[0] - w - lags[:, None] + np.arange(w)[None, :]]
    r = (past @ cur) / np.sqrt(e0 * np.maximum(np.einsum("ij,ij->i", past, past), 1e-30))
    k = int(np.argmax(r))
    return int(lags[k]), float(r[k])


@njit(cache=True)
def _best_period(hist: NDArray[np.float64], lo: int, hi: int) -> tuple[int, float]:
    nch, h = hist.shape
    w = hi  # the last ``hi`` samples against the ``hi`` before each lag
    x0 = h - w
    e0 = 0.0
    for i in range(x0, h):
        v = 0.0
        for c in range(nch):
            v += hist[c, i]
        v /= nch
        e0 += v * v
    if e0 <= 1e-12 * w:
        return 0, 0.0
    best_r = -2.0
    best = 0
    for lag in range(lo, hi + 1):
        cc = 0.0
        e1 = 0.0
        for i in range(x0, h):
            a = 0.0
            b = 0.0
            for c in range(nch):
                a += hist[c, i]
                b += hist[c, i - lag]
            a /= nch
            b /= nch
            cc += a * b
            e1 += b * b
        r = cc / np.sqrt(e0 * max(e1, 1e-30))
        if r > best_r:
            best_r = r
            best = lag
    return best, best_r


def warm_up() -> None:
    """Load the compiled kernel now, never first inside an audio callback."""
    _best_period(np.zeros((1, 8)), 2, 4)


def extrapolate(hist: NDArray[np.float64], known: int, length: int, period: int,
                fade_from: float, fade_to: float) -> NDArray[np.float64]:
    """(C, length): the last ``known`` samples of ``hist`` followed by its last ``period``
    repeated, with a gain falling linearly from ``fade_from`` to ``fade_to`` over the repeated
    part."""
    nch, h = hist.shape
    out = np.empty((nch, length))
    if known:
        out[:, :known] = hist[:, h - known :]
    m = length - known
    src = h - period + (np.arange(m) % period)
    out[:, known:] = hist[:, src] * np.linspace(fade_from, fade_to, m)[None, :]
    return out
