"""Quality measures for decoded audio against its reference.

Every function takes ``ref`` and ``deg`` as ``(frames, channels)`` (or 1-D)
float arrays at the same sample rate and returns plain floats, so results can
go straight into JSON. What each one measures:

* :func:`align` -- the delay of ``deg`` relative to ``ref`` (cross-correlation
  of the mono mixes, FFT based) and ``deg`` shifted to match. Our codec is
  sample-aligned by construction; ffmpeg's decoders mostly remove their
  priming, but not always exactly, so SNR-like measures align first.
* :func:`snr_db`, :func:`segmental_snr_db` -- waveform error. Segmental SNR is
  the mean of per-20-ms SNRs clamped to [-10, 35] dB over frames that are not
  silent (the usual speech-coding definition).
* :func:`low_band_snr_db` -- SNR below 2 kHz, where a voice's harmonics are
  (a sanity column next to the perceptual scores).
* ViSQOL, Zimtohrli, PESQ-WB and STOI, each per channel: :mod:`audiocodec.eval.perceptual`.
* :func:`nmr_db` -- noise-to-mask ratio from *our own* psychoacoustic model
  (:mod:`psychoacoustics`): the coding error's energy per scale-factor band
  over the masking threshold the model computes from the reference. The
  adaptive quantizer minimises exactly this, so it flatters that quantizer;
  it is reported as "ours", next to ViSQOL, never instead of it.
* :func:`pre_echo` -- onsets in the reference and the energy of the coding
  error in the 20 ms before each.

:func:`measure` runs them all on one decode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import InputError

FloatArray = NDArray[np.float64]

SEG_MS = 20.0
SEG_CLAMP = (-10.0, 35.0)
SEG_SILENCE_DB = -60.0  # frames quieter than this (dBFS mean power) are skipped
PRE_ECHO_MS = 20.0
LOW_BAND_HZ = 2000.0


def _2d(x: Any) -> FloatArray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise InputError(f"audio must have shape (frames, channels), got {a.shape}")
    return a


def mono(x: Any) -> FloatArray:
    """Mean of the channels, float64, 1-D."""
    return _2d(x).mean(axis=1)


def resample(x: FloatArray, rate: int, target: int) -> FloatArray:
    """Polyphase resampling along axis 0 (exact rational ratio)."""
    if rate == target:
        return np.asarray(x, dtype=np.float64)
    from scipy.signal import resample_poly

    g = math.gcd(int(rate), int(target))
    return np.asarray(resample_poly(x, target // g, rate // g, axis=0), dtype=np.float64)


# --------------------------------------------------------------------- alignment


def find_delay(ref: Any, deg: Any, max_lag: int) -> int:
    """Lag ``d`` (samples) maximising the correlation of ``deg[n + d]`` with ``ref[n]``.

    Positive when ``deg`` is late. Searched over ``-max_lag..max_lag``.
    """
    from scipy.signal import correlate

    r, d = mono(ref), mono(deg)
    n = min(r.shape[0], d.shape[0])
    if n == 0:
        return 0
    c = correlate(d[:n], r[:n], mode="full", method="fft")
    mid = n - 1
    lo, hi = max(0, mid - max_lag), min(c.shape[0], mid + max_lag + 1)
    return int(np.argmax(c[lo:hi]) + lo - mid)


def shift(deg: Any, delay: int, length: int) -> FloatArray:
    """``deg`` advanced by ``delay`` samples, cut or zero-padded to ``length`` frames."""
    d = _2d(deg)
    out = np.zeros((length, d.shape[1]))
    src = d[max(delay, 0):]
    dst0 = max(-delay, 0)
    m = max(0, min(length - dst0, src.shape[0]))
    out[dst0 : dst0 + m] = src[:m]
    return out


def align(ref: Any, deg: Any, rate: int, max_ms: float = 100.0) -> tuple[FloatArray, int]:
    """``(deg aligned to ref with ref's length, delay found)``; see :func:`find_delay`."""
    r = _2d(ref)
    delay = find_delay(r, deg, int(rate * max_ms / 1000.0))
    return shift(deg, delay, r.shape[0]), delay


# --------------------------------------------------------------------- waveform measures


def snr_db(ref: Any, deg: Any) -> float:
    """Signal-to-noise ratio (dB) over all samples and channels; ``inf`` when identical."""
    r, d = _2d(ref), _2d(deg)
    n = min(r.shape[0], d.shape[0])
    noise = float(np.sum((r[:n] - d[:n]) ** 2))
    sig = float(np.sum(r[:n] ** 2))
    if noise == 0.0:
        return math.inf
    return 10.0 * math.log10(max(sig, 1e-30) / noise)


def low_band_snr_db(ref: Any, deg: Any, rate: int, cutoff_hz: float = LOW_BAND_HZ) -> float:
    """SNR (dB) of the band below ``cutoff_hz``: both signals low-passed (8th-order
    Butterworth, forward and backward) first; ``inf`` when identical there."""
    from scipy.signal import butter, sosfiltfilt

    r, d = _2d(ref), _2d(deg)
    n = min(r.shape[0], d.shape[0])
    if n < 64:
        return snr_db(r, d)
    sos = butter(8, cutoff_hz, fs=rate, output="sos")
    return snr_db(sosfiltfilt(sos, r[:n], axis=0), sosfiltfilt(sos, d[:n], axis=0))


def segmental_snr_db(ref: Any, deg: Any, rate: int, seg_ms: float = SEG_MS) -> float:
    """Mean per-segment SNR (dB), each clamped to ``SEG_CLAMP``, silent segments skipped."""
    r, d = _2d(ref), _2d(deg)
    n = min(r.shape[0], d.shape[0])
    m = max(1, int(rate * seg_ms / 1000.0))
    k = n // m
    if k == 0:
        return snr_db(r, d)
    rr = r[: k * m].reshape(k, m, -1)
    ee = rr - d[: k * m].reshape(k, m, -1)
    sig = np.sum(rr * rr, axis=(1, 2))
    noise = np.sum(ee * ee, axis=(1, 2))
    loud = sig / (m * r.shape[1]) > 10 ** (SEG_SILENCE_DB / 10.0)
    if not loud.any():
        return float("nan")
    with np.errstate(divide="ignore"):
        seg = 10.0 * np.log10(sig[loud] / np.maximum(noise[loud], 1e-30))
    return float(np.mean(np.clip(seg, *SEG_CLAMP)))


# --------------------------------------------------------------------- perceptual measures


def visqol_available() -> bool:
    from . import perceptual

    return perceptual.available("visqol")


@lru_cache(maxsize=8)
def psycho_model(rate: int, n: int) -> tuple[Any, NDArray[np.int32]]:
    """Our psychoacoustic model for ``n``-bin MDCT frames at ``rate``, and its band edges
    (the codec's long-block scale-factor bands). Cached: building it is not free."""
    from psychoacoustics import PsychoModel

    from ..core.bands import band_edges

    edges = band_edges(rate, n)
    return PsychoModel(rate, n, edges), edges


def analysis_size(rate: int) -> int:
    """MDCT hop used by :func:`nmr_db` and the plots: the codec's long frame."""
    return 1024 if rate >= 32000 else 512


@dataclass(frozen=True)
class NmrResult:
    """Noise-to-mask ratio of one signal (our model).

    ``total_db``: 10 log10 of the mean over frames, bands and channels of
    noise/threshold. ``mean_db``: the mean of the per-band ratios in dB.
    ``audible``: fraction of (frame, band) cells whose noise exceeds the threshold.
    """

    total_db: float
    mean_db: float
    audible: float


def nmr(ref: Any, deg: Any, rate: int) -> NmrResult:
    """Noise-to-mask ratio of ``deg - ref`` against the masking threshold of ``ref``.

    Full-overlap sine-window MDCT frames of the codec's long size; frames whose
    reference is silent (below the threshold in quiet everywhere) count like any
    other, since the threshold in quiet is then the mask.
    """
    from ..core.mdct import analysis

    r, d = _2d(ref), _2d(deg)
    n_s = min(r.shape[0], d.shape[0])
    n = analysis_size(rate)
    model, edges = psycho_model(rate, n)
    ratios = []
    for c in range(r.shape[1]):
        xr = analysis(r[:n_s, c], n)
        xe = analysis(d[:n_s, c] - r[:n_s, c], n)
        res = model.analyze(xr)
        lo, hi = int(edges[0]), int(edges[-1])
        rel = (edges[:-1] - edges[0]).astype(np.intp)
        noise = np.add.reduceat(xe[:, lo:hi] ** 2, rel, axis=-1)
        ratios.append(noise / res.threshold)
    q = np.concatenate(ratios)
    with np.errstate(divide="ignore"):
        db = 10.0 * np.log10(np.maximum(q, 1e-12))
    return NmrResult(float(10.0 * np.log10(max(float(np.mean(q)), 1e-12))), float(np.mean(db)),
                     float(np.mean(q > 1.0)))


# --------------------------------------------------------------------- pre-echo


def find_attacks(ref: Any, rate: int, *, rise_db: float = 15.0, floor_db: float = -45.0,
                 gap_ms: float = 100.0) -> NDArray[np.intp]:
    """Sample indices of attacks in ``ref``: where the 1-ms energy jumps ``rise_db`` above
    the mean of the preceding 20 ms, is louder than ``floor_db`` re the loudest millisecond,
    and is at least ``gap_ms`` after the previous attack."""
    x = mono(ref)
    hop = max(1, rate // 1000)
    k = x.shape[0] // hop
    if k < 30:
        return np.zeros(0, dtype=np.intp)
    e = np.mean(x[: k * hop].reshape(k, hop) ** 2, axis=1) + 1e-12
    win = int(PRE_ECHO_MS)
    csum = np.concatenate(([0.0], np.cumsum(e)))
    out: list[int] = []
    top = float(e.max())
    last = -(10**9)
    gap = int(gap_ms)
    for j in range(win, k):
        before = (csum[j] - csum[j - win]) / win
        if (e[j] > before * 10 ** (rise_db / 10) and e[j] > top * 10 ** (floor_db / 10)
                and j - last >= gap):
            # the attack is where the loud part starts: the first sample reaching 30% of the
            # peak of the next 10 ms (a soft precursor is signal, not the attack)
            start = j * hop - hop
            seg = np.abs(x[start : start + 11 * hop])
            s = start + int(np.argmax(seg >= 0.3 * float(seg.max())))
            out.append(s)
            last = j + 10
    return np.asarray(out, dtype=np.intp)


def pre_echo(ref: Any, deg: Any, rate: int, attacks: NDArray[np.intp] | None = None,
             ms: float = PRE_ECHO_MS) -> tuple[float, float, int]:
    """Coding-error energy in the ``ms`` before each attack.

    Returns ``(noise_dbfs, nsr_db, n_attacks)``: the mean over attacks of the
    error's mean power in that window (dB re full scale, per channel), and of its
    ratio to the reference's power in the same window (dB). NaN when no attack.
    """
    r, d = _2d(ref), _2d(deg)
    if attacks is None:
        attacks = find_attacks(r, rate)
    m = int(rate * ms / 1000.0)
    noise_db, nsr = [], []
    for a in attacks:
        if a < m:
            continue
        e = d[a - m : a] - r[a - m : a]
        pn = float(np.mean(e * e)) + 1e-20
        ps = float(np.mean(r[a - m : a] ** 2)) + 1e-20
        noise_db.append(10 * math.log10(pn))
        nsr.append(10 * math.log10(pn / ps))
    if not noise_db:
        return float("nan"), float("nan"), 0
    return float(np.mean(noise_db)), float(np.mean(nsr)), len(noise_db)


def error_correlation(ref: Any, deg: Any) -> float:
    """Correlation coefficient between the reference and the coding error (mono mixes).

    Dither's classic promise is an error that no longer follows the signal, so
    it is measured, not assumed.
    """
    r = mono(ref)
    e = mono(deg)[: r.shape[0]] - r[: mono(deg).shape[0]]
    r = r[: e.shape[0]]
    den = math.sqrt(float(np.sum(r * r)) * float(np.sum(e * e)))
    return float(np.sum(r * e) / den) if den > 0 else 0.0


def measure(ref: Any, deg: Any, rate: int, *, use_visqol: bool = True, speech: bool = False,
            attacks: NDArray[np.intp] | None = None, delay: int | None = None) -> dict[str, Any]:
    """All measures of one decoded signal as a flat dict (``deg`` aligned first); the
    perceptual ones as ``metric`` (mean over channels) and ``metric_ch`` (per channel).

    ``delay``: the decoder's known delay (samples), used as given; None searches for it
    (:func:`align`), for peers whose decoders keep an encoder delay. A codec that promises
    sample-aligned output is scored at 0, so a delay bug shows as the damage it is instead
    of being aligned away (and a periodic signal cannot lock the search onto a wrong lag)."""
    from . import perceptual

    r = _2d(ref)
    if delay is None:
        deg_a, delay = align(r, deg, rate)
    else:
        deg_a = shift(deg, delay, r.shape[0])
    out: dict[str, Any] = {"delay": delay}
    s = snr_db(r, deg_a)
    out["snr"] = s if math.isfinite(s) else None  # JSON has no inf; None+identity = top
    out["identical"] = int(not math.isfinite(s))
    out["segsnr"] = segmental_snr_db(r, deg_a, rate)
    res = nmr(r, deg_a, rate)
    same = not math.isfinite(s)  # no error: NMR and pre-echo are -inf, stored as None
    out["nmr"] = None if same else res.total_db
    out["nmr_mean"] = None if same else res.mean_db
    out["nmr_audible"] = res.audible
    pe_db, pe_nsr, n_att = pre_echo(r, deg_a, rate, attacks)
    out["pre_echo_db"] = pe_db if n_att and not same else None
    out["pre_echo_nsr"] = pe_nsr if n_att and not same else None
    out["attacks"] = n_att
    out["err_corr"] = error_correlation(r, deg_a)
    low = low_band_snr_db(r, deg_a, rate)
    out["snr_low"] = low if math.isfinite(low) else None
    out.update(perceptual.scores(r, deg_a, rate, use_visqol=use_visqol, speech=speech))
    return out
