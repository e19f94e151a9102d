"""Tonality of the spectrum: how tone-like (1) or noise-like (0) each region is.

The measure is a local spectral flatness (geometric over arithmetic mean of the power, Johnston
1988 used it over the whole spectrum; here it is taken over a window of bins around each
partition). MDCT coefficients of a steady sine fluctuate from frame to frame with the sine's
phase, and those of noise are single Gaussian values (a chi-square with one degree of freedom,
whose flatness is poor). Both effects are reduced by measuring flatness on an MDCT
"pseudo-spectrum" that adds an estimate of the missing MDST part (see :func:`pseudo_spectrum`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import PsychoacousticsError

__all__ = [
    "MIN_WINDOW_BINS",
    "SFM_NOISE_DB",
    "SFM_TONE_DB",
    "FlatnessWindows",
    "flatness_windows",
    "pseudo_spectrum",
    "tonality_from_flatness",
    "window_flatness_db",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

#: Minimum flatness window in bins. Shorter windows make noise look tonal too often (the
#: flatness of a few chi-square values is itself very noisy) and the sine window's leakage make
#: tones look noisy; 12 bins keeps the classes apart at n_bins = 128 as well as 1024.
MIN_WINDOW_BINS = 12
#: Flatness (dB) at and above which a window counts as pure noise (tonality 0). Measured with
#: seeded white noise through a sine-window orthonormal MDCT, 12-bin windows of the
#: pseudo-spectrum: mean -2.3 dB, 1st percentile -5.3 dB (n_bins 128 and 1024).
SFM_NOISE_DB = -5.0
#: Flatness (dB) at and below which a window counts as a pure tone (tonality 1). Same set-up,
#: steady sines at random frequencies 0.2-15 kHz: median -29 dB (n_bins 1024) / -18 dB (128),
#: least tonal -12 / -11 dB. (Johnston's -60 dB applies to a flatness over a whole 2048-point
#: FFT spectrum, not to a local window.)
SFM_TONE_DB = -15.0

# Added to every power before taking logs; far below any level that matters (about -290 dB
# relative to a full-scale sine) and it keeps log(0) out of silent frames.
_TINY = 1e-30


def pseudo_spectrum(coefs: NDArray[np.floating]) -> FloatArray:
    """Phase-insensitive power estimate from MDCT coefficients.

    ``P[k] = X[k]^2 + ((X[k+1] - X[k-1]) / 2)^2`` with ``X[-1] = X[n_bins] = 0``: the second
    term approximates the squared MDST coefficient (the MDST of a sinusoid is, to first order,
    the difference of the MDCT neighbours), so ``P`` approximates ``|MCLT|^2`` and a steady sine
    yields a steady peak. Used only for tonality; band energies stay ``sum X^2``.

    Parameters
    ----------
    coefs : ndarray, shape (..., n_bins)
        MDCT coefficients.

    Returns
    -------
    ndarray of float64, shape (..., n_bins)
    """
    x = np.asarray(coefs, dtype=np.float64)
    d = np.zeros_like(x)
    d[..., 1:-1] = x[..., 2:] - x[..., :-2]
    d[..., 0] = x[..., 1]
    d[..., -1] = -x[..., -2]
    return x * x + 0.25 * (d * d)


class FlatnessWindows:
    """Bin windows ``[lo, hi)`` plus the gather tables that sum over them (read-only).

    Sums over the windows are exact per-window sums (a gather then ``np.add.reduceat``), not
    differences of prefix sums, which would cancel catastrophically for a quiet window above a
    loud one.

    Attributes
    ----------
    lo, hi : ndarray of intp, shape (n_windows,)
        Window bounds.
    index : ndarray of intp, shape (sum(hi - lo),)
        The bins of all windows, concatenated.
    offsets : ndarray of intp, shape (n_windows,)
        Where each window starts in ``index``.
    length : ndarray of float64, shape (n_windows,)
        ``hi - lo``.
    """

    def __init__(self, lo: IntArray, hi: IntArray) -> None:
        if lo.shape != hi.shape or lo.ndim != 1 or np.any(hi <= lo) or np.any(lo < 0):
            raise PsychoacousticsError("flatness windows need 0 <= lo < hi, 1-D and equally long")
        self.lo = lo
        self.hi = hi
        self.index = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi, strict=True)])
        self.index = self.index.astype(np.intp)
        self.offsets = np.concatenate(([0], np.cumsum(hi - lo)[:-1])).astype(np.intp)
        self.length = (hi - lo).astype(np.float64)
        for a in (self.lo, self.hi, self.index, self.offsets, self.length):
            a.setflags(write=False)


def flatness_windows(
    starts: ArrayLike, widths: ArrayLike, n_bins: int, *, min_bins: int = MIN_WINDOW_BINS
) -> FlatnessWindows:
    """Bin windows over which each partition's flatness is measured.

    A partition narrower than ``min_bins`` is widened symmetrically (then shifted to stay
    inside ``0 .. n_bins``), because a flatness over 1-3 bins says nothing.

    Parameters
    ----------
    starts, widths : array_like of int, shape (n_parts,)
        First bin and bin count of each partition.
    n_bins : int
        Number of MDCT bins.
    min_bins : int, optional
        Minimum window length (clipped to ``n_bins``).

    Returns
    -------
    FlatnessWindows
    """
    s = np.asarray(starts, dtype=np.intp)
    w = np.asarray(widths, dtype=np.intp)
    m = min(min_bins, n_bins)
    length = np.maximum(w, m)
    lo = np.clip(s - (length - w) // 2, 0, n_bins - length)
    return FlatnessWindows(lo.astype(np.intp), (lo + length).astype(np.intp))


def window_flatness_db(power: NDArray[np.floating], windows: FlatnessWindows) -> FloatArray:
    """Spectral flatness ``10 log10(geometric mean / arithmetic mean)`` over bin windows.

    Parameters
    ----------
    power : ndarray, shape (..., n_bins)
        Non-negative power spectrum.
    windows : FlatnessWindows
        From :func:`flatness_windows`.

    Returns
    -------
    ndarray of float64, shape (..., n_windows)
        Flatness in dB, ``<= 0``; 0 for a flat (or silent) window.
    """
    p = np.take(np.asarray(power, dtype=np.float64), windows.index, axis=-1) + _TINY
    mean_log = np.add.reduceat(np.log(p), windows.offsets, axis=-1) / windows.length
    mean_lin = np.add.reduceat(p, windows.offsets, axis=-1) / windows.length
    sfm = (10.0 / np.log(10.0)) * (mean_log - np.log(mean_lin))
    return np.minimum(sfm, 0.0)


def tonality_from_flatness(
    sfm_db: ArrayLike, *, noise_db: float = SFM_NOISE_DB, tone_db: float = SFM_TONE_DB
) -> FloatArray:
    """Map flatness (dB) linearly to tonality in ``[0, 1]``.

    ``alpha = clip((sfm_db - noise_db) / (tone_db - noise_db), 0, 1)``: the form of Johnston's
    ``alpha = min(SFM_dB / -60, 1)``, with end points calibrated for local windows of the
    pseudo-spectrum (see :data:`SFM_NOISE_DB`, :data:`SFM_TONE_DB`).

    Returns
    -------
    ndarray of float64, same shape as ``sfm_db``
    """
    s = np.asarray(sfm_db, dtype=np.float64)
    return np.clip((s - noise_db) / (tone_db - noise_db), 0.0, 1.0)
