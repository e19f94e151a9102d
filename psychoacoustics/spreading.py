"""Spreading of masking across critical bands, and the model's internal Bark partitions.

Masking is computed on *partitions*: runs of adjacent MDCT bins about 1/3 Bark wide (never less
than one bin), as in ISO/IEC 11172-3 psychoacoustic model 2. That keeps the spreading a small
dense matrix product (about 70 x 70 at 48 kHz) whatever ``n_bins`` is, and makes the spreading
independent of how the codec groups bins into scale-factor bands.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .scales import hz_to_bark

__all__ = [
    "Partitions",
    "make_partitions",
    "spreading_db",
    "spreading_matrix",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


def spreading_db(dz: ArrayLike) -> FloatArray:
    """Schroeder's spreading function: masking (dB) at ``dz`` Bark from a masker.

    ``SF(dz) = 15.81 + 7.5 (dz + 0.474) - 17.5 sqrt(1 + (dz + 0.474)^2)`` dB, where
    ``dz = z_maskee - z_masker`` (M. R. Schroeder, B. S. Atal, J. L. Hall, "Optimizing digital
    speech coders by exploiting masking properties of the human ear", JASA 66(6), 1979; used by
    Johnston 1988 and MPEG-1 model 2). Its peak is 0 dB at ``dz = 0``. Far from the masker the
    slopes tend to +25 dB/Bark below the masker (``dz < 0``) and -10 dB/Bark above it, so masking
    reaches further *up* in frequency than down, as measured in listeners.

    Parameters
    ----------
    dz : array_like
        Maskee minus masker critical-band rate, in Bark.

    Returns
    -------
    ndarray of float64, same shape as ``dz``
        Attenuation in dB (``<= 0``).
    """
    d = np.asarray(dz, dtype=np.float64) + 0.474
    return 15.81 + 7.5 * d - 17.5 * np.sqrt(1.0 + d * d)


def spreading_matrix(
    z_bark: ArrayLike, *, normalize: bool = True, floor_db: float = -100.0
) -> FloatArray:
    """Linear (power) spreading matrix between partitions centred at ``z_bark``.

    ``S[i, j] = 10^(SF(z[j] - z[i]) / 10)`` maps masker energies ``e`` (row vector, partition
    ``i``) to spread energies ``e @ S`` at maskee ``j``. With ``normalize`` every column is
    divided by its sum, MPEG-1 model 2's ``rnorm``: a spectrum that is flat over the partitions
    keeps its level after spreading, so the masking offsets keep their meaning.

    Parameters
    ----------
    z_bark : array_like, shape (n_parts,)
        Partition centres in Bark, increasing.
    normalize : bool, optional
        Normalise the columns (maskees) to unit sum.
    floor_db : float, optional
        Spreading below this attenuation is set to zero (it can never matter, and exact zeros
        keep denormals out of the product).

    Returns
    -------
    ndarray of float64, shape (n_parts, n_parts)
        Indexed ``[masker, maskee]``.
    """
    z = np.asarray(z_bark, dtype=np.float64)
    sf = spreading_db(z[np.newaxis, :] - z[:, np.newaxis])
    s = np.where(sf > floor_db, 10.0 ** (sf / 10.0), 0.0)
    if normalize:
        s = s / s.sum(axis=0, keepdims=True)
    return s


class Partitions:
    """Contiguous runs of MDCT bins of about ``resolution`` Bark each (read-only tables).

    Attributes
    ----------
    start : ndarray of intp, shape (n_parts,)
        First bin of each partition (``start[0] == 0``).
    width : ndarray of intp, shape (n_parts,)
        Number of bins in each partition (``>= 1``, sums to ``n_bins``).
    bark : ndarray of float64, shape (n_parts,)
        Critical-band rate of each partition's centre frequency.
    of_bin : ndarray of intp, shape (n_bins,)
        Partition index of every bin.
    """

    def __init__(self, start: IntArray, n_bins: int, bark: FloatArray) -> None:
        self.start = start
        self.width = np.diff(np.append(start, n_bins))
        self.bark = bark
        self.of_bin = np.repeat(np.arange(start.size), self.width)
        for a in (self.start, self.width, self.bark, self.of_bin):
            a.setflags(write=False)

    @property
    def n_parts(self) -> int:
        """Number of partitions."""
        return int(self.start.size)


def make_partitions(
    sample_rate: float, n_bins: int, *, resolution: float = 1.0 / 3.0
) -> Partitions:
    """Group the bins of an ``n_bins`` MDCT into partitions about ``resolution`` Bark wide.

    Bin ``k`` joins partition ``floor(z(f_k) / resolution)`` (``f_k`` its centre frequency);
    since ``z`` is increasing, the partitions are contiguous. Below a few hundred Hz a single bin
    can be wider than ``resolution``; it is then a partition on its own.

    Parameters
    ----------
    sample_rate : float
        Sampling rate in Hz.
    n_bins : int
        Number of MDCT bins.
    resolution : float, optional
        Target partition width in Bark.

    Returns
    -------
    Partitions
    """
    f = (np.arange(n_bins, dtype=np.float64) + 0.5) * (sample_rate / (2.0 * n_bins))
    idx = np.floor(hz_to_bark(f) / resolution).astype(np.intp)
    start = np.flatnonzero(np.diff(idx, prepend=idx[0] - 1)).astype(np.intp)
    width = np.diff(np.append(start, n_bins))
    # Partition centre: the frequency midway between its outer bin edges.
    f_lo = start * (sample_rate / (2.0 * n_bins))
    f_hi = (start + width) * (sample_rate / (2.0 * n_bins))
    return Partitions(start, n_bins, hz_to_bark(0.5 * (f_lo + f_hi)))
