"""Time-domain attack (transient) detection for block switching.

The encoder asks, for each sub-block (e.g. the 8 short blocks of 128 samples in a 1024 hop),
whether its high-frequency energy jumps well above the recent average. This is the scheme of
the 3GPP AAC encoder (TS 26.403, "block switching": high-passed sub-block energies compared
with the mean of the preceding ones) in a vectorised form:

    h[n] = x[n] - x[n-1]                               (first difference: +6 dB/octave high-pass)
    E[i] = mean of h^2 over sub-block i
    R[i] = E[i] / max(mean(E[i-memory .. i-1]), floor)

The high-pass removes the low-frequency energy that dominates music but does not smear
(pre-echo is audible because the attack's broadband energy is spread over a long block).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from .errors import PsychoacousticsError, as_real_finite

__all__ = ["detect_transient", "transient_strength", "transient_strength_reference"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def transient_strength(
    x: ArrayLike, sub_block: int, *, memory: int = 8, floor_db: float = -70.0
) -> FloatArray:
    """Attack ratio of every sub-block: its high-passed energy over the recent average.

    Parameters
    ----------
    x : array_like of float, shape (n_samples,)
        Mono signal, full scale = 1.0. Pass some history before the samples of interest (e.g.
        the previous hop), since the first sub-block has nothing to compare with.
    sub_block : int
        Sub-block length in samples (128 for 8 short blocks in a 1024 hop).
    memory : int, optional
        How many preceding sub-blocks form the reference average.
    floor_db : float, optional
        Lowest reference mean power of the high-passed signal, dB relative to 1.0; keeps the
        ratio finite after digital silence and ignores attacks in near-silence.

    Returns
    -------
    ndarray of float64, shape (n_samples // sub_block,)
        ``R[i] >= 0``; about 1 for stationary signals, large at an attack. ``R[0]`` is 1 unless
        the first sub-block lies below the floor (then it is its energy over the floor, < 1). Trailing
        samples that do not fill a sub-block are ignored.

    Raises
    ------
    PsychoacousticsError
        On a non-1-D or non-finite ``x``, ``sub_block < 1`` or ``memory < 1``.
    """
    sig = _check_signal(x)
    if sub_block < 1 or memory < 1:
        raise PsychoacousticsError(
            f"sub_block and memory must be >= 1, got sub_block={sub_block}, memory={memory}"
        )
    n_sub = sig.size // sub_block
    ratio: FloatArray = np.empty(n_sub)
    _strength_kernel(np.ascontiguousarray(sig), sub_block, memory, 10.0 ** (floor_db / 10.0), ratio)
    return ratio


@njit(cache=True)
def _strength_kernel(
    sig: FloatArray, sub_block: int, memory: int, floor: float, ratio: FloatArray
) -> None:
    """Compiled body of :func:`transient_strength` (direct sums instead of a prefix sum)."""
    n_sub = ratio.size
    energy = np.empty(n_sub)
    for i in range(n_sub):
        s = 0.0
        for k in range(i * sub_block, (i + 1) * sub_block):
            h = sig[k] - sig[k - 1] if k > 0 else 0.0
            s += h * h
        energy[i] = s / sub_block
    for i in range(n_sub):
        if i == 0:
            ref = energy[0]
        else:
            first = max(i - memory, 0)
            ref = 0.0
            for j in range(first, i):
                ref += energy[j]
            ref /= i - first
        ratio[i] = energy[i] / max(max(ref, 0.0), floor)


def transient_strength_reference(
    x: ArrayLike, sub_block: int, *, memory: int = 8, floor_db: float = -70.0
) -> FloatArray:
    """Vectorised numpy form of :func:`transient_strength`: the oracle for its compiled kernel."""
    sig = _check_signal(x)
    if sub_block < 1 or memory < 1:
        raise PsychoacousticsError(
            f"sub_block and memory must be >= 1, got sub_block={sub_block}, memory={memory}"
        )
    n_sub = sig.size // sub_block
    if n_sub == 0:
        return np.zeros(0)
    hp = np.empty(n_sub * sub_block)
    hp[0] = 0.0
    np.subtract(sig[1 : n_sub * sub_block], sig[: n_sub * sub_block - 1], out=hp[1:])
    energy = np.mean((hp * hp).reshape(n_sub, sub_block), axis=1)

    # Mean of the previous `memory` energies (fewer at the start): a convolution sums each window
    # directly (a prefix-sum difference would cancel in a quiet stretch after a loud one).
    window_sum = np.convolve(energy, np.ones(memory))[: n_sub - 1]
    count = np.minimum(np.arange(1, n_sub), memory)
    ref = np.empty(n_sub)
    ref[0] = energy[0]
    ref[1:] = window_sum / count
    floor = 10.0 ** (floor_db / 10.0)
    ratio: FloatArray = energy / np.maximum(np.maximum(ref, 0.0), floor)
    return ratio


def detect_transient(
    x: ArrayLike,
    sub_block: int,
    *,
    threshold: float = 10.0,
    memory: int = 8,
    floor_db: float = -70.0,
) -> BoolArray:
    """Attack flags per sub-block: ``transient_strength(...) > threshold``.

    Parameters
    ----------
    x : array_like of float, shape (n_samples,)
        Mono signal (see :func:`transient_strength`).
    sub_block : int
        Sub-block length in samples.
    threshold : float, optional
        Energy ratio (10 = 10 dB) above which a sub-block is an attack.
    memory, floor_db
        As in :func:`transient_strength`.

    Returns
    -------
    ndarray of bool, shape (n_samples // sub_block,)
    """
    ratio = transient_strength(x, sub_block, memory=memory, floor_db=floor_db)
    flags: BoolArray = ratio > threshold
    return flags


def _check_signal(x: ArrayLike) -> FloatArray:
    sig = np.asarray(x)
    if sig.ndim != 1:
        raise PsychoacousticsError(f"x must be mono, shape (n_samples,), got {sig.shape}")
    return as_real_finite(sig, "x")
