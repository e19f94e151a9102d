"""Scale factors and the quantization laws both sides share (normative).

A band's step size is ``2 ** ((sf - SF_BIAS) / 4)`` (1.5 dB per index,
``sf`` in 0..255). The encoder chooses a *shape* (per-band offsets) and the
rate loop chooses the global index ``g``; ``sf[b] = clip(g + offset[b])``
(:mod:`audiocodec.encoder.rate`). Two quantization laws:

* ``LAW_UNIFORM``: ``q = round(|x| / step)``, ``x' = q * step``.
* ``LAW_POWER``: ``q = floor((|x| / step) ** 0.75 + 0.4054)``,
  ``x' = q ** (4/3) * step`` (the AAC/MP3 companding law: large values get
  coarser steps, small ones finer).

``quantize``/``dequantize`` are the mirrored pair. :func:`reconstruct` is the
decoder's whole per-frame inverse (dequantize, noise filling, M/S), and
:func:`noise_filled` the one rule for which bands the decoder noise-fills,
which the encoder's noise-level measurement must agree with.

Noise filling draws from a 64-bit LCG (:func:`_lcg`) that every frame seeds afresh with
:func:`frame_noise_seed` of the stream serial and the frame's packet index (0 for the first
packet of the stream, +1 per packet, lost ones included), so a decoder that starts at any
reset point (a seek, a join) produces the same samples as one that decoded from the start.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

SF_BIAS = 160
SF_MAX = 255
SF_DELTA_MAX = 15  # |sf[b] - sf[b-1]| the payload can code
LAW_UNIFORM = 0
LAW_POWER = 1
POWER_ROUND = 0.4054
QMAX = 1 << 15  # largest magnitude a frame may carry; the decoder rejects more


@njit(cache=True, inline="always")
def _step(sf: int) -> float:
    return 2.0 ** ((sf - SF_BIAS) * 0.25)


@njit(cache=True)
def quantize(
    coefs: NDArray[np.float64], sf: NDArray[np.int32], edges: NDArray[np.int32], nb: int,
    law: int, q: NDArray[np.int32],
) -> None:
    """Quantize ``coefs`` (C, N) with steps ``sf`` (C, nb) into ``q`` (C, N)."""
    nch = coefs.shape[0]
    for c in range(nch):
        for b in range(nb):
            inv = 1.0 / _step(sf[c, b])
            for k in range(edges[b], edges[b + 1]):
                x = coefs[c, k]
                a = abs(x) * inv
                if law == LAW_POWER:
                    a = a**0.75 + POWER_ROUND
                else:
                    a = a + 0.5
                v = int(a) if a < QMAX else QMAX + 1  # > QMAX marks "step too fine"
                q[c, k] = -v if x < 0 else v
        for k in range(edges[nb], coefs.shape[1]):
            q[c, k] = 0


# |q| ** (4/3) for every magnitude the format allows (decoder table)
POW43 = np.arange(QMAX + 2, dtype=np.float64) ** (4.0 / 3.0)


@njit(cache=True)
def dequantize(
    q: NDArray[np.int32], sf: NDArray[np.int32], edges: NDArray[np.int32], nb: int, law: int,
    out: NDArray[np.float64],
) -> None:
    """Mirror of :func:`quantize`: ``out`` (C, N) from ``q`` and ``sf``."""
    nch = q.shape[0]
    for c in range(nch):
        for b in range(nb):
            step = _step(sf[c, b])
            for k in range(edges[b], edges[b + 1]):
                v = q[c, k]
                m = abs(v)
                if m > QMAX + 1:
                    m = QMAX + 1
                a = POW43[m] if law == LAW_POWER else float(m)
                out[c, k] = -a * step if v < 0 else a * step
        for k in range(edges[nb], q.shape[1]):
            out[c, k] = 0.0


@njit(cache=True, inline="always")
def coarse_delta(d: int, prev: int) -> int:
    """The 3 dB symbol for a band-to-band step ``d`` (1.5 dB units) after a band at ``prev``:
    ``floor(d / 2)`` (the finer step), or one more where that would fall below index 0.
    A coarse frame codes this symbol and the decoder rebuilds ``prev + 2 * symbol``."""
    k = d // 2
    if prev + 2 * k < 0:
        k += 1
    return k


def step_of(sf: NDArray[np.integer] | int) -> NDArray[np.float64]:
    """Step size for scale-factor index/indices (vectorised, for analysis and plots)."""
    return np.asarray(2.0 ** ((np.asarray(sf, dtype=np.float64) - SF_BIAS) / 4.0))


NF_MIN_HZ = 3000.0  # streams without the noise_fill_from record fill no band starting below this
NF_STEP_16THS = 16.0  # noise-fill level k means RMS = k/16 of the band's step


def frame_noise_seed(serial: int, index: int) -> int:
    """The noise-fill LCG's state at the start of packet ``index`` (splitmix64 finaliser of
    ``serial * 2**32 + index``, all arithmetic modulo 2**64)."""
    m = (1 << 64) - 1
    z = ((serial & 0xFFFFFFFF) << 32 | (index & 0xFFFFFFFF)) + 0x9E3779B97F4A7C15 & m
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9 & m
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB & m
    return z ^ (z >> 31)


@njit(cache=True, inline="always")
def _lcg(state: NDArray[np.uint64]) -> float:
    """Uniform in [-1, 1) from a 64-bit LCG (Knuth's MMIX constants); decoder noise source."""
    state[0] = state[0] * np.uint64(6364136223846793005) + np.uint64(1442695040888963407)
    return float(state[0] >> np.uint64(11)) * (2.0 / 9007199254740992.0) - 1.0


@njit(cache=True, inline="always")
def noise_filled(q: NDArray[np.int32], c: int, lo: int, hi: int, nf_start: int) -> bool:
    """A band the decoder noise-fills: at or above ``nf_start`` and all zero.
    (Encoder and decoder must agree on this rule.)"""
    if lo < nf_start:
        return False
    for k in range(lo, hi):
        if q[c, k] != 0:
            return False
    return True


@njit(cache=True)
def fill_gains(q: NDArray[np.int32], out: NDArray[np.float64], c: int, blocks: int,
               gains: NDArray[np.float64]) -> None:
    """``gains[:blocks]``: the noise fill's amplitude in each short block of channel ``c``'s
    frame, ``sqrt(S * E_j / sum(E))``, ``E_j`` the energy of block ``j``'s dequantized nonzero
    values (block of interleaved index ``k``: ``k % S``); all 1 when nothing is coded or
    ``blocks`` is 1 (a long frame). The mean of the squares is 1: the band keeps its level and
    the noise takes the time envelope of what the frame coded."""
    for j in range(blocks):
        gains[j] = 0.0
    tot = 0.0
    if blocks > 1:
        for k in range(q.shape[1]):
            if q[c, k] != 0:
                v = out[c, k] * out[c, k]
                gains[k % blocks] += v
                tot += v
    for j in range(blocks):
        gains[j] = np.sqrt(blocks * gains[j] / tot) if tot > 0.0 else 1.0


def fill_gains_reference(q: NDArray[np.int32], out: NDArray[np.float64], c: int, blocks: int
                         ) -> NDArray[np.float64]:
    """The numpy statement of :func:`fill_gains` (its test oracle)."""
    v = np.where(q[c] != 0, out[c], 0.0) ** 2
    e = v.reshape(-1, blocks).sum(axis=0)  # interleaved: bin-major, block-minor
    return np.sqrt(blocks * e / e.sum()) if blocks > 1 and e.sum() > 0 else np.ones(blocks)


@njit(cache=True)
def reconstruct(
    q: NDArray[np.int32], sf: NDArray[np.int32], edges: NDArray[np.int32], nb: int, law: int,
    nf: NDArray[np.int32], nbc: NDArray[np.int32], ms: NDArray[np.uint8], ms_on: bool,
    nf_start: int, blocks: int, rng: NDArray[np.uint64], out: NDArray[np.float64],
) -> None:
    """Decoder: dequantize, noise-fill zero bands, undo M/S, all in one pass.

    Noise filling: in a channel with ``nf[c] > 0``, bands from ``nf_start`` up to ``nbc[c]``
    whose values are all zero get uniform noise of RMS ``nf[c]/16 * step``, in a short-block
    frame (``blocks`` = S > 1) times :func:`fill_gains` of the coefficient's block (long
    frames: ``blocks`` = 1). Encoders before the tenth session wrote ``nf = 0`` in every
    short-block frame, so their streams decode as they did.
    M/S: flagged bands below ``max(nbc)`` become ``L = (M+S)/sqrt2, R = (M-S)/sqrt2``.
    """
    dequantize(q, sf, edges, nb, law, out)
    nch = q.shape[0]
    nblk = max(1, blocks)
    gains = np.ones(nblk)
    for c in range(nch):
        if nf[c] == 0:
            continue
        fill_gains(q, out, c, nblk, gains)
        for b in range(nbc[c]):
            lo = edges[b]
            hi = edges[b + 1]
            if not noise_filled(q, c, lo, hi, nf_start):
                continue
            amp = nf[c] / NF_STEP_16THS * 2.0 ** ((sf[c, b] - SF_BIAS) * 0.25) * np.sqrt(3.0)
            for k in range(lo, hi):
                out[c, k] = amp * gains[k % nblk] * _lcg(rng)
    if ms_on and nch == 2:
        top = max(nbc[0], nbc[1])
        r = np.sqrt(0.5)
        for b in range(top):
            if ms[b] == 0:
                continue
            for k in range(edges[b], edges[b + 1]):
                m = out[0, k]
                s = out[1, k]
                out[0, k] = (m + s) * r
                out[1, k] = (m - s) * r


