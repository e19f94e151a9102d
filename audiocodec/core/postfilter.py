"""The pitch post-filter: a comb filter at the pitch period that the decoder runs on its output.

Why. A short MDCT frame (8 ms: 62.5 Hz bins) cannot resolve the harmonics of a voice, so at low
rates the noise between them is what one hears. As in CELT, the encoder takes the periodic part
out before the transform with the FIR comb (:mod:`audiocodec.encoder.pitch`)::

    pre(x)[i]  = x[i] - g * sum_k h[k] x[i - T + k]        k = -K..K

and the decoder puts it back with its inverse, the IIR comb::

    post(y)[i] = y[i] + g * sum_k h[k] post(y)[i - T + k]

so the quantization noise between the harmonics is left as it was and the harmonics are
restored: the noise follows the voice's spectral fine structure. ``h`` is the kernel
``comb_taps(sample_rate)``, a Hann-shaped low-pass (sum 1, 13 taps at 48 kHz: the comb is
full below 1 kHz, half at 3 kHz, gone by 6 kHz, where a voice's harmonics are weak and its
period drifts by more than a sample within a block), ``g = GAIN_STEP * (q + 1)`` for a 3-bit
index ``q`` (at most 0.75, so the IIR comb is stable), and ``T`` is an integer period in
``period_range``.

Normative (a decoder of a stream with the ``pitch_filter`` record must do exactly this).

* Block ``b`` is the ``N`` samples the MDCT decoder emits after packet ``b`` (decoded or
  concealed), before the header's ``delay`` is dropped. Packet ``b`` carries block ``b``'s
  parameters when its info bit 6 is set (:mod:`.layout`); else block ``b`` has none
  (``g = 0``). A concealed block keeps the last block's parameters.
* Within a block, the previous block's parameters hold for the first ``S = switch_offset(N, L)``
  samples (those the previous packet's window already needed: ``L`` in a low-overlap layout,
  so an encoder picks a block's parameters when it has the whole block); over the ``F =
  fade_length(N, L)`` samples after them the filter is the mix
  ``w[j] * comb(T_b, g_b) + (1 - w[j]) * comb(T_{b-1}, g_{b-1})``,
  ``w[j] = sin(pi/2 * (j + 0.5) / F)**2``; after that it is the block's own. Every channel uses
  the same parameters. The filter's memory starts at zero.
* Reset points. An encoder writes no parameters in packets ``b`` with ``b % R`` in ``{0, 1}``
  (``R``, the reset interval, is the ``pitch_filter`` header record's value,
  :mod:`audiocodec.container.aqc`). Two blocks without the filter are more than ``T_max + K``
  samples (``period_range``), so a decoder started at packet ``mR - 1`` gives the same samples
  as one started earlier from block ``mR + 2`` on: seeking stays sample-exact
  (:func:`seek_packet`). A decoder does not refuse parameters at a reset point (its packet count
  can lag the stream's: a receiver that joined late, a gap longer than the concealment bound);
  in a stream that breaks the rule only the slices are not exact.

The kernels have plain-Python statements (``*_reference``) that the tests hold them to.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

TAPS_AT_48K = 13  # kernel length at 48 kHz; it scales with the rate (odd, at least 3)
GAIN_STEP = 0.09375
GAIN_BITS = 3
F0_MAX = 1000.0  # Hz: the shortest period
F0_MIN = 66.7  # Hz: the longest period, unless the frame layout needs a shorter one


def comb_taps(sample_rate: int) -> NDArray[np.float64]:
    """The comb's kernel ``h[-K..K]``: ``sin(pi (k + 1) / (2K + 2))**2`` normalised to sum 1,
    ``2K + 1`` the odd length nearest ``TAPS_AT_48K * rate / 48000`` (5 at 16 kHz, 9 at 32 kHz).
    Measured at 48 kHz, 10 ms layout, speech 32 kbit/s: Zimtohrli 4.12 / 4.17 / 4.18 and PESQ-WB
    3.66 / 3.69 / 3.71 with CELT's 5 taps, 9 and 13; music at 64k Zimtohrli 3.90 / 3.92 / 3.95."""
    k = max(1, int(round((TAPS_AT_48K * sample_rate / 48000.0 - 1) / 2)))
    h = np.sin(np.pi * (np.arange(2 * k + 1) + 1) / (2 * k + 2)) ** 2
    return h / h.sum()


def fade_length(frame_size: int, overlap: int) -> int:
    """Samples over which a block's parameters fade in: the window overlap, at most N/4."""
    return max(2, min(overlap, frame_size // 4))


def switch_offset(frame_size: int, overlap: int) -> int:
    """Position in a block where its own parameters begin to fade in: ``min(L, N - F)``."""
    return min(overlap, frame_size - fade_length(frame_size, overlap))


def period_range(sample_rate: int, frame_size: int, overlap: int) -> tuple[int, int]:
    """``(T_min, T_max)`` in samples: 1 ms .. 15 ms, and ``T_max + K < 2N - F`` (``2K + 1``
    taps) so that two blocks without the filter clear its memory (the reset points above)."""
    lo = max(4, int(round(sample_rate / F0_MAX)))
    hi = min(int(sample_rate / F0_MIN),
             2 * frame_size - fade_length(frame_size, overlap) - len(comb_taps(sample_rate)) // 2 - 1)
    return lo, max(lo + 1, hi)


def period_bits(sample_rate: int, frame_size: int, overlap: int) -> int:
    """Raw bits of the coded period ``T - T_min``."""
    lo, hi = period_range(sample_rate, frame_size, overlap)
    return max(1, int(hi - lo).bit_length())


def gain(q: int) -> float:
    return GAIN_STEP * (q + 1)


def fade_window(frame_size: int, overlap: int) -> NDArray[np.float64]:
    """The weight of a block's own parameters at each of its positions (N values)."""
    f, s = fade_length(frame_size, overlap), switch_offset(frame_size, overlap)
    w = np.ones(frame_size)
    w[:s] = 0.0
    w[s : s + f] = np.sin(0.5 * np.pi * (np.arange(f) + 0.5) / f) ** 2
    return w


def reset_interval(sample_rate: int, frame_size: int) -> int:
    """Packets between reset points that an encoder writes: about one a second."""
    return max(2, int(round(sample_rate / frame_size)))


def is_reset_block(index: int, interval: int) -> bool:
    return index % interval in (0, 1)


def seek_packet(packet: int, interval: int) -> int:
    """The packet to start decoding at so that output is exact from packet ``packet`` on."""
    m = (packet - 2) // interval * interval
    return max(0, m - 1) if packet >= 2 else 0


@njit(cache=True)
def shift_left(buf: NDArray[np.float64], k: int) -> None:
    """``buf[:, :-k] = buf[:, k:]`` in place, without numpy's temporary for overlapping copies
    (a history buffer's per-frame shift in a live callback)."""
    n = buf.shape[1] - k
    for c in range(buf.shape[0]):
        for i in range(n):
            buf[c, i] = buf[c, i + k]


@njit(cache=True)
def comb(buf: NDArray[np.float64], i0: int, n: int, j0: int, t0: int, g0: float, t1: int,
         g1: float, fade: NDArray[np.float64], taps: NDArray[np.float64], sign: float,
         out: NDArray[np.float64], o0: int) -> None:
    """``out[:, o0 + k] = buf[:, i0 + k] + sign * d`` for ``k < n``, ``d`` the mixed comb of
    ``buf`` (previous parameters ``t0, g0``, the block's ``t1, g1``; sample ``i0`` is at
    position ``j0`` of its block). ``sign = -1``, ``out`` apart from ``buf``: the FIR pre-filter;
    ``sign = +1``, ``out is buf`` and ``o0 == i0``: the IIR post-filter, in place.
    ``buf`` holds at least ``max(t0, t1) + K`` samples before ``i0`` (``2K + 1`` taps; there
    is no bounds check); ``fade`` is
    :func:`fade_window`."""
    nt = taps.shape[0]
    half = nt // 2
    for c in range(buf.shape[0]):
        for k in range(n):
            i = i0 + k
            w = fade[j0 + k]
            d = 0.0
            if g1 != 0.0 and w > 0.0:
                a = 0.0
                for m in range(nt):
                    a += taps[m] * buf[c, i - t1 + m - half]
                d += w * g1 * a
            if g0 != 0.0 and w < 1.0:
                a = 0.0
                for m in range(nt):
                    a += taps[m] * buf[c, i - t0 + m - half]
                d += (1.0 - w) * g0 * a
            out[c, o0 + k] = buf[c, i] + sign * d


def comb_reference(x: NDArray[np.float64], params: list[tuple[int, float]], block: int,
                   fade: NDArray[np.float64], taps: NDArray[np.float64],
                   inverse: bool) -> NDArray[np.float64]:
    """Plain statement of the filter over a whole signal ``x`` (C, S) cut into blocks of
    ``block`` samples with parameters ``params[b] = (T, g)``: the pre-filter, or with
    ``inverse`` the post-filter (the test oracle for :func:`comb` and both classes)."""
    y = np.zeros_like(x)
    src = y if inverse else x
    for i in range(x.shape[1]):
        b, j = divmod(i, block)
        w = fade[j]
        d = np.zeros(x.shape[0])
        for (t, g), wt in ((params[b], w), (params[b - 1] if b > 0 else (0, 0.0), 1.0 - w)):
            if g and wt:
                half = len(taps) // 2
                past = [src[:, i - t + m] if i - t + m >= 0 else 0.0 for m in range(-half, half + 1)]
                d += wt * g * sum(taps[m] * past[m] for m in range(len(taps)))
        y[:, i] = x[:, i] + (d if inverse else -d)
    return y


class PostFilter:
    """The decoder's post-filter state: its memory and the last block's parameters."""

    def __init__(self, channels: int, sample_rate: int, frame_size: int, overlap: int,
                 interval: int) -> None:
        self.interval = interval
        self.t_min, self.t_max = period_range(sample_rate, frame_size, overlap)
        self.bits = period_bits(sample_rate, frame_size, overlap)
        self._fade = fade_window(frame_size, overlap)
        self._taps = comb_taps(sample_rate)
        self._hist = self.t_max + len(self._taps) // 2 + 1
        self._buf = np.zeros((channels, self._hist + frame_size))
        self._t, self._g = self.t_min, 0.0
        shift_left(self._buf, frame_size)
        comb(self._buf, self._hist, 1, 0, self.t_min, 0.0, self.t_min, 0.0, self._fade, self._taps,
             1.0, self._buf, self._hist)  # load the kernel now, not in a live callback

    def params(self, coded_t: int, q: int) -> tuple[int, float]:
        """Block parameters from the coded fields (``q < 0``: none)."""
        return (self.t_min + coded_t, gain(q)) if q >= 0 else (self._t, 0.0)

    def apply(self, block: NDArray[np.float64], t: int, g: float) -> NDArray[np.float64]:
        """Filter one output block (N, C) in place with its parameters ``(t, g)``."""
        h, n = self._hist, block.shape[0]
        buf = self._buf
        shift_left(buf, n)
        buf[:, h:] = block.T
        if g != 0.0 or self._g != 0.0:
            comb(buf, h, n, 0, self._t, self._g, t, g, self._fade, self._taps, 1.0, buf, h)
            block[:] = buf[:, h:].T
        self._t, self._g = t, g
        return block

    @property
    def last(self) -> tuple[int, float]:
        """The last block's parameters (a concealed block keeps them)."""
        return self._t, self._g
