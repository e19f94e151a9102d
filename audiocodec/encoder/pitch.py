"""Pitch analysis and the pitch pre-filter (encoder only; mirror of :mod:`audiocodec.core.postfilter`).

Every frame, before the MDCT, the encoder runs the FIR comb over the new samples in place. A
block's parameters are picked from the ``N`` input samples that have arrived when its own
parameters first apply (its switch offset): in a low-overlap layout that is the block itself.
The period is the strongest normalised autocorrelation of the mono mix over those samples: a
search at about 12 kHz, a check of a half and a third of the period (a comb at twice the
period leaves every other harmonic's noise), then the best lag at the full rate within one
decimated step. The gain is the comb's least-squares gain scaled by ``GAIN_SCALE``; below
``GAIN_MIN``, at reset points and in streams under ``min_bitrate`` or ``MIN_SAMPLE_RATE``
the block has no filter.

Measured before the bitstream existed (parameters known to both sides and free, 48 kHz, 10 ms
layout, ``speech_alsa48_mono``, PESQ-WB): 2.76 -> 3.74 at 32 kbit/s with ``GAIN_SCALE`` 0.7, 3.50
with 1.0, 3.49 with a gain cap of 0.5. As coded (13 taps, parameters in the packet): 3.71 with
0.7, 3.76 with 0.8, 3.72 with 0.9 (docs/TUNING.md).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from ..core import postfilter as pf

GAIN_SCALE = 0.8
GAIN_MIN = 0.15
SUBHARMONIC_R = 0.85  # a lag of a half or a third of the best is taken when this close
SEARCH_RATE = 12000.0
#: Streams under this bitrate are coded without the filter. Mono speech, Zimtohrli without ->
#: with, 10 ms layout (125 packets/s): 3.53 -> 3.39 at 24 kbit/s (PESQ-WB 2.15 -> 3.04), 3.71 ->
#: 3.68 at 26k, 3.86 -> 3.90 at 28k, 4.11 -> 4.18 at 32k; 16 ms layout (512 + 256): 3.52 -> 3.37
#: at 24k, 4.36 -> 4.34 at 32k. The parameters' bits are part of it (more rate gives the loss
#: back) but not all of it. Stereo shares one set of parameters: music at 48k gains.
MIN_BITRATE = 28_000
#: ... but with hops up to 8 ms (the 10 ms layout) from this bitrate: since the speech noise
#: band (``AdaptiveTuning.speech_noise_band_short_hop``) left the spectrum more bits, the filter
#: gains on both metrics there. Mono speech, without -> with: 16k PESQ-WB 1.07 -> 1.13,
#: Zimtohrli 2.17 -> 2.18; 20k 1.40 -> 2.14, 3.60 -> 3.66; 24k 2.36 -> 3.34, 4.06 -> 4.07. In the
#: 16 ms layout it still cost Zimtohrli 0.07 at 20k and 24k (PESQ-WB +0.7), so 28k stays there.
#: The floor is per channel, and never above ``MIN_BITRATE``: stereo music at 24k lost ViSQOL
#: 0.045 with the filter (Zimtohrli +0.016), so stereo keeps 28k.
MIN_BITRATE_SHORT_HOP = 16_000
SHORT_HOP_S = 0.008
#: ... and streams under this sample rate: the 16 kHz ARCTIC clip at 32 / 48 kbit/s went from
#: PESQ-WB 3.96 / 4.49 and Zimtohrli 4.23 / 4.87 to 3.93 / 4.51 and 4.18 / 4.86 with it.
MIN_SAMPLE_RATE = 32_000


def min_bitrate(sample_rate: int, frame_size: int, channels: int) -> int:
    """The stream bitrate from which the filter is on by default, for a layout."""
    if frame_size <= SHORT_HOP_S * sample_rate:
        return min(MIN_BITRATE, MIN_BITRATE_SHORT_HOP * channels)
    return MIN_BITRATE


@njit(cache=True)
def _ncorr(x: NDArray[np.float64], a: int, b: int, lag: int, e0: float) -> float:
    cc = 0.0
    e1 = 0.0
    for i in range(a, b):
        cc += x[i] * x[i - lag]
        e1 += x[i - lag] * x[i - lag]
    return cc / np.sqrt(e0 * e1 + 1e-30)


@njit(cache=True)
def search(x: NDArray[np.float64], w: int, tmin: int, tmax: int, dec: int, sub_r: float,
           taps: NDArray[np.float64], scratch: NDArray[np.float64]) -> tuple[int, float]:
    """``(period, least-squares comb gain)`` of the last ``w`` samples of ``x`` (needs
    ``w + tmax + K`` samples, ``2K + 1`` taps); ``(0, 0.0)`` for silence. No allocation
    (``scratch`` holds the decimated signal, ``len(x) // dec`` values)."""
    h = x.shape[0]
    m = h // dec
    for i in range(m):
        s = 0.0
        for q in range(dec):
            s += x[h - (m - i) * dec + q]
        scratch[i] = s / dec
    wd = max(1, w // dec)
    lo = max(1, tmin // dec)
    hi = min(tmax // dec, m - wd)
    e0 = 0.0
    for i in range(m - wd, m):
        e0 += scratch[i] * scratch[i]
    if e0 <= 1e-10 * wd or hi < lo:
        return 0, 0.0
    best_r = -2.0
    best = lo
    for lag in range(lo, hi + 1):
        r = _ncorr(scratch, m - wd, m, lag, e0)
        if r > best_r:
            best_r = r
            best = lag
    for div in (3, 2):  # prefer the true period to its multiple
        lag = int(round(best / div))
        if lag >= lo and _ncorr(scratch, m - wd, m, lag, e0) >= sub_r * best_r:
            best = lag
            break
    e0f = 0.0
    for i in range(h - w, h):
        e0f += x[i] * x[i]
    t_best = max(tmin, min(tmax, best * dec))
    r_best = -2.0
    for t in range(max(tmin, best * dec - dec + 1), min(tmax, best * dec + dec - 1) + 1):
        r = _ncorr(x, h - w, h, t, e0f)
        if r > r_best:
            r_best = r
            t_best = t
    cc = 0.0
    pp = 0.0
    half = taps.shape[0] // 2
    for i in range(h - w, h):
        p = 0.0
        for k in range(taps.shape[0]):
            p += taps[k] * x[i - t_best + k - half]
        cc += x[i] * p
        pp += p * p
    return t_best, cc / (pp + 1e-30)


@njit(cache=True)
def mono_mix(x: NDArray[np.float64], out: NDArray[np.float64]) -> None:
    """``out[:] = x.mean(axis=0)`` without numpy's per-call overhead (every frame, live)."""
    nch = x.shape[0]
    for i in range(x.shape[1]):
        v = 0.0
        for c in range(nch):
            v += x[c, i]
        out[i] = v / nch


@njit(cache=True)
def _append(raw: NDArray[np.float64], view: NDArray[np.float64], a: int, end: int) -> None:
    """Shift the history ``raw`` (C, H) left by ``end - a`` and end it with ``view[a:end]``
    (frames, C), transposed."""
    k = end - a
    keep = raw.shape[1] - k
    for c in range(raw.shape[0]):
        for i in range(keep):
            raw[c, i] = raw[c, i + k]
        for i in range(k):
            raw[c, keep + i] = view[a + i, c]


def quantize_gain(g_ls: float) -> int:
    """The coded gain index for a least-squares gain, -1 for no filter."""
    g = min(GAIN_SCALE * g_ls, pf.gain((1 << pf.GAIN_BITS) - 1))
    if g < GAIN_MIN:
        return -1
    return min(max(round(g / pf.GAIN_STEP) - 1, 0), (1 << pf.GAIN_BITS) - 1)


class PitchPrefilter:
    """Encoder state: the raw input the FIR comb reads, and the blocks' chosen parameters.

    The encoder's pending buffer holds padded input (``lead_in`` zeros first); block ``b``
    starts at padded sample ``b N + (N - L) / 2``, where the decoder's block ``b`` starts.
    """

    def __init__(self, channels: int, sample_rate: int, frame_size: int, overlap: int,
                 interval: int) -> None:
        self.interval = interval
        self.n = frame_size
        self.origin = (frame_size - overlap) // 2
        self.t_min, self.t_max = pf.period_range(sample_rate, frame_size, overlap)
        self._fade = pf.fade_window(frame_size, overlap)
        self._taps = pf.comb_taps(sample_rate)
        self._dec = max(1, int(round(sample_rate / SEARCH_RATE)))
        self._raw = np.zeros((channels, self.t_max + len(self._taps) // 2 + 1 + 2 * frame_size))
        self._mono = np.zeros(self._raw.shape[1])
        self._scratch = np.zeros(self._raw.shape[1] // self._dec + 1)
        self._done = 0  # padded samples filtered so far
        self._switch = pf.switch_offset(frame_size, overlap)
        self._decided = -1  # the last block whose parameters are chosen
        self._coded: dict[int, tuple[int, int]] = {}
        mono_mix(self._raw, self._mono)
        search(self._mono, frame_size, self.t_min, self.t_max, self._dec, SUBHARMONIC_R, self._taps,
               self._scratch)  # load the kernels now, not in a live callback
        pending = np.zeros((2 * frame_size, channels))  # the layout of the encoder's FIFO view
        pf.comb(self._raw, self._raw.shape[1] - 1, 1, 0, self.t_min, 0.0, self.t_min, 0.0, self._fade,
                self._taps, -1.0, pending.T, 0)
        _append(np.zeros_like(self._raw), pending, 0, 0)

    def coded(self, block: int) -> tuple[int, int]:
        """Block ``block``'s coded fields ``(T - T_min, gain index)``; index -1 = no filter."""
        return self._coded.get(block, (0, -1))

    def _params(self, block: int) -> tuple[int, float]:
        t, q = self.coded(block)
        return (self.t_min + t, pf.gain(q)) if q >= 0 else (self.t_min, 0.0)

    def raw(self, start: int, stop: int) -> NDArray[np.float64]:
        """Raw (unfiltered) padded samples ``start .. stop`` (C, S), among the last filtered."""
        k = self._raw.shape[1] - (self._done - start)
        return self._raw[:, k : k + stop - start]

    def process(self, view: NDArray[np.float64], frame: int, end: int) -> None:
        """Pre-filter ``view`` (frames, C; padded samples from ``frame * N``) in place up to
        offset ``end``; a block's parameters are chosen when its first sample past the switch
        offset comes in (block ``frame`` in a low-overlap layout: the input then holds all of it)."""
        n, base = self.n, frame * self.n
        a = self._done - base
        if end <= a:
            return
        raw = self._raw
        _append(raw, view, a, end)
        self._done = base + end
        hr = raw.shape[1]
        p = base + a
        while p < base + end:
            blk = (p - self.origin) // n if p >= self.origin else -1
            start = self.origin + blk * n
            stop = min(base + end, start + n)
            if blk > self._decided and stop - start > self._switch:
                self._decide(blk)
            t0, g0 = self._params(blk - 1)
            t1, g1 = self._params(blk)
            if blk >= 0 and (g0 or g1):
                pf.comb(raw, hr - (self._done - p), stop - p, p - start, t0, g0, t1, g1, self._fade,
                        self._taps, -1.0, view.T, p - base)  # into the pending samples
            p = stop

    def _decide(self, block: int) -> None:
        self._decided = block
        for old in [b for b in self._coded if b < block - 2]:
            del self._coded[old]
        if pf.is_reset_block(block, self.interval):
            return
        mono_mix(self._raw, self._mono)
        t, g_ls = search(self._mono, self.n, self.t_min, self.t_max,
                         self._dec, SUBHARMONIC_R, self._taps, self._scratch)
        q = quantize_gain(g_ls) if t else -1
        if q >= 0:
            self._coded[block] = (t - self.t_min, q)
