"""MDCT filterbank: windows, the fast transform, and the slow reference.

Conventions (shared by encoder and decoder):

* A *block* of hop ``N`` reads ``2N`` samples and yields ``N`` coefficients.
  The transform is orthonormal: with a Princen-Bradley window applied on
  both sides, overlap-add of consecutive blocks reconstructs the input
  exactly (time-domain alias cancellation, TDAC).
* Windows are built from *slopes*. A block's window is zero, then rises over
  ``left`` samples centred on ``N/2``, stays at one, falls over ``right``
  samples centred on ``3N/2``, then is zero. ``left == right == N`` is the
  classic full-overlap window; a smaller overlap gives the low-delay window
  and the AAC-style start/stop windows used around short blocks. Two
  neighbouring blocks reconstruct perfectly when the falling slope of the
  first equals the rising slope of the second.
* Short blocks: a frame of hop ``N`` may instead hold ``S`` short blocks of
  hop ``N/S`` that tile the same centre region ``[N/2, 3N/2)``. Their
  coefficients are interleaved (``coef[k*S + j]`` is bin ``k`` of short block
  ``j``), so coefficient index still maps to frequency and one band table
  serves both block kinds.

The fast path folds the windowed block to ``N`` samples and runs pocketfft's
DCT-IV (orthonormal), the kernel behind ``scipy.fft.dct``, called directly when scipy
exposes it: the public entry point's dispatch costs more than the transform at low-delay
sizes. Windowing and folding (and, on the way back, unfolding, windowing and the
overlap-add) are one numba pass each. :func:`mdct_reference` is the direct cosine sum,
kept as the test oracle; the numpy statement of the fold, :func:`_fold`, the oracle of
the fused kernels.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft
from numba import njit
from numpy.typing import NDArray

from ..errors import InputError

WINDOW_SHAPES = ("sine", "kbd")
KBD_ALPHA = 4.0


@lru_cache(maxsize=64)
def slope(length: int, shape: str = "sine") -> NDArray[np.float64]:
    """Rising half of a Princen-Bradley window, ``length`` samples.

    ``s[n]**2 + s[length-1-n]**2 == 1`` for every n, which is what makes TDAC
    work. ``"sine"``: ``sin(pi/2 * (n + 0.5) / length)``. ``"kbd"``:
    Kaiser-Bessel derived, ``sqrt(cumsum(kaiser) / sum(kaiser))`` with
    alpha = 4 (the AAC long-window value).
    """
    if length <= 0:
        return np.zeros(0)
    if shape == "sine":
        n = np.arange(length, dtype=np.float64)
        return np.sin(np.pi / 2 * (n + 0.5) / length)
    if shape == "kbd":
        kaiser = np.kaiser(length + 1, np.pi * KBD_ALPHA)
        c = np.cumsum(kaiser[:length])
        return np.sqrt(c / kaiser.sum())
    raise InputError(f"window shape must be one of {WINDOW_SHAPES}, got {shape!r}")


@lru_cache(maxsize=64)
def window(n: int, left: int, right: int, shape: str = "sine") -> NDArray[np.float64]:
    """Window of length ``2n`` for a block with the given slope lengths."""
    if not (0 < left <= n and 0 < right <= n):
        raise InputError(f"slopes must be in 1..{n}, got left={left}, right={right}")
    w = np.zeros(2 * n)
    a = n // 2 - left // 2
    w[a : a + left] = slope(left, shape)
    b = 3 * n // 2 - right // 2
    w[a + left : b] = 1.0
    w[b : b + right] = slope(right, shape)[::-1]
    w.setflags(write=False)
    return w


try:  # the transform scipy.fft.dct dispatches to, without its per-call dispatch; one trial call
    # proves the private signature, and any failure means the public path
    from scipy.fft._pocketfft.pypocketfft import dct as _pocket_dct

    _pocket_dct(np.zeros((1, 8)), 4, (1,), 1, None, 1, None)
except Exception:  # pragma: no cover - a scipy that moved or changed it
    _pocket_dct = None

_ORTHO = 1  # pocketfft's inorm for norm="ortho" (scipy.fft._pocketfft.helper._normalization)


def dct4(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Orthonormal DCT-IV along the last axis (float64, C-contiguous input)."""
    if _pocket_dct is not None:
        y: NDArray[np.float64] = _pocket_dct(x, 4, (x.ndim - 1,), _ORTHO, None, 1, None)
        return y
    return scipy.fft.dct(x, type=4, norm="ortho", axis=-1)  # pragma: no cover


@njit(cache=True)
def window_fold(x: NDArray[np.float64], win: NDArray[np.float64], out: NDArray[np.float64]) -> None:
    """``out = _fold(x * win)`` for blocks ``x`` (B, 2N) (any float layout), ``out`` (B, N)."""
    q = x.shape[1] // 4
    for b in range(x.shape[0]):
        for i in range(q):
            j = 3 * q - 1 - i
            out[b, i] = -(x[b, j] * win[j]) - x[b, 3 * q + i] * win[3 * q + i]
            j = 2 * q - 1 - i
            out[b, q + i] = x[b, i] * win[i] - x[b, j] * win[j]


@njit(cache=True)
def unfold_window_add(u: NDArray[np.float64], win: NDArray[np.float64], out: NDArray[np.float64],
                      o0: int) -> None:
    """``out[:, o0 : o0 + 2N] += _unfold(u) * win`` for DCT-IV outputs ``u`` (B, N)."""
    h = u.shape[1] // 2
    for b in range(u.shape[0]):
        for i in range(h):
            out[b, o0 + i] += u[b, h + i] * win[i]
            out[b, o0 + h + i] += -u[b, 2 * h - 1 - i] * win[h + i]
            out[b, o0 + 2 * h + i] += -u[b, h - 1 - i] * win[2 * h + i]
            out[b, o0 + 3 * h + i] += -u[b, i] * win[3 * h + i]


def _fold(z: NDArray[np.float64]) -> NDArray[np.float64]:
    """Fold windowed blocks ``(..., 2N)`` to DCT-IV input ``(..., N)``."""
    n2 = z.shape[-1]
    q = n2 // 4
    a = z[..., 0:q]
    b = z[..., q : 2 * q]
    c = z[..., 2 * q : 3 * q]
    d = z[..., 3 * q :]
    return np.concatenate((-c[..., ::-1] - d, a - b[..., ::-1]), axis=-1)


def _unfold(u: NDArray[np.float64]) -> NDArray[np.float64]:
    """Inverse of :func:`_fold` up to aliasing: ``(..., N)`` to ``(..., 2N)``."""
    h = u.shape[-1] // 2
    u1 = u[..., :h]
    u2 = u[..., h:]
    return np.concatenate((u2, -u2[..., ::-1], -u1[..., ::-1], -u1), axis=-1)


def mdct(blocks: NDArray[np.floating], win: NDArray[np.float64]) -> NDArray[np.float64]:
    """Forward MDCT of windowed blocks.

    Parameters
    ----------
    blocks : ndarray, shape (..., 2N)
        Time samples of each block (unwindowed).
    win : ndarray, shape (2N,)
        Analysis window.

    Returns
    -------
    ndarray, shape (..., N), float64
    """
    x = np.asarray(blocks, dtype=np.float64)
    n2 = _check(x.shape, win, 2)
    lead = x.shape[:-1]
    flat = x.reshape(-1, n2)
    folded = np.empty((flat.shape[0], n2 // 2))
    if flat.shape[0]:
        window_fold(flat, win, folded)
        folded = dct4(folded)
    return folded.reshape(*lead, n2 // 2)


def imdct(coefs: NDArray[np.floating], win: NDArray[np.float64]) -> NDArray[np.float64]:
    """Inverse MDCT, windowed, ready for overlap-add. ``(..., N) -> (..., 2N)``."""
    x = np.ascontiguousarray(coefs, dtype=np.float64)
    n = _check(x.shape, win, 1)
    flat = x.reshape(-1, n)
    out = np.zeros((flat.shape[0], 2 * n))
    if flat.shape[0]:
        unfold_window_add(dct4(flat), win, out, 0)
    return out.reshape(*x.shape[:-1], 2 * n)


def imdct_add(coefs: NDArray[np.floating], win: NDArray[np.float64], out: NDArray[np.float64],
              o0: int = 0) -> None:
    """``out[:, o0 : o0 + 2N] +=`` the windowed inverse MDCT of ``coefs`` (C, N): a decoder's
    overlap-add in one pass."""
    x = np.ascontiguousarray(coefs, dtype=np.float64)
    n = _check(x.shape, win, 1)
    if x.ndim != 2 or out.ndim != 2 or out.shape[0] != x.shape[0] or not 0 <= o0 <= out.shape[1] - 2 * n:
        raise InputError(f"imdct_add: coefficients {x.shape} do not fit {out.shape} at {o0}")
    if x.shape[0]:
        unfold_window_add(dct4(x), win, out, o0)


def _check(shape: tuple[int, ...], win: NDArray[np.float64], per: int) -> int:
    """The last axis of a transform's input, checked: ``per`` (1 for coefficients, 2 for
    samples) times N, N even (the kernels fold quarters of a block), and ``win`` of 2N."""
    if not shape:
        raise InputError("MDCT input must have at least one axis")
    m = shape[-1]
    if m == 0 or m % (2 * per) or win.shape != (2 * m // per,):
        raise InputError(f"MDCT of length {m} needs an even N and a window of 2N, got window "
                         f"{win.shape}")
    return m


def mdct_reference(block: NDArray[np.floating], win: NDArray[np.float64]) -> NDArray[np.float64]:
    """Direct-formula MDCT (O(N^2)), the oracle for :func:`mdct`.

    ``X[k] = sqrt(2/N) * sum_n w[n] x[n] cos(pi/N (n + 1/2 + N/2)(k + 1/2))``
    """
    z = np.asarray(block, dtype=np.float64) * win
    n2 = z.shape[-1]
    n = n2 // 2
    t = np.arange(n2)[None, :] + 0.5 + n / 2
    k = np.arange(n)[:, None] + 0.5
    basis = np.cos(np.pi / n * t * k)
    return np.sqrt(2.0 / n) * (basis @ z)


def imdct_reference(coefs: NDArray[np.floating], win: NDArray[np.float64]) -> NDArray[np.float64]:
    """Direct-formula inverse MDCT (O(N^2)), the oracle for :func:`imdct`."""
    x = np.asarray(coefs, dtype=np.float64)
    n = x.shape[-1]
    t = np.arange(2 * n)[:, None] + 0.5 + n / 2
    k = np.arange(n)[None, :] + 0.5
    basis = np.cos(np.pi / n * t * k)
    return np.sqrt(2.0 / n) * (basis @ x) * win


def analysis(x: NDArray[np.floating], n: int, shape: str = "sine") -> NDArray[np.float64]:
    """Full-overlap MDCT analysis of a whole signal (for tests and plots).

    The signal is padded with ``n`` zeros in front and enough behind; returns
    ``(frames, n)`` coefficients. :func:`synthesis` inverts it exactly.
    """
    x = np.asarray(x, dtype=np.float64)
    frames = -(-(len(x) + n) // n)
    p = np.zeros((frames + 1) * n)
    p[n : n + len(x)] = x
    idx = np.arange(frames)[:, None] * n + np.arange(2 * n)[None, :]
    return mdct(p[idx], window(n, n, n, shape))


def synthesis(coefs: NDArray[np.floating], length: int, shape: str = "sine") -> NDArray[np.float64]:
    """Inverse of :func:`analysis`: overlap-add and remove the ``n``-sample delay."""
    frames, n = coefs.shape
    y = imdct(coefs, window(n, n, n, shape))
    out = np.zeros((frames + 1) * n)
    for t in range(frames):
        out[t * n : t * n + 2 * n] += y[t]
    return out[n : n + length]
