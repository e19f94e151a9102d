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
from numpy.typing import NDArray

F0_MIN, F0_MAX = 66.7, 400.0  # periods of 15 and 2.5 ms
FADE = 0.7  # gain per concealed frame, as aqc.CONCEAL_FADE (0.85 and 1.0 measured no better)
VOICED_R = 0.6  # normalised autocorrelation at the period, below which sound counts as unvoiced


def history_size(sample_rate: int, frame_size: int) -> int:
    """Output samples the decoder keeps for concealment: a frame and two longest periods."""
    return frame_size + 2 * int(np.ceil(sample_rate / F0_MIN))


def pitch_period(hist: NDArray[np.float64], sample_rate: int) -> tuple[int, float]:
    """``(period in samples, normalised correlation)`` of the last samples of ``hist`` (C, H)
    (mono mix), searched over 2.5-15 ms; (0, 0.0) when the history is silent."""
    lo = max(2, int(sample_rate / F0_MAX))
    hi = int(np.ceil(sample_rate / F0_MIN))
    x = hist.mean(axis=0)
    w = hi  # correlation window: the last ``hi`` samples against the ``hi`` before each lag
    if x.shape[0] < w + hi:
        return 0, 0.0
    cur = x[-w:]
    e0 = float(cur @ cur)
    if e0 <= 1e-12 * w:
        return 0, 0.0
    lags = np.arange(lo, hi + 1)
    idx = x.shape[0] - w - lags[:, None] + np.arange(w)[None, :]
    past = x[idx]  # (lags, w)
    r = (past @ cur) / np.sqrt(e0 * np.maximum(np.einsum("ij,ij->i", past, past), 1e-30))
    k = int(np.argmax(r))
    return int(lags[k]), float(r[k])


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
