"""Absolute threshold of hearing (threshold in quiet) and the dB SPL <-> coefficient calibration.

Level calibration (the contract with the codec): the codec's MDCT is orthonormal (TDAC-scaled),
so a full-scale sine (amplitude 1.0) gives a total coefficient energy of about ``n_bins / 2`` per
frame, whatever the sample rate. That energy is defined to be ``full_scale_db`` dB SPL (96 dB by
default, the dynamic range of 16-bit PCM, the usual assumption of MPEG-1 psychoacoustic models:
a full-scale sine is played loud, so the quietest 16-bit sounds sit near the threshold).
A band energy ``E`` therefore has the level ``full_scale_db + 10 log10(E / (n_bins / 2))``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "ATH_MAX_DB",
    "ath_db_spl",
    "db_spl_to_energy",
    "energy_to_db_spl",
]

FloatArray = NDArray[np.float64]

#: The threshold in quiet is clipped to this many dB SPL. Terhardt's ``f^4`` term passes 300 dB
#: near 24 kHz; anything above ``full_scale_db`` already means "inaudible", and the cap keeps the
#: energies finite and well scaled in float64.
ATH_MAX_DB = 160.0

#: Terhardt's formula diverges at 0 Hz; frequencies are clamped to at least this (Hz).
_ATH_MIN_HZ = 10.0


def ath_db_spl(f_hz: ArrayLike, *, max_db: float = ATH_MAX_DB) -> FloatArray:
    """Absolute threshold of hearing in dB SPL, Terhardt's approximation.

    ``ATH(f) = 3.64 F^-0.8 - 6.5 exp(-0.6 (F - 3.3)^2) + 1e-3 F^4`` with ``F`` in kHz
    (E. Terhardt, "Calculating virtual pitch", Hear. Res. 1, 1979; the form used by Painter &
    Spanias, "Perceptual coding of digital audio", Proc. IEEE 88(4), 2000). Minimum about
    -5 dB SPL near 3.3 kHz; about 83 dB at 20 Hz, 23 dB at 100 Hz, 3.4 dB at 1 kHz,
    51 dB at 15 kHz, 105 dB at 18 kHz.

    Parameters
    ----------
    f_hz : array_like
        Frequency in Hz. Values below 10 Hz are treated as 10 Hz.
    max_db : float, optional
        Upper clip of the result (dB SPL).

    Returns
    -------
    ndarray of float64, same shape as ``f_hz``
    """
    f = np.maximum(np.asarray(f_hz, dtype=np.float64), _ATH_MIN_HZ) * 1e-3
    ath = 3.64 * f**-0.8 - 6.5 * np.exp(-0.6 * (f - 3.3) ** 2) + 1e-3 * f**4
    return np.minimum(ath, max_db)


def db_spl_to_energy(
    level_db: ArrayLike, n_bins: int, *, full_scale_db: float = 96.0
) -> FloatArray:
    """Coefficient energy (sum of squared orthonormal-MDCT coefficients) of a level in dB SPL.

    ``E = (n_bins / 2) * 10^((level_db - full_scale_db) / 10)``; see the module docstring.

    Parameters
    ----------
    level_db : array_like
        Level in dB SPL.
    n_bins : int
        MDCT size (hop length) the energy refers to.
    full_scale_db : float, optional
        dB SPL of a full-scale sine.

    Returns
    -------
    ndarray of float64, same shape as ``level_db``
    """
    lvl = np.asarray(level_db, dtype=np.float64)
    return (0.5 * n_bins) * 10.0 ** ((lvl - full_scale_db) / 10.0)


def energy_to_db_spl(energy: ArrayLike, n_bins: int, *, full_scale_db: float = 96.0) -> FloatArray:
    """Inverse of :func:`db_spl_to_energy`; zero energy maps to ``-inf``.

    Returns
    -------
    ndarray of float64, same shape as ``energy``
    """
    e = np.asarray(energy, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return full_scale_db + 10.0 * np.log10(e / (0.5 * n_bins))
