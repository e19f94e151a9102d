"""Perceptual quality scores, each channel scored on its own and the mean reported.

Never on a mono mix: a mix cannot see the side channel (a decode whose L and R
errors cancel in L+R scores as perfect) and it penalises stereo coding that is
fine per channel. The recipe is ``../shared/audio/SOURCES.md``; its pitfalls
are handled here once:

* :func:`visqol` -- ViSQOL v3 audio mode (visqol-python; MOS-LQO, 4.73 =
  identical), float64 per channel at 48 kHz.
* :func:`zimtohrli` -- Google's Zimtohrli JND metric as a MOS (5 = no audible
  difference, 1 the floor), float32 per channel in [-1, 1] at 48 kHz. It
  flattens 2-D input, accepts unequal lengths and assumes 48 kHz without
  saying so, so every call here passes one channel, cut to the reference's
  length, resampled to 48 kHz.
* :func:`pesq_wb`, :func:`stoi` -- speech measures at 16 kHz, per channel.

``deg`` must already be aligned to ``ref`` (:func:`audiocodec.eval.metrics.align`)
with the same length. Each function returns ``(mean, per-channel scores)``, or
``None`` when its package is not installed. :func:`versions` names each metric
with its package version and how it is applied; the cache key holds it, so
upgrading a metric or changing how it is applied re-measures.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .metrics import resample

FloatArray = NDArray[np.float64]
Score = tuple[float, list[float]]

FULL_RATE = 48000
SPEECH_RATE = 16000

#: metric -> (PyPI package, import name, how it is applied)
METRICS: dict[str, tuple[str, str, str]] = {
    "visqol": ("visqol-python", "visqol", "v3 audio mode, per channel, 48 kHz"),
    "zimtohrli": ("zimtohrli", "zimtohrli", "mos_from_signals, per channel, 48 kHz"),
    "pesq": ("pesq", "pesq", "wb, per channel, 16 kHz"),
    "stoi": ("pystoi", "pystoi", "classic, per channel, 16 kHz"),
}


def available(metric: str) -> bool:
    """True when ``metric``'s package is installed."""
    return importlib.util.find_spec(METRICS[metric][1]) is not None


def versions() -> dict[str, str]:
    """``{metric: "package version (how it is applied)"}``, ``absent`` for a missing one."""
    from importlib import metadata

    out = {}
    for name, (pkg, _mod, how) in METRICS.items():
        try:
            ver = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            ver = "absent"
        out[name] = f"{pkg} {ver} ({how})"
    return out


def _channels(x: Any) -> FloatArray:
    a = np.asarray(x, dtype=np.float64)
    return a[:, None] if a.ndim == 1 else a


def per_channel(score: Callable[[FloatArray, FloatArray], float | None], ref: Any, deg: Any,
                rate: int, target: int) -> Score | None:
    """``score(ref_c, deg_c)`` for each channel ``c``, both 1-D at ``target`` Hz and of the
    same length; ``(mean, scores)``, or None if any channel has no score."""
    r = resample(_channels(ref), rate, target)
    d = resample(_channels(deg), rate, target)
    n = min(r.shape[0], d.shape[0])
    scores = []
    for c in range(r.shape[1]):
        s = score(np.ascontiguousarray(r[:n, c]), np.ascontiguousarray(d[:n, c]))
        if s is None:
            return None
        scores.append(float(s))
    return float(np.mean(scores)), scores


@lru_cache(maxsize=1)
def _visqol_api() -> Any:
    from visqol import VisqolApi

    api = VisqolApi()
    api.create(mode="audio")
    return api


def visqol(ref: Any, deg: Any, rate: int) -> Score | None:
    """ViSQOL v3 audio-mode MOS-LQO per channel (at 48 kHz). ViSQOL also aligns internally."""
    if not available("visqol"):
        return None
    api = _visqol_api()
    return per_channel(lambda r, d: float(api.measure_from_arrays(r, d, FULL_RATE).moslqo),
                       ref, deg, rate, FULL_RATE)


def zimtohrli(ref: Any, deg: Any, rate: int) -> Score | None:
    """Zimtohrli MOS per channel (at 48 kHz, float32, clipped to [-1, 1] as a file would be)."""
    if not available("zimtohrli"):
        return None
    import zimtohrli as z

    def one(r: FloatArray, d: FloatArray) -> float:
        return float(z.mos_from_signals(np.clip(r, -1, 1).astype(np.float32),
                                        np.clip(d, -1, 1).astype(np.float32)))

    return per_channel(one, ref, deg, rate, FULL_RATE)


def pesq_wb(ref: Any, deg: Any, rate: int) -> Score | None:
    """PESQ wide-band MOS-LQO per channel at 16 kHz (PESQ aligns internally)."""
    if not available("pesq"):
        return None
    from pesq import pesq

    def one(r: FloatArray, d: FloatArray) -> float | None:
        try:
            return float(pesq(SPEECH_RATE, r, d, "wb"))
        except Exception:  # pesq raises on e.g. no utterance found
            return None

    return per_channel(one, ref, deg, rate, SPEECH_RATE)


def stoi(ref: Any, deg: Any, rate: int) -> Score | None:
    """STOI (0..1) per channel at 16 kHz."""
    if not available("stoi"):
        return None
    from pystoi import stoi as _stoi

    return per_channel(lambda r, d: float(_stoi(r, d, SPEECH_RATE, extended=False)),
                       ref, deg, rate, SPEECH_RATE)


def scores(ref: Any, deg: Any, rate: int, *, use_visqol: bool = True, speech: bool = False
           ) -> dict[str, Any]:
    """Every perceptual score of one aligned decode: ``{metric: mean, metric_ch: [per ch]}``
    (None where a package is absent or the score was not asked for)."""
    todo: dict[str, Callable[[Any, Any, int], Score | None]] = {"zimtohrli": zimtohrli}
    if use_visqol:
        todo["visqol"] = visqol
    if speech:
        todo.update(pesq=pesq_wb, stoi=stoi)
    out: dict[str, Any] = {"visqol": None, "visqol_ch": None}
    for name, fn in todo.items():
        res = fn(ref, deg, rate)
        out[name] = None if res is None else res[0]
        out[f"{name}_ch"] = None if res is None else res[1]
    return out
